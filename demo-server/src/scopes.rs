//! Every scope the demo knows, declared once: each tool names its scope by
//! one of these constants, and the server is built with the vocabulary.

mcp_runtime::scopes! {
    /// The demo's scopes: todo items, HR and finance records, and system
    /// controls (`system:admin` ⊇ `system:write` ⊇ `system:read`).
    pub DEMO {
        TODO_READ = "todo:read" => "Read your todo items",
        TODO_WRITE = "todo:write" => "Create, change and delete your todo items",
        HR_READ = "hr:read" => "Read the employee directory and records",
        HR_WRITE = "hr:write" => "Change employee records",
        FINANCE_READ = "finance:read" => "Read payroll and expense claims",
        FINANCE_WRITE = "finance:write" => "Approve expense claims",
        SYSTEM_ADMIN = "system:admin" => "Restart the demo's services"; implies [SYSTEM_WRITE],
        SYSTEM_WRITE = "system:write" => "Turn maintenance mode on and off"; implies [SYSTEM_READ],
        SYSTEM_READ = "system:read" => "Read the server's status",
    }
}

/// The scopes the 401 challenge asks a new client for, unless
/// `MCP_CHALLENGE_SCOPES` says otherwise: read-only access to everything.
/// A client asks for more when a call needs it (with `--step-up`, the 403
/// names them).
pub const READ_ONLY: [&str; 4] = [FINANCE_READ, HR_READ, SYSTEM_READ, TODO_READ];
