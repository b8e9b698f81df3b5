//! A sweep file's points: the swept keys' values, the seed, the status and the summary
//! scalars of every point; and the points grouped into settings (the points that share the
//! values of some keys, seeds pooled).

use crate::config::Config;
use crate::fmt_num;
use crate::h5::{Column, Matrix, ResultsFile};
use crate::stats::MeanCi;
use workbench::results::{attr, path};

/// The status of a point that ran to the end.
pub const DONE: &str = "done";

/// One swept key and its value at every point.
pub struct Key {
    /// The config key (`dpo.lr`).
    pub name: String,
    /// Its values, numbers when every value is one.
    pub values: Column,
}

/// A number as text that reads back as the same `f64`: [`fmt_num`] when it does and the
/// number is in its plain range, else the shortest exact form (`0.00012345`, `1e-4`).
pub fn exact(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return fmt_num(v);
    }
    if !(1e-3..1e5).contains(&v.abs()) {
        return format!("{v:e}");
    }
    let short = fmt_num(v);
    if short.parse::<f64>().is_ok_and(|back| back == v) {
        short
    } else {
        format!("{v}")
    }
}

impl Key {
    /// Whether every value is a number.
    pub fn numeric(&self) -> bool {
        matches!(self.values, Column::Numbers(_))
    }

    /// The value at point `p` as a number, for a numeric key.
    pub fn number(&self, p: usize) -> Option<f64> {
        match &self.values {
            Column::Numbers(v) => v.get(p).copied(),
            Column::Text(_) => None,
        }
    }

    /// The value at point `p` as text: a number by [`exact`], a string as stored.
    pub fn label(&self, p: usize) -> String {
        match &self.values {
            Column::Numbers(v) => v.get(p).map(|x| exact(*x)).unwrap_or_default(),
            Column::Text(v) => v.get(p).cloned().unwrap_or_default(),
        }
    }

    /// The value at point `p` as TOML: a number as a float; a string as the TOML value it
    /// spells (`[2, 6]`, `true`, `0.5`) or else as a string.
    pub fn toml(&self, p: usize) -> toml::Value {
        match &self.values {
            Column::Numbers(v) => toml::Value::Float(v.get(p).copied().unwrap_or(f64::NAN)),
            Column::Text(v) => {
                let text = v.get(p).cloned().unwrap_or_default();
                format!("v = {text}")
                    .parse::<toml::Table>()
                    .ok()
                    .and_then(|mut t| t.remove("v"))
                    .unwrap_or(toml::Value::String(text))
            }
        }
    }
}

/// Everything a sweep file says about its points, checked for equal lengths.
pub struct Points {
    /// The `point_kind` root attribute (`sequence_dpo`), `?` when absent.
    pub point_kind: String,
    /// The `[sweep]` table as written (`sweep_toml`), empty when absent.
    pub sweep_toml: String,
    /// The swept keys, grid keys then zip keys, as `swept_keys` lists them.
    pub keys: Vec<Key>,
    /// The config keys the seed was written to (`seed_keys`).
    pub seed_keys: Vec<String>,
    /// The seed of every point, when the sweep has seeds.
    pub seed: Option<Vec<f64>>,
    /// `done`, `failed` or `missing`, per point.
    pub status: Vec<String>,
    /// A failed point's one-line error, else empty.
    pub error: Vec<String>,
    /// The point file, relative to the sweep file's folder.
    pub file: Vec<String>,
    /// `(name, value per point)` for every dataset in `summary/`, by name.
    pub summaries: Vec<(String, Vec<f64>)>,
    /// `(name, [points, rows])` for every dataset in `trajectory/` (points observed with
    /// `analysis.every`), by name.
    pub trajectories: Vec<(String, Matrix)>,
}

/// Points that share the values of some keys.
pub struct Setting {
    /// The points, in file order.
    pub members: Vec<usize>,
}

impl Setting {
    /// The first point (all members share the keys' values).
    pub fn first(&self) -> usize {
        self.members[0]
    }
}

impl Points {
    /// Reads the points of sweep file `file`.
    pub fn read(file: &ResultsFile) -> Result<Self, String> {
        let names = file.names(attr::SWEPT_KEYS)?.ok_or_else(|| {
            format!(
                "{}: missing root attribute `{}`",
                file.name(),
                attr::SWEPT_KEYS
            )
        })?;
        let status = file.strings(path::SWEEP_STATUS)?;
        let n = status.len();
        let check = |dataset: &str, len: usize| {
            if len == n {
                Ok(())
            } else {
                Err(format!(
                    "{}: dataset `{dataset}` has length {len}, but `{}` has {n}",
                    file.name(),
                    path::SWEEP_STATUS
                ))
            }
        };
        let mut keys = Vec::new();
        for name in names {
            let dataset = path::swept(&name);
            let values = file.column(&dataset)?;
            check(&dataset, values.len())?;
            keys.push(Key { name, values });
        }
        let seed = if file.exists(path::SWEEP_SEED) {
            Some(file.vec_len(path::SWEEP_SEED, n)?)
        } else {
            None
        };
        let error = file.strings(path::SWEEP_ERROR)?;
        check(path::SWEEP_ERROR, error.len())?;
        let point_files = file.strings(path::SWEEP_FILE)?;
        check(path::SWEEP_FILE, point_files.len())?;
        let mut summaries = Vec::new();
        for name in file.datasets_under(path::SUMMARY) {
            let values = file.vec_len(&path::summary(&name), n)?;
            summaries.push((name, values));
        }
        let mut trajectories = Vec::new();
        for name in file.datasets_in(path::TRAJECTORY) {
            let dataset = format!("{}/{name}", path::TRAJECTORY);
            let values = file.matrix(&dataset)?;
            check(&dataset, values.rows)?;
            trajectories.push((name, values));
        }
        Ok(Self {
            point_kind: file.attr(attr::POINT_KIND).unwrap_or_else(|| "?".into()),
            sweep_toml: file.attr(attr::SWEEP_TOML).unwrap_or_default(),
            keys,
            seed_keys: file.names(attr::SEED_KEYS)?.unwrap_or_default(),
            seed,
            status,
            error,
            file: point_files,
            summaries,
            trajectories,
        })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.status.len()
    }

    /// Whether point `p` ran to the end.
    pub fn done(&self, p: usize) -> bool {
        self.status[p] == DONE
    }

    /// Number of points with status `status`.
    pub fn count(&self, status: &str) -> usize {
        self.status.iter().filter(|s| *s == status).count()
    }

    /// The values of summary `name`, if the file has it.
    pub fn summary(&self, name: &str) -> Option<&[f64]> {
        self.summaries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// A settings table's first columns: the swept keys, or `setting` when none is swept.
    pub fn key_header(&self) -> Vec<String> {
        let header: Vec<String> = self.keys.iter().map(|k| k.name.clone()).collect();
        if header.is_empty() {
            vec!["setting".into()]
        } else {
            header
        }
    }

    /// Point `p`'s cells under [`Self::key_header`]: each key's value, or `unswept` when
    /// none is swept.
    pub fn key_cells(&self, p: usize, unswept: &str) -> Vec<String> {
        let row: Vec<String> = self.keys.iter().map(|k| k.label(p)).collect();
        if row.is_empty() {
            vec![unswept.to_owned()]
        } else {
            row
        }
    }

    /// Trajectory `name` (`[points, rows]`), if the file has it.
    pub fn trajectory(&self, name: &str) -> Option<&Matrix> {
        self.trajectories
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m)
    }

    /// The values of `summary` that count at `members`: points done, values not NaN.
    pub fn counted(&self, summary: &[f64], members: &[usize]) -> Vec<f64> {
        members
            .iter()
            .filter(|&&p| self.done(p) && summary[p].is_finite())
            .map(|&p| summary[p])
            .collect()
    }

    /// The mean over `members` of `summary`, with its interval; `None` when none counts.
    pub fn mean_ci(&self, summary: &[f64], members: &[usize]) -> Option<MeanCi> {
        MeanCi::of(&self.counted(summary, members))
    }

    /// What of `members` does not count for `summary`, as `1 failed, 1 missing, 1 done
    /// without a value`; `0` when all count.
    pub fn left_out(&self, summary: &[f64], members: &[usize]) -> String {
        let mut parts: Vec<(String, usize)> = Vec::new();
        for &p in members {
            let what = if !self.done(p) {
                self.status[p].clone()
            } else if !summary[p].is_finite() {
                "done without a value".into()
            } else {
                continue;
            };
            match parts.iter_mut().find(|(w, _)| *w == what) {
                Some((_, n)) => *n += 1,
                None => parts.push((what, 1)),
            }
        }
        if parts.is_empty() {
            return "0".into();
        }
        let items: Vec<String> = parts.iter().map(|(w, n)| format!("{n} {w}")).collect();
        items.join(", ")
    }

    /// `dpo.lr = 0.001, dpo.beta = 0.1`: keys `keys` (indices into [`Points::keys`]) at point
    /// `p`; `all points` when `keys` is empty.
    pub fn label(&self, keys: &[usize], p: usize) -> String {
        if keys.is_empty() {
            return "all points".into();
        }
        let items: Vec<String> = keys
            .iter()
            .map(|&k| format!("{} = {}", self.keys[k].name, self.keys[k].label(p)))
            .collect();
        items.join(", ")
    }

    /// Point `p` by every swept key and its seed (`dpo.lr = 0.001, seed = 2`).
    pub fn point_label(&self, p: usize) -> String {
        let all: Vec<usize> = (0..self.keys.len()).collect();
        let mut items = Vec::new();
        if !all.is_empty() {
            items.push(self.label(&all, p));
        }
        if let Some(seed) = &self.seed {
            items.push(format!("seed = {}", exact(seed[p])));
        }
        if items.is_empty() {
            format!("point {p}")
        } else {
            items.join(", ")
        }
    }

    /// The points grouped by the values of keys `keys` (seeds and other keys pooled), in
    /// the order their first point appears in the file.
    pub fn settings(&self, keys: &[usize]) -> Vec<Setting> {
        let mut out: Vec<(Vec<String>, Setting)> = Vec::new();
        for p in 0..self.len() {
            let values: Vec<String> = keys.iter().map(|&k| self.keys[k].label(p)).collect();
            match out.iter_mut().find(|(v, _)| *v == values) {
                Some((_, s)) => s.members.push(p),
                None => out.push((values, Setting { members: vec![p] })),
            }
        }
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// The configuration of point `p`: `cfg` (point 0's) with the swept keys' values and the
    /// seed of `p`.
    pub fn config(&self, cfg: &Config, p: usize) -> Config {
        let mut c = self
            .keys
            .iter()
            .fold(cfg.clone(), |c, k| c.with(&k.name, k.toml(p)));
        if let Some(seed) = &self.seed {
            for key in &self.seed_keys {
                c = c.with(key, toml::Value::Integer(seed[p] as i64));
            }
        }
        c
    }
}
