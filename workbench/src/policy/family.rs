//! Policies chosen in the experiment file (`[policy] name = "..."`): a family maps the
//! trainable parameters θ `[variants, P]` to log π `[variants, K]`. Families are looked up
//! in the [`crate::Registry`] by name, so a plugin adds one the way it adds a loss.

use super::BanditPolicy;
use crate::constraints::Projection;
use crate::losses::ParamError;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use std::fmt::Debug;
use std::sync::Arc;

/// A parametrised family of policies over K actions.
pub trait PolicyFamily: Debug + Send + Sync {
    /// θ₀, the same for every variant (its length is the parameter count P).
    fn initial(&self) -> Vec<f64>;

    /// log π_θ `[variants, K]` from θ `[variants, P]`.
    fn log_probs(&self, theta: Tensor<2>) -> Tensor<2>;

    /// The set θ must stay in for π_θ to be a distribution; it is projected onto after
    /// every step, after the file's own projections (`None`: all of R^P).
    fn domain(&self) -> Option<Projection> {
        None
    }
}

/// What a family's constructor may depend on besides its own TOML keys.
#[derive(Debug, Clone, Copy)]
pub struct PolicySetting<'a> {
    /// The reference policy π_ref (its length is K).
    pub pi_ref: &'a [f64],
}

/// Builds a family from its `[policy]` table (without `name`); the error names the key.
pub type PolicyConstructor =
    fn(&toml::Table, PolicySetting<'_>) -> Result<Arc<dyn PolicyFamily>, ParamError>;

/// A registered policy family.
#[derive(Clone)]
pub struct PolicyEntry {
    /// One line for `workbench list`.
    pub description: &'static str,
    /// Its TOML keys besides `name`, for `workbench list`.
    pub parameters: &'static str,
    /// The constructor.
    pub build: PolicyConstructor,
}

/// `variants` copies of a policy of `family`, all starting at the family's θ₀.
#[derive(Module, Debug)]
pub struct FamilyPolicy {
    /// θ, `[variants, P]`.
    pub theta: Param<Tensor<2>>,
    #[module(skip)]
    family: Arc<dyn PolicyFamily>,
}

impl FamilyPolicy {
    /// `variants` copies of `family`'s initial policy on `device`.
    pub fn new(family: Arc<dyn PolicyFamily>, variants: usize, device: &Device) -> Self {
        let theta = family.initial();
        let p = theta.len();
        let data: Vec<f64> = theta.iter().copied().cycle().take(p * variants).collect();
        let theta = Tensor::<2>::from_data(TensorData::new(data, [variants, p]), device);
        Self {
            theta: Param::from_tensor(theta),
            family,
        }
    }
}

impl BanditPolicy for FamilyPolicy {
    fn log_probs(&self) -> Tensor<2> {
        self.family.log_probs(self.theta.val())
    }

    fn parameters(&self) -> Tensor<2> {
        self.theta.val()
    }

    fn map_parameters(self, f: &dyn Fn(Tensor<2>) -> Tensor<2>) -> Self {
        Self {
            theta: super::remap(self.theta, f),
            ..self
        }
    }
}
