//! A sweep's folder: its manifest `sweep.toml` (what the sweep is: its name, kind, `[sweep]`
//! table, definition and data files, so that `collect` can name the missing points and
//! merge points computed by other processes), `config-ids.txt` (each point's configuration
//! hash, one a line, by index) and its point files' names.

use crate::error::{CliError, Result};
use crate::session::{build_id, files_id, text_id};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use workbench::loader::{ResolvedSweep, hex_id};
use workbench::sweep::Sweep;

/// Prepares `dir` for `plan`'s points and writes its manifest.
pub fn begin(plan: &ResolvedSweep, dir: &Path) -> Result<()> {
    Manifest::of(plan)?.write(dir)
}

/// An id of everything `plan`'s points are: the definition they resolve from (file,
/// environment, overrides, this build) and the contents of their data files. What a Slurm
/// task checks its file still resolves to (`run --expect-config`).
pub fn manifest_id(plan: &ResolvedSweep) -> Result<String> {
    Manifest::of(plan)?.id()
}

/// What a sweep's points resolve from: the loader's definition and this build.
pub fn definition_id(definition: &str) -> Result<String> {
    Ok(text_id(&format!("{definition}\n{}", build_id()?)))
}

/// `point-0007` (four digits at least, more when the sweep needs them).
pub fn point_stem(index: usize, total: usize) -> String {
    let width = total.saturating_sub(1).to_string().len().max(4);
    format!("point-{index:0width$}")
}

/// The manifest's file name inside a sweep's folder.
const MANIFEST: &str = "sweep.toml";

/// The points' configuration ids' file name inside a sweep's folder.
const CONFIG_IDS: &str = "config-ids.txt";

/// The files [`begin`] writes into a sweep's folder.
pub const MANIFEST_FILES: [&str; 2] = [MANIFEST, CONFIG_IDS];

/// The largest manifest read: the `[sweep]` table (within an experiment file's 16 MiB),
/// point 0's configuration and the data files.
const MANIFEST_LIMIT: u64 = 64 << 20;

/// The largest `config-ids.txt` read: 17 bytes a point at the most points a sweep may have.
const CONFIG_IDS_LIMIT: u64 = 17 * workbench::sweep::MAX_POINTS as u64;

/// What a sweep's folder holds besides its point files.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Manifest {
    /// The experiment's name (the sweep file is `<name>.h5` beside the folder).
    pub(super) name: String,
    /// The points' kind.
    pub(super) kind: String,
    /// The swept keys, in file order.
    pub(super) keys: Vec<String>,
    /// The keys the seed is written to.
    pub(super) seed_keys: Vec<String>,
    /// The `[sweep]` table: every point's values follow from it.
    pub(super) sweep_toml: String,
    /// Point 0's resolved configuration.
    pub(super) config_toml: String,
    /// What every point resolves from ([`definition_id`]): a later command of the same
    /// definition resolves only the points it runs.
    pub(super) definition: String,
    /// Each distinct list of data files the points read.
    pub(super) inputs: Vec<Vec<PathBuf>>,
    /// Each point's configuration id, by index (in `config-ids.txt`: a point file of another
    /// configuration is not the point's).
    #[serde(skip)]
    pub(super) config_ids: Vec<String>,
}

impl Manifest {
    /// The manifest of `plan`, whose every point was checked.
    pub(super) fn of(plan: &ResolvedSweep) -> Result<Self> {
        debug_assert_eq!(plan.config_ids.len(), plan.total, "every point checked");
        Ok(Self {
            name: plan.name.clone(),
            kind: plan.kind.clone(),
            keys: plan.sweep.keys().iter().map(ToString::to_string).collect(),
            seed_keys: plan.seed_keys.clone(),
            sweep_toml: plan.sweep.toml.clone(),
            config_toml: plan
                .points
                .first()
                .map(|(_, e)| e.config_toml().to_string())
                .unwrap_or_default(),
            definition: definition_id(&plan.definition)?,
            inputs: plan.inputs.clone(),
            config_ids: plan.config_ids.iter().map(|&id| hex_id(id)).collect(),
        })
    }

    /// What a Slurm task checks: the definition and the data files' contents now.
    pub(super) fn id(&self) -> Result<String> {
        let mut text = self.definition.clone();
        for files in &self.inputs {
            text.push('\n');
            text.push_str(&files_id(files)?);
        }
        Ok(text_id(&text))
    }

    /// Prepares `dir` and writes the manifest into it: the ids first, each file whole, so
    /// that a manifest is never seen without its ids.
    pub(super) fn write(&self, dir: &Path) -> Result<()> {
        workbench::results::prepare_dir(dir)?;
        let mut ids = String::with_capacity(17 * self.config_ids.len());
        for id in &self.config_ids {
            ids.push_str(id);
            ids.push('\n');
        }
        crate::files::write_atomic(&dir.join(CONFIG_IDS), ids.as_bytes())?;
        let text = toml::to_string(self).map_err(|e| format!("sweep manifest: {e}"))?;
        crate::files::write_atomic(&dir.join(MANIFEST), text.as_bytes())
    }

    /// Reads and checks the manifest of the sweep in `dir` without its configuration ids
    /// (what a `--point` task needs of it); `None` when there is none.
    pub(super) fn read_header(dir: &Path) -> Result<Option<(Self, Sweep)>> {
        let path = dir.join(MANIFEST);
        if !path.exists() {
            return Ok(None);
        }
        let text = crate::files::read_text(&path, MANIFEST_LIMIT).map_err(|e| {
            format!(
                "{}: cannot read ({e}); a sweep's folder holds it, written by `workbench run` of a file with [sweep]",
                path.display()
            )
        })?;
        let manifest: Self =
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        let sweep = manifest
            .check(dir)
            .map_err(|e| CliError::from(format!("{}: {e}", path.display())))?;
        Ok(Some((manifest, sweep)))
    }

    /// Reads and checks the manifest of the sweep in `dir` with every point's configuration
    /// id: a tampered or corrupt one is refused with the key at fault, so that nothing is
    /// written from it.
    pub(super) fn read(dir: &Path) -> Result<(Self, Sweep)> {
        let Some((mut manifest, sweep)) = Self::read_header(dir)? else {
            return Err(CliError::from(format!(
                "{}: cannot read (no such file); a sweep's folder holds it, written by `workbench run` of a file with [sweep]",
                dir.join(MANIFEST).display()
            )));
        };
        let path = dir.join(CONFIG_IDS);
        let text = crate::files::read_text(&path, CONFIG_IDS_LIMIT)
            .map_err(|e| format!("{}: cannot read ({e})", path.display()))?;
        manifest.config_ids = text.lines().map(str::to_string).collect();
        if manifest.config_ids.len() != sweep.count() {
            return Err(CliError::from(format!(
                "{}: {} ids for the sweep's {} points",
                path.display(),
                manifest.config_ids.len(),
                sweep.count()
            )));
        }
        if let Some((line, id)) = manifest
            .config_ids
            .iter()
            .enumerate()
            .find(|(_, id)| !is_id(id))
        {
            return Err(CliError::from(format!(
                "{}: line {}: {id:?} is not an id",
                path.display(),
                line + 1
            )));
        }
        Ok((manifest, sweep))
    }

    /// What a manifest written by `begin` always is; its `[sweep]`, parsed.
    fn check(&self, dir: &Path) -> std::result::Result<Sweep, String> {
        workbench::config::validate::check_name(&self.name).map_err(|e| e.to_string())?;
        // The sweep file is written beside the folder, under the folder's own name.
        let folder = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        if folder.as_deref() != Some(self.name.as_str()) {
            return Err(format!(
                "name = {:?}: is not the name of the sweep's folder ({})",
                self.name,
                folder.unwrap_or_default()
            ));
        }
        let word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
        if self.kind.is_empty()
            || !self.kind.chars().all(word)
            || self.kind == workbench::results::format::SWEEP_KIND
        {
            return Err(format!("kind = {:?}: not a kind of experiment", self.kind));
        }
        if !is_id(&self.definition) {
            return Err(format!("definition = {:?}: not an id", self.definition));
        }
        let table: toml::Table = self
            .sweep_toml
            .parse()
            .map_err(|e: toml::de::Error| format!("sweep_toml: {}", e.message()))?;
        let sweep = Sweep::parse(&table).map_err(|e| format!("sweep_toml: {e}"))?;
        if sweep.count() == 0 || sweep.count() > workbench::sweep::MAX_POINTS {
            return Err(format!(
                "sweep_toml: {} points; a sweep has 1 to {}",
                sweep.count(),
                workbench::sweep::MAX_POINTS
            ));
        }
        if sweep.keys() != self.keys {
            return Err(format!(
                "keys = {:?}: not the keys of sweep_toml ({:?})",
                self.keys,
                sweep.keys()
            ));
        }
        Ok(sweep)
    }
}

/// Whether `text` is an id as [`text_id`] writes them.
fn is_id(text: &str) -> bool {
    text.len() == 16 && text.chars().all(|c| c.is_ascii_hexdigit())
}
