//! Ordinary least squares with heteroscedasticity-robust (HC3) standard errors, and van
//! Elteren's stratified rank-sum test: Section 5.3's length-adjusted analysis over all
//! pairs (is ln (21) related to ln ρ_ref once the length difference, the cuts, the
//! reference's per-token log-probability and the prompt length are held fixed?).

use super::mann_whitney::{Z_95, average_ranks, normal_cdf, percentile};
use nalgebra::{DMatrix, DVector};

/// An OLS fit: coefficients, HC3 standard errors and normal 95 % intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct Ols {
    /// The columns fitted (in order), the constant first; constant covariates are dropped.
    pub names: Vec<String>,
    /// One coefficient per column.
    pub coefficients: Vec<f64>,
    /// HC3 standard errors: (X'X)⁻¹ X' diag(e_i²/(1 − h_ii)²) X (X'X)⁻¹.
    pub hc3_se: Vec<f64>,
    /// Coefficient ± [`Z_95`] standard errors (normal, as statsmodels' robust intervals).
    pub ci: Vec<(f64, f64)>,
    /// R².
    pub r_squared: f64,
    /// Observations.
    pub n: usize,
}

/// Regresses `y` on a constant and `covariates` (`(name, values)`, each as long as `y`);
/// a covariate with no variation is left out (named in no column). `Err` when the design
/// is singular or has no more rows than columns.
pub fn ols_hc3(y: &[f64], covariates: &[(&str, &[f64])]) -> Result<Ols, String> {
    let n = y.len();
    let varies = |v: &[f64]| v.iter().any(|x| *x != v[0]);
    let kept: Vec<&(&str, &[f64])> = covariates.iter().filter(|(_, v)| varies(v)).collect();
    let p = kept.len() + 1;
    if n <= p {
        return Err(format!("{n} observations for {p} coefficients"));
    }
    let x = DMatrix::from_fn(n, p, |i, j| if j == 0 { 1.0 } else { kept[j - 1].1[i] });
    let yv = DVector::from_column_slice(y);
    let xtx = x.transpose() * &x;
    let inverse = xtx
        .clone()
        .cholesky()
        .ok_or("the covariates are collinear (X'X is singular)")?
        .inverse();
    let beta = &inverse * (x.transpose() * &yv);
    let residuals = &yv - &x * &beta;
    // HC3's meat: each row weighted by e_i²/(1 − h_ii)², h_ii = x_i (X'X)⁻¹ x_i'.
    let mut meat = DMatrix::zeros(p, p);
    for i in 0..n {
        let row = x.row(i);
        let h = (row * &inverse * row.transpose())[(0, 0)];
        let w = (residuals[i] / (1.0 - h)).powi(2);
        meat += row.transpose() * row * w;
    }
    let covariance = &inverse * meat * &inverse;
    let mean = y.iter().sum::<f64>() / n as f64;
    let total: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let hc3_se: Vec<f64> = (0..p).map(|j| covariance[(j, j)].max(0.0).sqrt()).collect();
    let coefficients: Vec<f64> = beta.iter().copied().collect();
    Ok(Ols {
        names: std::iter::once("const".to_string())
            .chain(kept.iter().map(|(name, _)| name.to_string()))
            .collect(),
        ci: coefficients
            .iter()
            .zip(&hc3_se)
            .map(|(b, se)| (b - Z_95 * se, b + Z_95 * se))
            .collect(),
        r_squared: 1.0 - residuals.norm_squared() / total,
        coefficients,
        hc3_se,
        n,
    })
}

/// The stratum of each of `values` among `strata` quantile bins: the number of the bins'
/// inner edges (numpy's linear percentiles at 100·k/`strata`) that the value exceeds.
pub fn quantile_bins(values: &[f64], strata: usize) -> Vec<usize> {
    let edges: Vec<f64> = (1..strata)
        .map(|k| percentile(values, 100.0 * k as f64 / strata as f64))
        .collect();
    values
        .iter()
        .map(|v| edges.iter().filter(|e| v > e).count())
        .collect()
}

/// Van Elteren's stratified Wilcoxon rank-sum test of group 1 against group 2.
#[derive(Debug, Clone, PartialEq)]
pub struct VanElteren {
    /// Strata with members of both groups (the others carry no information).
    pub strata: usize,
    /// Σ_k W_k/(N_k + 1), W_k group 1's rank sum within stratum k.
    pub statistic: f64,
    /// Its mean under no difference: Σ_k n_k/2.
    pub mean: f64,
    /// Its variance (ties corrected): Σ_k n_k m_k/(12 (N_k + 1)²)·[(N_k + 1) − Σ(t³ − t)/(N_k(N_k − 1))].
    pub variance: f64,
    /// (statistic − mean)/√variance: negative when group 1 ranks lower.
    pub z: f64,
    /// One-sided Φ(z): for group 1 ranking lower.
    pub p_lower: f64,
}

/// Van Elteren's test: `values` of group 1 (`group1[i]`) against group 2 (`group2[i]`),
/// each pair ranked only against the others of its stratum (`stratum[i]`); pairs in
/// neither group are left out. Weights 1/(N_k + 1), the locally most powerful choice.
pub fn van_elteren(
    values: &[f64],
    group1: &[bool],
    group2: &[bool],
    stratum: &[usize],
) -> Result<VanElteren, String> {
    let count = stratum.iter().copied().max().map_or(0, |m| m + 1);
    let (mut statistic, mut mean, mut variance, mut used) = (0.0, 0.0, 0.0, 0);
    for k in 0..count {
        let members: Vec<usize> = (0..values.len())
            .filter(|&i| stratum[i] == k && (group1[i] || group2[i]))
            .collect();
        let n = members.iter().filter(|&&i| group1[i]).count() as f64;
        let m = members.len() as f64 - n;
        if n == 0.0 || m == 0.0 {
            continue;
        }
        let big = n + m;
        let within: Vec<f64> = members.iter().map(|&i| values[i]).collect();
        let ranks = average_ranks(&within);
        let w: f64 = members
            .iter()
            .zip(&ranks)
            .filter(|(i, _)| group1[**i])
            .map(|(_, r)| r)
            .sum();
        let ties = super::mann_whitney::tie_term(&within);
        let weight = 1.0 / (big + 1.0);
        statistic += weight * w;
        mean += weight * n * (big + 1.0) / 2.0;
        variance += weight * weight * n * m / 12.0 * ((big + 1.0) - ties / (big * (big - 1.0)));
        used += 1;
    }
    if used == 0 || variance <= 0.0 {
        return Err("no stratum holds pairs of both groups".into());
    }
    let z = (statistic - mean) / variance.sqrt();
    Ok(VanElteren {
        strata: used,
        statistic,
        mean,
        variance,
        z,
        p_lower: normal_cdf(z),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ols_recovers_an_exact_line_and_drops_a_constant_covariate() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| 2.0 + 3.0 * v).collect();
        let flat = vec![1.0; 10];
        let fit = ols_hc3(&y, &[("x", &x), ("flat", &flat)]).unwrap();
        assert_eq!(fit.names, ["const", "x"]);
        assert!((fit.coefficients[0] - 2.0).abs() < 1e-12);
        assert!((fit.coefficients[1] - 3.0).abs() < 1e-12);
        assert!(fit.hc3_se.iter().all(|s| *s < 1e-10));
        assert!((fit.r_squared - 1.0).abs() < 1e-12);
        assert!(
            ols_hc3(
                &y,
                &[
                    ("x", &x),
                    ("twice", &x.iter().map(|v| 2.0 * v).collect::<Vec<_>>())
                ]
            )
            .is_err()
        );
    }

    #[test]
    fn one_stratum_is_the_rank_sum_test() {
        // With one stratum, z is the Mann–Whitney z (the weight cancels).
        let values = [1.0, 5.0, 2.0, 7.0, 3.0, 8.0, 4.0];
        let g1 = [true, false, true, false, true, false, false];
        let g2 = [false, true, false, true, false, true, true];
        let test = van_elteren(&values, &g1, &g2, &[0; 7]).unwrap();
        let mw =
            super::super::mann_whitney::mann_whitney(&[1.0, 2.0, 3.0], &[5.0, 7.0, 8.0, 4.0], true);
        assert!((test.z - mw.z).abs() < 1e-12, "{} vs {}", test.z, mw.z);
        assert_eq!(test.strata, 1);
        assert_eq!(quantile_bins(&[1.0, 2.0, 3.0, 4.0], 2), [0, 0, 1, 1]);
    }
}
