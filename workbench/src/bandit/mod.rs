//! The bandit setting of Section 3.3 and Appendix B.1: K actions, a latent π*, a reference
//! π_ref, Bradley–Terry preferences (eq. 27), preference data and the objectives trained
//! on it.

mod data;
mod objective;
mod problem;
pub mod training;

pub use data::{DataMode, LabelledPair, PairScheme, PreferenceData};
pub use objective::{BanditObjective, PreferenceObjective, RlhfObjective};
pub use problem::BanditProblem;
