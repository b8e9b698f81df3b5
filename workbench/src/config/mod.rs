//! The configuration layer: the sections and checks every kind's schema shares
//! ([`validate`]), `--set` overrides, and figment's errors as one-line messages. It sits
//! below the experiment kinds; [`crate::loader`] above both reads a file into a kind.

mod figment_error;
mod overrides;
pub mod validate;

pub use figment_error::config_error;
pub use overrides::{Override, parse_override};
