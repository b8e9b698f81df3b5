//! The per-step metrics of preference optimisation under TRL's names (`DPOTrainer`'s
//! `rewards/*` and `logps/*`), from each step's batch as it was before the step's update:
//! the implicit rewards β·(log π_θ − log π_ref) of y_w and y_l, their margin and how often
//! y_w's is the larger, and the mean log π_θ of each response.

/// The metrics' names, as TRL logs them; each is the mean over a step's pairs.
pub const NAMES: [&str; 6] = [
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracies",
    "logps/chosen",
    "logps/rejected",
];

/// Sums of the metrics over some pairs of a step, and how many pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PairTally {
    sums: [f64; 6],
    pairs: usize,
}

impl PairTally {
    /// One pair: log π_θ and log π_ref of (y_w, y_l), and β.
    pub fn pair(beta: f64, policy: [f64; 2], reference: [f64; 2]) -> Self {
        let chosen = beta * (policy[0] - reference[0]);
        let rejected = beta * (policy[1] - reference[1]);
        let won = f64::from(u8::from(chosen > rejected));
        Self {
            sums: [
                chosen,
                rejected,
                chosen - rejected,
                won,
                policy[0],
                policy[1],
            ],
            pairs: 1,
        }
    }

    /// These pairs and `other`'s.
    pub fn add(&mut self, other: &Self) {
        for (sum, more) in self.sums.iter_mut().zip(other.sums) {
            *sum += more;
        }
        self.pairs += other.pairs;
    }

    /// The mean of each metric, in [`NAMES`]' order; `None` without pairs (SFT).
    pub fn means(&self) -> Option<[f64; 6]> {
        (self.pairs > 0).then(|| self.sums.map(|sum| sum / self.pairs as f64))
    }
}

/// The metrics of every step of a phase: one column per name of [`NAMES`], one row per
/// step (empty for SFT).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PairMetrics {
    columns: [Vec<f64>; 6],
}

impl PairMetrics {
    /// Appends a step's means, where the step had pairs.
    pub fn push(&mut self, step: &PairTally) {
        if let Some(means) = step.means() {
            for (column, mean) in self.columns.iter_mut().zip(means) {
                column.push(mean);
            }
        }
    }

    /// Each metric's name and its value at every step.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, &[f64])> {
        NAMES
            .into_iter()
            .zip(self.columns.iter().map(Vec::as_slice))
    }

    /// The metric `name`'s values, if it is one of [`NAMES`].
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.named().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Whether no step was recorded.
    pub fn is_empty(&self) -> bool {
        self.columns[0].is_empty()
    }
}
