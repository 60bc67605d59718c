use mcp_runtime::tool;

/// Add a todo item.
#[tool(any_scope = ["todo:write", "tâche:écrire"])]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
