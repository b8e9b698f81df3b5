//! The Section 5.3 ablation statement: in which settings of a sweep the low-value group's
//! quantity (21) comes out smaller than the high-value group's (the paper's direction), and
//! in which it reverses, computed from the points' summaries `z_paper_direction` and
//! `mean_log_ratio_change_difference` (`sequence_dpo` points).

use super::points::{Points, Setting};
use crate::figures::Table;
use crate::fmt_num;
use crate::stats::{LEVEL, MeanCi, median, normal_quantile, percent};

/// The Mann–Whitney z, positive in the paper's direction.
pub const Z: &str = "z_paper_direction";
/// Low minus high mean ln (21): negative in the paper's direction.
pub const DIFFERENCE: &str = "mean_log_ratio_change_difference";

/// Which way a setting points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The interval of the mean z lies above 0 (one seed: z above the normal quantile).
    Paper,
    /// The interval lies below 0 (one seed: z below minus the quantile).
    Reversed,
    /// The interval contains 0 (one seed: |z| at most the quantile).
    Undetermined,
}

impl Direction {
    /// How the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Paper => "paper's direction",
            Self::Reversed => "reversed",
            Self::Undetermined => "undetermined",
        }
    }

    /// The class of a setting with mean z `z`: by its interval, or with a single seed by
    /// the sign of z and |z| > `threshold`.
    pub fn of(z: &MeanCi, threshold: f64) -> Self {
        let (lo, hi) = z.ci.unwrap_or((z.mean - threshold, z.mean + threshold));
        if lo > 0.0 {
            Self::Paper
        } else if hi < 0.0 {
            Self::Reversed
        } else {
            Self::Undetermined
        }
    }
}

/// One setting (a combination of every swept key's values, seeds pooled).
pub struct Row {
    /// Its points.
    pub setting: Setting,
    /// `dpo.lr = 0.001, dpo.beta = 0.1`.
    pub label: String,
    /// Mean z over done seeds.
    pub z: Option<MeanCi>,
    /// Mean difference of means over done seeds.
    pub difference: Option<MeanCi>,
    /// `None` when no done point has a z.
    pub direction: Option<Direction>,
}

/// The ablation over every setting of a sweep.
pub struct Ablation {
    /// Per setting, in file order.
    pub rows: Vec<Row>,
    /// |z| a single seed must exceed: the standard normal's (1 + [`LEVEL`])/2 quantile.
    pub threshold: f64,
}

/// `(mean z 3.20, 95 % CI [2.10, 4.30], 3 seeds)` or `(z 2.50, 1 seed: no interval)`.
fn z_text(z: &MeanCi) -> String {
    match z.ci {
        Some((lo, hi)) => format!(
            "mean z {:.2}, {} % CI [{lo:.2}, {hi:.2}], {} seeds",
            z.mean,
            percent(LEVEL),
            z.n
        ),
        None => format!("z {:.2}, 1 seed: no interval", z.mean),
    }
}

impl Ablation {
    /// The ablation of `points`, when they have both summaries.
    pub fn of(points: &Points) -> Option<Self> {
        let z = points.summary(Z)?;
        let difference = points.summary(DIFFERENCE)?;
        let threshold = normal_quantile((1.0 + LEVEL) / 2.0);
        let all: Vec<usize> = (0..points.keys.len()).collect();
        let rows = points
            .settings(&all)
            .into_iter()
            .map(|setting| {
                let z = points.mean_ci(z, &setting.members);
                Row {
                    label: points.label(&all, setting.first()),
                    difference: points.mean_ci(difference, &setting.members),
                    direction: z.as_ref().map(|z| Direction::of(z, threshold)),
                    z,
                    setting,
                }
            })
            .collect();
        Some(Self { rows, threshold })
    }

    /// The settings of `direction`.
    fn with(&self, direction: Direction) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.direction == Some(direction))
            .collect()
    }

    /// The keys that alone decide the direction: every setting with the same value of the
    /// key has the same direction, and not every setting the same. Each with its values'
    /// directions, in the order the values appear.
    pub fn deciding_keys(&self, points: &Points) -> Vec<(String, Vec<(String, Direction)>)> {
        let classified: Vec<(&Row, Direction)> = self
            .rows
            .iter()
            .filter_map(|r| Some((r, r.direction?)))
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
        let mut s = vec![format!(
            "Finding (Section 5.3 ablation, from summary/{Z}: z > 0 where the low-value group's (21) is smaller than the high-value group's, the paper's direction). Over {over}: paper's direction in {}, reversed in {}, undetermined in {} (paper's direction when the {} % CI of the mean z over seeds lies above 0, reversed when it lies below 0, undetermined when it contains 0).",
            count(Direction::Paper),
            count(Direction::Reversed),
            count(Direction::Undetermined),
            percent(LEVEL),
        )];
        for (d, lead) in [
            (Direction::Paper, "The paper's direction appears under"),
            (Direction::Reversed, "It reverses under"),
            (Direction::Undetermined, "It is undetermined under"),
        ] {
            let rows = self.with(d);
            if !rows.is_empty() {
                let items: Vec<String> = rows
                    .iter()
                    .filter_map(|r| Some(format!("{} ({})", r.label, z_text(r.z.as_ref()?))))
                    .collect();
                s.push(format!("{lead}: {}.", items.join("; ")));
            }
        }
        let single: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.z.is_some_and(|z| z.n == 1))
            .map(|r| r.label.as_str())
            .collect();
        if !single.is_empty() {
            s.push(format!(
                "With a single done seed there is no interval, so {} {} classified by the sign of z and |z| > {:.2} (the standard normal's {} % quantile).",
                single.join("; "),
                if single.len() == 1 { "is" } else { "are" },
                self.threshold,
                percent((1.0 + LEVEL) / 2.0),
            ));
        }
        let empty: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.z.is_none())
            .map(|r| r.label.as_str())
            .collect();
        if !empty.is_empty() {
            s.push(format!(
                "No done point has a z under: {}.",
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
        let directions: Vec<Direction> = self.rows.iter().filter_map(|r| r.direction).collect();
        let Some(first) = directions.first() else {
            return String::new();
        };
        if directions.iter().all(|d| d == first) {
            return if self.rows.len() > 1 {
                format!(
                    "Every setting with a value is {}: the direction does not change over the swept values.",
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

    /// The seed-to-seed spread of z and of the difference of means.
    fn spread(&self) -> String {
        let sds = |f: fn(&Row) -> Option<MeanCi>| -> Vec<f64> {
            self.rows.iter().filter_map(|r| f(r)?.sd).collect()
        };
        let z = sds(|r| r.z);
        let diff = sds(|r| r.difference);
        if z.is_empty() && diff.is_empty() {
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
            part(&z, "z", |v| format!("{v:.2}")),
            part(
                &diff,
                &format!("the difference of means (summary/{DIFFERENCE})"),
                fmt_num
            )
        )
    }

    /// The numbers behind the finding, one row per setting.
    pub fn table(&self, points: &Points) -> Table {
        let mut header: Vec<String> = points.keys.iter().map(|k| k.name.clone()).collect();
        if header.is_empty() {
            header.push("setting".into());
        }
        header.extend(
            [
                "n (seeds done)",
                "mean z",
                "CI of mean z",
                "sd of z",
                "mean difference",
                "sd of difference",
                "direction",
            ]
            .map(String::from),
        );
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let p = r.setting.first();
                let mut row: Vec<String> = points.keys.iter().map(|k| k.label(p)).collect();
                if row.is_empty() {
                    row.push(r.label.clone());
                }
                let z = r.z.as_ref();
                row.push(z.map_or(0, |z| z.n).to_string());
                row.push(z.map_or("—".into(), |z| format!("{:.2}", z.mean)));
                row.push(match z {
                    Some(MeanCi {
                        ci: Some((lo, hi)), ..
                    }) => format!("[{lo:.2}, {hi:.2}]"),
                    Some(_) => "1 seed: no interval".into(),
                    None => "—".into(),
                });
                row.push(
                    z.and_then(|z| z.sd)
                        .map_or("—".into(), |s| format!("{s:.2}")),
                );
                let d = r.difference.as_ref();
                row.push(d.map_or("—".into(), |d| fmt_num(d.mean)));
                row.push(d.and_then(|d| d.sd).map_or("—".into(), fmt_num));
                row.push(match (r.direction, z) {
                    (Some(dir), Some(z)) if z.n == 1 => {
                        format!(
                            "{} (1 seed: by sign and |z| > {:.2})",
                            dir.name(),
                            self.threshold
                        )
                    }
                    (Some(dir), _) => dir.name().into(),
                    (None, _) => "no done point".into(),
                });
                row
            })
            .collect();
        Table {
            caption: format!(
                "Section 5.3 ablation per setting (seeds pooled): summary/{Z} (positive: the paper's direction) and summary/{DIFFERENCE} (low minus high mean ln (21); negative: the paper's direction), mean over done seeds, {} % CI of the mean (Student t, n − 1 degrees of freedom), sd over seeds (ddof = 1).",
                percent(LEVEL)
            ),
            header,
            rows,
        }
    }
}

/// The largest of `v`; `None` when empty.
fn max(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::max)
}
