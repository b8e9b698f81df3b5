//! Figure 4: the penalty log(γ + |u|) of Section 5.1, affinely normalised to match |u| in
//! value and slope at u₀, between its ℓ1 (γ → ∞) and ℓ0 (γ → 0) limits.

/// a·log(γ + |u|) + b with a = γ + u₀ and b = u₀ − a·log(γ + u₀): equal to |u| in value
/// and slope at u = u₀ > 0.
pub fn normalised_log_penalty(u: f64, gamma: f64, u0: f64) -> f64 {
    let a = gamma + u0;
    a * (gamma + u.abs()).ln() + u0 - a * (gamma + u0).ln()
}

/// The γ → 0 limit, u₀(log|u| − log u₀) + u₀: the log penalty whose relative concavity
/// mimics ℓ0 (−∞ at u = 0).
pub fn l0_limit(u: f64, u0: f64) -> f64 {
    u0 * (u.abs().ln() - u0.ln()) + u0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_matches_l1_in_value_and_slope_and_tends_to_it() {
        for gamma in [0.01, 1.0, 10.0] {
            let u0 = 1.0;
            assert!((normalised_log_penalty(u0, gamma, u0) - u0).abs() < 1e-12);
            let slope = (normalised_log_penalty(u0 + 1e-6, gamma, u0)
                - normalised_log_penalty(u0 - 1e-6, gamma, u0))
                / 2e-6;
            assert!((slope - 1.0).abs() < 1e-6);
        }
        // γ → ∞: the normalised curve approaches |u| on [−2, 2].
        assert!((normalised_log_penalty(-2.0, 1e7, 1.0) - 2.0).abs() < 1e-5);
        // γ → 0: it approaches the ℓ0 limit away from 0.
        assert!((normalised_log_penalty(0.5, 1e-12, 1.0) - l0_limit(0.5, 1.0)).abs() < 1e-9);
    }
}
