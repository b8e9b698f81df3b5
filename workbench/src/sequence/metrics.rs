//! The per-step metrics of preference optimisation under TRL's names (`DPOTrainer`'s
//! `rewards/*` and `logps/*`), from each step's batch as it was before the step's update:
//! the implicit rewards β·(log π_θ − log π_ref) of y_w and y_l, their margin and how often
//! y_w's is the larger, and the mean log π_θ of each response.

/// A phase whose steps are not logged one by one (`log_every = 0`) stores at most this
/// many rows.
pub const MAX_ROWS: usize = 1000;

/// What a phase (or an evaluation on held-out pairs) measured: one row per logged step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhaseLog {
    /// The 1-based optimiser step each row ends at (0: before the first step).
    pub step: Vec<f64>,
    /// The loss, computed before the step's update (mean over the row's steps).
    pub loss: Vec<f64>,
    /// The learning rate (mean over the row's steps; empty for an evaluation).
    pub lr: Vec<f64>,
    /// The global L2 norm of the gradient, before clipping (mean over the row's steps;
    /// empty for an evaluation).
    pub grad_norm: Vec<f64>,
    /// TRL's rewards and log-probabilities of the pairs (preference phase and evaluation;
    /// means over the row's steps).
    pub pairs: PairMetrics,
    /// Response tokens trained on per second of wall time.
    pub tokens_per_second: f64,
}

/// One optimiser step's values.
#[derive(Debug, Clone, Copy)]
pub struct StepValues {
    /// The loss before the update.
    pub loss: f64,
    /// The learning rate the update used.
    pub lr: f64,
    /// The gradient's global norm before clipping.
    pub grad_norm: f64,
    /// The step's pairs' metrics (preference phase).
    pub pairs: Option<[f64; 6]>,
}

/// Groups a phase's steps into rows of `every` steps (the phase's last row may hold fewer)
/// and appends each row's means to a [`PhaseLog`], as TRL averages what it logs every
/// `logging_steps`.
#[derive(Debug, Clone)]
pub struct Rows {
    every: usize,
    done: usize,
    open: usize,
    sums: [f64; 3],
    pairs: [f64; 6],
}

impl Rows {
    /// Rows of `every` steps; `every = 0`: as few steps per row as keep `total` steps in
    /// at most [`MAX_ROWS`] rows.
    pub fn new(every: usize, total: usize) -> Self {
        let every = if every == 0 {
            total.div_ceil(MAX_ROWS).max(1)
        } else {
            every
        };
        Self {
            every,
            done: 0,
            open: 0,
            sums: [0.0; 3],
            pairs: [0.0; 6],
        }
    }

    /// Adds a step; a row that is full is appended to `log`.
    pub fn add(&mut self, step: StepValues, log: &mut PhaseLog) {
        for (sum, value) in self
            .sums
            .iter_mut()
            .zip([step.loss, step.lr, step.grad_norm])
        {
            *sum += value;
        }
        if let Some(means) = step.pairs {
            for (sum, value) in self.pairs.iter_mut().zip(means) {
                *sum += value;
            }
        }
        self.done += 1;
        self.open += 1;
        if self.open == self.every {
            self.close(log, step.pairs.is_some());
        }
    }

    /// Appends the row still open, if any (at the phase's end).
    pub fn finish(&mut self, log: &mut PhaseLog, with_pairs: bool) {
        if self.open > 0 {
            self.close(log, with_pairs);
        }
    }

    /// The open row: steps added so far, those in the open row, and its sums (loss, lr,
    /// grad_norm, then the six pair metrics), as a saved training state keeps them.
    pub fn open_row(&self) -> (usize, usize, [f64; 9]) {
        let mut sums = [0.0; 9];
        sums[..3].copy_from_slice(&self.sums);
        sums[3..].copy_from_slice(&self.pairs);
        (self.done, self.open, sums)
    }

    /// Continues a window that [`Self::open_row`] described.
    pub fn reopen(&mut self, done: usize, open: usize, sums: [f64; 9]) {
        (self.done, self.open) = (done, open);
        self.sums.copy_from_slice(&sums[..3]);
        self.pairs.copy_from_slice(&sums[3..]);
    }

    fn close(&mut self, log: &mut PhaseLog, with_pairs: bool) {
        let n = self.open as f64;
        log.step.push(self.done as f64);
        log.loss.push(self.sums[0] / n);
        log.lr.push(self.sums[1] / n);
        log.grad_norm.push(self.sums[2] / n);
        if with_pairs {
            log.pairs.push(self.pairs.map(|sum| sum / n));
        }
        (self.open, self.sums, self.pairs) = (0, [0.0; 3], [0.0; 6]);
    }
}

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
    /// Appends a row of means, in [`NAMES`]' order.
    pub fn push(&mut self, means: [f64; 6]) {
        for (column, mean) in self.columns.iter_mut().zip(means) {
            column.push(mean);
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

    /// The six columns, in [`NAMES`]' order.
    pub fn columns(&self) -> &[Vec<f64>; 6] {
        &self.columns
    }

    /// Metrics from columns in [`NAMES`]' order.
    pub fn from_columns(columns: [Vec<f64>; 6]) -> Self {
        Self { columns }
    }
}
