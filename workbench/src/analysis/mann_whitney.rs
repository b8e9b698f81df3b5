//! Average rank sorting and the one-sided Mann–Whitney U test of Section 5.3 / App. B.3,
//! which compare ratio (21) between the low-value and high-value groups (Figure 6,
//! Table 2).
//!
//! Ranks start at 1 over both groups combined and tied values share the mean of their
//! ranks. U counts, over all (group-1, group-2) pairs, how often the group-1 value is the
//! larger one, a tie counting ½: U1 = R1 − n1(n1+1)/2 and U2 = n1n2 − U1.
//!
//! Eq. (29) as printed, U1 = n1n2 + n1(n1+1)/2 − R1, is the *other* group's count: for
//! Table 2 (n1 = n2 = 800, R1 = 546 337) it gives 414 063, while the text next to it says
//! U1 = 225 937. The printed formula and the usual one are swapped; U = min(U1, U2), the
//! statistic the paper reports, is the same either way. This module uses the usual one.
//!
//! With U = min(U1, U2) the one-sided p-value Φ(z) equals scipy's
//! `mannwhitneyu(x, y, alternative='less', use_continuity=False, method='asymptotic')`
//! p-value when `x` is whichever group has the smaller rank sum, for n1 = n2 as in Table 2;
//! in general, the group with the smaller mean rank (the smaller of U1, U2). scipy always
//! applies the tie correction, so compare it with `tie_correction = true`, or on data
//! without ties.

use std::f64::consts::SQRT_2;

/// 1-based average ranks of `values` (ties share the mean of their ranks), in input order.
///
/// NaN is not allowed: the caller filters it out (checked by a `debug_assert`; in release
/// builds the ranks of a NaN input are unspecified). `-0.0` and `0.0` tie.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    debug_assert!(values.iter().all(|v| !v.is_nan()), "NaN in ranked values");
    let order = sorted_order(values);
    let mut ranks = vec![0.0; values.len()];
    for (start, end) in tie_groups(values, &order) {
        // positions start..end (0-based) hold ranks start+1 ..= end; their mean:
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
    }
    ranks
}

/// Σ(t³ − t) over tie groups of `values`, t the size of each group (0 without ties).
pub fn tie_term(values: &[f64]) -> f64 {
    debug_assert!(values.iter().all(|v| !v.is_nan()), "NaN in ranked values");
    let order = sorted_order(values);
    tie_groups(values, &order)
        .map(|(start, end)| {
            let t = (end - start) as f64;
            t * t * t - t
        })
        .sum()
}

/// Indices of `values` in ascending order of value.
fn sorted_order(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    // total_cmp puts −0.0 right before 0.0, so `==` below still groups them as a tie.
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order
}

/// Half-open ranges of positions in `order` whose values are equal.
fn tie_groups<'a>(
    values: &'a [f64],
    order: &'a [usize],
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start == order.len() {
            return None;
        }
        let first = values[order[start]];
        let len = order[start..]
            .iter()
            .take_while(|&&i| values[i] == first)
            .count();
        let group = (start, start + len);
        start += len;
        Some(group)
    })
}

/// The q-th percentile (q in percent, 0..=100) with linear interpolation between order
/// statistics, exactly numpy.percentile's default ("linear") method.
///
/// Reproduces numpy's arithmetic (virtual index (n − 1)·q/100, and its two-sided lerp),
/// so results agree to the last bit. Panics if `values` is empty or `q` is outside
/// [0, 100]; NaN is not allowed, as in [`average_ranks`].
pub fn percentile(values: &[f64], q: f64) -> f64 {
    assert!(!values.is_empty(), "percentile of an empty slice");
    assert!(
        (0.0..=100.0).contains(&q),
        "percentile q = {q} outside [0, 100]"
    );
    debug_assert!(
        values.iter().all(|v| !v.is_nan()),
        "NaN in percentile values"
    );
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let index = (n - 1) as f64 * (q / 100.0);
    if index >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    let below = index.floor();
    let gamma = index - below;
    let (a, b) = (sorted[below as usize], sorted[below as usize + 1]);
    // numpy's _lerp: interpolate from whichever end is nearer, for accuracy near both.
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Standard normal CDF Φ(z), accurate far into both tails: 0.5·erfc(−z/√2) with
/// `libm::erfc` (Φ(−37) ≈ 5.7e-300 is still resolved; 1 − Φ(z) is never formed).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / SQRT_2)
}

/// The Mann–Whitney U test of App. B.3 with the normal approximation, eq. (30).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// Size of group 1.
    pub n1: usize,
    /// Size of group 2.
    pub n2: usize,
    /// Sum of group 1's ranks in the combined ranking.
    pub r1: f64,
    /// Sum of group 2's ranks in the combined ranking.
    pub r2: f64,
    /// U1 = R1 − n1(n1+1)/2: pairs where the group-1 value is larger (ties ½).
    pub u1: f64,
    /// U2 = n1n2 − U1: pairs where the group-2 value is larger (ties ½).
    pub u2: f64,
    /// U = min(U1, U2), the statistic the paper reports.
    pub u: f64,
    /// μ_U = n1n2/2, eq. (30).
    pub mu: f64,
    /// σ_U, eq. (30), or its tie-corrected form when `tie_corrected`.
    pub sigma: f64,
    /// z = (U − μ_U)/σ_U ≤ 0.
    pub z: f64,
    /// One-sided p = Φ(z): the probability of a U this small under the null hypothesis.
    pub p_value: f64,
    /// Whether σ_U includes the tie correction.
    pub tie_corrected: bool,
}

/// From rank sums (the paper's Table 2 route). `tie_term` = Σ(t³−t) (0 for no correction).
/// z uses U = min(U1,U2) as in the paper, so z ≤ 0; p_value = Φ(z) (one-sided, the lower
/// tail: the probability of a U this small).
///
/// `None` gives eq. (30), σ² = n1n2(n+1)/12; `Some(t)` gives the tie-corrected
/// σ² = n1n2/12·[(n+1) − t/(n(n−1))], n = n1 + n2. Where σ = 0 (every value tied) z and p
/// are NaN. Panics if either group is empty; R1 + R2 must equal n(n+1)/2 (checked by a
/// `debug_assert`).
pub fn mann_whitney_from_rank_sums(
    n1: usize,
    n2: usize,
    r1: f64,
    r2: f64,
    tie_term: Option<f64>,
) -> MannWhitney {
    assert!(n1 > 0 && n2 > 0, "Mann–Whitney needs two non-empty groups");
    let (f1, f2) = (n1 as f64, n2 as f64);
    let n = f1 + f2;
    debug_assert!(
        (r1 + r2 - n * (n + 1.0) / 2.0).abs() <= 1e-9 * n * n,
        "rank sums {r1} + {r2} are not n(n+1)/2 for n = {n}"
    );
    let u1 = r1 - f1 * (f1 + 1.0) / 2.0;
    let u2 = f1 * f2 - u1;
    let u = u1.min(u2);
    let mu = f1 * f2 / 2.0;
    let ties = tie_term.map_or(0.0, |t| t / (n * (n - 1.0)));
    let sigma = (f1 * f2 / 12.0 * ((n + 1.0) - ties)).sqrt();
    let z = (u - mu) / sigma;
    MannWhitney {
        n1,
        n2,
        r1,
        r2,
        u1,
        u2,
        u,
        mu,
        sigma,
        z,
        p_value: normal_cdf(z),
        tie_corrected: tie_term.is_some(),
    }
}

/// Ranks group1 ∪ group2 together, then as above; `tie_correction` uses
/// σ² = n1n2/12·[(n+1) − Σ(t³−t)/(n(n−1))].
pub fn mann_whitney(group1: &[f64], group2: &[f64], tie_correction: bool) -> MannWhitney {
    let (ranks1, ranks2) = group_ranks(group1, group2);
    let ties = tie_correction.then(|| tie_term(&[group1, group2].concat()));
    mann_whitney_from_rank_sums(
        group1.len(),
        group2.len(),
        ranks1.iter().sum(),
        ranks2.iter().sum(),
        ties,
    )
}

/// Φ⁻¹(0.975): the normal quantile of a two-sided 95 % interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// The effect sizes of a [`MannWhitney`] test, which (unlike z) do not grow with the
/// number of pairs: the AUC U₁/(n₁n₂), the probability that a value of group 1 exceeds
/// one of group 2 (ties counting half), and the rank-biserial correlation 2·AUC − 1, each
/// with a Hanley–McNeil (1982) normal interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectSize {
    /// U₁/(n₁n₂).
    pub auc: f64,
    /// Its interval, clipped to [0, 1].
    pub auc_ci: (f64, f64),
    /// 2·AUC − 1, in [−1, 1]: negative when group 1's values tend to be the smaller.
    pub rank_biserial: f64,
    /// Its interval: 2·(the AUC's interval) − 1.
    pub rank_biserial_ci: (f64, f64),
}

/// [`EffectSize`] of `test`, the intervals at ± `z` standard errors (e.g. [`Z_95`]).
/// Hanley and McNeil's standard error: with A the AUC, Q₁ = A/(2 − A), Q₂ = 2A²/(1 + A),
/// SE² = [A(1 − A) + (n₁ − 1)(Q₁ − A²) + (n₂ − 1)(Q₂ − A²)]/(n₁n₂). It treats the pairs as
/// independent draws, which pairs scored by one trained model are not: a within-run
/// interval, not a replication's.
pub fn effect_size(test: &MannWhitney, z: f64) -> EffectSize {
    let (n1, n2) = (test.n1 as f64, test.n2 as f64);
    let a = test.u1 / (n1 * n2);
    let (q1, q2) = (a / (2.0 - a), 2.0 * a * a / (1.0 + a));
    let variance =
        (a * (1.0 - a) + (n1 - 1.0) * (q1 - a * a) + (n2 - 1.0) * (q2 - a * a)) / (n1 * n2);
    let half = z * variance.max(0.0).sqrt();
    let auc_ci = ((a - half).max(0.0), (a + half).min(1.0));
    EffectSize {
        auc: a,
        auc_ci,
        rank_biserial: 2.0 * a - 1.0,
        rank_biserial_ci: (2.0 * auc_ci.0 - 1.0, 2.0 * auc_ci.1 - 1.0),
    }
}

/// Average ranks of both groups within the combined ranking: (ranks of group1, ranks of
/// group2), each in input order.
pub fn group_ranks(group1: &[f64], group2: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut ranks = average_ranks(&[group1, group2].concat());
    let ranks2 = ranks.split_off(group1.len());
    (ranks, ranks2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    /// Φ(z) for Table 2's z, from mpmath at 50 digits.
    const TABLE2_P: f64 = 1.224_861_967_177_220_5e-24;
    /// Table 2's z = (225 937 − 320 000)/√(800·800·1601/12), from mpmath at 50 digits.
    const TABLE2_Z: f64 = -10.179_437_867_076_095;

    #[test]
    fn table2_from_the_papers_rank_sums() {
        let t = mann_whitney_from_rank_sums(800, 800, 546_337.0, 734_463.0, None);
        assert_eq!(t.u, 225_937.0);
        assert_eq!((t.u1, t.u2), (225_937.0, 414_063.0));
        assert_eq!(t.mu, 320_000.0);
        assert!((t.z - -10.1795).abs() < 1e-4, "z = {}", t.z);
        assert!((t.z - TABLE2_Z).abs() < 1e-12, "z = {}", t.z);
        assert!(close(t.p_value, 1.22e-24, 1e-2), "p = {:e}", t.p_value);
        assert!(close(t.p_value, TABLE2_P, 1e-11), "p = {:e}", t.p_value);
        assert!(!t.tie_corrected);
    }

    #[test]
    fn a_zero_tie_term_changes_nothing_but_the_flag() {
        let plain = mann_whitney_from_rank_sums(800, 800, 546_337.0, 734_463.0, None);
        let zero = mann_whitney_from_rank_sums(800, 800, 546_337.0, 734_463.0, Some(0.0));
        assert!(zero.tie_corrected);
        assert_eq!(
            MannWhitney {
                tie_corrected: false,
                ..zero
            },
            plain
        );
    }

    #[test]
    fn effect_sizes_by_hand() {
        // Group 1 beats group 2 in 3 of 4 comparisons: U₁ = 3, AUC 0.75, r = 0.5.
        let t = mann_whitney(&[2.0, 4.0], &[1.0, 3.0], false);
        let e = effect_size(&t, Z_95);
        assert_eq!((t.u1, e.auc, e.rank_biserial), (3.0, 0.75, 0.5));
        // Q₁ = 0.6, Q₂ = 0.642857…; SE² = (0.1875 + 0.0375 + 0.080357…)/4.
        let se = ((0.1875 + (0.6 - 0.5625) + (2.0 * 0.5625 / 1.75 - 0.5625)) / 4.0_f64).sqrt();
        assert!((e.auc_ci.0 - (0.75 - Z_95 * se)).abs() < 1e-15);
        assert_eq!(e.auc_ci.1, 1.0, "clipped");
        assert!((e.rank_biserial_ci.0 - (2.0 * e.auc_ci.0 - 1.0)).abs() < 1e-15);
        // Table 2's rank sums: the low group's (21) is the smaller, AUC 0.353.
        let paper = mann_whitney_from_rank_sums(800, 800, 546_337.0, 734_463.0, None);
        let e = effect_size(&paper, Z_95);
        assert!((e.auc - 225_937.0 / 640_000.0).abs() < 1e-15);
        assert!(e.rank_biserial < 0.0 && e.rank_biserial_ci.1 < 0.0);
    }

    #[test]
    fn ranks_and_ties_by_hand() {
        let values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0];
        // sorted: 1 1 | 2 | 3 3 | 4 | 5 5 5 | 6 | 9 at ranks 1..=11
        let expected = [4.5, 1.5, 6.0, 1.5, 8.0, 11.0, 3.0, 10.0, 8.0, 4.5, 8.0];
        assert_eq!(average_ranks(&values), expected);
        // two pairs (2³ − 2 = 6 each) and one triple (3³ − 3 = 24)
        assert_eq!(tie_term(&values), 36.0);
        assert_eq!(tie_term(&[2.0, 1.0]), 0.0);
        assert_eq!(average_ranks(&[0.0, -0.0]), [1.5, 1.5]);
        assert!(average_ranks(&[]).is_empty());
    }

    #[test]
    fn group_ranks_split_the_combined_ranking() {
        let (r1, r2) = group_ranks(&[3.0, 1.0, 4.0], &[1.0, 5.0]);
        assert_eq!(r1, [3.0, 1.5, 4.0]);
        assert_eq!(r2, [1.5, 5.0]);
        let t = mann_whitney(&[3.0, 1.0, 4.0], &[1.0, 5.0], false);
        // pairs where group 1 is larger: 3>1, 4>1, 1=1 (½) → 2.5
        assert_eq!((t.r1, t.r2, t.u1, t.u2, t.u), (8.5, 6.5, 2.5, 3.5, 2.5));
    }

    #[test]
    fn percentile_matches_numpy() {
        let values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0];
        // np.percentile(values, q) for each q
        for (q, expected) in [
            (0.0, 1.0),
            (10.0, 1.0),
            (25.0, 2.5),
            (50.0, 4.0),
            (73.0, 5.0),
            (90.0, 6.0),
            (100.0, 9.0),
        ] {
            assert_eq!(percentile(&values, q), expected, "q = {q}");
        }
        assert_eq!(percentile(&[1.0, 2.0], 30.0), 1.3);
        assert_eq!(percentile(&[2.5], 40.0), 2.5);
        // bit-exact against numpy's repr, both lerp branches
        let x = [0.1, 0.7, 0.2, 0.3];
        assert_eq!(percentile(&x, 33.0), 0.199);
        assert_eq!(percentile(&x, 62.5), 0.2875);
        assert_eq!(percentile(&x, 99.9), 0.698_800_000_000_000_1);
        assert_eq!(percentile(&x, 12.345), 0.137_035_000_000_000_02);
    }

    #[test]
    fn normal_cdf_in_the_tails() {
        assert_eq!(normal_cdf(0.0), 0.5);
        assert!(close(normal_cdf(-10.0), 7.619_853_024_160_527e-24, 1e-10));
        assert!(close(normal_cdf(10.0), 1.0, 1e-15));
        // mpmath: Φ(−37) = 5.7255712225245768e-300
        assert!(normal_cdf(-37.0) > 0.0);
        assert!(close(normal_cdf(-37.0), 5.725_571_222_524_577e-300, 1e-9));
    }
}
