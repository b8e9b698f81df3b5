//! Loading experiment files: built-in defaults < the TOML file < `WORKBENCH_*` environment
//! variables < `--set key=value`, merged by figment. The header is read once here, the
//! kind found in the registry, and the kind parses and validates the rest; what leaves is
//! a checked [`Experiment`].

use crate::config::validate;
use crate::config::{Override, config_error, parse_override};
use crate::error::{ConfigError, WorkbenchError};
use crate::experiments::{Experiment, Header, Validation};
use crate::registry::Registry;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use std::path::Path;

/// Top-level keys that may come from `WORKBENCH_<KEY>`; nested keys use `__`
/// (`WORKBENCH_BANDIT__BETA=0.5`).
const ENV_TOP_LEVEL_KEYS: [&str; 3] = ["name", "description", "distance"];

/// Reads, merges and validates the experiment in `path`.
pub fn load(
    path: &Path,
    overrides: &[Override],
    registry: &Registry,
) -> Result<Box<dyn Experiment>, WorkbenchError> {
    load_sized(path, overrides, registry, false)
}

/// [`load`], at the reduced size its kind declares for smoke runs when `smoke` (the kind's
/// overrides come before `overrides`, which still win).
pub fn load_sized(
    path: &Path,
    overrides: &[Override],
    registry: &Registry,
    smoke: bool,
) -> Result<Box<dyn Experiment>, WorkbenchError> {
    let text = std::fs::read_to_string(path).map_err(|source| WorkbenchError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = path.display().to_string();
    check_toml_syntax(&text).map_err(|e| e.in_file(&file))?;
    let figment = figment(path, overrides);
    let header: Header = figment.extract().map_err(|e| config_error(e, &file))?;
    let Some(experiment_kind) = registry.kind(&header.kind) else {
        let known = registry.kind_names().join(", ");
        return Err(ConfigError::new(
            "kind",
            format!("{:?}", header.kind),
            format!("unknown kind; known: {known}"),
        )
        .in_file(&file)
        .into());
    };
    validate::check_name(&header.name).map_err(|e| e.in_file(&file))?;
    let figment = if smoke {
        let mut sized = experiment_kind
            .smoke()
            .iter()
            .map(|text| parse_override(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                WorkbenchError::Config(ConfigError::new("--smoke", "", e).in_file(&file))
            })?;
        sized.extend(overrides.iter().cloned());
        self::figment(path, &sized)
    } else {
        figment
    };
    let check = Validation {
        catalogue: registry.catalogue(),
        file: &file,
        folder: path.parent().unwrap_or(Path::new(".")),
    };
    Ok(experiment_kind.prepare(&figment, &header, &check)?)
}

/// The merged figment for `path` and `overrides`.
fn figment(path: &Path, overrides: &[Override]) -> Figment {
    let env = Env::prefixed("WORKBENCH_").split("__").filter(|key| {
        // Keys reach the filter in the environment's own case (`DISTANCE`).
        key.as_str().contains('.')
            || ENV_TOP_LEVEL_KEYS
                .iter()
                .any(|top| key.as_str().eq_ignore_ascii_case(top))
    });
    overrides.iter().fold(
        Figment::new().merge(Toml::file_exact(path)).merge(env),
        |figment, o| figment.merge(o.clone()),
    )
}

/// Rejects malformed TOML with the line and column of the first error.
fn check_toml_syntax(text: &str) -> Result<(), ConfigError> {
    let Err(e) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    let (line, column) = e
        .span()
        .map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, column)
        })
        .unwrap_or((0, 0));
    Err(ConfigError::new(
        format!("line {line}, column {column}"),
        "",
        format!("malformed TOML: {}", e.message().trim()),
    ))
}
