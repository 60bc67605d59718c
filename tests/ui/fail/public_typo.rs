use mcp_runtime::tool;

/// Who is calling.
#[tool(pubic)]
fn whoami() -> String {
    String::new()
}

fn main() {}
