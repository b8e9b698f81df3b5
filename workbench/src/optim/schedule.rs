//! The learning constraints of every optimiser step besides the optimiser itself: the
//! learning rate's warmup and decay, gradient-norm clipping and gradient accumulation,
//! as Hugging Face `transformers` and PyTorch define them.

/// How many of a phase's first steps warm the learning rate up from 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Warmup {
    /// This many steps.
    Steps(usize),
    /// This fraction of the phase's steps, rounded up (transformers' `warmup_ratio`).
    Ratio(f64),
}

/// How the learning rate falls after the warmup (`schedule.decay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// It stays at `lr`.
    #[default]
    Constant,
    /// Linearly to `floor · lr` at the last step.
    Linear,
    /// Along half a cosine to `floor · lr` at the last step.
    Cosine,
}

/// The learning rate of every step of a phase, as a multiple of its `lr`: transformers'
/// `get_constant_schedule_with_warmup`, `get_linear_schedule_with_warmup` and
/// `get_cosine_with_min_lr_schedule_with_warmup` (the cosine with `floor = 0` is
/// `get_cosine_schedule_with_warmup`; without warmup it is PyTorch's `CosineAnnealingLR`
/// with `eta_min = floor · lr`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    /// The warmup: the factor rises linearly from 0 at step 0 (as in transformers, whose
    /// first step then does not move the weights).
    pub warmup: Warmup,
    /// The decay after the warmup.
    pub decay: Decay,
    /// The factor the decay ends at (OpenRLHF's default: 0.1).
    pub floor: f64,
}

impl LrSchedule {
    /// The learning rate `lr` at every step.
    pub const CONSTANT: Self = Self {
        warmup: Warmup::Steps(0),
        decay: Decay::Constant,
        floor: 0.0,
    };

    /// The warmup's length in a phase of `total` steps.
    pub fn warmup_steps(&self, total: usize) -> usize {
        match self.warmup {
            Warmup::Steps(steps) => steps,
            Warmup::Ratio(ratio) => (total as f64 * ratio).ceil() as usize,
        }
    }

    /// The factor of `lr` at the 0-based `step` of a phase of `total` steps.
    pub fn factor(&self, step: usize, total: usize) -> f64 {
        let warmup = self.warmup_steps(total);
        if step < warmup {
            return step as f64 / warmup.max(1) as f64;
        }
        let progress = (step - warmup) as f64 / total.saturating_sub(warmup).max(1) as f64;
        let fall = match self.decay {
            Decay::Constant => return 1.0,
            Decay::Linear => (1.0 - progress).max(0.0),
            Decay::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        };
        fall * (1.0 - self.floor) + self.floor
    }
}

/// How each optimiser step of a phase is taken, besides the optimiser's own settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRules {
    /// The learning rate over the phase.
    pub schedule: LrSchedule,
    /// Clip the gradient to this global L2 norm (PyTorch's `clip_grad_norm_`); infinite:
    /// no clipping.
    pub max_norm: f64,
    /// Micro-batches whose gradients one step sums: an effective batch of this many
    /// batches, computed one after another.
    pub accumulation: usize,
}

impl Default for StepRules {
    fn default() -> Self {
        Self {
            schedule: LrSchedule::CONSTANT,
            max_norm: f64::INFINITY,
            accumulation: 1,
        }
    }
}

impl StepRules {
    /// PyTorch's `clip_grad_norm_` factor for a gradient of global norm `norm`:
    /// `min(1, max_norm / (norm + 1e-6))` (1 where `max_norm` is infinite).
    pub fn clip_factor(&self, norm: f64) -> f64 {
        (self.max_norm / (norm + 1e-6)).min(1.0)
    }

    /// Whether gradients are clipped at all.
    pub fn clips(&self) -> bool {
        self.max_norm.is_finite()
    }
}
