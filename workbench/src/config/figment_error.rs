//! figment's errors as one-line [`ConfigError`]s naming the file, the key and the value.

use crate::error::ConfigError;
use figment::error::Kind;

/// The first error in `error`, attributed to `file` (or to the `--set` / environment
/// variable it came from).
pub fn config_error(error: figment::Error, file: &str) -> ConfigError {
    // A figment error chains every error found; the first is the one to fix first.
    let error = error
        .into_iter()
        .next()
        .expect("a figment error holds at least one");
    let key = error.path.join(".");
    let value = match &error.kind {
        Kind::InvalidType(actual, _) | Kind::InvalidValue(actual, _) => actual.to_string(),
        Kind::UnknownVariant(variant, _) => format!("{variant:?}"),
        _ => String::new(),
    };
    let source = error
        .metadata
        .as_ref()
        .filter(|m| m.source.is_none())
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    // figment's path ends with the field for unknown fields, but not for missing ones.
    let key = match &error.kind {
        Kind::MissingField(field) if key.is_empty() => field.to_string(),
        Kind::MissingField(field) => format!("{key}.{field}"),
        _ => key,
    };
    let reason = match &error.kind {
        Kind::UnknownVariant(_, expected) => {
            format!("unknown value; expected one of {}", expected.join(", "))
        }
        Kind::UnknownField(field, expected) => {
            format!(
                "unknown key `{field}`; expected one of {}",
                expected.join(", ")
            )
        }
        other => other.to_string(),
    };
    ConfigError::new(key, value, format!("{reason}{source}")).in_file(file)
}
