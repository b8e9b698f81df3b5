//! What besides ρ_ref tells the two groups apart, measured and stored: per-pair response
//! lengths, the prompt both responses are scored under, how many responses the context cut, the correlation of ln ρ_ref and of ln (21)
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

/// What the model scores of each pair under `context`: each response's token count (EOS
/// included when the response is whole), whether it was cut, and the prompt's tokens.
pub(super) struct Scored {
    pub chosen: Vec<f64>,
    pub rejected: Vec<f64>,
    /// 1 where the response was cut, else 0.
    pub cut: [Vec<f64>; 2],
    pub prompt: Vec<f64>,
}

pub(super) fn scored(pairs: &[TokenPair], specials: Specials, context: usize) -> Scored {
    let side = |response: fn(&TokenPair) -> &[u32]| -> (Vec<f64>, Vec<f64>) {
        let laid: Vec<_> = pairs
            .iter()
            .map(|p| layout(p.scored_prompt(context), response(p), specials, context))
            .collect();
        let lengths = laid.iter().map(|l| (l.tokens.len() - l.start) as f64);
        (
            lengths.collect(),
            laid.iter().map(|l| f64::from(u8::from(l.cut))).collect(),
        )
    };
    let (chosen, cut_chosen) = side(|p| &p.chosen);
    let (rejected, cut_rejected) = side(|p| &p.rejected);
    let prompt = pairs.iter().map(|p| p.scored_prompt(context).len() as f64);
    Scored {
        chosen,
        rejected,
        cut: [cut_chosen, cut_rejected],
        prompt: prompt.collect(),
    }
}

/// Share of pairs whose label goes against the true reward (margin r*(y_w) − r*(y_l) < 0).
fn label_noise(margin: &[f64]) -> f64 {
    margin.iter().filter(|m| **m < 0.0).count() as f64 / margin.len().max(1) as f64
}

/// The pairs as the model sees them: the sequence length limit and the special tokens.
pub(super) struct Layout {
    /// `model.context`.
    pub context: usize,
    /// PAD, BOS, EOS.
    pub specials: Specials,
}

/// Stores lengths (as in the data and as scored), truncation counts, correlations and (with
/// `reward_margin`) the groups' reward margin and label noise; returns the pairs as scored.
pub(super) fn record(
    pairs: &[TokenPair],
    shape: &Layout,
    log_rho: &[f64],
    log_change: &[f64],
    groups: &Membership,
    reward_margin: Option<&[f64]>,
    results: &mut Results,
) -> Scored {
    let len = |pick: fn(&TokenPair) -> usize| pairs.iter().map(|p| pick(p) as f64).collect();
    let chosen: Vec<f64> = len(|p| p.chosen.len());
    let rejected: Vec<f64> = len(|p| p.rejected.len());
    let minus =
        |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x - y).collect() };
    // len(y_w) − len(y_l): positive when the preferred response is the longer one.
    let diff = minus(&chosen, &rejected);
    let seen = scored(pairs, shape.specials, shape.context);
    let scored_diff = minus(&seen.chosen, &seen.rejected);
    for (suffix, d) in [("length", &diff), ("scored_length", &scored_diff)] {
        let correlations = |subset: &dyn Fn(&[f64]) -> Vec<f64>| {
            let d = subset(d);
            (
                pearson(&subset(log_rho), &d),
                pearson(&subset(log_change), &d),
            )
        };
        let (rho, change) = correlations(&|v: &[f64]| v.to_vec());
        results.scalar(format!("correlation/log_rho_ref_{suffix}/all"), rho);
        results.scalar(format!("correlation/log_ratio_change_{suffix}/all"), change);
        for (g, name) in groups.names.iter().enumerate() {
            let (rho, change) = correlations(&|v: &[f64]| groups.pick(g, v));
            results.scalar(format!("correlation/log_rho_ref_{suffix}/{name}"), rho);
            results.scalar(
                format!("correlation/log_ratio_change_{suffix}/{name}"),
                change,
            );
        }
    }
    for (g, name) in groups.names.iter().enumerate() {
        results.vector(format!("length_diff/{name}"), groups.pick(g, &diff));
        results.vector(format!("lengths/chosen_{name}"), groups.pick(g, &chosen));
        results.vector(
            format!("lengths/rejected_{name}"),
            groups.pick(g, &rejected),
        );
        results.vector(
            format!("lengths/scored_chosen_{name}"),
            groups.pick(g, &seen.chosen),
        );
        results.vector(
            format!("lengths/scored_rejected_{name}"),
            groups.pick(g, &seen.rejected),
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
    let count = |flags: &[f64]| flags.iter().sum::<f64>();
    results.scalar("data/truncated_chosen", count(&seen.cut[0]));
    results.scalar("data/truncated_rejected", count(&seen.cut[1]));
    results.vector("length_diff/all", diff);
    results.vector("lengths/chosen", chosen);
    results.vector("lengths/rejected", rejected);
    results.vector("lengths/scored_chosen", seen.chosen.clone());
    results.vector("lengths/scored_rejected", seen.rejected.clone());
    results.vector("lengths/scored_prompt", seen.prompt.clone());
    results.vector("lengths/cut_chosen", seen.cut[0].clone());
    results.vector("lengths/cut_rejected", seen.cut[1].clone());
    seen
}
