//! A loss under a name of the researcher's choosing (`label = "..."` beside `loss`), so
//! that two settings of one loss can run side by side in one file.

use super::{Counterpart, PairLogProbs, PairwiseLoss};
use burn::tensor::Tensor;
use std::sync::Arc;

/// `inner` under the label `label`; everything else is `inner`'s.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// The name used for results groups and legends.
    pub label: String,
    /// The loss itself.
    pub inner: Arc<dyn PairwiseLoss>,
}

impl Labelled {
    /// Checks that `label` can name a results group: letters, digits, `_`, `-`, `.`.
    pub fn new(label: &str, inner: Arc<dyn PairwiseLoss>) -> Result<Self, String> {
        let usable = !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !usable {
            return Err(format!(
                "label = {label:?}: use letters, digits, `_`, `-` and `.` only"
            ));
        }
        Ok(Self {
            label: label.to_string(),
            inner,
        })
    }
}

impl PairwiseLoss for Labelled {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        self.inner.loss(inputs, beta)
    }

    fn declared_counterpart(&self) -> Option<Counterpart> {
        self.inner.declared_counterpart()
    }

    fn counterpart(&self) -> Counterpart {
        self.inner.counterpart()
    }

    fn has_counterpart(&self) -> bool {
        self.inner.has_counterpart()
    }
}
