use mcp_runtime::{ToolHandle, tool};

/// Add a todo item.
#[tool(scope = "todo:write")]
async fn create_todo(title: String, due: Option<String>, tags: Vec<String>) -> String {
    format!("{title} {due:?} {tags:?}")
}

fn main() {
    assert_eq!(<create_todo as ToolHandle>::DEF.name, "create_todo");
    // Still an ordinary function.
    let _future = create_todo("x".into(), None, Vec::new());
}
