//! A loss's own TOML table, parsed strictly: unknown keys and wrong types are errors.

use serde::de::DeserializeOwned;

/// Parses `table` (the loss's parameters, without the `loss` key) into `P`.
///
/// The error names the offending key, e.g. ``unknown field `gamma`, expected `divergence` or `a` ``.
pub fn parse_params<P: DeserializeOwned>(table: &toml::Table) -> Result<P, String> {
    toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e: toml::de::Error| e.message().trim().to_string())
}

/// A loss's or a policy family's parameters are wrong; the message names the key and the
/// value (the catalogue adds the file, the method and the name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

impl From<String> for ParamError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for ParamError {
    fn from(message: &str) -> Self {
        Self(message.to_string())
    }
}
