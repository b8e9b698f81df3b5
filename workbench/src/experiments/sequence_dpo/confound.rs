//! What besides ρ_ref tells the two groups apart, measured and stored: per-pair response
//! lengths, how many responses the context cut, the correlation of ln ρ_ref and of ln (21)
//! with the length difference (overall and within each group) and, for synthetic data,
//! each group's true reward margin and label noise.

use crate::analysis::correlation::pearson;
use crate::results::Results;
use crate::sequence::batch::layout;
use crate::sequence::{Specials, TokenPair};

/// Which pairs belong to the low- and high-value groups.
pub(super) struct Membership<'a> {
    /// Group names, as in the results file (`low`, `high`).
    pub names: [&'static str; 2],
    /// Per pair: in the group?
    pub masks: [&'a [bool]; 2],
}

impl Membership<'_> {
    fn pick(&self, g: usize, values: &[f64]) -> Vec<f64> {
        values
            .iter()
            .zip(self.masks[g])
            .filter(|(_, keep)| **keep)
            .map(|(v, _)| *v)
            .collect()
    }
}

/// Responses of `pairs` that `context` cuts: (chosen, rejected).
pub(super) fn truncated(pairs: &[TokenPair], specials: Specials, context: usize) -> [usize; 2] {
    let cut = |response: fn(&TokenPair) -> &[u32]| {
        pairs
            .iter()
            .filter(|p| layout(&p.prompt, response(p), specials, context).cut)
            .count()
    };
    [cut(|p| &p.chosen), cut(|p| &p.rejected)]
}

/// Share of pairs whose label goes against the true reward (margin r*(y_w) − r*(y_l) < 0).
fn label_noise(margin: &[f64]) -> f64 {
    margin.iter().filter(|m| **m < 0.0).count() as f64 / margin.len().max(1) as f64
}

/// Stores lengths, correlations and (with `reward_margin`) the groups' reward margin and
/// label noise.
pub(super) fn record(
    pairs: &[TokenPair],
    log_rho: &[f64],
    log_change: &[f64],
    groups: &Membership,
    reward_margin: Option<&[f64]>,
    results: &mut Results,
) {
    let len = |pick: fn(&TokenPair) -> usize| pairs.iter().map(|p| pick(p) as f64).collect();
    let chosen: Vec<f64> = len(|p| p.chosen.len());
    let rejected: Vec<f64> = len(|p| p.rejected.len());
    // len(y_w) − len(y_l): positive when the preferred response is the longer one.
    let diff: Vec<f64> = chosen.iter().zip(&rejected).map(|(w, l)| w - l).collect();
    let correlations = |subset: &dyn Fn(&[f64]) -> Vec<f64>| {
        let d = subset(&diff);
        (
            pearson(&subset(log_rho), &d),
            pearson(&subset(log_change), &d),
        )
    };
    let (rho_all, change_all) = correlations(&|v: &[f64]| v.to_vec());
    results.scalar("correlation/log_rho_ref_length/all", rho_all);
    results.scalar("correlation/log_ratio_change_length/all", change_all);
    for (g, name) in groups.names.iter().enumerate() {
        let (rho, change) = correlations(&|v: &[f64]| groups.pick(g, v));
        results.scalar(format!("correlation/log_rho_ref_length/{name}"), rho);
        results.scalar(
            format!("correlation/log_ratio_change_length/{name}"),
            change,
        );
        results.vector(format!("length_diff/{name}"), groups.pick(g, &diff));
        results.vector(format!("lengths/chosen_{name}"), groups.pick(g, &chosen));
        results.vector(
            format!("lengths/rejected_{name}"),
            groups.pick(g, &rejected),
        );
        if let Some(margin) = reward_margin {
            results.scalar(
                format!("label_noise/{name}"),
                label_noise(&groups.pick(g, margin)),
            );
        }
    }
    if let Some(margin) = reward_margin {
        results.scalar("label_noise/all", label_noise(margin));
        results.vector("reward_margin/all", margin.to_vec());
    }
    results.vector("length_diff/all", diff);
    results.vector("lengths/chosen", chosen);
    results.vector("lengths/rejected", rejected);
}
