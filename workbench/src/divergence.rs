//! f-divergences D_f(π ‖ π_ref) = Σ π_ref f(π/π_ref), and the derivative f′ that f-DPO
//! (Wang et al., 2024) puts in place of DPO's log-ratio.
//!
//! Everything is evaluated from `log u = log π − log π_ref`, the quantity the losses and
//! objectives hold, so that tiny probabilities do not underflow before the logarithm.

use burn::tensor::Tensor;
use burn::tensor::activation::softplus;
use serde::{Deserialize, Serialize};

/// The divergences of docs/experiments.md §1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Divergence {
    /// f(u) = u log u: KL(π ‖ π_ref). f′(u) = log u + 1, so f-DPO equals DPO.
    ReverseKl,
    /// f(u) = −log u: KL(π_ref ‖ π). f′(u) = −1/u.
    ForwardKl,
    /// f(u) = u log u − (1 + u) log((1 + u)/2). f′(u) = log(2u/(1 + u)).
    JensenShannon,
    /// f(u) = (u^(1−a) − (1 − a)u − a)/(a(a − 1)), a ∈ (0, 1). f′(u) = (1 − u^(−a))/a.
    Alpha(f64),
}

impl Divergence {
    /// The name used in TOML and in results (`reverse_kl`, `forward_kl`, `js`, `alpha`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::ReverseKl => "reverse_kl",
            Self::ForwardKl => "forward_kl",
            Self::JensenShannon => "js",
            Self::Alpha(_) => "alpha",
        }
    }

    /// Parses a TOML name; `a` is the parameter of the alpha divergence.
    pub fn from_name(name: &str, a: Option<f64>) -> Result<Self, String> {
        match (name, a) {
            ("reverse_kl", None) => Ok(Self::ReverseKl),
            ("forward_kl", None) => Ok(Self::ForwardKl),
            ("js", None) => Ok(Self::JensenShannon),
            ("alpha", Some(a)) if a > 0.0 && a < 1.0 => Ok(Self::Alpha(a)),
            ("alpha", Some(_)) => Err("the alpha divergence needs 0 < a < 1".into()),
            ("alpha", None) => Err("the alpha divergence needs its parameter `a`".into()),
            ("reverse_kl" | "forward_kl" | "js", Some(_)) => {
                Err("`a` is only a parameter of divergence = \"alpha\"".into())
            }
            _ => Err("expected one of reverse_kl, forward_kl, js, alpha".into()),
        }
    }

    /// f′(u) from `log_u`, elementwise.
    pub fn f_prime(&self, log_u: Tensor<2>) -> Tensor<2> {
        match *self {
            Self::ReverseKl => log_u.add_scalar(1.0),
            Self::ForwardKl => log_u.neg().exp().neg(),
            // log(2u/(1+u)) = log 2 − log(1 + 1/u) = log 2 − softplus(−log u)
            Self::JensenShannon => softplus(log_u.neg(), 1.0)
                .neg()
                .add_scalar(std::f64::consts::LN_2),
            Self::Alpha(a) => log_u
                .mul_scalar(-a)
                .exp()
                .neg()
                .add_scalar(1.0)
                .div_scalar(a),
        }
    }

    /// f(u) from `log_u`, elementwise.
    pub fn f(&self, log_u: Tensor<2>) -> Tensor<2> {
        match *self {
            Self::ReverseKl => log_u.clone().exp().mul(log_u),
            Self::ForwardKl => log_u.neg(),
            Self::JensenShannon => {
                // u log u − (1 + u) log((1 + u)/2), with log(1 + u) = softplus(log u)
                let u = log_u.clone().exp();
                let log_one_plus_u = softplus(log_u.clone(), 1.0);
                u.clone().mul(log_u)
                    - u.add_scalar(1.0)
                        .mul(log_one_plus_u.sub_scalar(std::f64::consts::LN_2))
            }
            Self::Alpha(a) => {
                let u = log_u.clone().exp();
                let u_pow = log_u.mul_scalar(1.0 - a).exp();
                (u_pow - u.mul_scalar(1.0 - a))
                    .sub_scalar(a)
                    .div_scalar(a * (a - 1.0))
            }
        }
    }
}
