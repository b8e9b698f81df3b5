//! `--set key=value`: a dotted key and a TOML value, as a figment provider.

use figment::providers::Serialized;
use figment::value::{Dict, Map};
use figment::{Metadata, Profile, Provider};

/// One command-line override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Dotted key, e.g. `bandit.beta`.
    pub key: String,
    /// The value, parsed as TOML.
    pub value: toml::Value,
}

/// Parses `key=value`. The value is read as TOML (`0.5`, `[0.5, 0.3, 0.2]`, `"x"`); a bare
/// word that is not valid TOML is taken as a string, so `--set data.mode=sampled` works.
pub fn parse_override(text: &str) -> Result<Override, String> {
    let (key, raw) = text
        .split_once('=')
        .ok_or_else(|| format!("--set {text}: expected KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!(
            "--set {text}: the key must be dotted names, e.g. bandit.beta"
        ));
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.trim().to_string()));
    Ok(Override {
        key: key.to_string(),
        value,
    })
}

impl Provider for Override {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("--set {}", self.key))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::default(&self.key, &self.value).data()
    }
}
