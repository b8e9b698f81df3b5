//! Distances between a method's policy and its RLHF counterpart's (docs/experiments.md §1).

/// The distances recorded for every comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distance {
    /// Euclidean distance between probability vectors.
    L2,
    /// Total variation ½Σ|p − q|.
    Tv,
    /// KL(counterpart ‖ method).
    Kl,
    /// Jensen–Shannon divergence (natural log).
    Js,
}

impl Distance {
    /// All distances, in the order they are written.
    pub const ALL: [Distance; 4] = [Self::L2, Self::Tv, Self::Kl, Self::Js];

    /// The TOML / results name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::L2 => "l2",
            Self::Tv => "tv",
            Self::Kl => "kl",
            Self::Js => "js",
        }
    }

    /// The distance between `method` and `counterpart` (probability vectors).
    pub fn between(&self, method: &[f64], counterpart: &[f64]) -> f64 {
        let pairs = method.iter().zip(counterpart);
        match self {
            Self::L2 => pairs.map(|(m, c)| (m - c).powi(2)).sum::<f64>().sqrt(),
            Self::Tv => 0.5 * pairs.map(|(m, c)| (m - c).abs()).sum::<f64>(),
            Self::Kl => kl(counterpart, method),
            Self::Js => {
                let mid: Vec<f64> = pairs.map(|(m, c)| 0.5 * (m + c)).collect();
                0.5 * kl(counterpart, &mid) + 0.5 * kl(method, &mid)
            }
        }
    }
}

/// KL(p ‖ q) = Σ p log(p/q), with 0 log 0 = 0.
pub fn kl(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .filter(|(p, _)| **p > 0.0)
        .map(|(p, q)| p * (p / q).ln())
        .sum()
}
