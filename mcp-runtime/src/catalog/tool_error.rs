//! The error a tool returns to its caller.

use std::{borrow::Cow, fmt};

/// An error a tool reports to its caller as a tool error (`isError: true`),
/// with this message as its text.
///
/// Any `std::error::Error` converts into it, so `?` works in tools:
///
/// ```
/// use mcp_runtime::{ToolError, tool};
///
/// /// Parses a number.
/// #[tool(public)]
/// fn parse(text: String) -> Result<i64, ToolError> {
///     if text.is_empty() {
///         return Err(ToolError::new("text must not be empty"));
///     }
///     Ok(text.trim().parse::<i64>()?)
/// }
/// ```
pub struct ToolError(Cow<'static, str>);

impl ToolError {
    /// An error with this message.
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self(message.into())
    }

    /// The message the caller sees.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ToolError").field(&self.0).finish()
    }
}

impl<E: std::error::Error> From<E> for ToolError {
    fn from(e: E) -> Self {
        Self(e.to_string().into())
    }
}
