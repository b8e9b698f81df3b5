//! Weighted combinations of losses (TRL's `loss_type` list with `loss_weights`):
//! `loss = [{ name = "dpo", weight = 0.8 }, { name = "bco_pair", weight = 0.2 }]`.

use super::{Counterpart, PairLogProbs, PairwiseLoss};
use burn::tensor::Tensor;
use std::sync::Arc;

/// Σ_i w_i · loss_i, per pair.
#[derive(Debug, Clone)]
pub struct WeightedSum {
    /// (weight, loss) terms.
    pub terms: Vec<(f64, Arc<dyn PairwiseLoss>)>,
}

impl PairwiseLoss for WeightedSum {
    /// `0.8dpo+0.2bco_pair`.
    fn label(&self) -> String {
        self.terms
            .iter()
            .map(|(w, loss)| format!("{w}{}", loss.label()))
            .collect::<Vec<_>>()
            .join("+")
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        self.terms
            .iter()
            .map(|(w, loss)| loss.loss(inputs, beta).mul_scalar(*w))
            .reduce(|a, b| a + b)
            .expect("a combination has at least one term")
    }

    /// The counterpart every term declares alike, if they agree.
    fn declared_counterpart(&self) -> Option<Counterpart> {
        let first = self.terms.first()?.1.declared_counterpart()?;
        self.terms
            .iter()
            .all(|(_, loss)| loss.declared_counterpart() == Some(first))
            .then_some(first)
    }

    /// None as soon as one term has none (an MPO mixture with `sft`, say).
    fn has_counterpart(&self) -> bool {
        self.terms.iter().all(|(_, loss)| loss.has_counterpart())
    }
}
