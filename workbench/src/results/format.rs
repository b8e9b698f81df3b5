//! The results file's format: the name of every root attribute and of every dataset that
//! more than one place writes or reads, and the one encoding of structured attributes
//! (TOML). docs/results.md documents each; its test checks the names against these.

/// Names of root attributes.
pub mod attr {
    /// The experiment's name (the file is `<experiment>.h5`).
    pub const EXPERIMENT: &str = "experiment";
    /// The kind that wrote the file (`sweep` for a sweep file).
    pub const KIND: &str = "kind";
    /// The fully resolved configuration, as TOML.
    pub const CONFIG_TOML: &str = "config_toml";
    /// The backend the run used (`flex`, `tch-cpu`, …).
    pub const BACKEND: &str = "backend";
    /// The float type the run used (`f32`, `f64`).
    pub const DTYPE: &str = "dtype";
    /// The workbench's version.
    pub const WORKBENCH_VERSION: &str = "workbench_version";
    /// When the file was written (RFC 3339, UTC, seconds).
    pub const CREATED_UTC: &str = "created_utc";
    /// A hash of the executable that wrote the file (results of another build are redone).
    pub const BUILD_ID: &str = "build_id";
    /// A hash of the run's data files (paths and contents).
    pub const INPUTS_ID: &str = "inputs_id";
    /// A sweep point's index.
    pub const SWEEP_INDEX: &str = "sweep_index";
    /// A sweep point's values of the swept keys, as TOML.
    pub const SWEEP_POINT: &str = "sweep_point";
    /// The `[sweep]` table, as TOML.
    pub const SWEEP_TOML: &str = "sweep_toml";
    /// A sweep file's points' kind.
    pub const POINT_KIND: &str = "point_kind";
    /// A sweep file's swept keys, in file order: a TOML array of strings.
    pub const SWEPT_KEYS: &str = "swept_keys";
    /// A sweep file's keys that `seeds` writes: a TOML array of strings.
    pub const SEED_KEYS: &str = "seed_keys";

    /// The folders saved beside the file (trained models), as TOML: per folder its path
    /// relative to the file's folder and each of its files' SHA-256 (`results::folders`).
    pub const SAVED: &str = "saved";

    /// The tables `workbench export` writes, as TOML: per table name, an array of the
    /// paths of its columns' datasets (1-D, of one length) ([`super::encode_tables`]).
    pub const TABLES: &str = "tables";

    /// Every root attribute the workbench itself writes.
    pub const ALL: [&str; 17] = [
        EXPERIMENT,
        KIND,
        CONFIG_TOML,
        BACKEND,
        DTYPE,
        WORKBENCH_VERSION,
        CREATED_UTC,
        BUILD_ID,
        INPUTS_ID,
        SWEEP_INDEX,
        SWEEP_POINT,
        SWEEP_TOML,
        POINT_KIND,
        SWEPT_KEYS,
        SEED_KEYS,
        SAVED,
        TABLES,
    ];
}

/// Names of groups and datasets.
pub mod path {
    /// The group of scalars that sum up a run (`summary/<name>`); in a sweep file, one value
    /// per point.
    pub const SUMMARY: &str = "summary";
    /// A sweep file's group: one dataset per swept key, and the points' bookkeeping.
    pub const SWEEP: &str = "sweep";
    /// A sweep file's status per point: `done`, `failed` or `missing`.
    pub const SWEEP_STATUS: &str = "sweep/status";
    /// A sweep file's error line per point (empty unless failed or stale).
    pub const SWEEP_ERROR: &str = "sweep/error";
    /// A sweep file's point file per point, relative to the sweep file.
    pub const SWEEP_FILE: &str = "sweep/file";
    /// A sweep file's seed per point (NaN for a point without one).
    pub const SWEEP_SEED: &str = "sweep/seed";

    /// A sweep file's per-point trajectories (`trajectory/<name>` [points, rows], NaN where
    /// a point has fewer rows or none), gathered from point files that have `trajectory/step`.
    pub const TRAJECTORY: &str = "trajectory";
    /// The step of each trajectory row.
    pub const TRAJECTORY_STEP: &str = "trajectory/step";

    /// `summary/<name>`.
    pub fn summary(name: &str) -> String {
        format!("{SUMMARY}/{name}")
    }

    /// `sweep/<key>`: a swept key's value per point.
    pub fn swept(key: &str) -> String {
        format!("{SWEEP}/{key}")
    }
}

/// The `kind` of a sweep file.
pub const SWEEP_KIND: &str = "sweep";

/// A list of names (a sweep's keys) as a structured attribute: a TOML array of strings.
pub fn encode_names(names: &[String]) -> String {
    toml::Value::Array(names.iter().cloned().map(toml::Value::String).collect()).to_string()
}

/// The list of names in a structured attribute written by [`encode_names`]. Files of
/// earlier versions hold a JSON array of strings, which is a TOML array too.
pub fn decode_names(text: &str) -> Result<Vec<String>, String> {
    let table: toml::Table = format!("names = {text}")
        .parse()
        .map_err(|e: toml::de::Error| format!("not a TOML array of strings: {}", e.message()))?;
    let not_names = || "not a TOML array of strings".to_string();
    table
        .get("names")
        .and_then(toml::Value::as_array)
        .ok_or_else(not_names)?
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(not_names))
        .collect()
}

/// Tables of datasets (name, the paths of its columns) as the structured attribute
/// [`attr::TABLES`]: a TOML table of arrays of strings, in the tables' order.
pub fn encode_tables(tables: &[(String, Vec<String>)]) -> String {
    let mut table = toml::Table::new();
    for (name, columns) in tables {
        let columns = columns.iter().cloned().map(toml::Value::String).collect();
        table.insert(name.clone(), toml::Value::Array(columns));
    }
    table.to_string()
}

/// The tables in a structured attribute written by [`encode_tables`].
pub fn decode_tables(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("not a TOML table: {}", e.message()))?;
    table
        .into_iter()
        .map(|(name, columns)| {
            let not_paths = || format!("table `{name}` is not an array of dataset paths");
            let columns = columns
                .as_array()
                .ok_or_else(not_paths)?
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(not_paths))
                .collect::<Result<_, _>>()?;
            Ok((name, columns))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{attr, decode_names, decode_tables, encode_names, encode_tables, path};

    /// docs/results.md's table of root attributes names exactly [`attr::ALL`], and its
    /// dataset tables name the sweep file's bookkeeping datasets.
    #[test]
    fn the_results_doc_names_every_attribute() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results.md"),
        )
        .expect("docs/results.md");
        let documented: Vec<&str> = doc
            .lines()
            .skip_while(|line| !line.starts_with("| root attribute"))
            .skip(2)
            .take_while(|line| line.starts_with("| `"))
            .filter_map(|line| line.split('`').nth(1))
            .collect();
        assert_eq!(documented, attr::ALL, "docs/results.md's root attributes");
        for dataset in [
            path::SWEEP_STATUS,
            path::SWEEP_ERROR,
            path::SWEEP_FILE,
            path::SWEEP_SEED,
        ] {
            assert!(
                doc.contains(&format!("| `{dataset}` |")),
                "docs/results.md lacks {dataset}"
            );
        }
    }

    #[test]
    fn name_lists_round_trip_and_read_the_older_json() {
        let names = vec!["dpo.lr".to_string(), "data.\"odd\" key".to_string()];
        assert_eq!(decode_names(&encode_names(&names)).unwrap(), names);
        let json = serde_json::to_string(&names).unwrap();
        assert_eq!(decode_names(&json).unwrap(), names);
        assert_eq!(decode_names("[]").unwrap(), Vec::<String>::new());
        assert!(decode_names("[1, 2]").is_err());
        assert!(decode_names("dpo.lr").is_err());
    }

    #[test]
    fn tables_round_trip_in_order() {
        let tables = vec![
            (
                "steps".to_string(),
                vec!["dpo/loss".to_string(), "dpo/rewards/chosen".into()],
            ),
            ("a pairs".to_string(), vec!["log_rho_ref/all".to_string()]),
        ];
        assert_eq!(decode_tables(&encode_tables(&tables)).unwrap(), tables);
        assert!(decode_tables("t = [1]").is_err());
        assert!(decode_tables("t = 'x'").is_err());
    }
}
