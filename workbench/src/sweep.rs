//! `[sweep]`: one experiment file run at many points, a grid over any configuration keys
//! (cartesian product), keys that move together (zipped), and seeds written to every seed
//! key the kind declares.
//!
//! ```toml
//! [sweep]
//! grid = { "dpo.lr" = [1e-3, 1e-4], "dpo.beta" = [0.1, 1.0] }   # cartesian product
//! zip = { "data.prompt_len" = [[2, 6], [3, 3]], "data.response_len" = [[1, 10], [5, 5]] }
//! seeds = 3                                                        # or a list: [0, 1, 2]
//! ```
//!
//! `seeds = 3` writes the same seed to every seed key the kind declares (`data.seed` and
//! `model.seed` together). To tell the sources of randomness apart, give each seed key its
//! own seeds instead; they are crossed, the last key fastest:
//!
//! ```toml
//! seeds = { "data.seed" = 5, "model.seed" = [0, 1] }   # 10 replicates per setting
//! ```
//!
//! Points are numbered with the first grid key varying slowest, then the next grid keys,
//! then the zipped rows, and the seed (the replicate) fastest. Each point is the file with
//! its values merged on top (as `--set` would), so a point's results are those of a plain
//! run with the same values.

use crate::config::{Override, parse_override};
use crate::error::ConfigError;
use itertools::Itertools;

/// The most points one sweep may have.
pub const MAX_POINTS: usize = 1_000_000;

/// A parsed `[sweep]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The table as TOML text.
    pub toml: String,
    /// Cartesian axes, in file order.
    pub grid: Vec<(String, Vec<toml::Value>)>,
    /// Keys that move together, in file order (each has the same number of values).
    pub zip: Vec<(String, Vec<toml::Value>)>,
    /// The replicates: the seeds of `seeds = N` or a list; with per-key seeds
    /// (`seeds = { "data.seed" = 5, ... }`), the replicates' numbers 0, 1, … over their
    /// product. Empty when the sweep has no seeds.
    pub seeds: Vec<u64>,
    /// Per-key seeds, crossed (the last key fastest); empty for `seeds = N` or a list.
    pub seed_axes: Vec<(String, Vec<u64>)>,
}

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Its index, from 0.
    pub index: usize,
    /// The value of every swept key, in [`Sweep::keys`] order.
    pub values: Vec<(String, toml::Value)>,
    /// Its seed (with per-key seeds, its replicate's number), when the sweep has seeds.
    pub seed: Option<u64>,
    /// With per-key seeds, each seed key's value at this point, in the sweep's key order.
    pub seed_values: Vec<(String, u64)>,
}

impl Sweep {
    /// Parses the `[sweep]` table; errors name `sweep.<key>` and the value.
    pub fn parse(table: &toml::Table) -> Result<Self, ConfigError> {
        let mut grid = Vec::new();
        let mut zip = Vec::new();
        let mut seeds = Vec::new();
        let mut seed_axes = Vec::new();
        for (key, value) in table {
            match key.as_str() {
                "grid" => grid = axes("sweep.grid", value)?,
                "zip" => zip = axes("sweep.zip", value)?,
                "seeds" => match value {
                    toml::Value::Table(per_key) => {
                        seed_axes = seed_axes_of(per_key)?;
                        let replicates: usize = seed_axes.iter().map(|(_, v)| v.len()).product();
                        seeds = (0..replicates as u64).collect();
                    }
                    _ => seeds = parse_seeds("sweep.seeds", value)?,
                },
                other => {
                    return Err(ConfigError::new(
                        format!("sweep.{other}"),
                        value,
                        "unknown key; expected one of grid, zip, seeds",
                    ));
                }
            }
        }
        if let Some((first, values)) = zip.first() {
            for (key, other) in &zip[1..] {
                if other.len() != values.len() {
                    return Err(ConfigError::new(
                        format!("sweep.zip.{key:?}"),
                        toml::Value::Array(other.clone()),
                        format!(
                            "has {} values, but sweep.zip.{first:?} has {}: zipped keys move together",
                            other.len(),
                            values.len()
                        ),
                    ));
                }
            }
        }
        if let Some((key, _)) = grid.iter().find(|(k, _)| zip.iter().any(|(z, _)| z == k)) {
            return Err(ConfigError::new(
                format!("sweep.zip.{key:?}"),
                "",
                "is also in sweep.grid; sweep a key in one of them",
            ));
        }
        let swept: Vec<(&str, &String)> = grid
            .iter()
            .map(|(k, _)| ("sweep.grid", k))
            .chain(zip.iter().map(|(k, _)| ("sweep.zip", k)))
            .collect();
        for (i, (at, key)) in swept.iter().enumerate() {
            if let Some((other_at, other)) = swept[..i]
                .iter()
                .find(|(_, other)| other != key && overlaps(other, key))
            {
                return Err(ConfigError::new(
                    format!("{at}.{key:?}"),
                    "",
                    format!(
                        "overlaps {other_at}.{other:?}: a table and a key inside it cannot both be swept (the points would not run what the sweep file records)"
                    ),
                ));
            }
        }
        if grid.is_empty() && zip.is_empty() && seeds.is_empty() {
            return Err(ConfigError::new(
                "sweep",
                "",
                "sweeps nothing; give grid, zip or seeds",
            ));
        }
        let sweep = Self {
            // One line per key, tables inline, as such a table is usually written.
            toml: table
                .iter()
                .map(|(key, value)| format!("{key} = {value}\n"))
                .collect(),
            grid,
            zip,
            seeds,
            seed_axes,
        };
        let points = sweep.count();
        if points > MAX_POINTS {
            return Err(ConfigError::new(
                "sweep",
                "",
                format!("has {points} points; at most {MAX_POINTS}"),
            ));
        }
        Ok(sweep)
    }

    /// The swept keys: grid keys, then zipped keys, in file order (not the seed keys).
    pub fn keys(&self) -> Vec<&str> {
        self.grid
            .iter()
            .chain(&self.zip)
            .map(|(key, _)| key.as_str())
            .collect()
    }

    /// The number of points.
    pub fn count(&self) -> usize {
        let grid: usize = self.grid.iter().map(|(_, v)| v.len()).product();
        let zip = self.zip.first().map_or(1, |(_, v)| v.len());
        grid.saturating_mul(zip)
            .saturating_mul(self.seeds.len().max(1))
    }

    /// Point `index` (below [`Sweep::count`]) alone, without making the others: a task of a
    /// million-point sweep needs its own only. Seeds vary fastest, then the zipped rows, then
    /// the grid's axes, the last fastest (the order of [`Sweep::points`]).
    pub fn point(&self, index: usize) -> Point {
        let mut rest = index;
        let seed = (!self.seeds.is_empty()).then(|| {
            let seed = self.seeds[rest % self.seeds.len()];
            rest /= self.seeds.len();
            seed
        });
        let mut seed_values = Vec::with_capacity(self.seed_axes.len());
        let mut replicate = seed.unwrap_or(0) as usize;
        for (key, values) in self.seed_axes.iter().rev() {
            seed_values.push((key.clone(), values[replicate % values.len()]));
            replicate /= values.len();
        }
        seed_values.reverse();
        let rows = self.zip.first().map_or(1, |(_, v)| v.len());
        let row = rest % rows.max(1);
        rest /= rows.max(1);
        let mut grid: Vec<(String, toml::Value)> = Vec::with_capacity(self.grid.len());
        for (key, values) in self.grid.iter().rev() {
            grid.push((key.clone(), values[rest % values.len()].clone()));
            rest /= values.len();
        }
        grid.reverse();
        let zip = self
            .zip
            .iter()
            .map(|(key, values)| (key.clone(), values[row].clone()));
        Point {
            index,
            values: grid.into_iter().chain(zip).collect(),
            seed,
            seed_values,
        }
    }

    /// Every point, in order.
    pub fn points(&self) -> Vec<Point> {
        (0..self.count()).map(|index| self.point(index)).collect()
    }
}

impl Point {
    /// The overrides that make this point: each swept key's value, and the seed written
    /// to every key of `seed_keys` (with per-key seeds, each key's own seed instead).
    pub fn overrides(&self, seed_keys: &[String]) -> Vec<Override> {
        let values = self.values.iter().map(|(key, value)| Override {
            key: key.clone(),
            value: value.clone(),
        });
        let seeds: Vec<(String, u64)> = if self.seed_values.is_empty() {
            let seed = self.seed.into_iter();
            seed.flat_map(|s| seed_keys.iter().map(move |k| (k.clone(), s)))
                .collect()
        } else {
            self.seed_values.clone()
        };
        let seeds = seeds.into_iter().map(|(key, seed)| Override {
            key,
            value: toml::Value::Integer(seed as i64),
        });
        values.chain(seeds).collect()
    }

    /// The seeds as `(key, value)`: `("seed", 2)`, or each key's own with per-key seeds.
    fn seed_entries(&self) -> Vec<(String, u64)> {
        if self.seed_values.is_empty() {
            self.seed
                .map(|s| ("seed".to_string(), s))
                .into_iter()
                .collect()
        } else {
            self.seed_values.clone()
        }
    }

    /// `dpo.lr = 0.001, dpo.beta = 0.1, seed = 2` (per-key seeds: `data.seed = 2,
    /// model.seed = 0`).
    pub fn describe(&self) -> String {
        self.values
            .iter()
            .map(|(key, value)| format!("{key} = {value}"))
            .chain(
                self.seed_entries()
                    .iter()
                    .map(|(k, s)| format!("{k} = {s}")),
            )
            .join(", ")
    }

    /// The point's values as TOML text (`"dpo.lr" = 0.001`, one per line; the seeds last).
    pub fn to_toml(&self) -> String {
        let mut table = toml::Table::new();
        for (key, value) in &self.values {
            table.insert(key.clone(), value.clone());
        }
        for (key, seed) in self.seed_entries() {
            table.insert(key, toml::Value::Integer(seed as i64));
        }
        toml::to_string(&table).unwrap_or_default()
    }
}

/// A value as a table cell: a string without its quotes, anything else as TOML.
pub fn display_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether two dotted keys name the same value, or one a table that holds the other
/// (`constraints.interval` and `constraints.interval.lo`).
pub fn overlaps(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('.'))
    };
    a == b || inside(a, b) || inside(b, a)
}

/// `grid` or `zip`: a table of dotted keys to non-empty arrays.
fn axes(at: &str, value: &toml::Value) -> Result<Vec<(String, Vec<toml::Value>)>, ConfigError> {
    let toml::Value::Table(table) = value else {
        return Err(ConfigError::new(
            at,
            value,
            "must be a table of keys to lists, e.g. { \"dpo.lr\" = [1e-3, 1e-4] }",
        ));
    };
    table
        .iter()
        .map(|(key, values)| {
            let here = format!("{at}.{key:?}");
            // The same rules as for `--set` keys.
            parse_override(&format!("{key}=0"))
                .map_err(|_| ConfigError::new(&here, "", "the key must be dotted names"))?;
            if matches!(key.as_str(), "name" | "kind") {
                return Err(ConfigError::new(
                    &here,
                    values,
                    "the name and kind of an experiment cannot be swept",
                ));
            }
            if overlaps(key, "sweep") {
                return Err(ConfigError::new(
                    &here,
                    values,
                    "the [sweep] table cannot sweep itself",
                ));
            }
            match values {
                toml::Value::Array(list) if !list.is_empty() => Ok((key.clone(), list.clone())),
                _ => Err(ConfigError::new(
                    &here,
                    values,
                    "must be a non-empty list of values",
                )),
            }
        })
        .collect()
}

/// `seeds = { "data.seed" = 5, "model.seed" = [0, 1] }`: each key dotted names, each value
/// as [`parse_seeds`] takes it; the product within [`MAX_POINTS`]. Whether the kind declares
/// the keys is checked when the points are resolved.
fn seed_axes_of(table: &toml::Table) -> Result<Vec<(String, Vec<u64>)>, ConfigError> {
    if table.is_empty() {
        return Err(ConfigError::new(
            "sweep.seeds",
            "{}",
            "names no seed key; e.g. { \"data.seed\" = 5, \"model.seed\" = 2 }",
        ));
    }
    let mut axes = Vec::with_capacity(table.len());
    let mut product: usize = 1;
    for (key, value) in table {
        let here = format!("sweep.seeds.{key:?}");
        parse_override(&format!("{key}=0"))
            .map_err(|_| ConfigError::new(&here, "", "the key must be dotted names"))?;
        let seeds = parse_seeds(&here, value)?;
        product = product.saturating_mul(seeds.len());
        if product > MAX_POINTS {
            return Err(ConfigError::new(
                "sweep.seeds",
                toml::Value::Table(table.clone()),
                format!(
                    "crosses to more replicates than a sweep may have points (at most {MAX_POINTS})"
                ),
            ));
        }
        axes.push((key.clone(), seeds));
    }
    Ok(axes)
}

/// `seeds = N` (0..N) or a list of distinct non-negative integers, at `at`.
fn parse_seeds(at: &str, value: &toml::Value) -> Result<Vec<u64>, ConfigError> {
    let bad = |reason: &str| ConfigError::new(at, value, reason);
    match value {
        // Checked before anything is allocated.
        toml::Value::Integer(n) if *n as u64 > MAX_POINTS as u64 => Err(bad(&format!(
            "is more seeds than a sweep may have points (at most {MAX_POINTS})"
        ))),
        toml::Value::Integer(n) if *n >= 1 => Ok((0..*n as u64).collect()),
        toml::Value::Integer(_) => Err(bad("must be at least 1")),
        toml::Value::Array(list) if !list.is_empty() => {
            let seeds = list
                .iter()
                .map(|v| match v {
                    toml::Value::Integer(s) if *s >= 0 => Ok(*s as u64),
                    _ => Err(bad("a list of seeds holds non-negative integers")),
                })
                .collect::<Result<Vec<u64>, _>>()?;
            if !seeds.iter().all_unique() {
                return Err(bad("lists a seed twice"));
            }
            Ok(seeds)
        }
        _ => Err(bad(
            "must be a number of seeds (3), a list of seeds ([0, 1, 2]) or seeds per key ({ \"data.seed\" = 5, \"model.seed\" = 2 })",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::Sweep;

    fn sweep(text: &str) -> Result<Sweep, String> {
        let table: toml::Table = text.parse().unwrap();
        Sweep::parse(&table).map_err(|e| e.to_string())
    }

    #[test]
    fn points_run_first_key_slowest_then_zip_then_seed() {
        let s = sweep(
            r#"grid = { "b.x" = [1, 2], "a.y" = ["u", "v", "w"] }
zip = { "z.p" = [10, 20], "z.q" = [[1, 2], [3, 4]] }
seeds = [5, 7]"#,
        )
        .unwrap();
        assert_eq!(s.keys(), ["b.x", "a.y", "z.p", "z.q"]);
        assert_eq!(
            s.toml,
            "grid = { \"b.x\" = [1, 2], \"a.y\" = [\"u\", \"v\", \"w\"] }\n\
             zip = { \"z.p\" = [10, 20], \"z.q\" = [[1, 2], [3, 4]] }\nseeds = [5, 7]\n"
        );
        let points = s.points();
        assert_eq!(points.len(), 2 * 3 * 2 * 2);
        assert_eq!(s.count(), points.len());
        for (i, described) in [
            (0, "b.x = 1, a.y = \"u\", z.p = 10, z.q = [1, 2], seed = 5"),
            (1, "b.x = 1, a.y = \"u\", z.p = 10, z.q = [1, 2], seed = 7"),
            (2, "b.x = 1, a.y = \"u\", z.p = 20, z.q = [3, 4], seed = 5"),
            (4, "b.x = 1, a.y = \"v\", z.p = 10, z.q = [1, 2], seed = 5"),
            (23, "b.x = 2, a.y = \"w\", z.p = 20, z.q = [3, 4], seed = 7"),
        ] {
            assert_eq!(points[i].describe(), described, "point {i}");
        }
        assert!(points.iter().enumerate().all(|(i, p)| p.index == i));
        let o = points[23].overrides(&["data.seed".into(), "model.seed".into()]);
        assert_eq!(o.len(), 6);
        assert_eq!(o[4].key, "data.seed");
        assert_eq!(o[5].value, toml::Value::Integer(7));
    }

    #[test]
    fn seeds_alone_and_a_count() {
        let s = sweep("seeds = 3").unwrap();
        let points = s.points();
        assert_eq!(points.len(), 3);
        assert_eq!(points[2].seed, Some(2));
        assert!(points[2].values.is_empty());
        assert_eq!(points[2].to_toml().trim(), "seed = 2");
    }

    #[test]
    fn per_key_seeds_cross_the_last_key_fastest() {
        let s = sweep(
            r#"grid = { "a.x" = [1, 2] }
seeds = { "data.seed" = 3, "model.seed" = [10, 20] }"#,
        )
        .unwrap();
        assert_eq!(s.count(), 2 * 3 * 2);
        assert_eq!(s.seeds, [0, 1, 2, 3, 4, 5], "the replicates' numbers");
        let p = s.point(9);
        assert_eq!(p.seed, Some(3));
        assert_eq!(
            p.seed_values,
            [("data.seed".to_string(), 1), ("model.seed".to_string(), 20)]
        );
        assert_eq!(p.describe(), "a.x = 2, data.seed = 1, model.seed = 20");
        // Each key gets its own seed, whatever keys a plain `seeds = N` would write.
        let o = p.overrides(&["data.seed".into(), "model.seed".into(), "dpo.seed".into()]);
        let o: Vec<String> = o.iter().map(|o| format!("{}={}", o.key, o.value)).collect();
        assert_eq!(o, ["a.x=2", "data.seed=1", "model.seed=20"]);
        assert_eq!(
            p.to_toml(),
            "\"a.x\" = 2\n\"data.seed\" = 1\n\"model.seed\" = 20\n"
        );
        let e = sweep(r#"seeds = { "data.seed" = 0 }"#).unwrap_err();
        assert!(
            e.starts_with("sweep.seeds.\"data.seed\" = 0: must be at least 1"),
            "{e}"
        );
        let e = sweep("seeds = {}").unwrap_err();
        assert!(e.contains("names no seed key"), "{e}");
        let e = sweep(r#"seeds = { "a" = 1000, "b" = 1000, "c" = 1000 }"#).unwrap_err();
        assert!(e.contains("at most 1000000"), "{e}");
    }

    #[test]
    fn bad_tables_name_the_key() {
        let e = sweep(r#"zip = { "a.b" = [1, 2], "c.d" = [1] }"#).unwrap_err();
        assert!(
            e.starts_with("sweep.zip.\"c.d\" = [1]: has 1 values"),
            "{e}"
        );
        let e = sweep(r#"grid = { "a.b" = [] }"#).unwrap_err();
        assert!(
            e.contains("sweep.grid.\"a.b\" = []: must be a non-empty list"),
            "{e}"
        );
        let e = sweep("seeds = [1, 1]").unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let e = sweep("seeds = 0").unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        let e = sweep("grids = {}").unwrap_err();
        assert!(e.contains("sweep.grids"), "{e}");
        let e = sweep(r#"grid = { "name" = ["a"] }"#).unwrap_err();
        assert!(e.contains("cannot be swept"), "{e}");
        let e = sweep(
            r#"grid = { "a.b" = [1] }
zip = { "a.b" = [2] }"#,
        )
        .unwrap_err();
        assert!(e.contains("also in sweep.grid"), "{e}");
        assert!(sweep("").unwrap_err().contains("sweeps nothing"));
    }

    #[test]
    fn overlapping_keys_huge_seed_counts_and_the_sweep_itself_are_refused() {
        let e = sweep(
            r#"grid = { "constraints.interval.lo" = [0.2, 0.3], "constraints.interval" = [{lo = 0.0, hi = 1.0}] }"#,
        )
        .unwrap_err();
        assert!(
            e.contains("overlaps sweep.grid.\"constraints.interval.lo\""),
            "{e}"
        );
        let e = sweep(
            r#"grid = { "a.b" = [1, 2] }
zip = { "a" = [{b = 3}] }"#,
        )
        .unwrap_err();
        assert!(e.contains("sweep.zip.\"a\""), "{e}");
        assert!(sweep(r#"grid = { "a.b" = [1], "a.bc" = [2] }"#).is_ok());
        let started = std::time::Instant::now();
        let e = sweep("seeds = 1000000000000").unwrap_err();
        assert!(e.contains("at most 1000000"), "{e}");
        assert!(started.elapsed().as_secs_f64() < 1.0);
        let e = sweep(r#"grid = { "sweep.seeds" = [1, 2] }"#).unwrap_err();
        assert!(e.contains("cannot sweep itself"), "{e}");
        assert!(super::overlaps("x.y", "x"));
        assert!(!super::overlaps("x.y", "x.yz"));
    }
}
