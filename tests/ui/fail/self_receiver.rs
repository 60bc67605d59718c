use mcp_runtime::tool;

struct Store;

impl Store {
    /// List the todo items.
    #[tool(public)]
    fn list_todos(&self) -> Vec<String> {
        Vec::new()
    }
}

fn main() {
    let _ = Store.list_todos();
}
