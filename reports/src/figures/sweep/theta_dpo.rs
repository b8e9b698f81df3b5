//! A sweep of `mode_seeking` points: θ_DPO over seeds against the paper's reference value
//! (Section 3.3), in each setting that is the paper's setting for the mode-seeking example.

use super::points::Points;
use crate::config::Config;
use crate::paper::{self, MODE_SEEKING_THETA_DPO};
use crate::stats::{LEVEL, percent};

/// The summary compared.
pub const THETA: &str = "theta_dpo";

/// The comparison lines for a sweep of `mode_seeking` points with summary `theta_dpo`, one
/// per setting (every swept key's values, seeds pooled); none for other sweeps. `cfg` is
/// point 0's configuration.
pub fn comparison(points: &Points, cfg: &Config) -> Vec<String> {
    if points.point_kind != paper::MODE_SEEKING.kind {
        return Vec::new();
    }
    let Some(theta) = points.summary(THETA) else {
        return Vec::new();
    };
    let all: Vec<usize> = (0..points.keys.len()).collect();
    let reference =
        format!("the paper's θ_DPO = {MODE_SEEKING_THETA_DPO:.2} (Section 3.3, a reference value)");
    let mut lines = Vec::new();
    let mut elsewhere: Vec<(String, Vec<String>)> = Vec::new();
    for setting in points.settings(&all) {
        let p = setting.first();
        let label = points.label(&all, p);
        let point_cfg = points.config(cfg, p);
        let differences = paper::MODE_SEEKING.differences(&point_cfg);
        if !differences.is_empty() {
            let differences = differences.join("; ");
            match elsewhere.iter_mut().find(|(d, _)| *d == differences) {
                Some((_, labels)) => labels.push(label),
                None => elsewhere.push((differences, vec![label])),
            }
            continue;
        }
        let mode = point_cfg
            .get("data.mode")
            .and_then(|v| v.as_str())
            .unwrap_or("expected")
            .to_owned();
        let what = format!("θ_DPO over seeds (summary/{THETA}; {label}; data.mode = {mode})");
        let line = match points.mean_ci(theta, &setting.members) {
            None => format!("{what}: no done point, so no comparison with the paper."),
            Some(m) => match m.ci {
                Some((lo, hi)) => {
                    let place = if MODE_SEEKING_THETA_DPO > hi {
                        "above the interval"
                    } else if MODE_SEEKING_THETA_DPO < lo {
                        "below the interval"
                    } else {
                        "inside the interval"
                    };
                    format!(
                        "{what}: mean {:.3} ± {:.3} ({} % CI [{lo:.3}, {hi:.3}], {} done seeds) against {reference}, which lies {place} (paper − mean = {:+.3}).",
                        m.mean,
                        m.half_width().unwrap_or(f64::NAN),
                        percent(LEVEL),
                        m.n,
                        MODE_SEEKING_THETA_DPO - m.mean
                    )
                }
                None => format!(
                    "{what}: {:.3} from 1 done seed (1 seed: no interval) against {reference} (paper − value = {:+.3}).",
                    m.mean,
                    MODE_SEEKING_THETA_DPO - m.mean
                ),
            },
        };
        lines.push(line);
    }
    if !elsewhere.is_empty() {
        let items: Vec<String> = elsewhere
            .iter()
            .map(|(differences, labels)| {
                format!(
                    "{differences} in {} ({})",
                    count(labels.len()),
                    labels.join("; ")
                )
            })
            .collect();
        lines.push(format!(
            "No paper value where the configuration is not the paper's setting for {}: {}.",
            paper::MODE_SEEKING.name,
            items.join("; and ")
        ));
    }
    lines
}

/// `1 setting`, `4 settings`.
fn count(n: usize) -> String {
    if n == 1 {
        "1 setting".into()
    } else {
        format!("{n} settings")
    }
}
