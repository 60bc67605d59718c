mcp_runtime::scopes! {
    /// The scopes of this crate.
    pub SCOPES {
        TODO_READ = "todo:read" => "Read your todo items",
        TODO_LIST = "todo:read" => "List your todo items",
    }
}

fn main() {}
