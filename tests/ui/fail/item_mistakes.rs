use mcp_runtime::{prompt, resource, resource_template};

/// A variable in a fixed resource's URI.
#[resource(uri = "a://x/{id}", public)]
fn fixed_with_variable() -> String {
    String::new()
}

/// An argument to a fixed resource.
#[resource(uri = "a://y", public)]
fn fixed_with_argument(id: String) -> String {
    id
}

/// A parameter that is no variable, and one that is not a string.
#[resource_template(uri = "a://z/{id}", scope = "a:read")]
fn template(idd: String, id: u64) -> String {
    format!("{idd}{id}")
}

/// A hint that only tools take, and no URI.
#[resource(read_only, public)]
fn hinted() -> String {
    String::new()
}

/// A prompt that returns bytes.
#[prompt(public, uri = "a://p")]
fn bytes() -> Vec<u8> {
    vec![]
}

fn main() {}
