//! Load benchmark servers; see `bench/run.sh`.

/// 999 tools like `bench-ours`'s `echo` (`tool_0001` to `tool_0999`, scope
/// `echo`), with the `many-tools` feature.
#[cfg(feature = "many-tools")]
pub mod many_tools {
    include!(concat!(env!("OUT_DIR"), "/many_tools.rs"));
}

/// `builder` with `n` more tools like `echo`; without the `many-tools`
/// feature only `n == 0` is possible.
pub fn more_tools(
    builder: mcp_runtime::McpServerBuilder,
    n: usize,
) -> Result<mcp_runtime::McpServerBuilder, String> {
    #[cfg(feature = "many-tools")]
    if n <= 999 {
        return Ok(many_tools::register(builder, n));
    }
    if n == 0 {
        return Ok(builder);
    }
    Err(format!(
        "{n} more tools: build with `--features many-tools` (at most 999)"
    ))
}
