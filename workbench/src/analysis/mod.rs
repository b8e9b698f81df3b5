//! Closed-form analysis in plain `f64`: what the experiments are checked against and what
//! the report explains differences with.

pub mod correlation;
pub mod penalty;
pub mod rank_test;
pub mod ratio_constraint;
pub mod two_point;
