//! The two groups and the test, read from a `sequence_dpo` results file: each group's
//! ranks, quantity (21) and ln ρ_ref, what else tells it apart (lengths, correlations,
//! reward margin, label noise), and the stored Mann–Whitney statistics.

use crate::h5::ResultsFile;
use crate::plot::fmt_num;

/// What else tells a group apart, when the results file stores it.
pub(super) struct Confound {
    /// len(y_w) − len(y_l) in tokens, per pair.
    pub(super) length_diff: Vec<f64>,
    /// Mean len(y_w) and len(y_l).
    pub(super) mean_lengths: (f64, f64),
    /// Pearson r of ln ρ_ref and of ln (21) with the length difference, within the group.
    pub(super) correlations: (f64, f64),
    /// Mean scored lengths (after the context cut) and r of ln ρ_ref with their
    /// difference, when stored.
    pub(super) scored: Option<((f64, f64), f64)>,
    /// Share of labels against the true reward (synthetic data only).
    pub(super) label_noise: Option<f64>,
    /// Mean true reward margin r*(y_w) − r*(y_l) (synthetic data only).
    pub(super) reward_margin: Option<f64>,
}

impl Confound {
    /// Group `g`'s lengths and correlations, `None` for files written before they were stored.
    fn read(file: &ResultsFile, g: &str, n: usize) -> Result<Option<Self>, String> {
        if !file.exists(&format!("length_diff/{g}")) {
            return Ok(None);
        }
        let optional = |key: String| -> Result<Option<f64>, String> {
            if file.exists(&key) {
                file.scalar(&key).map(Some)
            } else {
                Ok(None)
            }
        };
        let margin_key = format!("reward_margin/{g}");
        Ok(Some(Self {
            length_diff: file.vec_len(&format!("length_diff/{g}"), n)?,
            mean_lengths: (
                mean(&file.vec_len(&format!("lengths/chosen_{g}"), n)?),
                mean(&file.vec_len(&format!("lengths/rejected_{g}"), n)?),
            ),
            correlations: (
                file.scalar(&format!("correlation/log_rho_ref_length/{g}"))?,
                file.scalar(&format!("correlation/log_ratio_change_length/{g}"))?,
            ),
            scored: if file.exists(&format!("lengths/scored_chosen_{g}")) {
                Some((
                    (
                        mean(&file.vec_len(&format!("lengths/scored_chosen_{g}"), n)?),
                        mean(&file.vec_len(&format!("lengths/scored_rejected_{g}"), n)?),
                    ),
                    file.scalar(&format!("correlation/log_rho_ref_scored_length/{g}"))?,
                ))
            } else {
                None
            },
            label_noise: optional(format!("label_noise/{g}"))?,
            reward_margin: if file.exists(&margin_key) {
                Some(mean(&file.vec_len(&margin_key, n)?))
            } else {
                None
            },
        }))
    }
}

/// One group's per-pair values (all of length n).
pub(super) struct Group {
    /// "low-value" or "high-value".
    pub(super) label: &'static str,
    /// Average ranks of (21) over both groups.
    pub(super) rank: Vec<f64>,
    /// Mean of `rank`, as stored in the file.
    pub(super) mean_rank: f64,
    /// Quantity (21), eq. (21), linear scale.
    pub(super) ratio_change: Vec<f64>,
    /// ln of quantity (21).
    pub(super) log_ratio_change: Vec<f64>,
    /// ln ρ_ref = ln π_ref(y_l|x) − ln π_ref(y_w|x).
    pub(super) log_rho_ref: Vec<f64>,
    /// Lengths, correlations, reward margin and label noise, when stored.
    pub(super) confound: Option<Confound>,
}

impl Group {
    /// Reads group `g` (`low` or `high`), whose size `n_key` gives.
    pub(super) fn read(
        file: &ResultsFile,
        g: &str,
        label: &'static str,
        n_key: &str,
    ) -> Result<Self, String> {
        let rank_key = format!("rank/{g}");
        let rank = file.vec(&rank_key)?;
        let n = rank.len();
        let stored = file.scalar(n_key)?;
        if stored != n as f64 {
            return Err(format!(
                "{}: dataset `{n_key}` is {}, but `{rank_key}` has {n} values",
                file.name(),
                fmt_num(stored)
            ));
        }
        Ok(Self {
            label,
            mean_rank: file.scalar(&format!("rank/{g}_mean"))?,
            ratio_change: file.vec_len(&format!("ratio_change/{g}"), n)?,
            log_ratio_change: file.vec_len(&format!("log_ratio_change/{g}"), n)?,
            log_rho_ref: file.vec_len(&format!("log_rho_ref/{g}"), n)?,
            confound: Confound::read(file, g, n)?,
            rank,
        })
    }

    /// Pairs in the group.
    pub(super) fn n(&self) -> usize {
        self.rank.len()
    }

    /// Mean of ln (21).
    pub(super) fn mean_log_ratio_change(&self) -> f64 {
        mean(&self.log_ratio_change)
    }

    /// Number of pairs whose quantity (21) fell below its initial value 1.
    pub(super) fn suppressed(&self) -> usize {
        self.ratio_change.iter().filter(|&&v| v < 1.0).count()
    }
}

/// The Mann–Whitney statistics stored in the file.
pub(super) struct MannWhitney {
    pub(super) u: f64,
    pub(super) u1: f64,
    pub(super) u2: f64,
    pub(super) z: f64,
    pub(super) p: f64,
    pub(super) r1: f64,
    pub(super) r2: f64,
    pub(super) tie_corrected: bool,
    /// One-sided p for the paper's direction (low-value group smaller), when stored.
    pub(super) p_low_smaller: Option<f64>,
    /// The rank-biserial correlation and its within-run interval, when stored.
    pub(super) rank_biserial: Option<(f64, f64, f64)>,
}

impl MannWhitney {
    /// Reads the `mann_whitney/*` datasets.
    pub(super) fn read(file: &ResultsFile) -> Result<Self, String> {
        let s = |k: &str| file.scalar(&format!("mann_whitney/{k}"));
        Ok(Self {
            u: s("u")?,
            u1: s("u1")?,
            u2: s("u2")?,
            z: s("z")?,
            p: s("p_value")?,
            r1: s("r1")?,
            r2: s("r2")?,
            tie_corrected: s("tie_corrected")? != 0.0,
            p_low_smaller: if file.exists("mann_whitney/p_low_smaller") {
                Some(s("p_low_smaller")?)
            } else {
                None
            },
            rank_biserial: if file.exists("summary/rank_biserial") {
                let r = |k: &str| file.scalar(&format!("summary/rank_biserial{k}"));
                Some((r("")?, r("_ci_low")?, r("_ci_high")?))
            } else {
                None
            },
        })
    }
}

/// The arithmetic mean.
fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}
