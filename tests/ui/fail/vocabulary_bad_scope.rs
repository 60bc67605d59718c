mcp_runtime::scopes! {
    /// The scopes of this crate.
    pub SCOPES {
        TODO_READ = "todo read" => "Read your todo items",
        TODO_WRITE = "todo:write" => "Create and change todo items",
    }
}

fn main() {}
