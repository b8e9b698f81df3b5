//! Core of dpo-workbench: policies, pairwise losses, RLHF objectives, constraints and the
//! experiments of "Common Learning Constraints Alter Interpretations of Direct Preference
//! Optimization", written once against burn's backend-agnostic API.
//!
//! Nothing here names a backend: every entry point takes the [`burn::tensor::Device`] chosen
//! by the `backends` crate. The flow is one-directional: TOML → [`loader`] (header, kind) →
//! the kind's schema, checked with [`config`] and the [`catalogue`] → [`experiments`]
//! (tensors on the device) → [`results`] (plain `f64`) → HDF5. Layers import only
//! downwards: `tensors`, `analysis`, `losses`, `policy`, `constraints` < `catalogue`,
//! `config` < `experiments` < `registry` < `loader`.
#![warn(missing_docs)]

pub mod analysis;
pub mod backend;
pub mod bandit;
pub mod catalogue;
pub mod config;
pub mod constraints;
pub mod distance;
pub mod divergence;
pub mod error;
pub mod experiments;
pub mod files;
#[cfg(feature = "files")]
pub mod loader;
pub mod losses;
pub mod optim;
pub mod policy;
pub mod prelude;
pub mod progress;
pub mod registry;
pub mod resources;
pub mod results;
pub mod sequence;
#[cfg(feature = "files")]
pub mod sweep;
pub mod tensors;
pub mod threads;

pub use error::{ConfigError, Result, WorkbenchError};
pub use registry::Registry;
