use mcp_runtime::{prompt, resource, resource_template};

/// No rule.
#[resource(uri = "a://x")]
fn x() -> String {
    String::new()
}

/// No rule.
#[resource_template(uri = "a://x/{id}")]
fn y(id: String) -> String {
    id
}

/// No rule.
#[prompt]
fn z() -> String {
    String::new()
}

fn main() {
    // The broken items still have handles: no second error here.
    let _ = mcp_runtime::McpServer::builder().item::<x>().item::<y>().item::<z>();
}
