//! Projection sets: after each optimiser step the parameters are projected back onto the
//! set, so "projected Adam" and "projected gradient descent" are Adam or GD plus one of
//! these, not new optimisers.

use super::Constraint;
use burn::tensor::Tensor;

/// A closed set the parameters θ `[variants, P]` are projected onto, row by row.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    /// Every coordinate in `[lo, hi]`.
    Interval {
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
    },
    /// The probability simplex {θ ≥ 0, Σθ = 1} (Euclidean projection, Duchi et al. 2008).
    Simplex,
    /// The ball ‖θ‖₂ ≤ `radius`.
    L2Ball {
        /// Radius.
        radius: f64,
    },
    /// Eq. (40) for softmax logits: π(y_num)/π(y_den) ≥ `min_ratio`, i.e. the half-space
    /// θ_num − θ_den ≥ log(`min_ratio`) (Euclidean projection).
    Ratio {
        /// Index of y₂ in eq. (40).
        numerator: usize,
        /// Index of y₁ in eq. (40).
        denominator: usize,
        /// π*(y₂)/π*(y₁) + ε in eq. (40).
        min_ratio: f64,
    },
}

impl Projection {
    /// Projects every row of `theta`.
    pub fn project(&self, theta: Tensor<2>) -> Tensor<2> {
        match *self {
            Self::Interval { lo, hi } => theta.clamp(lo, hi),
            Self::L2Ball { radius } => {
                let norm = theta.clone().powi_scalar(2).sum_dim(1).sqrt();
                // scale = min(1, r/‖θ‖); ‖θ‖ = 0 gives r/0 = ∞, clamped to 1.
                let scale = norm.recip().mul_scalar(radius).clamp_max(1.0);
                theta * scale
            }
            Self::Simplex => project_rows(theta, simplex),
            Self::Ratio {
                numerator,
                denominator,
                min_ratio,
            } => project_rows(theta, |row| {
                half_space(row, numerator, denominator, min_ratio.ln())
            }),
        }
    }
}

impl Constraint for Projection {
    fn after_step(&self, parameters: Tensor<2>, _lr: f64) -> Tensor<2> {
        self.project(parameters)
    }
}

/// Applies `f` to every row on the host (the sets below need a sort or a branch per row;
/// the parameters are a handful of numbers per variant).
fn project_rows(theta: Tensor<2>, f: impl Fn(&mut [f64])) -> Tensor<2> {
    let device = theta.device();
    let [rows, cols] = theta.dims();
    let mut values = crate::tensors::to_vec(theta);
    values.chunks_mut(cols).for_each(f);
    Tensor::from_data(burn::tensor::TensorData::new(values, [rows, cols]), &device)
}

/// Euclidean projection onto the probability simplex.
fn simplex(row: &mut [f64]) {
    let mut sorted = row.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut cumulative = 0.0;
    let mut tau = 0.0;
    for (k, u) in sorted.iter().enumerate() {
        cumulative += u;
        let candidate = (cumulative - 1.0) / (k + 1) as f64;
        if u - candidate > 0.0 {
            tau = candidate;
        }
    }
    row.iter_mut().for_each(|x| *x = (*x - tau).max(0.0));
}

/// Euclidean projection onto {θ_num − θ_den ≥ bound}.
fn half_space(row: &mut [f64], numerator: usize, denominator: usize, bound: f64) {
    let gap = bound - (row[numerator] - row[denominator]);
    if gap > 0.0 {
        row[numerator] += gap / 2.0;
        row[denominator] -= gap / 2.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplex_projection_matches_hand_computed_cases() {
        let mut a = [0.5, 0.5, 0.5];
        simplex(&mut a);
        assert!(a.iter().all(|x| (x - 1.0 / 3.0).abs() < 1e-15));
        let mut b = [2.0, 0.0, -1.0];
        simplex(&mut b);
        assert_eq!(b, [1.0, 0.0, 0.0]);
        let mut c = [0.6, 0.5, -0.3];
        simplex(&mut c);
        assert!((c[0] - 0.55).abs() < 1e-15 && (c[1] - 0.45).abs() < 1e-15 && c[2] == 0.0);
    }

    #[test]
    fn half_space_projection_lands_on_the_boundary_and_keeps_feasible_points() {
        let mut row = [0.0, 0.0, 1.0];
        half_space(&mut row, 1, 0, 0.4);
        assert!((row[1] - row[0] - 0.4).abs() < 1e-15 && row[2] == 1.0);
        let mut inside = [0.0, 1.0, 0.0];
        half_space(&mut inside, 1, 0, 0.4);
        assert_eq!(inside, [0.0, 1.0, 0.0]);
    }
}
