//! A sweep's folder: its manifest `sweep.toml` (every point and what makes it, so that
//! `collect` can name the missing ones and merge points computed by other processes) and
//! its point files' names.

use crate::error::{CliError, Result};
use crate::session::text_id;
use serde::{Deserialize, Serialize};
use std::path::Path;
use workbench::loader::ResolvedSweep;

/// Prepares `dir` for `plan`'s points and writes its manifest.
pub fn begin(plan: &ResolvedSweep, dir: &Path) -> Result<()> {
    begin_with(&Manifest::of(plan).text()?, dir)
}

/// [`begin`] with the manifest's text already written.
pub(super) fn begin_with(text: &str, dir: &Path) -> Result<()> {
    workbench::results::prepare_dir(dir)?;
    crate::files::write_atomic(&dir.join(MANIFEST), text.as_bytes())
}

/// An id of everything `plan`'s points are (each one's resolved configuration and data
/// files): what a Slurm task checks its file still resolves to.
pub fn manifest_id(plan: &ResolvedSweep) -> Result<String> {
    id_of(&Manifest::of(plan).text()?, plan)
}

/// [`manifest_id`] of `plan`, whose manifest's text is `text`.
pub(super) fn id_of(text: &str, plan: &ResolvedSweep) -> Result<String> {
    let mut text = text.to_string();
    for (_, experiment) in &plan.points {
        text.push_str(&crate::session::run_id(experiment.as_ref())?);
    }
    Ok(text_id(&text))
}

/// `point-0007` (four digits at least, more when the sweep needs them).
pub fn point_stem(index: usize, total: usize) -> String {
    let width = total.saturating_sub(1).to_string().len().max(4);
    format!("point-{index:0width$}")
}

/// The manifest's file name inside a sweep's folder.
const MANIFEST: &str = "sweep.toml";

/// The largest manifest read: about 1 KB a point at the most points a sweep may have.
const MANIFEST_LIMIT: u64 = 1 << 30;

/// What a sweep's folder holds besides its point files: every point and what makes it.
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
    /// The `[sweep]` table.
    pub(super) sweep_toml: String,
    /// Point 0's resolved configuration.
    pub(super) config_toml: String,
    /// Every point.
    pub(super) points: Vec<ManifestPoint>,
}

/// One point in the manifest.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ManifestPoint {
    /// Its values, by swept key.
    pub(super) values: toml::Table,
    /// Its seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) seed: Option<u64>,
    /// A hash of its resolved configuration (a point file of another one is not its).
    pub(super) config_id: String,
}

impl Manifest {
    pub(super) fn of(plan: &ResolvedSweep) -> Self {
        Self {
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
            // Each point's configuration TOML is written (and kept) here first: on every
            // core, as it is most of the time a large sweep takes to start.
            points: workbench::threads::map(&plan.points, |(point, experiment)| ManifestPoint {
                values: point.values.iter().cloned().collect(),
                seed: point.seed,
                config_id: text_id(experiment.config_toml()),
            }),
        }
    }

    pub(super) fn text(&self) -> Result<String> {
        Ok(toml::to_string(self).map_err(|e| format!("sweep manifest: {e}"))?)
    }

    /// Reads and checks the manifest of the sweep in `dir`: a tampered or corrupt one is
    /// refused with the key at fault, so that nothing is written from it.
    pub(super) fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let text = crate::files::read_text(&path, MANIFEST_LIMIT).map_err(|e| {
            format!(
                "{}: cannot read ({e}); a sweep's folder holds it, written by `workbench run` of a file with [sweep]",
                path.display()
            )
        })?;
        let manifest: Self =
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        manifest
            .check(dir)
            .map_err(|e| CliError::from(format!("{}: {e}", path.display())))?;
        Ok(manifest)
    }

    /// What a manifest written by `begin` always is.
    fn check(&self, dir: &Path) -> std::result::Result<(), String> {
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
        if self.points.is_empty() || self.points.len() > workbench::sweep::MAX_POINTS {
            return Err(format!(
                "points: {} points; a sweep has 1 to {}",
                self.points.len(),
                workbench::sweep::MAX_POINTS
            ));
        }
        for (index, point) in self.points.iter().enumerate() {
            if let Some(key) = point.values.keys().find(|k| !self.keys.contains(k)) {
                return Err(format!("points[{index}]: {key:?} is not a swept key"));
            }
            let hex = point.config_id.len() == 16
                && point.config_id.chars().all(|c| c.is_ascii_hexdigit());
            if !hex {
                return Err(format!(
                    "points[{index}].config_id = {:?}: not an id",
                    point.config_id
                ));
            }
        }
        Ok(())
    }
}
