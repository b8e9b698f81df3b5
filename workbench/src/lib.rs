//! Core of dpo-workbench: policies, pairwise losses, RLHF objectives, constraints and the
//! experiments of "Common Learning Constraints Alter Interpretations of Direct Preference
//! Optimization", written once against burn's backend-agnostic API.
//!
//! Nothing here names a backend: every entry point takes the [`burn::tensor::Device`] chosen
//! by the `backends` crate. The flow is one-directional: TOML → [`config`] (parsed, then
//! validated into checked types) → [`experiments`] (tensors on the device) → [`results`]
//! (plain `f64`) → HDF5.
#![warn(missing_docs)]

pub mod analysis;
pub mod bandit;
pub mod config;
pub mod constraints;
pub mod distance;
pub mod divergence;
pub mod error;
pub mod experiments;
pub mod losses;
pub mod optim;
pub mod policy;
pub mod progress;
pub mod registry;
pub mod resources;
pub mod results;
pub mod sequence;
pub mod train;

pub use error::{ConfigError, WorkbenchError};
pub use registry::Registry;
