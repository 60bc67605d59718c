//! Tools declared away from the crate root.

use mcp_runtime::{McpServer, ToolHandle, tool};

mod todos {
    use super::tool;

    pub struct Store;

    /// A tool in a module, public to the crate.
    #[tool(scope = "todo:read")]
    pub(crate) fn list_todos(_store: mcp_runtime::State<Store>) -> Vec<String> {
        Vec::new()
    }
}

fn main() {
    #[derive(serde::Serialize, schemars::JsonSchema)]
    struct Local {
        n: u32,
    }

    /// A tool inside a function body, using a type local to it.
    #[tool(public)]
    fn local(n: u32) -> Local {
        Local { n }
    }

    let server = McpServer::builder()
        .tool::<todos::list_todos>()
        .tool::<local>()
        .state(todos::Store)
        .build()
        .unwrap();
    assert_eq!(server.tools().len(), 2);
    assert_eq!(<local as ToolHandle>::DEF.name, "local");
}
