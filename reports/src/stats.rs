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

    /// The two-sided p-value of the one-sample t-test of a zero mean: 2·P(T > |mean|/(sd/√n))
    /// with T Student's t with n − 1 degrees of freedom; `None` for a single value. With
    /// sd = 0, 0 for a nonzero mean and 1 for a zero one.
    pub fn t_test_p(&self) -> Option<f64> {
        let sd = self.sd?;
        if sd == 0.0 {
            return Some(if self.mean == 0.0 { 1.0 } else { 0.0 });
        }
        let t = self.mean.abs() / (sd / (self.n as f64).sqrt());
        let dist = StudentsT::new(0.0, 1.0, (self.n - 1) as f64).ok()?;
        Some((2.0 * dist.sf(t)).min(1.0))
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

/// Holm's step-down adjustment of the p-values of a family of tests (as statsmodels'
/// `multipletests(p, method="holm")`): sorted ascending, the k-th smallest (k from 0) times
/// (m − k), made non-decreasing, capped at 1; returned in input order. A test rejects at
/// level α when its adjusted p-value is below α, which controls the family-wise error rate.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::{MeanCi, holm};

    #[test]
    fn holm_by_hand() {
        // Sorted: 0.005 × 4 = 0.02, 0.01 × 3 = 0.03, 0.03 × 2 = 0.06, 0.04 × 1 = 0.04 → 0.06.
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-15, "{adjusted:?}");
        }
        assert_eq!(holm(&[0.5, 0.9]), [1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn one_sample_t_test() {
        // scipy.stats.ttest_1samp([1, 2, 3], 0).pvalue = 0.07417990022744858.
        let m = MeanCi::of(&[1.0, 2.0, 3.0]).unwrap();
        assert!((m.t_test_p().unwrap() - 0.07417990022744858).abs() < 1e-12);
        assert_eq!(MeanCi::of(&[1.0]).unwrap().t_test_p(), None);
        assert_eq!(MeanCi::of(&[0.5, 0.5]).unwrap().t_test_p(), Some(0.0));
    }
}
