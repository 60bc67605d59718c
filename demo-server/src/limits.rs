//! What callers may store: a length cap on every text argument, and a number
//! of todo items per subject. Each limit reached is a tool error naming it.

use mcp_runtime::ToolError;

/// Todo titles, in characters.
pub const TITLE: usize = 200;
/// Todo due dates (free text), in characters.
pub const DUE: usize = 64;
/// Job titles, in characters.
pub const JOB_TITLE: usize = 200;
/// Department names, in characters.
pub const DEPARTMENT: usize = 100;
/// Phone numbers, in characters.
pub const PHONE: usize = 32;

/// Todo items one subject may hold, unless `--todo-quota` says otherwise.
pub const DEFAULT_TODO_QUOTA: u32 = 1000;

/// How many todo items each subject may hold (server state).
#[derive(Debug, Clone, Copy)]
pub struct TodoQuota(pub u32);

/// `Err` naming `field` and `max` if `value` is longer than `max` characters.
pub fn check_length(field: &str, value: &str, max: usize) -> Result<(), ToolError> {
    if value.chars().count() > max {
        return Err(ToolError::new(format!(
            "The {field} must be at most {max} characters."
        )));
    }
    Ok(())
}

/// Like [`check_length`], for an optional argument.
pub fn check_optional(field: &str, value: Option<&str>, max: usize) -> Result<(), ToolError> {
    value.map_or(Ok(()), |v| check_length(field, v, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(check_length("title", &"é".repeat(TITLE), TITLE).is_ok());
        let e = check_length("title", &"x".repeat(TITLE + 1), TITLE).unwrap_err();
        assert_eq!(e.message(), "The title must be at most 200 characters.");
        assert!(check_optional("phone", None, PHONE).is_ok());
        assert!(check_optional("phone", Some(&"1".repeat(33)), PHONE).is_err());
    }
}
