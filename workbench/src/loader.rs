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

/// Whether `WORKBENCH_<key>` (without its prefix, in the environment's own case) sets a
/// top-level key.
fn env_top_level(key: &str) -> bool {
    ENV_TOP_LEVEL_KEYS
        .iter()
        .any(|top| key.eq_ignore_ascii_case(top))
}

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
    Sweep(Box<ResolvedSweep>),
}

/// An experiment file read and parsed, a sweep's points not yet resolved.
pub enum Opened<'a> {
    /// A file without `[sweep]`: its one run, checked.
    Single(Box<dyn Experiment>),
    /// A file with `[sweep]`: its points resolve on demand ([`SweepSource::resolve`]).
    Sweep(Box<SweepSource<'a>>),
}

/// A sweep's file, parsed, with everything its points are resolved from.
pub struct SweepSource<'a> {
    source: Source,
    overrides: Vec<Override>,
    registry: &'a Registry,
    smoke: bool,
    /// The parsed `[sweep]`.
    pub sweep: Sweep,
}

/// A sweep whose points (all, or those kept) have been resolved and validated.
pub struct ResolvedSweep {
    /// The experiment's name.
    pub name: String,
    /// The points' kind.
    pub kind: String,
    /// The parsed `[sweep]`.
    pub sweep: Sweep,
    /// The keys the seeds were written to (those the kind declares and the points have).
    pub seed_keys: Vec<String>,
    /// The kept points with their checked experiments, in index order ([`Keep`]).
    pub points: Vec<(Point, Box<dyn Experiment>)>,
    /// The sweep's number of points.
    pub total: usize,
    /// How many points were resolved and checked: the sweep's total with [`Scope::All`].
    pub checked: usize,
    /// A hash of every checked point's resolved configuration, by index ([`text_id`]); with
    /// [`Scope::All`] every point's.
    pub config_ids: Vec<u64>,
    /// Each distinct list of data files the checked points read, sorted.
    pub inputs: Vec<Vec<std::path::PathBuf>>,
    /// What every point resolves from ([`SweepSource::definition`]).
    pub definition: String,
}

/// Which resolved sweep points are kept (to run them): all that are checked are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep<'a> {
    /// Every point: to run them.
    Every,
    /// Only the first: to validate a sweep of a million points without holding them.
    First,
    /// These (ascending) indices: `run --point`.
    Only(&'a [usize]),
}

/// Which sweep points are resolved and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every point: before anything of the sweep runs for the first time.
    All,
    /// Only those kept: a task of a sweep whose every point an earlier command of the same
    /// definition (file, environment, overrides) checked.
    Kept,
}

/// The largest experiment file read (16 MiB: a sweep of a million listed values fits).
const MAX_EXPERIMENT_BYTES: u64 = 16 << 20;

/// How many sweep points one thread resolves at a time.
const RESOLVE_CHUNK: usize = 1024;

/// A swept key and its value at one point.
type SweptValue = (String, toml::Value);

/// A hex hash of `text` (16 digits; xxh3): of a point's resolved configuration, say.
pub fn text_id(text: &str) -> String {
    hex_id(xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

/// A hash as [`text_id`] writes it.
pub fn hex_id(hash: u64) -> String {
    format!("{hash:016x}")
}

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

/// [`load_runs`], keeping the sweep's points that `keep` says (all are checked).
pub fn load_runs_keeping(
    path: &Path,
    overrides: &[Override],
    registry: &Registry,
    smoke: bool,
    keep: Keep<'_>,
) -> Result<Runs, WorkbenchError> {
    match open(path, overrides, registry, smoke)? {
        Opened::Single(experiment) => Ok(Runs::Single(experiment)),
        Opened::Sweep(sweep) => sweep
            .resolve(keep, Scope::All)
            .map(|resolved| Runs::Sweep(Box::new(resolved))),
    }
}

/// Reads and parses `path`: a plain run is resolved and checked; a sweep's `[sweep]` is
/// parsed and the overrides checked against it, its points left to [`SweepSource::resolve`].
pub fn open<'a>(
    path: &Path,
    overrides: &[Override],
    registry: &'a Registry,
    smoke: bool,
) -> Result<Opened<'a>, WorkbenchError> {
    let source = Source::read(path)?;
    let file = source.name.clone();
    let Some(value) = source.table.get("sweep") else {
        return load_from(&source, overrides, registry, smoke).map(Opened::Single);
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
    Ok(Opened::Sweep(Box::new(SweepSource {
        source,
        overrides: overrides.to_vec(),
        registry,
        smoke,
        sweep,
    })))
}

impl SweepSource<'_> {
    /// The sweep's number of points.
    pub fn count(&self) -> usize {
        self.sweep.count()
    }

    /// A hash of what every point is resolved from: the file's path and text, the
    /// `WORKBENCH_*` variables that set keys, the overrides, `--smoke`. Two commands with
    /// the same definition resolve every point alike (with the same build).
    pub fn definition(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            std::fs::canonicalize(&self.source.path)
                .unwrap_or_else(|_| self.source.path.clone())
                .display(),
            hex_id(self.source.text_hash),
            self.smoke
        );
        let mut variables: Vec<(String, String)> = std::env::vars()
            .filter(|(key, _)| {
                key.strip_prefix("WORKBENCH_")
                    .is_some_and(|k| k.contains("__") || env_top_level(k))
            })
            .collect();
        variables.sort();
        for (key, value) in variables {
            text.push_str(&format!("env {key}={value}\n"));
        }
        for o in &self.overrides {
            text.push_str(&format!("set {}={}\n", o.key, o.value));
        }
        text_id(&text)
    }

    /// Resolves and checks the points `scope` says, keeping those `keep` says (`Only`'s
    /// indices ascending and below [`SweepSource::count`]); the first bad point (in point
    /// order) is the error, naming it.
    pub fn resolve(&self, keep: Keep<'_>, scope: Scope) -> Result<ResolvedSweep, WorkbenchError> {
        let (source, overrides, registry, smoke) =
            (&self.source, &self.overrides, self.registry, self.smoke);
        let (sweep, file) = (&self.sweep, &source.name);
        let total = sweep.count();
        let fast = FastPath::new(source, overrides, registry, smoke, sweep);
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
            load_from(source, &layers, registry, smoke).map_err(|e| at(point, e))
        };
        let kept = |index: usize| match keep {
            Keep::Every => true,
            Keep::First => index == 0,
            Keep::Only(indices) => indices.binary_search(&index).is_ok(),
        };
        let indices: Vec<usize> = match (scope, keep) {
            (Scope::All, _) | (Scope::Kept, Keep::Every) => (0..total).collect(),
            (Scope::Kept, Keep::First) => vec![0],
            (Scope::Kept, Keep::Only(indices)) => indices.to_vec(),
        };
        // Each point's layers, in order: the seed keys are found once per combination of
        // swept values (seeds vary fastest, so its points are consecutive).
        let mut seed_keys: Vec<String> = Vec::new();
        let mut planned: Vec<(Point, Vec<Override>)> = Vec::with_capacity(indices.len());
        let mut known: Option<(Vec<SweptValue>, Vec<String>)> = None;
        for index in indices {
            let point = sweep.point(index);
            let mut keys = Vec::new();
            if let Some((values, found)) = &known
                && point.seed.is_some()
                && *values == point.values
            {
                keys = found.clone();
            } else if point.seed.is_some() {
                let values_only = Point {
                    seed: None,
                    seed_values: Vec::new(),
                    ..point.clone()
                };
                let unseeded = resolve(&point, &values_only.overrides(&[]))?;
                keys = self
                    .seed_keys_at(unseeded.as_ref())
                    .map_err(|e| at(&point, e.into()))?;
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
        // Every point resolved and checked, on every core, in chunks; the first bad point
        // (in point order) is the error.
        let chunks: Vec<&[(Point, Vec<Override>)]> = planned.chunks(RESOLVE_CHUNK).collect();
        let resolved = crate::threads::map(&chunks, |chunk| {
            chunk
                .iter()
                .map(|(point, layers)| {
                    let experiment = resolve(point, layers)?;
                    let id = xxhash_rust::xxh3::xxh3_64(experiment.config_toml().as_bytes());
                    let inputs = experiment.inputs();
                    Ok((id, inputs, kept(point.index).then_some(experiment)))
                })
                .collect::<Vec<Result<_, WorkbenchError>>>()
        });
        let checked = planned.len();
        let mut points = Vec::new();
        let mut config_ids = Vec::with_capacity(checked);
        let mut inputs = std::collections::BTreeSet::new();
        for ((point, _), outcome) in planned.into_iter().zip(resolved.into_iter().flatten()) {
            let (id, files, experiment) = outcome?;
            config_ids.push(id);
            inputs.insert(files);
            if let Some(experiment) = experiment {
                points.push((point, experiment));
            }
        }
        let (name, kind) = points
            .first()
            .map(|(_, e)| (e.name().to_string(), e.kind().to_string()))
            .unwrap_or_default();
        Ok(ResolvedSweep {
            name,
            kind,
            sweep: sweep.clone(),
            seed_keys,
            points,
            total,
            checked,
            config_ids,
            inputs: inputs.into_iter().collect(),
            definition: self.definition(),
        })
    }

    /// The keys `sweep.seeds` writes at `point`: those the kind declares that the point's
    /// configuration without seeds (`unseeded`) has, or with per-key seeds the keys named
    /// (each one the kind declares); neither swept nor set by `--set`.
    fn seed_keys_at(&self, unseeded: &dyn Experiment) -> Result<Vec<String>, ConfigError> {
        let keys_swept = self.sweep.keys();
        let swept = |key: &str| keys_swept.iter().copied().find(|s| overlaps(s, key));
        let declared = self
            .registry
            .kind(unseeded.kind())
            .map(|k| k.seeds())
            .unwrap_or_default();
        if let Some((key, _)) = self
            .sweep
            .seed_axes
            .iter()
            .find(|(key, _)| !declared.contains(&key.as_str()))
        {
            return Err(ConfigError::new(
                format!("sweep.seeds.{key:?}"),
                "",
                format!(
                    "is not a seed key of kind {} (it declares: {})",
                    unseeded.kind(),
                    declared.join(", ")
                ),
            ));
        }
        let keys: Vec<String> = if self.sweep.seed_axes.is_empty() {
            declared
                .iter()
                .filter(|key| has_key(unseeded.config_toml(), key))
                .map(|key| key.to_string())
                .collect()
        } else {
            self.sweep
                .seed_axes
                .iter()
                .map(|(k, _)| k.clone())
                .collect()
        };
        if keys.is_empty() {
            return Err(ConfigError::new(
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
            return Err(ConfigError::new(format!("sweep.grid.{key:?}"), "", reason));
        }
        if let Some(o) = self
            .overrides
            .iter()
            .find(|o| keys.iter().any(|k| overlaps(k, &o.key)))
        {
            return Err(ConfigError::new(
                format!("--set {}", o.key),
                &o.value,
                "is a seed key, which sweep.seeds sets; set it in one place",
            ));
        }
        Ok(keys)
    }
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
    /// Kept point `index` with its experiment.
    ///
    /// # Panics
    /// When the point was not kept: callers ask only for points they kept.
    pub fn at(&self, index: usize) -> &(Point, Box<dyn Experiment>) {
        let slot = self
            .points
            .binary_search_by_key(&index, |(point, _)| point.index)
            .unwrap_or_else(|_| panic!("sweep point {index} was not kept"));
        &self.points[slot]
    }

    /// The points of `selected` in batches: those whose resolved configurations differ only
    /// in the key their kind trains as a batch dimension (`Kind::BATCH_KEY`) run together;
    /// every other point alone. Batches keep the order of their first point.
    pub fn batches(&self, selected: &[usize]) -> Vec<Vec<usize>> {
        let key = self.points.first().and_then(|(_, e)| e.batch_key());
        let mut groups: Vec<(Option<String>, Vec<usize>)> = Vec::new();
        for &index in selected {
            let rest = key.and_then(|key| without_key(self.at(index).1.config_toml(), key));
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
    /// A hash of its text (xxh3).
    text_hash: u64,
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
            text_hash: xxhash_rust::xxh3::xxh3_64(text.as_bytes()),
            base: std::sync::OnceLock::new(),
        })
    }

    /// The merged figment: this file, then `WORKBENCH_*` variables, then `overrides`.
    fn figment(&self, overrides: &[Override]) -> Figment {
        let base = self.base.get_or_init(|| {
            let env = Env::prefixed("WORKBENCH_").split("__").filter(|key| {
                // Keys reach the filter in the environment's own case (`DISTANCE`).
                key.as_str().contains('.') || env_top_level(key.as_str())
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
            "ablations/fig6_constraints.toml",
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
