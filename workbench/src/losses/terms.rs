//! Pieces several TRL losses share: token counts, the label-smoothed logistic loss, and
//! the NLL of the chosen responses (TRL's `sft` term).

use super::PairLogProbs;
use burn::tensor::{Tensor, activation::log_sigmoid};

/// σ(x) computed as exp(log σ(x)): the f64 gradient of burn's own `sigmoid` on ndarray
/// is off by about 1e-7 from every other backend's, where `log_sigmoid` agrees to rounding.
pub fn sigmoid(x: Tensor<2>) -> Tensor<2> {
    log_sigmoid(x).exp()
}

/// Each response's token count, at least 1 (TRL's `clamp(min=1)`); 1 for a bandit action,
/// whose response is one action.
pub fn token_counts(inputs: &PairLogProbs) -> (Tensor<2>, Tensor<2>) {
    let count = |tokens: &Option<Tensor<2>>, like: &Tensor<2>| match tokens {
        Some(tokens) => tokens.clone().clamp_min(1.0),
        None => like.ones_like(),
    };
    (
        count(&inputs.chosen_tokens, &inputs.policy_chosen),
        count(&inputs.rejected_tokens, &inputs.policy_rejected),
    )
}

/// −(1 − ε) log σ(β x) − ε log σ(−β x): the logistic loss with labels flipped at rate ε
/// (TRL's `aot`, `aot_unpaired` and CPO's `sigmoid` and `simpo`).
pub fn smoothed_logistic(x: Tensor<2>, beta: f64, label_smoothing: f64) -> Tensor<2> {
    let logits = x.mul_scalar(beta);
    let agree = log_sigmoid(logits.clone())
        .neg()
        .mul_scalar(1.0 - label_smoothing);
    if label_smoothing == 0.0 {
        return agree;
    }
    agree - log_sigmoid(logits.neg()).mul_scalar(label_smoothing)
}

/// The NLL of the chosen responses as TRL computes it: the mean over every chosen token of
/// the batch, −Σ_i log π_θ(y_w,i) / Σ_i |y_w,i|. Returned per pair as −log π_θ(y_w,i)·B/Σ|y_w|,
/// whose mean over the B pairs is TRL's value and whose weighted sum on a bandit's expected
/// data (every |y| = 1) is the expected NLL of the chosen action.
pub fn chosen_nll(inputs: &PairLogProbs) -> Tensor<2> {
    let (chosen_tokens, _) = token_counts(inputs);
    let [_, pairs] = inputs.policy_chosen.dims();
    let total_tokens = chosen_tokens.sum_dim(1);
    inputs
        .policy_chosen
        .clone()
        .neg()
        .mul_scalar(pairs as f64)
        .div(total_tokens)
}

/// A label with the parameters that differ from their defaults, e.g. `exo_pair_eps_0.01`.
pub fn label(name: &str, parameters: &[(&str, f64, f64)]) -> String {
    let mut label = name.to_string();
    for (key, value, default) in parameters {
        if value != default {
            label.push_str(&format!("_{key}_{value}"));
        }
    }
    label
}
