//! Proposition 3.2: constrained RLHF vs IPO optima under the ratio constraint: the trained
//! and closed-form policies side by side, and the ratio π(y1)/π(y3) each gives.

use super::{FigureDir, Rendered, Section, Table};
use crate::config::{Config, caption};
use crate::h5::ResultsFile;
use crate::paper;
use crate::plot::{BarPanel, Panel, fmt_num};

/// Proposition 3.2 table.
pub struct Prop32;

impl Section for Prop32 {
    fn kind(&self) -> &str {
        paper::PROPOSITION_3_2.kind
    }

    fn heading(&self) -> &str {
        "Proposition 3.2: ratio constraint, constrained RLHF vs IPO"
    }

    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let rlhf = file.scalar("rlhf/ratio_13")?;
        let ipo = file.scalar("ipo/ratio_13")?;
        let cf_rlhf = file.scalar("closed_form/rlhf_ratio_13")?;
        let cf_ipo = file.scalar("closed_form/ipo_ratio_13")?;
        let eq49 = file.scalar("closed_form/eq49_as_printed")?;
        let min_ratio = file.scalar("min_ratio")?;
        let row = |q: &str, closed: f64, trained: f64| {
            vec![
                q.to_string(),
                format!("{closed:.6}"),
                format!("{trained:.6}"),
                format!("{:+.2e}", trained - closed),
            ]
        };
        let header = ["quantity", "closed form", "trained", "difference"]
            .map(String::from)
            .to_vec();
        let ratios = Table {
            caption: "Ratio π(y1)/π(y3) at the optimum: closed form against gradient descent."
                .into(),
            header,
            rows: vec![
                row("constrained RLHF π1/π3 (KKT of (42))", cf_rlhf, rlhf),
                row("IPO π1/π3", cf_ipo, ipo),
                row("eq. (49) as printed vs trained RLHF", eq49, rlhf),
                vec![
                    "min ratio (constraint bound)".into(),
                    format!("{min_ratio:.6}"),
                    "".into(),
                    "".into(),
                ],
            ],
        };
        let mut policies = Table {
            caption: "Policies over the three actions.".into(),
            header: ["policy", "π(y1)", "π(y2)", "π(y3)"]
                .map(String::from)
                .to_vec(),
            rows: Vec::new(),
        };
        let mut groups = Vec::new();
        for (name, dataset) in [
            ("constrained RLHF (trained)", "rlhf/policy"),
            ("constrained RLHF (closed form)", "closed_form/rlhf_policy"),
            ("IPO (trained)", "ipo/policy"),
            ("IPO (closed form, eq. 53)", "closed_form/ipo_policy"),
            ("unconstrained optimum", "unconstrained_optimum"),
        ] {
            let v = file.vec(dataset)?;
            policies.rows.push(
                std::iter::once(name.to_string())
                    .chain(v.iter().map(|x| fmt_num(*x)))
                    .collect(),
            );
            groups.push((name.to_string(), v));
        }
        let k = groups[0].1.len();
        let stem = figures.save(
            file,
            "policies",
            &[Panel::Bars(BarPanel {
                title: "optima under the ratio constraint (40)".into(),
                x_label: "action".into(),
                y_label: "probability (unitless)".into(),
                categories: (1..=k).map(|i| format!("y{i}")).collect(),
                groups,
            })],
        )?;
        let notes = file
            .attr("eq49")
            .map(|n| vec![format!("eq. (49): {n}")])
            .unwrap_or_default();
        Ok(Rendered {
            figures: vec![stem.with_caption(
                "Bars are the policies over the actions (the constrained RLHF and IPO optima differ, Prop. 3.2).",
            )],
            caption: format!(
                "Closed-form and trained optima under the ratio constraint. {}",
                caption(
                    file,
                    cfg,
                    &[
                        "epsilon",
                        "bandit.pi_star",
                        "bandit.pi_ref",
                        "bandit.beta",
                        "optimizer.name",
                        "optimizer.lr",
                        "optimizer.epochs"
                    ]
                )
            ),
            tables: vec![ratios, policies],
            notes,
            ..Default::default()
        })
    }
}
