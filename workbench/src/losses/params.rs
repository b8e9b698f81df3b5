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
