use mcp_runtime::tool;

#[tool(scope = "todo:write")]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
