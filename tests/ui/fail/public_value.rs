use mcp_runtime::tool;

/// Who is calling.
#[tool(public = false)]
fn whoami() -> String {
    String::new()
}

fn main() {}
