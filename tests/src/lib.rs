//! Workspace-level tests of `#[tool]` and the runtime; the tests live in `tests/`.
