//! With the `many-tools` feature: 999 more `#[tool]`s like `echo`, for the
//! benchmark of how cost grows with the number of registered tools.

use std::{env, fmt::Write, fs, path::Path};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if env::var_os("CARGO_FEATURE_MANY_TOOLS").is_none() {
        return;
    }
    let mut code = String::new();
    for i in 1..=999 {
        writeln!(
            code,
            "/// Echoes text back.\n///\n/// # Arguments\n/// * `text` - What to echo.\n\
             #[mcp_runtime::tool(scope = \"echo\")]\nasync fn tool_{i:04}(text: String) -> String {{ text }}\n"
        )
        .unwrap();
    }
    code.push_str(
        "/// `builder` with the first `n` of the 999 tools.\n\
         pub fn register(mut builder: mcp_runtime::McpServerBuilder, n: usize) -> mcp_runtime::McpServerBuilder {\n",
    );
    for i in 1..=999 {
        writeln!(
            code,
            "    if n >= {i} {{ builder = builder.tool::<tool_{i:04}>(); }}"
        )
        .unwrap();
    }
    code.push_str("    builder\n}\n");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("many_tools.rs");
    fs::write(out, code).unwrap();
}
