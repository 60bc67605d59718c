use mcp_runtime::tool;

/// Echo a value.
#[tool(public)]
fn echo<T: serde::Serialize>(value: T) -> T {
    value
}

fn main() {
    let _ = echo(1);
}
