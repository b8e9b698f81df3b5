//! Summary statistics over repeats (seeds): the mean, the sample standard deviation and the
//! 95 % confidence interval of the mean from Student's t distribution.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The confidence level of every interval in the report.
pub const LEVEL: f64 = 0.95;

/// The mean of repeated values with its spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanCi {
    /// Number of values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (ddof = 1); `None` for a single value.
    pub sd: Option<f64>,
    /// The [`LEVEL`] confidence interval of the mean, mean ± t·sd/√n with t the
    /// (1 + [`LEVEL`])/2 quantile of Student's t with n − 1 degrees of freedom; `None` for a
    /// single value.
    pub ci: Option<(f64, f64)>,
}

impl MeanCi {
    /// The statistics of `values`; `None` when there is none. The caller leaves out what
    /// must not count (points not done, NaN).
    pub fn of(values: &[f64]) -> Option<Self> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Some(Self {
                n,
                mean,
                sd: None,
                ci: None,
            });
        }
        let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        let sd = (ss / (n - 1) as f64).sqrt();
        let half = t_quantile((1.0 + LEVEL) / 2.0, n - 1) * sd / (n as f64).sqrt();
        Some(Self {
            n,
            mean,
            sd: Some(sd),
            ci: Some((mean - half, mean + half)),
        })
    }

    /// Half the width of the interval, when there is one.
    pub fn half_width(&self) -> Option<f64> {
        self.ci.map(|(lo, hi)| (hi - lo) / 2.0)
    }
}

/// A probability as a percentage for text (`95`, `97.5`).
pub fn percent(p: f64) -> String {
    crate::fmt_num(p * 100.0)
}

/// The `p` quantile of Student's t distribution with `df` ≥ 1 degrees of freedom.
pub fn t_quantile(p: f64, df: usize) -> f64 {
    match StudentsT::new(0.0, 1.0, df as f64) {
        Ok(t) => t.inverse_cdf(p),
        // Only df = 0 is invalid, which `MeanCi::of` never asks for.
        Err(_) => f64::NAN,
    }
}

/// The `p` quantile of the standard normal distribution.
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    use statrs::statistics::{Data, Median};
    (!values.is_empty()).then(|| Data::new(values.to_vec()).median())
}
