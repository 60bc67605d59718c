//! Reading settings from the environment: one rule for every variable.

use crate::error::Error;

/// `name`'s value, trimmed; unset and empty are both `None`.
pub(crate) fn var(name: &str) -> Result<Option<String>, Error> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v.trim().to_owned())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::config(name, "the value is not valid UTF-8"))
        }
    }
}

/// A boolean setting: `1/0`, `true/false`, `yes/no`, `on/off`.
pub(crate) fn parse_bool(name: &str, v: &str) -> Result<bool, Error> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::config(
            name,
            format!("`{v}` is not a boolean; use true or false"),
        )),
    }
}

/// `name` as a boolean, `None` when unset.
pub(crate) fn bool_var(name: &str) -> Result<Option<bool>, Error> {
    var(name)?.map(|v| parse_bool(name, &v)).transpose()
}

/// A duration setting in whole seconds, or `off`: `None` when unset,
/// `Some(None)` when turned off.
pub(crate) fn seconds_var(name: &str) -> Result<Option<Option<std::time::Duration>>, Error> {
    let Some(v) = var(name)? else {
        return Ok(None);
    };
    if v.eq_ignore_ascii_case("off") {
        return Ok(Some(None));
    }
    match v.parse::<u64>() {
        Ok(s) if s > 0 => Ok(Some(Some(std::time::Duration::from_secs(s)))),
        _ => Err(Error::config(
            name,
            format!("`{v}` is not a number of seconds (1 or more) or `off`"),
        )),
    }
}

/// A count setting (1 or more): `None` when unset.
pub(crate) fn count_var(name: &str) -> Result<Option<usize>, Error> {
    let Some(v) = var(name)? else {
        return Ok(None);
    };
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(Error::config(
            name,
            format!("`{v}` is not a whole number of 1 or more"),
        )),
    }
}

/// A list of scopes, space- or comma-separated: `None` when unset.
pub(crate) fn scopes_var(name: &str) -> Result<Option<Vec<String>>, Error> {
    Ok(var(name)?.map(|v| split_scopes(&v)))
}

/// `todo:read, hr:read` or `todo:read hr:read` as a list.
fn split_scopes(v: &str) -> Vec<String> {
    v.split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_lists_split_on_spaces_and_commas() {
        assert_eq!(
            split_scopes(" todo:read,hr:read  system:read ,"),
            ["todo:read", "hr:read", "system:read"]
        );
        assert!(split_scopes(" , ").is_empty());
    }
}
