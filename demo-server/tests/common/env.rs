//! The variables the demo reads, shared with the workspace tests that run
//! it as a process (`tests/tests/support/demo.rs`).

/// Every environment variable the demo reads: cleared for the child, so the
/// environment the tests run in cannot change what they test.
pub const DEMO_ENV: &[&str] = &[
    "HOST",
    "PORT",
    "MCP_URL",
    "MCP_STEP_UP",
    "MCP_SSE",
    "MCP_CHALLENGE_SCOPES",
    "DEMO_DB",
    "DATABASE_URL",
    "DEMO_TODO_QUOTA",
    "DEMO_AUDIT_LOG",
    "SCALEKIT_ENVIRONMENT_URL",
    "SCALEKIT_CLIENT_ID",
    "SCALEKIT_RESOURCE_ID",
    "MCP_AUTH_ISSUER",
    "MCP_AUTH_AUDIENCE",
    "MCP_AUTH_JWKS_URI",
    "MCP_AUTH_ACCEPT_ANY_TYP",
    "MCP_AUTH_INTROSPECTION_CLIENT_ID",
    "MCP_AUTH_INTROSPECTION_CLIENT_SECRET",
    "MCP_AUTH_INTROSPECTION_ENDPOINT",
    "MCP_AUTH_INTROSPECTION_CLIENT_AUTH",
    "MCP_AUTH_INTROSPECTION_CACHE_SECS",
    "MCP_DEV_KEY_FILE",
    "MCP_DEV_ALLOW_REMOTE",
    "RUST_LOG",
    // Serving limits, read by the runtime (listed after --help's options).
    "MCP_HEADER_TIMEOUT",
    "MCP_BODY_TIMEOUT",
    "MCP_TOOL_TIMEOUT",
    "MCP_SHUTDOWN_GRACE",
    "MCP_MAX_CONNECTIONS",
    "MCP_MAX_IN_FLIGHT",
    "MCP_MAX_BODY_BYTES",
    // The caller of `demo-server stdio`, read by the runtime.
    "MCP_STDIO_TOKEN",
    "MCP_STDIO_SUBJECT",
    "MCP_STDIO_SCOPES",
];
