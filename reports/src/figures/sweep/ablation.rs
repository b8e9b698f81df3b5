//! The Section 5.3 ablation statement: in which settings of a sweep the low-ρ_ref group's
//! quantity (21) comes out smaller than the high group's (the paper's direction), and in
//! which it reverses, from the points' summaries `rank_biserial` (the effect size of each
//! run's rank test) and `mean_log_ratio_change_difference` (`sequence_dpo` points).
//!
//! Seeds are the replicates: one run's rank test treats pairs scored by one trained model
//! as independent, so a single run is never classified. A setting is classified by the
//! one-sample t-test of its mean rank-biserial correlation over done seeds, Holm-corrected
//! across the distinct settings; settings whose correlations agree at every seed within
//! [`DUPLICATE_TOLERANCE`] are near-duplicates and count once.

use super::points::{Points, Setting};
use crate::figures::Table;
use crate::fmt_num;
use crate::stats::{LEVEL, MeanCi, holm, median, percent};

/// The rank-biserial correlation of (21), low group against high: negative in the
/// paper's direction.
pub const EFFECT: &str = "rank_biserial";
/// Low minus high mean ln (21): negative in the paper's direction.
pub const DIFFERENCE: &str = "mean_log_ratio_change_difference";
/// Two settings whose rank-biserial correlations differ by at most this at every seed
/// (the same seeds done) are near-duplicates: one test, counted once by Holm.
pub const DUPLICATE_TOLERANCE: f64 = 0.01;
/// The fewest done seeds a setting is classified with.
pub const MIN_SEEDS: usize = 2;

/// Which way a setting points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Holm-adjusted p below 1 − [`LEVEL`], mean correlation below 0.
    Paper,
    /// Holm-adjusted p below 1 − [`LEVEL`], mean correlation above 0.
    Reversed,
    /// Holm-adjusted p at least 1 − [`LEVEL`].
    Undetermined,
    /// Fewer than [`MIN_SEEDS`] done seeds: not tested.
    TooFewSeeds,
}

impl Direction {
    /// How the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Paper => "paper's direction",
            Self::Reversed => "reversed",
            Self::Undetermined => "undetermined",
            Self::TooFewSeeds => "not classified",
        }
    }
}

/// One setting (a combination of every swept key's values, seeds pooled).
pub struct Row {
    /// Its points.
    pub setting: Setting,
    /// `dpo.lr = 0.001, dpo.beta = 0.1`.
    pub label: String,
    /// Each done seed's `(seed, rank-biserial correlation)`, in point order.
    pub per_seed: Vec<(f64, f64)>,
    /// The mean correlation over done seeds, with its t interval.
    pub effect: Option<MeanCi>,
    /// The one-sample t-test's two-sided p-value (at least [`MIN_SEEDS`] seeds).
    pub p: Option<f64>,
    /// Its Holm-adjusted p-value (a near-duplicate has its first setting's).
    pub holm: Option<f64>,
    /// The row of the first setting this one near-duplicates.
    pub duplicate_of: Option<usize>,
    /// Mean difference of means over done seeds.
    pub difference: Option<MeanCi>,
    /// `None` when no done point has a correlation.
    pub direction: Option<Direction>,
}

/// The ablation over every setting of a sweep.
pub struct Ablation {
    /// Per setting, in file order.
    pub rows: Vec<Row>,
    /// The number of tests Holm corrects over (distinct settings with enough seeds).
    pub tests: usize,
}

/// `mean r −0.31, 95 % CI [−0.40, −0.22], 10 seeds, Holm p 0.0021`.
fn effect_text(row: &Row) -> Option<String> {
    let e = row.effect.as_ref()?;
    Some(match (e.ci, row.holm) {
        (Some((lo, hi)), Some(holm)) => format!(
            "mean r {:.3}, {} % CI [{lo:.3}, {hi:.3}], {} seeds, Holm p {}",
            e.mean,
            percent(LEVEL),
            e.n,
            fmt_num(holm)
        ),
        _ => format!("r {:.3}, 1 seed", e.mean),
    })
}

impl Ablation {
    /// The ablation of `points`, when they have both summaries.
    pub fn of(points: &Points) -> Option<Self> {
        let effect = points.summary(EFFECT)?;
        let difference = points.summary(DIFFERENCE)?;
        Some(Self::of_values(points, effect, Some(difference)))
    }

    /// The ablation of one correlation per point (`effect`, NaN where a point has none)
    /// and, where given, one low-minus-high difference of means per point.
    pub fn of_values(points: &Points, effect: &[f64], difference: Option<&[f64]>) -> Self {
        let all: Vec<usize> = (0..points.keys.len()).collect();
        let seed_of = |p: usize| points.seed.as_ref().map_or(0.0, |s| s[p]);
        let mut rows: Vec<Row> = points
            .settings(&all)
            .into_iter()
            .map(|setting| {
                let per_seed: Vec<(f64, f64)> = setting
                    .members
                    .iter()
                    .filter(|&&p| points.done(p) && effect[p].is_finite())
                    .map(|&p| (seed_of(p), effect[p]))
                    .collect();
                let values: Vec<f64> = per_seed.iter().map(|(_, r)| *r).collect();
                let effect = MeanCi::of(&values);
                Row {
                    label: points.label(&all, setting.first()),
                    p: effect
                        .filter(|e| e.n >= MIN_SEEDS)
                        .and_then(|e| e.t_test_p()),
                    per_seed,
                    effect,
                    holm: None,
                    duplicate_of: None,
                    difference: difference.and_then(|d| points.mean_ci(d, &setting.members)),
                    direction: None,
                    setting,
                }
            })
            .collect();
        // Near-duplicates: each tested setting joins the first earlier one it matches.
        for i in 0..rows.len() {
            if rows[i].p.is_none() {
                continue;
            }
            rows[i].duplicate_of = (0..i).find(|&j| {
                rows[j].p.is_some()
                    && rows[j].duplicate_of.is_none()
                    && near_duplicates(&rows[i].per_seed, &rows[j].per_seed)
            });
        }
        let tested: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].p.is_some() && rows[i].duplicate_of.is_none())
            .collect();
        let p: Vec<f64> = tested.iter().filter_map(|&i| rows[i].p).collect();
        for (&i, adjusted) in tested.iter().zip(holm(&p)) {
            rows[i].holm = Some(adjusted);
        }
        let alpha = 1.0 - LEVEL;
        for i in 0..rows.len() {
            let first = rows[i].duplicate_of.unwrap_or(i);
            let (holm, mean) = (rows[first].holm, rows[first].effect.map(|e| e.mean));
            rows[i].holm = holm;
            rows[i].direction = rows[i].effect.map(|_| match (holm, mean) {
                (Some(h), Some(m)) if h < alpha && m < 0.0 => Direction::Paper,
                (Some(h), Some(m)) if h < alpha && m > 0.0 => Direction::Reversed,
                (Some(_), _) => Direction::Undetermined,
                (None, _) => Direction::TooFewSeeds,
            });
        }
        Self {
            rows,
            tests: tested.len(),
        }
    }

    /// The settings of `direction`.
    fn with(&self, direction: Direction) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.direction == Some(direction))
            .collect()
    }

    /// The keys that alone decide the direction: every classified setting with the same
    /// value of the key has the same direction, and not every setting the same. Each with
    /// its values' directions, in the order the values appear.
    pub fn deciding_keys(&self, points: &Points) -> Vec<(String, Vec<(String, Direction)>)> {
        let classified: Vec<(&Row, Direction)> = self
            .rows
            .iter()
            .filter_map(|r| Some((r, r.direction?)))
            .filter(|(_, d)| *d != Direction::TooFewSeeds)
            .collect();
        let Some((_, first)) = classified.first() else {
            return Vec::new();
        };
        if classified.iter().all(|(_, d)| d == first) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for key in &points.keys {
            let mut values: Vec<(String, Direction)> = Vec::new();
            let mut decides = true;
            for (row, d) in &classified {
                let v = key.label(row.setting.first());
                match values.iter().find(|(w, _)| *w == v) {
                    Some((_, e)) if e != d => decides = false,
                    Some(_) => {}
                    None => values.push((v, *d)),
                }
            }
            if decides {
                out.push((key.name.clone(), values));
            }
        }
        out
    }

    /// The finding, one paragraph of sentences that each follow from the numbers.
    pub fn finding(&self, points: &Points) -> String {
        let names: Vec<&str> = points.keys.iter().map(|k| k.name.as_str()).collect();
        let over = if names.is_empty() {
            "the sweep's single setting (seeds pooled)".to_owned()
        } else {
            format!(
                "the {} settings of {} (seeds pooled)",
                self.rows.len(),
                names.join(", ")
            )
        };
        let count = |d| self.with(d).len();
        let alpha = fmt_num(1.0 - LEVEL);
        let mut s = vec![format!(
            "Finding (Section 5.3 ablation, from summary/{EFFECT}: each run's rank-biserial correlation of (21) between the low- and the high-ρ_ref group, negative where the low group's (21) is the smaller, the paper's direction). Seeds are the replicates: a setting's mean correlation over its done seeds is tested against 0 by a one-sample t-test, and the p-values are Holm-corrected over the {} distinct settings with at least {MIN_SEEDS} done seeds (settings whose correlations agree within {DUPLICATE_TOLERANCE} at every seed are near-duplicates, counted once). Over {over}: paper's direction in {}, reversed in {}, undetermined in {}, not classified in {} (paper's direction or reversed when the Holm-adjusted p is below {alpha}; a setting with fewer than {MIN_SEEDS} done seeds is not classified, since a single run's rank test treats its pairs, scored by one trained model, as independent replications, which they are not).",
            self.tests,
            count(Direction::Paper),
            count(Direction::Reversed),
            count(Direction::Undetermined),
            count(Direction::TooFewSeeds),
        )];
        for (d, lead) in [
            (Direction::Paper, "The paper's direction appears under"),
            (Direction::Reversed, "It reverses under"),
            (Direction::Undetermined, "It is undetermined under"),
            (Direction::TooFewSeeds, "Not classified (one done seed)"),
        ] {
            let rows = self.with(d);
            if !rows.is_empty() {
                let items: Vec<String> = rows
                    .iter()
                    .filter_map(|r| {
                        let text = match r.duplicate_of {
                            Some(j) => format!(
                                "near-duplicate of {}; {}",
                                self.rows[j].label,
                                effect_text(r)?
                            ),
                            None => effect_text(r)?,
                        };
                        Some(format!("{} ({text})", r.label))
                    })
                    .collect();
                s.push(format!("{lead}: {}.", items.join("; ")));
            }
        }
        let empty: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.effect.is_none())
            .map(|r| r.label.as_str())
            .collect();
        if !empty.is_empty() {
            s.push(format!(
                "No done point has a correlation under: {}.",
                empty.join("; ")
            ));
        }
        s.push(self.decided_by(points));
        s.push(self.spread());
        let diffs: Vec<f64> = self
            .rows
            .iter()
            .filter_map(|r| r.difference.map(|d| d.mean))
            .collect();
        if !diffs.is_empty() {
            s.push(format!(
                "The mean over seeds of summary/{DIFFERENCE} (low minus high mean ln (21); negative is the paper's direction) is negative in {} of the {} settings with a value.",
                diffs.iter().filter(|d| **d < 0.0).count(),
                diffs.len()
            ));
        }
        s.retain(|x| !x.is_empty());
        s.join(" ")
    }

    /// Which key, if any, decides the direction.
    fn decided_by(&self, points: &Points) -> String {
        let directions: Vec<Direction> = self
            .rows
            .iter()
            .filter_map(|r| r.direction)
            .filter(|d| *d != Direction::TooFewSeeds)
            .collect();
        let Some(first) = directions.first() else {
            return String::new();
        };
        if directions.iter().all(|d| d == first) {
            return if directions.len() > 1 {
                format!(
                    "Every classified setting is {}: the direction does not change over the swept values.",
                    first.name()
                )
            } else {
                String::new()
            };
        }
        let keys = self.deciding_keys(points);
        if keys.is_empty() {
            return "No single swept key decides the direction: for every key, some value has settings of different directions.".into();
        }
        let items: Vec<String> = keys
            .iter()
            .map(|(key, values)| {
                let v: Vec<String> = values
                    .iter()
                    .map(|(v, d)| format!("{key} = {v}: {}", d.name()))
                    .collect();
                format!("the direction follows {key} ({})", v.join("; "))
            })
            .collect();
        let mut sentence = items.join("; ");
        if let Some(c) = sentence.get(..1) {
            sentence = c.to_uppercase() + &sentence[1..];
        }
        format!("{sentence}, whatever the other keys.")
    }

    /// The seed-to-seed spread of the correlation and of the difference of means.
    fn spread(&self) -> String {
        let sds = |f: fn(&Row) -> Option<MeanCi>| -> Vec<f64> {
            self.rows.iter().filter_map(|r| f(r)?.sd).collect()
        };
        let effect = sds(|r| r.effect);
        let diff = sds(|r| r.difference);
        if effect.is_empty() && diff.is_empty() {
            return "No setting has two done seeds, so there is no seed-to-seed spread.".into();
        }
        let part = |v: &[f64], what: &str, fmt: fn(f64) -> String| match (median(v), max(v)) {
            (Some(m), Some(x)) => format!(
                "the sd of {what} over seeds has median {} and maximum {} over the {} settings with at least two done seeds",
                fmt(m),
                fmt(x),
                v.len()
            ),
            _ => format!("no setting has two done seeds with {what}"),
        };
        format!(
            "Seed-to-seed spread: {}; {}.",
            part(&effect, "the correlation", |v| format!("{v:.3}")),
            part(
                &diff,
                &format!("the difference of means (summary/{DIFFERENCE})"),
                fmt_num
            )
        )
    }

    /// The numbers behind the finding, one row per setting.
    pub fn table(&self, points: &Points) -> Table {
        let mut header = points.key_header();
        header.extend(
            [
                "n (seeds done)",
                "mean r",
                "CI of mean r",
                "sd of r",
                "t-test p",
                "Holm p",
                "near-duplicate of",
                "mean difference",
                "direction",
            ]
            .map(String::from),
        );
        let dash = || "—".to_string();
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let p = r.setting.first();
                let mut row = points.key_cells(p, &r.label);
                let e = r.effect.as_ref();
                row.push(e.map_or(0, |e| e.n).to_string());
                row.push(e.map_or_else(dash, |e| format!("{:.3}", e.mean)));
                row.push(match e.and_then(|e| e.ci) {
                    Some((lo, hi)) => format!("[{lo:.3}, {hi:.3}]"),
                    None if e.is_some() => "1 seed: no interval".into(),
                    None => dash(),
                });
                row.push(
                    e.and_then(|e| e.sd)
                        .map_or_else(dash, |s| format!("{s:.3}")),
                );
                row.push(r.p.map_or_else(dash, fmt_num));
                row.push(r.holm.map_or_else(dash, fmt_num));
                row.push(
                    r.duplicate_of
                        .map_or_else(dash, |j| self.rows[j].label.clone()),
                );
                let d = r.difference.as_ref();
                row.push(d.map_or_else(dash, |d| fmt_num(d.mean)));
                row.push(r.direction.map_or("no done point", |d| d.name()).into());
                row
            })
            .collect();
        Table {
            caption: format!(
                "Section 5.3 ablation per setting (seeds pooled): summary/{EFFECT} (the rank-biserial correlation of (21), low against high ρ_ref group; negative: the paper's direction), mean over done seeds with its {} % CI (Student t, n − 1 degrees of freedom) and sd (ddof = 1); the one-sample t-test of a zero mean and its Holm-adjusted p over the {} distinct tested settings (a near-duplicate, within {DUPLICATE_TOLERANCE} at every seed, shares its first setting's); summary/{DIFFERENCE} (low minus high mean ln (21); negative: the paper's direction), mean over done seeds.",
                percent(LEVEL),
                self.tests
            ),
            header,
            rows,
        }
    }
}

/// Whether two settings' per-seed correlations agree within [`DUPLICATE_TOLERANCE`] at
/// every seed, with the same seeds done.
fn near_duplicates(a: &[(f64, f64)], b: &[(f64, f64)]) -> bool {
    let sorted = |v: &[(f64, f64)]| {
        let mut v = v.to_vec();
        v.sort_by(|x, y| x.0.total_cmp(&y.0));
        v
    };
    let (a, b) = (sorted(a), sorted(b));
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() <= DUPLICATE_TOLERANCE)
}

/// The largest of `v`; `None` when empty.
fn max(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::max)
}
