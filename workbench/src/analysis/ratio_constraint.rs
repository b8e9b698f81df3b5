//! Proposition 3.2 / Appendix D: closed forms of the RLHF-with-r_IPO and IPO optima under
//! the ratio constraint (40), π(y₂)/π(y₁) ≥ c with c = o(y₂)/o(y₁) + ε, o the common
//! unconstrained optimum, three responses, π_ref uniform, β = 1. Both optima lie on the
//! boundary π₂ = cπ₁; they differ in π₁/π₃.

/// π₁/π₃ of the constrained RLHF optimum, from the KKT conditions of (42) with π₂ = cπ₁:
/// log(π₁/π₃) = [log o₁ + c·log(o₂/c) − (1 + c)·log o₃]/(1 + c).
///
/// This is what eq. (49) should read: as printed, eq. (49) gives a different number (see
/// [`eq49_as_printed`]).
pub fn rlhf_ratio_13(optimum: &[f64], c: f64) -> f64 {
    let o = optimum;
    ((o[0].ln() + c * (o[1] / c).ln() - (1.0 + c) * o[2].ln()) / (1.0 + c)).exp()
}

/// Eq. (49) exactly as printed: (c + 1)/o₁ · √(o₁ o₂ c).
pub fn eq49_as_printed(optimum: &[f64], c: f64) -> f64 {
    (c + 1.0) / optimum[0] * (optimum[0] * optimum[1] * c).sqrt()
}

/// Eq. (53), π₁/π₃ of the constrained IPO optimum:
/// c^(−1/2) · exp((r_IPO(y₁) + r_IPO(y₂) − 2 r_IPO(y₃))/2), r_IPO(y) = p*(y ≻ π_ref).
pub fn ipo_ratio_13(r_ipo: &[f64], c: f64) -> f64 {
    c.powf(-0.5) * ((r_ipo[0] + r_ipo[1] - 2.0 * r_ipo[2]) / 2.0).exp()
}

/// The policy on the boundary π₂ = cπ₁ with the given π₁/π₃.
pub fn boundary_policy(ratio_13: f64, c: f64) -> Vec<f64> {
    // π₁ (1 + c + 1/ratio) = 1
    let pi1 = 1.0 / (1.0 + c + 1.0 / ratio_13);
    vec![pi1, c * pi1, pi1 / ratio_13]
}
