//! Reference-free losses of TRL's `CPOTrainer`: CPO (Xu et al., 2024, "Contrastive
//! Preference Optimization", eq. 3) and SimPO (Meng et al., 2024, eq. 6), each plus
//! `cpo_alpha` times the NLL of the chosen responses. Both ignore π_ref.
//!
//! The margin is m = r_w − r_l with r = log π_θ(y) (CPO) or log π_θ(y)/|y| (SimPO, and CPO's
//! `ipo`); with AlphaPO's `alpha` ≠ 0, r = (1 − π_θ(y)^(−α))/α of that. Then
//! - `sigmoid` (CPO): −(1 − ε) log σ(β m) − ε log σ(−β m),
//! - `hinge`: max(0, 1 − β m), `ipo`: (m − 1/(2β))²,
//! - SimPO: the `sigmoid` form on m − γ/β.

use super::terms::{chosen_nll, label, smoothed_logistic, token_counts};
use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::relu};
use serde::Deserialize;
use std::sync::Arc;

/// The preference term of a CPO-trainer loss (TRL's `CPOConfig.loss_type`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CpoForm {
    /// `sigmoid`: CPO's logistic loss.
    Sigmoid,
    /// `hinge`.
    Hinge,
    /// `ipo`, on per-token log-probabilities.
    Ipo,
    /// `simpo` with target margin γ, on per-token log-probabilities.
    Simpo(f64),
}

/// A loss of TRL's `CPOTrainer`.
#[derive(Debug, Clone)]
pub struct Cpo {
    /// The preference term.
    pub form: CpoForm,
    /// Weight of the chosen responses' NLL (`cpo_alpha`).
    pub cpo_alpha: f64,
    /// Label smoothing ε of the `sigmoid` and `simpo` forms.
    pub label_smoothing: f64,
    /// AlphaPO's reward shape α (0: log-probabilities).
    pub alpha: f64,
}

impl Cpo {
    fn averages(&self) -> bool {
        matches!(self.form, CpoForm::Ipo | CpoForm::Simpo(_))
    }

    fn rewards(&self, inputs: &PairLogProbs) -> (Tensor<2>, Tensor<2>) {
        let (mut chosen, mut rejected) =
            (inputs.policy_chosen.clone(), inputs.policy_rejected.clone());
        if self.averages() {
            let (chosen_tokens, rejected_tokens) = token_counts(inputs);
            chosen = chosen / chosen_tokens;
            rejected = rejected / rejected_tokens;
        }
        if self.alpha != 0.0 {
            let shape = |log_p: Tensor<2>| {
                log_p
                    .mul_scalar(-self.alpha)
                    .exp()
                    .neg()
                    .add_scalar(1.0)
                    .mul_scalar(1.0 / self.alpha)
            };
            (chosen, rejected) = (shape(chosen), shape(rejected));
        }
        (chosen, rejected)
    }
}

impl PairwiseLoss for Cpo {
    fn label(&self) -> String {
        let (name, gamma) = match self.form {
            CpoForm::Sigmoid => ("cpo", None),
            CpoForm::Hinge => ("cpo_hinge", None),
            CpoForm::Ipo => ("cpo_ipo", None),
            CpoForm::Simpo(gamma) => ("simpo", Some(gamma)),
        };
        let default_alpha = if name == "simpo" { 0.0 } else { 1.0 };
        let mut parameters = vec![
            ("cpo_alpha", self.cpo_alpha, default_alpha),
            ("eps", self.label_smoothing, 0.0),
            ("alpha", self.alpha, 0.0),
        ];
        if let Some(gamma) = gamma {
            parameters.insert(0, ("gamma", gamma, 0.5));
        }
        label(name, &parameters)
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let (chosen, rejected) = self.rewards(inputs);
        let margin = chosen - rejected;
        let preference = match self.form {
            CpoForm::Sigmoid => smoothed_logistic(margin, beta, self.label_smoothing),
            CpoForm::Hinge => relu(margin.mul_scalar(-beta).add_scalar(1.0)),
            CpoForm::Ipo => margin.sub_scalar(1.0 / (2.0 * beta)).powi_scalar(2),
            CpoForm::Simpo(gamma) => {
                smoothed_logistic(margin.sub_scalar(gamma / beta), beta, self.label_smoothing)
            }
        };
        if self.cpo_alpha == 0.0 {
            return preference;
        }
        preference + chosen_nll(inputs).mul_scalar(self.cpo_alpha)
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

/// TOML parameters of `cpo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CpoKeys {
    #[serde(default = "default_form")]
    loss_type: String,
    #[serde(default = "one")]
    cpo_alpha: f64,
    #[serde(default)]
    label_smoothing: f64,
    #[serde(default)]
    alpha: f64,
}

/// TOML parameters of `simpo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimpoKeys {
    #[serde(default = "half")]
    simpo_gamma: f64,
    #[serde(default)]
    cpo_alpha: f64,
    #[serde(default)]
    label_smoothing: f64,
    #[serde(default)]
    alpha: f64,
}

fn default_form() -> String {
    "sigmoid".into()
}

fn one() -> f64 {
    1.0
}

fn half() -> f64 {
    0.5
}

/// Checks the keys every CPO-trainer loss shares.
fn checked(form: CpoForm, cpo_alpha: f64, eps: f64, alpha: f64) -> Result<Cpo, String> {
    if !(cpo_alpha.is_finite() && cpo_alpha >= 0.0) {
        return Err(format!("cpo_alpha = {cpo_alpha}: must be finite and >= 0"));
    }
    if !(0.0..0.5).contains(&eps) {
        return Err(format!("label_smoothing = {eps}: must be in [0, 0.5)"));
    }
    if !alpha.is_finite() {
        return Err(format!("alpha = {alpha}: must be finite"));
    }
    Ok(Cpo {
        form,
        cpo_alpha,
        label_smoothing: eps,
        alpha,
    })
}

/// `cpo` and `simpo` for the catalogue.
pub(super) fn entries() -> Vec<(&'static str, LossEntry)> {
    vec![
        (
            "cpo",
            LossEntry {
                description: "CPO: reference-free DPO on log π_θ plus cpo_alpha × NLL of y_w",
                parameters: "loss_type = sigmoid (default) | hinge | ipo; cpo_alpha ≥ 0 (default 1); label_smoothing = ε ∈ [0, 0.5) (default 0); alpha (AlphaPO, default 0)",
                source: "Xu et al. 2024, eq. (3); TRL CPOTrainer, loss_type sigmoid/hinge/ipo",
                build: |table| {
                    let keys: CpoKeys = super::parse_params(table)?;
                    let form = match keys.loss_type.as_str() {
                        "sigmoid" => CpoForm::Sigmoid,
                        "hinge" => CpoForm::Hinge,
                        "ipo" => CpoForm::Ipo,
                        other => {
                            return Err(format!(
                                "loss_type = {other:?}: expected sigmoid, hinge or ipo (SimPO is the loss `simpo`)"
                            )
                            .into());
                        }
                    };
                    let eps = if form == CpoForm::Sigmoid {
                        keys.label_smoothing
                    } else {
                        if keys.label_smoothing != 0.0 {
                            return Err(format!(
                                "label_smoothing = {}: only the sigmoid form smooths labels",
                                keys.label_smoothing
                            )
                            .into());
                        }
                        0.0
                    };
                    Ok(Arc::new(checked(form, keys.cpo_alpha, eps, keys.alpha)?))
                },
            },
        ),
        (
            "simpo",
            LossEntry {
                description: "SimPO: reference-free, length-normalised, target margin γ; plus cpo_alpha × NLL of y_w",
                parameters: "simpo_gamma = γ (default 0.5); cpo_alpha ≥ 0 (default 0, the paper's); label_smoothing = ε ∈ [0, 0.5) (default 0); alpha (AlphaPO, default 0)",
                source: "Meng et al. 2024, eq. (6); TRL CPOTrainer loss_type simpo",
                build: |table| {
                    let keys: SimpoKeys = super::parse_params(table)?;
                    let gamma = keys.simpo_gamma;
                    if !gamma.is_finite() {
                        return Err(format!("simpo_gamma = {gamma}: must be finite").into());
                    }
                    let form = CpoForm::Simpo(gamma);
                    Ok(Arc::new(checked(
                        form,
                        keys.cpo_alpha,
                        keys.label_smoothing,
                        keys.alpha,
                    )?))
                },
            },
        ),
    ]
}
