//! The configuration layer: the sections and checks every kind's schema shares
//! ([`validate`]), `--set` overrides, and figment's errors as one-line messages. It sits
//! below the experiment kinds; [`crate::loader`] above both reads a file into a kind.

#[cfg(feature = "files")]
mod figment_error;
#[cfg(feature = "files")]
mod overrides;
pub mod steps;
pub mod validate;

#[cfg(feature = "files")]
pub use figment_error::config_error;
#[cfg(feature = "files")]
pub use overrides::{Override, parse_override};
