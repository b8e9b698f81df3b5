//! π*, π_ref, β and the quantities derived from them.

use crate::losses::Reward;

/// A K-armed preference bandit (docs/experiments.md §1). Validated: both policies are
/// probability vectors of the same length, π_ref > 0, β > 0.
#[derive(Debug, Clone, PartialEq)]
pub struct BanditProblem {
    /// Latent policy defining preferences (eq. 26).
    pub pi_star: Vec<f64>,
    /// Reference policy (eq. 28).
    pub pi_ref: Vec<f64>,
    /// The trade-off λ of eqs. (3)–(9).
    pub beta: f64,
    /// Stands in for π*(y) = 0 in the reward log π*(y).
    pub reward_floor: f64,
}

impl BanditProblem {
    /// Number of actions K.
    pub fn actions(&self) -> usize {
        self.pi_ref.len()
    }

    /// p*(i ≻ j) = π*(i)/(π*(i) + π*(j)), eq. (27); p*(i ≻ i) = 1/2.
    pub fn preference(&self, i: usize, j: usize) -> f64 {
        let total = self.pi_star[i] + self.pi_star[j];
        if i == j || total == 0.0 {
            0.5
        } else {
            self.pi_star[i] / total
        }
    }

    /// log π_ref.
    pub fn log_pi_ref(&self) -> Vec<f64> {
        self.pi_ref.iter().map(|p| p.ln()).collect()
    }

    /// The reward vector r(y) for each action.
    pub fn reward(&self, reward: Reward) -> Vec<f64> {
        let k = self.actions();
        match reward {
            Reward::LogPiStar => self
                .pi_star
                .iter()
                .map(|p| p.max(self.reward_floor).ln())
                .collect(),
            // eq. (7): r_IPO(y) = Σ_y′ π_ref(y′) p*(y ≻ y′)
            Reward::Ipo => (0..k)
                .map(|y| (0..k).map(|z| self.pi_ref[z] * self.preference(y, z)).sum())
                .collect(),
        }
    }

    /// The unconstrained optimum of the RLHF objective with KL regulariser, eq. (4):
    /// π ∝ π_ref exp(r/β).
    pub fn rlhf_optimum(&self, reward: Reward) -> Vec<f64> {
        let r = self.reward(reward);
        let unnormalised: Vec<f64> = self
            .pi_ref
            .iter()
            .zip(&r)
            .map(|(p, r)| p * (r / self.beta).exp())
            .collect();
        let z: f64 = unnormalised.iter().sum();
        unnormalised.iter().map(|u| u / z).collect()
    }
}
