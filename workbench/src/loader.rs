//! Loading experiment files: built-in defaults < the TOML file < `WORKBENCH_*` environment
//! variables < `--set key=value`, merged by figment. The header is read once here, the
//! kind found in the registry, and the kind parses and validates the rest; what leaves is
//! a checked [`Experiment`].

use crate::config::validate;
use crate::config::{Override, config_error, parse_override};
use crate::error::{ConfigError, WorkbenchError};
use crate::experiments::{Experiment, Header, Validation};
use crate::registry::Registry;
use crate::sweep::{Point, Sweep, overlaps};
use figment::providers::{Env, Serialized};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
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
    load_from(&Source::read(path)?, overrides, registry, smoke)
}

/// [`load_sized`] from a file already read.
fn load_from(
    source: &Source,
    overrides: &[Override],
    registry: &Registry,
    smoke: bool,
) -> Result<Box<dyn Experiment>, WorkbenchError> {
    let file = &source.name;
    let figment = source.figment(overrides);
    let header: Header = figment.extract().map_err(|e| config_error(e, file))?;
    let Some(experiment_kind) = registry.kind(&header.kind) else {
        let known = registry.kind_names().join(", ");
        return Err(ConfigError::new(
            "kind",
            format!("{:?}", header.kind),
            format!("unknown kind; known: {known}"),
        )
        .in_file(file)
        .into());
    };
    validate::check_name(&header.name).map_err(|e| e.in_file(file))?;
    let figment = if smoke {
        let mut sized = experiment_kind
            .smoke()
            .iter()
            .map(|text| parse_override(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                WorkbenchError::Config(ConfigError::new("--smoke", "", e).in_file(file))
            })?;
        sized.extend(overrides.iter().cloned());
        source.figment(&sized)
    } else {
        figment
    };
    let check = Validation {
        catalogue: registry.catalogue(),
        file,
    };
    Ok(experiment_kind.prepare(&figment, &header, &check)?)
}

/// What one experiment file asks for: one run, or the points of its `[sweep]`.
pub enum Runs {
    /// A file without `[sweep]`.
    Single(Box<dyn Experiment>),
    /// A file with `[sweep]`, every point validated.
    Sweep(ResolvedSweep),
}

/// A sweep whose every point has been validated.
pub struct ResolvedSweep {
    /// The experiment's name.
    pub name: String,
    /// The points' kind.
    pub kind: String,
    /// The parsed `[sweep]`.
    pub sweep: Sweep,
    /// The keys the seeds were written to (those the kind declares and the points have).
    pub seed_keys: Vec<String>,
    /// Every point with its checked experiment (only the first with [`Keep::First`]).
    pub points: Vec<(Point, Box<dyn Experiment>)>,
    /// How many points were resolved and checked: all of the sweep's.
    pub checked: usize,
}

/// Which resolved sweep points [`load_runs_keeping`] keeps (it checks all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every point: to run them.
    Every,
    /// Only the first: to validate a sweep of a million points without holding them.
    First,
}

/// The largest experiment file read (16 MiB: a sweep of a million listed values fits).
const MAX_EXPERIMENT_BYTES: u64 = 16 << 20;

/// How many sweep points one thread resolves at a time.
const RESOLVE_CHUNK: usize = 1024;

/// A swept key and its value at one point.
type SweptValue = (String, toml::Value);

/// Reads `path` into a [`Runs`]: a plain run, or every point of its `[sweep]`, each
/// validated before any runs (the first bad point is the error, naming it). Layers, last
/// wins: the file, `WORKBENCH_*`, the kind's smoke size (`smoke`), the point's values,
/// `overrides`; an override of a swept key is refused.
pub fn load_runs(
    path: &Path,
    overrides: &[Override],
    registry: &Registry,
    smoke: bool,
) -> Result<Runs, WorkbenchError> {
    load_runs_keeping(path, overrides, registry, smoke, Keep::Every)
}

/// [`load_runs`], keeping the sweep's points that `keep` says.
pub fn load_runs_keeping(
    path: &Path,
    overrides: &[Override],
    registry: &Registry,
    smoke: bool,
    keep: Keep,
) -> Result<Runs, WorkbenchError> {
    let source = Source::read(path)?;
    let file = source.name.clone();
    let Some(value) = source.table.get("sweep") else {
        return load_from(&source, overrides, registry, smoke).map(Runs::Single);
    };
    let sweep = match value {
        toml::Value::Table(t) => Sweep::parse(t),
        other => Err(ConfigError::new(
            "sweep",
            other,
            "must be a table: [sweep] with grid, zip or seeds",
        )),
    }
    .map_err(|e| e.in_file(&file))?;
    let swept = |key: &str| sweep.keys().into_iter().find(|s| overlaps(s, key));
    if let Some((o, key)) = overrides
        .iter()
        .find_map(|o| swept(&o.key).map(|key| (o, key)))
    {
        let reason = if key == o.key {
            "is swept by [sweep]; set it in one place".to_string()
        } else {
            format!("overlaps the swept key {key:?}; set it in one place")
        };
        return Err(
            ConfigError::new(format!("--set {}", o.key), &o.value, reason)
                .in_file(&file)
                .into(),
        );
    }
    let fast = FastPath::new(&source, overrides, registry, smoke, &sweep);
    let at = |point: &Point, e: WorkbenchError| match e {
        WorkbenchError::Config(e) => WorkbenchError::Config(e.in_file(format!(
            "{file}, sweep point {} ({})",
            point.index,
            point.describe()
        ))),
        other => other,
    };
    let resolve = |point: &Point, layers: &[Override]| {
        if let Some(prepared) = fast.as_ref().and_then(|f| f.prepare(layers)) {
            return prepared.map_err(|e| at(point, e.into()));
        }
        let layers: Vec<Override> = layers.iter().chain(overrides).cloned().collect();
        load_from(&source, &layers, registry, smoke).map_err(|e| at(point, e))
    };
    // Each point's layers, in order: the seed keys are found once per combination of
    // swept values (seeds vary fastest, so its points are consecutive).
    let mut seed_keys: Vec<String> = Vec::new();
    let mut planned: Vec<(Point, Vec<Override>)> = Vec::new();
    let mut known: Option<(Vec<SweptValue>, Vec<String>)> = None;
    for point in sweep.points() {
        let mut keys = Vec::new();
        if let Some((values, found)) = &known
            && point.seed.is_some()
            && *values == point.values
        {
            keys = found.clone();
        } else if point.seed.is_some() {
            let unseeded = resolve(&point, &point.overrides(&[]))?;
            let declared = registry
                .kind(unseeded.kind())
                .map(|k| k.seeds())
                .unwrap_or_default();
            keys = declared
                .iter()
                .filter(|key| has_key(unseeded.config_toml(), key))
                .map(|key| key.to_string())
                .collect();
            if keys.is_empty() {
                return Err(at(
                    &point,
                    ConfigError::new(
                        "sweep.seeds",
                        "",
                        format!(
                            "kind {} has no seed key in this configuration (it declares: {})",
                            unseeded.kind(),
                            if declared.is_empty() {
                                "none".to_string()
                            } else {
                                declared.join(", ")
                            }
                        ),
                    )
                    .into(),
                ));
            }
            if let Some((seed_key, key)) = keys.iter().find_map(|k| swept(k).map(|s| (k, s))) {
                let reason = if key == seed_key {
                    "is a seed key, which sweep.seeds sets; sweep it in one place".to_string()
                } else {
                    format!(
                        "holds the seed key {seed_key:?}, which sweep.seeds sets; sweep it in one place"
                    )
                };
                return Err(at(
                    &point,
                    ConfigError::new(format!("sweep.grid.{key:?}"), "", reason).into(),
                ));
            }
            if let Some(o) = overrides
                .iter()
                .find(|o| keys.iter().any(|k| overlaps(k, &o.key)))
            {
                return Err(at(
                    &point,
                    ConfigError::new(
                        format!("--set {}", o.key),
                        &o.value,
                        "is a seed key, which sweep.seeds sets; set it in one place",
                    )
                    .into(),
                ));
            }
            known = Some((point.values.clone(), keys.clone()));
        }
        for key in &keys {
            if !seed_keys.contains(key) {
                seed_keys.push(key.clone());
            }
        }
        let layers = point.overrides(&keys);
        planned.push((point, layers));
    }
    // Every point resolved and checked, on every core, in chunks; the first bad point (in
    // point order) is the error.
    let chunks: Vec<&[(Point, Vec<Override>)]> = planned.chunks(RESOLVE_CHUNK).collect();
    let resolved = crate::threads::map(&chunks, |chunk| {
        chunk
            .iter()
            .map(|(point, layers)| {
                let experiment = resolve(point, layers)?;
                Ok((keep == Keep::Every || point.index == 0).then_some(experiment))
            })
            .collect::<Vec<Result<_, WorkbenchError>>>()
    });
    let checked = planned.len();
    let mut points = Vec::with_capacity(if keep == Keep::Every { checked } else { 1 });
    for ((point, _), experiment) in planned.into_iter().zip(resolved.into_iter().flatten()) {
        if let Some(experiment) = experiment? {
            points.push((point, experiment));
        }
    }
    let (name, kind) = points
        .first()
        .map(|(_, e)| (e.name().to_string(), e.kind().to_string()))
        .unwrap_or_default();
    Ok(Runs::Sweep(ResolvedSweep {
        name,
        kind,
        sweep,
        seed_keys,
        points,
        checked,
    }))
}

/// Sweep points resolved on the file's table itself rather than through figment: the
/// file, the environment and the `--set` overrides merged once, each point's values set on
/// a copy (tables merged key by key, as figment merges them). What does not deserialize
/// as it is goes the slow way, for figment's conversions and its error messages.
struct FastPath<'a> {
    base: toml::Table,
    header: Header,
    kind: &'a dyn crate::experiments::ExperimentKind,
    check: Validation<'a>,
}

impl<'a> FastPath<'a> {
    /// `None` when the sweep sets a header key, or for `--smoke` (whose sizes depend on the
    /// kind), or when the base does not resolve (the slow way then names the problem).
    fn new(
        source: &'a Source,
        overrides: &[Override],
        registry: &'a Registry,
        smoke: bool,
        sweep: &Sweep,
    ) -> Option<Self> {
        const HEADER: [&str; 4] = ["name", "kind", "backend", "description"];
        if smoke
            || sweep
                .keys()
                .iter()
                .any(|key| HEADER.iter().any(|h| overlaps(key, h)))
        {
            return None;
        }
        let figment = source.figment(overrides);
        let header: Header = figment.extract().ok()?;
        validate::check_name(&header.name).ok()?;
        Some(Self {
            base: figment.extract().ok()?,
            kind: registry.kind(&header.kind)?.as_ref(),
            header,
            check: Validation {
                catalogue: registry.catalogue(),
                file: &source.name,
            },
        })
    }

    /// The experiment at the base with `layers` set; `None` to go the slow way.
    fn prepare(
        &self,
        layers: &[Override],
    ) -> Option<Result<Box<dyn Experiment>, crate::error::ConfigError>> {
        let mut table = self.base.clone();
        for layer in layers {
            merge_at(&mut table, &layer.key, layer.value.clone());
        }
        self.kind.prepare_table(table, &self.header, &self.check)
    }
}

/// Sets the dotted `key` of `table` to `value`, creating tables on the way; a table value
/// is merged into a table already there, key by key (figment's merge).
fn merge_at(table: &mut toml::Table, key: &str, value: toml::Value) {
    let (head, rest) = key
        .split_once('.')
        .map_or((key, None), |(h, r)| (h, Some(r)));
    match rest {
        Some(rest) => {
            let entry = table
                .entry(head)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                merge_at(inner, rest, value);
            }
        }
        None => match (table.get_mut(head), value) {
            (Some(toml::Value::Table(old)), toml::Value::Table(new)) => {
                for (k, v) in new {
                    merge_at(old, &k, v);
                }
            }
            (_, value) => {
                table.insert(head.to_string(), value);
            }
        },
    }
}

impl ResolvedSweep {
    /// The points of `selected` in batches: those whose resolved configurations differ only
    /// in the key their kind trains as a batch dimension (`Kind::BATCH_KEY`) run together;
    /// every other point alone. Batches keep the order of their first point.
    pub fn batches(&self, selected: &[usize]) -> Vec<Vec<usize>> {
        let key = self.points.first().and_then(|(_, e)| e.batch_key());
        let mut groups: Vec<(Option<String>, Vec<usize>)> = Vec::new();
        for &index in selected {
            let rest = key.and_then(|key| without_key(self.points[index].1.config_toml(), key));
            match groups.iter_mut().find(|(r, _)| r.is_some() && *r == rest) {
                Some((_, members)) => members.push(index),
                None => groups.push((rest, vec![index])),
            }
        }
        groups.into_iter().map(|(_, members)| members).collect()
    }
}

/// Whether the resolved configuration `config_toml` has the dotted `key`.
fn has_key(config_toml: &str, key: &str) -> bool {
    without_key(config_toml, key).is_some()
}

/// `config_toml` without the dotted `key`, as TOML text; `None` when it has no such key.
fn without_key(config_toml: &str, key: &str) -> Option<String> {
    let mut table: toml::Table = config_toml.parse().ok()?;
    let (path, last) = match key.rsplit_once('.') {
        Some((path, last)) => (Some(path), last),
        None => (None, key),
    };
    let mut inner = &mut table;
    for part in path.into_iter().flat_map(|p| p.split('.')) {
        inner = inner.get_mut(part)?.as_table_mut()?;
    }
    inner.remove(last)?;
    toml::to_string(&table).ok()
}

/// An experiment file, read and parsed once per command: every run and sweep point of it
/// is resolved from this one parse.
struct Source {
    /// Where it was read from.
    path: std::path::PathBuf,
    /// Its name in errors.
    name: String,
    /// Its parsed contents.
    table: toml::Table,
    /// This file merged with the environment, made once: every sweep point starts from it.
    base: std::sync::OnceLock<Figment>,
}

impl Source {
    /// Reads and parses `path`; malformed TOML is an error naming the line and column.
    fn read(path: &Path) -> Result<Self, WorkbenchError> {
        let fail = |source| WorkbenchError::Read {
            path: path.to_path_buf(),
            source,
        };
        // A FIFO would block and /dev/zero never end: only a regular file of a sane size is
        // read (a link to one is that file).
        let meta = std::fs::metadata(path).map_err(fail)?;
        if !meta.is_file() {
            return Err(fail(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        if meta.len() > MAX_EXPERIMENT_BYTES {
            return Err(fail(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{} bytes; an experiment file may have at most {MAX_EXPERIMENT_BYTES}",
                    meta.len()
                ),
            )));
        }
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(
                std::fs::File::open(path).map_err(fail)?,
                MAX_EXPERIMENT_BYTES,
            ),
            &mut text,
        )
        .map_err(fail)?;
        let name = path.display().to_string();
        let table = parse_toml(&text).map_err(|e| e.in_file(&name))?;
        Ok(Self {
            path: path.to_path_buf(),
            name,
            table,
            base: std::sync::OnceLock::new(),
        })
    }

    /// The merged figment: this file, then `WORKBENCH_*` variables, then `overrides`.
    fn figment(&self, overrides: &[Override]) -> Figment {
        let base = self.base.get_or_init(|| {
            let env = Env::prefixed("WORKBENCH_").split("__").filter(|key| {
                // Keys reach the filter in the environment's own case (`DISTANCE`).
                key.as_str().contains('.')
                    || ENV_TOP_LEVEL_KEYS
                        .iter()
                        .any(|top| key.as_str().eq_ignore_ascii_case(top))
            });
            Figment::new().merge(self).merge(env)
        });
        overrides
            .iter()
            .fold(base.clone(), |figment, o| figment.merge(o.clone()))
    }
}

/// The file's parsed table as figment's first layer, attributed to the file (as figment's
/// own TOML file provider would, without reading and parsing the file again).
impl Provider for &Source {
    fn metadata(&self) -> Metadata {
        Metadata::from("TOML file", self.path.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::defaults(&self.table).data()
    }
}

/// Parses `text`; malformed TOML is an error with the line and column of the first error.
fn parse_toml(text: &str) -> Result<toml::Table, ConfigError> {
    let e = match text.parse::<toml::Table>() {
        Ok(table) => return Ok(table),
        Err(e) => e,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every point of `text`'s sweep resolves to the same configuration on the fast path
    /// as through figment.
    fn same_both_ways(text: &str, overrides: &[Override]) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sw.toml");
        std::fs::write(&path, text).expect("write");
        let registry = Registry::builtin();
        let Runs::Sweep(resolved) = load_runs(&path, overrides, &registry, false).expect("loads")
        else {
            panic!("not a sweep");
        };
        let source = Source::read(&path).expect("reads");
        for (point, experiment) in &resolved.points {
            let layers: Vec<Override> = point
                .overrides(&resolved.seed_keys)
                .into_iter()
                .chain(overrides.iter().cloned())
                .collect();
            let slow = load_from(&source, &layers, &registry, false).expect("slow way");
            assert_eq!(experiment.config_toml(), slow.config_toml(), "{point:?}");
        }
    }

    #[test]
    fn the_fast_path_resolves_every_shipped_sweep_as_figment_does() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
        for file in [
            "mode_seeking_sampled.toml",
            "ablations/fig6_ablation.toml",
            "ablations/fig6_hh_seeds.toml",
        ] {
            let text = std::fs::read_to_string(root.join(file)).expect("shipped sweep");
            // Data paths are relative to the file: anchor them where it lives.
            let data = root.join(file).parent().unwrap().join("../data");
            let text = text.replace("\"../data", &format!("\"{}", data.display()));
            same_both_ways(&text, &[]);
        }
    }

    #[test]
    fn the_fast_path_merges_tables_and_seeds_as_figment_does() {
        let text = r#"
name = "sw"
kind = "mode_seeking"
[data]
mode = "sampled"
n_pairs = 50
[optimizer]
epochs = 20
lr = 1
[sweep]
grid = { "optimizer" = [{ lr = 0.5 }, { epochs = 3 }], "data.n_pairs" = [7, 9] }
seeds = 2
"#;
        let set = parse_override("bandit.beta=2.0").expect("override");
        same_both_ways(text, &[set]);
    }
}
