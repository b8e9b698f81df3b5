//! The `config_toml` root attribute: the key values quoted in figure captions.

use crate::h5::ResultsFile;
use workbench::results::attr;

/// The experiment configuration stored in a results file.
#[derive(Debug, Clone)]
pub struct Config {
    table: Option<toml::Table>,
    problem: Option<String>,
}

impl Config {
    /// Reads and parses the `config_toml` root attribute of `file`.
    pub fn of(file: &ResultsFile) -> Self {
        match file.attr(attr::CONFIG_TOML) {
            None => Self {
                table: None,
                problem: Some(format!(
                    "{}: missing root attribute `config_toml`",
                    file.name()
                )),
            },
            Some(text) => Self::parse(&text, file.name()),
        }
    }

    /// Parses `text`, the configuration of `origin` (named in the problem if it is not TOML).
    pub fn parse(text: &str, origin: &str) -> Self {
        match text.parse::<toml::Table>() {
            Ok(table) => Self {
                table: Some(table),
                problem: None,
            },
            Err(e) => Self {
                table: None,
                // The message and position only: the error's display quotes the line,
                // which may be megabytes long.
                problem: Some(format!(
                    "{origin}: root attribute `config_toml` is not valid TOML{}: {}",
                    e.span()
                        .map(|s| format!(" at byte {}", s.start))
                        .unwrap_or_default(),
                    crate::clip::clip(e.message().trim(), crate::clip::LINE)
                )),
            },
        }
    }

    /// Why the configuration is unavailable, if it is.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The value at a dotted path (`bandit.beta`).
    pub fn get(&self, path: &str) -> Option<&toml::Value> {
        let mut parts = path.split('.');
        let mut value = self.table.as_ref()?.get(parts.next()?)?;
        for part in parts {
            value = value.as_table()?.get(part)?;
        }
        Some(value)
    }

    /// This configuration with `value` at the dotted `path`, replacing what was there and
    /// creating the tables on the way (a sweep point's configuration from point 0's). An
    /// unavailable configuration stays unavailable.
    pub fn with(&self, path: &str, value: toml::Value) -> Self {
        let mut table = self.table.clone();
        if let Some(root) = table.as_mut() {
            let parts: Vec<&str> = path.split('.').collect();
            insert(root, &parts, value);
        }
        Self {
            table,
            problem: self.problem.clone(),
        }
    }

    /// A number at a dotted path (integers are converted).
    pub fn number(&self, path: &str) -> Option<f64> {
        match self.get(path)? {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// `path = value` for each of `paths` present in the configuration, `; `-separated
    /// (`optimizer.lr = 0.01`).
    pub fn summary(&self, paths: &[&str]) -> String {
        let Some(_) = self.table else {
            return "configuration unavailable (no readable `config_toml` attribute)".into();
        };
        let mut parts: Vec<String> = paths
            .iter()
            .filter_map(|p| {
                let v = self.get(p)?;
                Some(format!("{p} = {}", show(v)))
            })
            .collect();
        if let Some(methods) = self.methods() {
            parts.push(format!("methods = {methods}"));
        }
        parts.join("; ")
    }

    /// The `[[methods]]` list, as `loss(divergence)` names.
    fn methods(&self) -> Option<String> {
        let list = self.get("methods")?.as_array()?;
        let names: Vec<String> = list
            .iter()
            .filter_map(|m| {
                let t = m.as_table()?;
                let loss = t.get("loss")?.as_str()?;
                Some(match t.get("divergence").and_then(|d| d.as_str()) {
                    Some(d) => format!("{loss}({d})"),
                    None => loss.to_owned(),
                })
            })
            .collect();
        Some(names.join(", "))
    }
}

/// Puts `value` at `path` under `table`, making (or replacing by) tables on the way.
fn insert(table: &mut toml::Table, path: &[&str], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(*first)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let Some(sub) = entry.as_table_mut() {
                insert(sub, rest, value);
            }
        }
    }
}

/// A TOML value as compact text (strings unquoted, numbers shortened).
pub fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) => crate::fmt_num(*f),
        toml::Value::Array(a) => {
            let items: Vec<String> = a.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        toml::Value::Table(t) => {
            let items: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k} = {}", show(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// Where a figure comes from: file, experiment, backend, dtype and creation time.
pub fn provenance(file: &ResultsFile) -> String {
    let text = |n: &str| file.attr(n).unwrap_or_else(|| "?".into());
    format!(
        "Made from `{}` (experiment {}, backend {}, dtype {}, created {}).",
        file.name(),
        text(attr::EXPERIMENT),
        text(attr::BACKEND),
        text(attr::DTYPE),
        text(attr::CREATED_UTC),
    )
}

/// The caption sentence for a figure made from `file`: experiment, backend and key values.
pub fn caption(file: &ResultsFile, cfg: &Config, paths: &[&str]) -> String {
    format!(
        "{} Configuration: {}.",
        provenance(file),
        cfg.summary(paths)
    )
}
