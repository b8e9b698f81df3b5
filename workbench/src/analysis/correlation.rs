//! Pearson's product-moment correlation, for the length confound of Section 5.3's data.

/// Pearson's r of `x` and `y` (equal lengths); `NaN` when fewer than two points or either
/// side is constant, where r is undefined.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "pearson needs samples of equal length");
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::pearson;

    #[test]
    fn exact_lines_give_plus_and_minus_one_and_constants_nan() {
        let x = [1.0, 2.0, 3.0, 5.0];
        let up: Vec<f64> = x.iter().map(|v| 2.0 * v + 1.0).collect();
        let down: Vec<f64> = x.iter().map(|v| -0.5 * v).collect();
        assert!((pearson(&x, &up) - 1.0).abs() < 1e-15);
        assert!((pearson(&x, &down) + 1.0).abs() < 1e-15);
        assert!(pearson(&x, &[4.0; 4]).is_nan());
        assert!(pearson(&[1.0], &[2.0]).is_nan());
    }

    #[test]
    fn a_hand_computed_value() {
        // x = (1, 2, 3), y = (1, 3, 2): sxy = 1, sxx = syy = 2, r = 1/2.
        assert!((pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]) - 0.5).abs() < 1e-15);
    }
}
