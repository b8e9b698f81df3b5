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
    if raw.contains(['\n', '\r']) {
        return Err(format!(
            "--set {key}: the value {raw:?} spans several lines; give one TOML value"
        ));
    }
    let value = match format!("v = {raw}").parse::<toml::Table>() {
        // One key `v` and nothing else: `1 # x` is fine, `1\n[t]` was refused above.
        Ok(mut table) if table.len() == 1 => table.remove("v"),
        Ok(_) => {
            return Err(format!(
                "--set {key}: the value {raw:?} is more than one TOML value"
            ));
        }
        Err(_) => None,
    }
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

#[cfg(test)]
mod tests {
    use super::parse_override;

    #[test]
    fn values_are_toml_or_bare_words() {
        assert_eq!(
            parse_override("a.b=0.5").unwrap().value,
            toml::Value::Float(0.5)
        );
        assert_eq!(
            parse_override("data.mode=sampled").unwrap().value,
            toml::Value::String("sampled".into())
        );
    }

    #[test]
    fn a_value_with_more_lines_or_keys_is_refused() {
        let e = parse_override("bandit.beta=0.7\n[optimizer]\nlr=0.5").unwrap_err();
        assert!(
            e.contains("bandit.beta") && e.contains("several lines"),
            "{e}"
        );
        let e = parse_override("bandit.beta=0.7\r\nlr=0.5").unwrap_err();
        assert!(e.contains("several lines"), "{e}");
        assert_eq!(
            parse_override("a=1 # a comment").unwrap().value,
            toml::Value::Integer(1)
        );
    }
}
