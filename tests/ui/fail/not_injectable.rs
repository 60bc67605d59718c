use mcp_runtime::tool;

/// The user's own type, named like one the runtime injects.
struct ToolContext {
    verbose: bool,
}

/// Report progress.
#[tool(public)]
fn report(cx: ToolContext) -> String {
    cx.verbose.to_string()
}

fn main() {}
