//! The two-point DPO problem of Section 5.2: π = [θ, 1 − θ], p*(a ≻ b) = 1, reference
//! ratio r = π_ref(b)/π_ref(a), trade-off β. Eq. (6) there reads
//! ℓ(θ) = log(1 + ((1 − θ)/(θ r))^β), which is eq. (20), log(r^β + ((1 − θ)/θ)^β), minus
//! the constant β log r.

/// The DPO loss, eq. (6), at θ ∈ (0, 1] (ℓ(1) = 0).
pub fn dpo_loss(theta: f64, ratio: f64, beta: f64) -> f64 {
    ((1.0 - theta) / (theta * ratio)).powf(beta).ln_1p()
}

/// Eq. (20) as printed (β = 1/2 there): log(r^β + ((1 − θ)/θ)^β).
pub fn eq20_loss(theta: f64, ratio: f64, beta: f64) -> f64 {
    (ratio.powf(beta) + ((1.0 - theta) / theta).powf(beta)).ln()
}

/// d/dθ [ℓ(θ) + α θ²] for θ ∈ (0, 1).
pub fn penalised_slope(theta: f64, ratio: f64, beta: f64, alpha: f64) -> f64 {
    let q = (1.0 - theta) / theta;
    -beta * q.powf(beta - 1.0) / (theta * theta * (ratio.powf(beta) + q.powf(beta)))
        + 2.0 * alpha * theta
}

/// An interior stationary point of ℓ + αθ².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StationaryPoint {
    /// Where the slope vanishes.
    pub theta: f64,
    /// A local minimum (slope − to +) or maximum (+ to −).
    pub is_minimum: bool,
}

/// Cells of the scan for sign changes of the slope on (0, 1).
const GRID: usize = 100_000;

/// The slope of ℓ + αθ² at the scan's points θ = i / GRID, for i in 1..GRID (each point
/// once: a cell's right end is the next cell's left end).
fn scanned_slopes(ratio: f64, beta: f64, alpha: f64) -> impl Iterator<Item = (f64, f64)> {
    (1..GRID).map(move |i| {
        let theta = i as f64 / GRID as f64;
        (theta, penalised_slope(theta, ratio, beta, alpha))
    })
}

/// Every interior stationary point of ℓ + αθ² on (0, 1), by a scan of `GRID` cells and
/// bisection to machine precision in each cell where the slope changes sign.
pub fn stationary_points(ratio: f64, beta: f64, alpha: f64) -> Vec<StationaryPoint> {
    let slope = |t: f64| penalised_slope(t, ratio, beta, alpha);
    let mut points = Vec::new();
    let mut previous: Option<(f64, f64)> = None;
    for (b, fb) in scanned_slopes(ratio, beta, alpha) {
        if let Some((a, fa)) = previous
            && fa.signum() != fb.signum()
        {
            points.push(StationaryPoint {
                theta: bisect(&slope, a, b),
                is_minimum: fa < 0.0,
            });
        }
        previous = Some((b, fb));
    }
    points
}

/// Whether ℓ + αθ² has an interior stationary point: [`stationary_points`] is not empty,
/// answered at the first sign change.
fn has_stationary_point(ratio: f64, beta: f64, alpha: f64) -> bool {
    let mut previous: Option<f64> = None;
    scanned_slopes(ratio, beta, alpha).any(|(_, fb)| {
        let change = previous.is_some_and(|fa| fa.signum() != fb.signum());
        previous = Some(fb);
        change
    })
}

/// The ratio below which ℓ + αθ² has no interior stationary point (so projected descent
/// ends at θ = 1), by bisection on r between `lo` (none) and `hi` (some) to 1e-9
/// relative; `None` if that bracket does not hold (e.g. α = 0, where
/// no ratio has one).
pub fn critical_ratio(beta: f64, alpha: f64, lo: f64, hi: f64) -> Option<f64> {
    boundary(|r| has_stationary_point(r, beta, alpha), lo, hi)
}

/// The ratio in [lo, hi] where `holds` turns from false (at `lo`) to true (at `hi`), by
/// bisection to 1e-9 relative; `None` if the bracket does not hold.
fn boundary(holds: impl Fn(f64) -> bool, lo: f64, hi: f64) -> Option<f64> {
    if holds(lo) || !holds(hi) {
        return None;
    }
    let (mut lo, mut hi) = (lo, hi);
    while (hi - lo) > 1e-9 * hi {
        let mid = 0.5 * (lo + hi);
        if holds(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// ℓ(θ) + αθ², the objective of Table 1 (eq. (6) form; eq. (20) adds β log r).
pub fn penalised_loss(theta: f64, ratio: f64, beta: f64, alpha: f64) -> f64 {
    dpo_loss(theta, ratio, beta) + alpha * theta * theta
}

/// The interior local minimum of ℓ + αθ² with the lowest objective, if any.
pub fn best_local_minimum(ratio: f64, beta: f64, alpha: f64) -> Option<f64> {
    stationary_points(ratio, beta, alpha)
        .into_iter()
        .filter(|p| p.is_minimum)
        .map(|p| p.theta)
        .min_by(|a, b| {
            penalised_loss(*a, ratio, beta, alpha)
                .total_cmp(&penalised_loss(*b, ratio, beta, alpha))
        })
}

/// Whether θ = 1 (objective α, since ℓ(1) = 0) is the global minimiser of ℓ + αθ² on
/// [0, 1]: no interior local minimum is lower.
pub fn one_is_global_minimum(ratio: f64, beta: f64, alpha: f64) -> bool {
    best_local_minimum(ratio, beta, alpha)
        .is_none_or(|t| penalised_loss(t, ratio, beta, alpha) >= alpha)
}

/// The ratio below which θ = 1 is the global minimiser of ℓ + αθ², by bisection on r
/// between `lo` (it is) and `hi` (it is not) to 1e-9 relative; `None` if that bracket
/// does not hold. Above [`critical_ratio`] and below this one, an interior local minimum
/// exists but θ = 1 is lower: descent from θ₀ = 1/(1 + r) may stop at the local one.
pub fn global_threshold_ratio(beta: f64, alpha: f64, lo: f64, hi: f64) -> Option<f64> {
    boundary(|r| !one_is_global_minimum(r, beta, alpha), lo, hi)
}

fn bisect(f: &dyn Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let fa = f(a);
    for _ in 0..200 {
        let mid = 0.5 * (a + b);
        if mid <= a || mid >= b {
            break;
        }
        if f(mid).signum() == fa.signum() {
            a = mid;
        } else {
            b = mid;
        }
    }
    0.5 * (a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq20_is_dpo_plus_a_constant() {
        for (theta, r) in [(0.3, 0.1), (0.9, 5.0), (0.5, 1.0)] {
            let gap = eq20_loss(theta, r, 0.5) - dpo_loss(theta, r, 0.5);
            assert!((gap - 0.5 * r.ln()).abs() < 1e-14);
        }
    }

    #[test]
    fn slope_matches_finite_differences() {
        let f = |t: f64| dpo_loss(t, 0.7, 0.5) + 1.0 * t * t;
        for t in [0.2, 0.5, 0.8] {
            let numeric = (f(t + 1e-7) - f(t - 1e-7)) / 2e-7;
            assert!((penalised_slope(t, 0.7, 0.5, 1.0) - numeric).abs() < 1e-6);
        }
    }

    #[test]
    fn theta_one_is_the_global_minimum_below_about_0_80() {
        let r = global_threshold_ratio(0.5, 1.0, 0.21, 1.0).expect("bracket");
        assert!((r - 0.80).abs() < 0.01, "{r}");
        // At r = 0.5 descent from θ₀ = 2/3 stops at the local minimum near 0.564, whose
        // objective exceeds θ = 1's value α = 1.
        let local = best_local_minimum(0.5, 0.5, 1.0).expect("a local minimum");
        assert!((local - 0.564).abs() < 1e-3, "{local}");
        assert!(penalised_loss(local, 0.5, 0.5, 1.0) > 1.0);
        assert!(one_is_global_minimum(0.5, 0.5, 1.0));
        assert!(!one_is_global_minimum(1.0, 0.5, 1.0));
    }

    #[test]
    fn critical_ratio_for_alpha_one_beta_half_is_about_0_2007() {
        let r = critical_ratio(0.5, 1.0, 1e-4, 1.0).expect("bracket");
        assert!((r - 0.2007).abs() < 1e-4, "{r}");
        assert!(stationary_points(0.1, 0.5, 1.0).is_empty());
        let points = stationary_points(1.0, 0.5, 1.0);
        assert!(
            points
                .iter()
                .any(|p| p.is_minimum && (p.theta - 0.5).abs() < 1e-3),
            "{points:?}"
        );
    }
}
