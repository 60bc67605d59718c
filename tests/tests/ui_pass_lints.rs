//! The pass cases of `ui.rs` once more, as modules of one test crate, so that
//! `cargo clippy --all-targets -D warnings` also checks the code `#[tool]`
//! generates for them. (`crate_rename.rs` needs to be a crate root.)

// Each case's `main` is run by `ui.rs`, not here.
#![allow(dead_code)]

#[path = "../ui/pass/annotations.rs"]
mod annotations;
#[path = "../ui/pass/args_struct.rs"]
mod args_struct;
#[path = "../ui/pass/async_fn.rs"]
mod async_fn;
#[path = "../ui/pass/docs.rs"]
mod docs;
#[path = "../ui/pass/injected.rs"]
mod injected;
#[path = "../ui/pass/nested.rs"]
mod nested;
#[path = "../ui/pass/returns.rs"]
mod returns;
#[path = "../ui/pass/scope_paths.rs"]
mod scope_paths;
#[path = "../ui/pass/scopes.rs"]
mod scopes;
#[path = "../ui/pass/shadowing.rs"]
mod shadowing;
#[path = "../ui/pass/sync_fn.rs"]
mod sync_fn;
