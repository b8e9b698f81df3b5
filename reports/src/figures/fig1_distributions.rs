//! Figure 1: learned distributions of DPO and its RLHF counterpart, unconstrained and
//! constrained (read from the weight-decay sweep).

use super::{BANDIT_KEYS, FigureDir, Rendered, Section, Table};
use crate::config::{Config, caption};
use crate::h5::ResultsFile;
use crate::paper;
use crate::plot::{BarPanel, Panel, fmt_num};

/// Figure 1.
pub struct Fig1;

/// The method group shown when the file has it; else its first method.
const METHOD: &str = "dpo";

impl Section for Fig1 {
    fn kind(&self) -> &str {
        paper::FIGURE_1.kind
    }

    fn heading(&self) -> &str {
        "Figure 1: DPO and RLHF policies, unconstrained and constrained"
    }

    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let alpha = file.vec("alpha")?;
        let methods = super::methods(file)?;
        // The first method with a counterpart, when the file has no `dpo`: a loss without
        // one has no `rlhf_policy` to draw beside its own.
        let method = if methods.iter().any(|m| m == METHOD) {
            METHOD
        } else {
            methods
                .iter()
                .find(|m| file.exists(&format!("{m}/rlhf_policy")))
                .unwrap_or(&methods[0])
                .as_str()
        };
        let policy = file.matrix(&format!("{method}/policy"))?;
        let rlhf = file.matrix(&format!("{method}/rlhf_policy"))?;
        if policy.rows != alpha.len() || rlhf.rows != alpha.len() || policy.cols != rlhf.cols {
            return Err(format!(
                "{}: datasets `{method}/policy` {}x{} and `{method}/rlhf_policy` {}x{} do not match `alpha` [{}]",
                file.name(),
                policy.rows,
                policy.cols,
                rlhf.rows,
                rlhf.cols,
                alpha.len()
            ));
        }
        let by = |better: fn(f64, f64) -> bool| {
            (0..alpha.len()).fold(0, |best, i| {
                if better(alpha[i], alpha[best]) {
                    i
                } else {
                    best
                }
            })
        };
        let (lo, hi) = (by(|a, b| a < b), by(|a, b| a > b));
        let k = policy.cols;
        let categories: Vec<String> = (1..=k).map(|i| format!("y{i}")).collect();
        let config_vec = |key: &str| -> Option<Vec<f64>> {
            let v: Vec<f64> = cfg
                .get(key)?
                .as_array()?
                .iter()
                .filter_map(|x| x.as_float().or(x.as_integer().map(|i| i as f64)))
                .collect();
            (v.len() == k).then_some(v)
        };
        let mut table = Table {
            caption: "Probabilities of each action.".into(),
            header: std::iter::once("distribution".to_string())
                .chain(categories.iter().cloned())
                .collect(),
            rows: Vec::new(),
        };
        let mut panels = Vec::new();
        for (label, i) in [("unconstrained", lo), ("constrained", hi)] {
            let mut groups = vec![
                (method.to_string(), policy.row(i).to_vec()),
                ("RLHF counterpart".to_string(), rlhf.row(i).to_vec()),
            ];
            if label == "unconstrained" {
                // Reference points, shown once per panel for orientation.
                for (name, key) in [("pi*", "bandit.pi_star"), ("pi_ref", "bandit.pi_ref")] {
                    if let Some(v) = config_vec(key) {
                        table.rows.push(
                            std::iter::once(name.to_string())
                                .chain(v.iter().map(|x| fmt_num(*x)))
                                .collect(),
                        );
                    }
                }
            }
            for (name, values) in &groups {
                table.rows.push(
                    std::iter::once(format!("{name}, alpha = {}", fmt_num(alpha[i])))
                        .chain(values.iter().map(|x| fmt_num(*x)))
                        .collect(),
                );
            }
            if let Some(v) = config_vec("bandit.pi_star") {
                groups.push(("pi* (target)".into(), v));
            }
            panels.push(Panel::Bars(BarPanel {
                title: format!("{label} (alpha = {})", fmt_num(alpha[i])),
                x_label: "action".into(),
                y_label: "probability (unitless)".into(),
                categories: categories.clone(),
                groups,
            }));
        }
        let stem = figures.save(file, "distributions", &panels)?;
        Ok(Rendered {
            figures: vec![stem.with_caption(format!(
                "Left: alpha = {} (unconstrained: the two coincide). Right: the largest alpha = {} (constrained: they differ).",
                fmt_num(alpha[lo]),
                fmt_num(alpha[hi]),
            ))],
            caption: format!(
                "Learned distributions over the {k} actions of `{method}` and its RLHF counterpart, with the target pi* for reference. {}",
                caption(file, cfg, BANDIT_KEYS)
            ),
            tables: vec![table],
            ..Default::default()
        })
    }
}
