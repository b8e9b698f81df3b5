//! Closed-form analysis in plain `f64`: what the experiments are checked against and what
//! the report explains differences with.

pub mod correlation;
pub mod mann_whitney;
pub mod penalty;
pub mod ratio_constraint;
pub mod regression;
pub mod two_point;

/// The index in `0..n` where `value` is largest (the first of equals; 0 when `n` is 0).
pub fn argmax(n: usize, value: impl Fn(usize) -> f64) -> usize {
    (0..n).fold(0, |best, i| if value(i) > value(best) { i } else { best })
}
