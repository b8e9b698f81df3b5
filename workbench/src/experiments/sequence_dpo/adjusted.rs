//! The length-adjusted analysis over all analysed pairs (not only the tails Table 2
//! compares): ordinary least squares of ln (21) on ln ρ_ref with the scored length
//! difference, the cut flags, π_ref's mean per-token log-probability and the prompt length
//! as covariates (HC3 standard errors); mean ln (21) by decile of ln ρ_ref; and van
//! Elteren's rank test of the low against the high group within quintiles of the scored
//! length difference.

use super::confound::Scored;
use crate::analysis::regression::{ols_hc3, quantile_bins, van_elteren};
use crate::results::Results;
use crate::sequence::pipeline::PairScores;

/// Deciles of ln ρ_ref in the decile figure.
pub const DECILES: usize = 10;
/// Strata (quantile bins of the scored length difference) of van Elteren's test.
pub const LENGTH_STRATA: usize = 5;

/// What the analysis reads of the analysed pairs.
pub(super) struct Pairs<'a> {
    /// ln ρ_ref per pair.
    pub rho: &'a [f64],
    /// ln (21) per pair.
    pub change: &'a [f64],
    /// Their scores under π_ref.
    pub reference: &'a PairScores,
    /// Their lengths and cuts as scored.
    pub scored: &'a Scored,
    /// Table 2's low and high groups.
    pub groups: [&'a [bool]; 2],
}

/// The covariates besides ln ρ_ref and the cuts and prompt length: the scored length
/// difference (y_w − y_l tokens) and π_ref's mean per-token log-probability of each pair.
pub(super) fn covariate_columns(pairs: &Pairs) -> (Vec<f64>, Vec<f64>) {
    let s = pairs.scored;
    let length_diff: Vec<f64> = s
        .chosen
        .iter()
        .zip(&s.rejected)
        .map(|(w, l)| w - l)
        .collect();
    let per_token: Vec<f64> = (0..pairs.rho.len())
        .map(|i| {
            let tokens = (s.chosen[i] + s.rejected[i]).max(1.0);
            (pairs.reference.chosen[i] + pairs.reference.rejected[i]) / tokens
        })
        .collect();
    (length_diff, per_token)
}

/// OLS with HC3 errors of ln (21) on ln ρ_ref and the covariates.
pub(super) fn fit(
    pairs: &Pairs,
    length_diff: &[f64],
    per_token: &[f64],
) -> Result<crate::analysis::regression::Ols, String> {
    let s = pairs.scored;
    let covariates: [(&str, &[f64]); 6] = [
        ("log_rho_ref", pairs.rho),
        ("scored_length_diff", length_diff),
        ("cut_chosen", &s.cut[0]),
        ("cut_rejected", &s.cut[1]),
        ("reference_log_prob_per_token", per_token),
        ("prompt_length", &s.prompt),
    ];
    ols_hc3(pairs.change, &covariates)
}

/// Records the regression (`regression/*`, summaries `log_rho_coefficient*`), the deciles
/// (`deciles/*`) and van Elteren's test (`van_elteren/*`); a regression that cannot be
/// fitted (collinear covariates) or a test without a stratum of both groups is named in a
/// note instead.
pub(super) fn record(pairs: &Pairs, results: &mut Results) {
    let (length_diff, per_token) = covariate_columns(pairs);
    match fit(pairs, &length_diff, &per_token) {
        Ok(fit) => {
            results.vector("regression/coefficients", fit.coefficients.clone());
            results.vector("regression/hc3_se", fit.hc3_se.clone());
            results.vector("regression/ci_low", fit.ci.iter().map(|c| c.0).collect());
            results.vector("regression/ci_high", fit.ci.iter().map(|c| c.1).collect());
            results.scalar("regression/r_squared", fit.r_squared);
            results.scalar("regression/n", fit.n as f64);
            results.vector("regression/reference_log_prob_per_token", per_token.clone());
            if let Some(j) = fit.names.iter().position(|n| n == "log_rho_ref") {
                results.summary("log_rho_coefficient", fit.coefficients[j]);
                results.summary("log_rho_coefficient_ci_low", fit.ci[j].0);
                results.summary("log_rho_coefficient_ci_high", fit.ci[j].1);
            }
            results
                .notes
                .push(("regression_columns".into(), fit.names.join(", ")));
        }
        Err(why) => results
            .notes
            .push(("regression_columns".into(), format!("not fitted: {why}"))),
    }
    let decile = quantile_bins(pairs.rho, DECILES);
    let mut sums = vec![[0.0; 3]; DECILES];
    for (i, &d) in decile.iter().enumerate() {
        sums[d][0] += pairs.rho[i];
        sums[d][1] += pairs.change[i];
        sums[d][2] += 1.0;
    }
    let column = |k: usize| {
        sums.iter()
            .map(|s| if k == 2 { s[2] } else { s[k] / s[2].max(1.0) })
            .collect()
    };
    results.vector("deciles/log_rho_ref_mean", column(0));
    results.vector("deciles/log_ratio_change_mean", column(1));
    results.vector("deciles/count", column(2));
    let strata = quantile_bins(&length_diff, LENGTH_STRATA);
    match van_elteren(pairs.change, pairs.groups[0], pairs.groups[1], &strata) {
        Ok(test) => {
            for (key, value) in [
                ("z", test.z),
                ("p_lower", test.p_lower),
                ("statistic", test.statistic),
                ("mean", test.mean),
                ("variance", test.variance),
                ("strata", test.strata as f64),
            ] {
                results.scalar(format!("van_elteren/{key}"), value);
            }
        }
        Err(why) => results
            .notes
            .push(("van_elteren".into(), format!("not computed: {why}"))),
    }
}
