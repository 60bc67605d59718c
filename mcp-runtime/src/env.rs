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
