use mcp_runtime::tool;

mcp_runtime::scopes! {
    /// The scopes of this crate.
    pub SCOPES {
        TODO_READ = "todo:read" => "Read your todo items",
        TODO_WRITE = "todo:write" => "Create and change todo items",
    }
}

/// Add a todo item.
#[tool(scope = TODO_WIRTE)]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
