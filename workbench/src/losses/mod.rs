//! Pairwise preference losses: the extension point for new methods.
//!
//! A loss sees only the four log-probability tensors (policy and reference, chosen and
//! rejected) and the trade-off β, exactly as TRL's `DPOTrainer` separates losses from
//! models; it never sees a policy. It returns one loss per pair. Built-in losses are
//! listed in [`builtin`] and added to the catalogue through the same API a plugin uses.
//!
//! The losses divide by a constant with `mul_scalar(1.0 / c)`, never `div_scalar(c)`:
//! burn 0.22's autodiff rounds a `div_scalar` divisor to f32 in the backward pass, which
//! costs f64 gradients eight digits (tests/trl_losses.rs sees it against TRL).

mod aot;
mod apo;
mod bco_pair;
mod combination;
mod cpo;
mod discopop;
mod exo_pair;
mod fdpo;
mod hinge;
mod ipo;
mod labelled;
mod nca_pair;
mod orpo;
mod params;
mod robust;
mod scores;
mod sft;
mod sigmoid;
mod sppo_hard;
mod terms;
pub mod testing;

pub use aot::Aot;
pub use apo::Apo;
pub use bco_pair::BcoPair;
pub use combination::WeightedSum;
pub use cpo::{Cpo, CpoForm};
pub use discopop::Discopop;
pub use exo_pair::ExoPair;
pub use fdpo::FDpo;
pub use hinge::Hinge;
pub use ipo::Ipo;
pub use labelled::Labelled;
pub use nca_pair::NcaPair;
pub use orpo::Orpo;
pub use params::{ParamError, parse_params};
pub use robust::Robust;
pub use scores::FScores;
pub use sft::Sft;
pub use sigmoid::{Dpo, SigmoidNorm};
pub use sppo_hard::SppoHard;

use std::sync::Arc;

/// Builds a loss from its TOML table (the method's keys other than `loss`); the error
/// names the offending key.
pub type LossConstructor = fn(&toml::Table) -> Result<Arc<dyn PairwiseLoss>, ParamError>;

/// A loss as the catalogue holds it.
#[derive(Clone)]
pub struct LossEntry {
    /// One line for `workbench list`.
    pub description: &'static str,
    /// Its TOML parameters, for `workbench list` (e.g. `divergence = "forward_kl"`).
    pub parameters: &'static str,
    /// Where it comes from: the paper and equation, and the TRL `loss_type` it matches.
    pub source: &'static str,
    /// The constructor.
    pub build: LossConstructor,
}

/// Every built-in loss by name — what a plugin hands to `Registry::register_loss` for its
/// own. A new in-core loss is one new file here with its `entry` function, plus its `mod`
/// line and its line below. Every TRL `loss_type` is here under TRL's name (`dpo` is the
/// paper's name for `sigmoid`), with `cpo`, `simpo` and `orpo` from TRL's other trainers.
pub fn builtin() -> Vec<(&'static str, LossEntry)> {
    let mut entries = sigmoid::entries();
    entries.extend([
        ipo::entry(),
        fdpo::entry(),
        robust::entry(),
        bco_pair::entry(),
        hinge::entry(),
        exo_pair::entry(),
        nca_pair::entry(),
        sppo_hard::entry(),
        discopop::entry(),
        sft::entry(),
        orpo::entry(),
    ]);
    entries.extend(aot::entries());
    entries.extend(apo::entries());
    entries.extend(cpo::entries());
    entries
}

use crate::divergence::Divergence;
use burn::tensor::Tensor;
use std::fmt::Debug;

/// The inputs of a pairwise loss, all shaped `[variants, pairs]` (reference tensors may
/// broadcast from `[1, pairs]`).
#[derive(Debug, Clone)]
pub struct PairLogProbs {
    /// log π_θ(y_w | x).
    pub policy_chosen: Tensor<2>,
    /// log π_θ(y_l | x).
    pub policy_rejected: Tensor<2>,
    /// log π_ref(y_w | x).
    pub reference_chosen: Tensor<2>,
    /// log π_ref(y_l | x).
    pub reference_rejected: Tensor<2>,
    /// Number of tokens of y_w (sequence policies); `None` for bandits, where every
    /// response is one action.
    pub chosen_tokens: Option<Tensor<2>>,
    /// Number of tokens of y_l; `None` for bandits.
    pub rejected_tokens: Option<Tensor<2>>,
}

impl PairLogProbs {
    /// Inputs for responses that are single actions (bandits): no token counts.
    pub fn new(
        policy_chosen: Tensor<2>,
        policy_rejected: Tensor<2>,
        reference_chosen: Tensor<2>,
        reference_rejected: Tensor<2>,
    ) -> Self {
        Self {
            policy_chosen,
            policy_rejected,
            reference_chosen,
            reference_rejected,
            chosen_tokens: None,
            rejected_tokens: None,
        }
    }

    /// log[π_θ(y_w)/π_ref(y_w)]: the chosen response's log-ratio.
    pub fn chosen_log_ratio(&self) -> Tensor<2> {
        self.policy_chosen.clone() - self.reference_chosen.clone()
    }

    /// log[π_θ(y_l)/π_ref(y_l)]: the rejected response's log-ratio.
    pub fn rejected_log_ratio(&self) -> Tensor<2> {
        self.policy_rejected.clone() - self.reference_rejected.clone()
    }

    /// h = log[π_θ(y_w)/π_ref(y_w)] − log[π_θ(y_l)/π_ref(y_l)], the margin of eqs. (6) and (9).
    pub fn margin(&self) -> Tensor<2> {
        self.chosen_log_ratio() - self.rejected_log_ratio()
    }
}

/// Which reward the RLHF counterpart of a loss maximises (docs/experiments.md §1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reward {
    /// r*(y) = log π*(y), the Bradley–Terry reward behind DPO and f-DPO.
    LogPiStar,
    /// r_IPO(y) = Σ_y′ π_ref(y′) p*(y ≻ y′), eq. (7).
    Ipo,
}

/// The RLHF problem a loss claims to solve: −E_π[r] + β D_f(π ‖ π_ref).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counterpart {
    /// The reward.
    pub reward: Reward,
    /// The regulariser.
    pub regulariser: Divergence,
}

impl Counterpart {
    /// DPO's counterpart: reward log π*, regulariser KL(π ‖ π_ref). The default for any loss
    /// that declares none.
    pub const DPO: Self = Self {
        reward: Reward::LogPiStar,
        regulariser: Divergence::ReverseKl,
    };
}

/// A pairwise preference loss: from the four log-probability tensors and β, one loss per
/// pair.
///
/// ```
/// use burn::tensor::{Tensor, TensorData, activation::log_sigmoid};
/// use workbench::losses::{PairLogProbs, PairwiseLoss};
///
/// /// DPO, eq. (6): −log σ(β h).
/// #[derive(Debug)]
/// struct MyDpo;
///
/// impl PairwiseLoss for MyDpo {
///     fn label(&self) -> String {
///         "my_dpo".into()
///     }
///
///     fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
///         log_sigmoid(inputs.margin().mul_scalar(beta)).neg()
///     }
/// }
///
/// let device = backends::device(backends::BackendName::Flex, backends::Precision::F64).unwrap();
/// let row = |v: f64| Tensor::<2>::from_data(TensorData::new(vec![v], [1, 1]), &device);
/// // h = (ln 0.5 − ln 0.4) − (ln 0.2 − ln 0.4) = ln 2.5: the loss is −ln σ(ln 2.5) = ln 1.4.
/// let inputs = PairLogProbs::new(row(0.5f64.ln()), row(0.2f64.ln()), row(0.4f64.ln()), row(0.4f64.ln()));
/// let loss = workbench::tensors::to_vec(MyDpo.loss(&inputs, 1.0));
/// assert!((loss[0] - 1.4f64.ln()).abs() < 1e-12);
/// ```
pub trait PairwiseLoss: Debug + Send + Sync {
    /// The name used for results groups, e.g. `dpo` or `fdpo_forward_kl`.
    fn label(&self) -> String;

    /// Per-pair losses `[variants, pairs]` with trade-off `beta`.
    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2>;

    /// The RLHF problem this loss is derived from, if it declares one.
    fn declared_counterpart(&self) -> Option<Counterpart> {
        None
    }

    /// The RLHF problem the constraint experiments compare this loss with: the declared
    /// one, else DPO's (reward log π*, KL regulariser).
    fn counterpart(&self) -> Counterpart {
        self.declared_counterpart().unwrap_or(Counterpart::DPO)
    }

    /// False when the loss states that it solves no RLHF problem in closed form
    /// (reference-free losses, batch-sorting ones, losses that fit each reward on its
    /// own): the constraint experiments then train no counterpart and draw no distance,
    /// and say so. True by default, so a loss that declares nothing is compared with DPO's.
    fn has_counterpart(&self) -> bool {
        true
    }
}
