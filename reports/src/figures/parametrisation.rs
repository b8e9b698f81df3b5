//! Section 5.3's parametrisation control (`kind = "parametrisation"`): the change of
//! ln (21) after DPO against ρ_ref, under softmax logits and under θ = π, with the first
//! step beside its closed form; the notes state, from the file's numbers, whether the
//! ρ_ref dependence appears under each.

use super::{FigureDir, Rendered, Section};
use crate::config::{Config, caption};
use crate::h5::ResultsFile;
use crate::plot::{LinePanel, Panel, Series};

/// The parametrisations, as the file stores them, with their legend names.
const PARAMETRISATIONS: [(&str, &str); 2] = [
    ("softmax", "softmax logits"),
    ("two_point", "θ = π (two_point)"),
];

/// The parametrisation control.
pub struct Parametrisation;

impl Section for Parametrisation {
    fn kind(&self) -> &str {
        "parametrisation"
    }

    fn heading(&self) -> &str {
        "Section 5.3 control: does the ρ_ref dependence come from the parametrisation?"
    }

    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let ratio: Vec<f64> = file.vec("log_rho_ref")?.iter().map(|v| v.exp()).collect();
        let n = ratio.len();
        let mut last = Vec::new();
        let mut first = Vec::new();
        let mut steps = 0;
        for (name, legend) in PARAMETRISATIONS {
            let changes = file.matrix(&format!("{name}/log_ratio_change"))?;
            if changes.cols != n || changes.rows < 2 {
                return Err(format!(
                    "{}: dataset `{name}/log_ratio_change` is {}x{}, expected [steps + 1 ≥ 2, {n}]",
                    file.name(),
                    changes.rows,
                    changes.cols
                ));
            }
            steps = changes.rows - 1;
            last.push(Series::new(legend, &ratio, changes.row(changes.rows - 1)));
            first.push(Series::new(
                format!("{legend}, trained"),
                &ratio,
                changes.row(1),
            ));
            let closed = file.vec_len(&format!("{name}/first_step_closed_form"), n)?;
            first.push(Series::new(
                format!("{legend}, closed form"),
                &ratio,
                &closed,
            ));
        }
        let panel = |title: String, series: Vec<Series>| {
            Panel::Lines(LinePanel {
                title,
                x_label: "reference ratio ρ_ref = π_ref(y_l)/π_ref(y_w) (unitless, log scale)"
                    .into(),
                y_label: "Δ ln (21) (nats)".into(),
                x_log: true,
                markers: true,
                series,
                ..Default::default()
            })
        };
        let panels = [
            panel(format!("after {steps} steps"), last),
            panel("after the first step".into(), first),
        ];
        let stem = figures.save(file, "", &panels)?;
        let notes = PARAMETRISATIONS
            .iter()
            .filter_map(|(name, _)| file.attr(&format!("{name}_dependence")))
            .collect();
        Ok(Rendered {
            figures: vec![stem.with_caption(format!(
                "Left: Δ ln (21) of each context after the last of {steps} steps; right: after the first step, trained and in closed form (softmax: −ηβ; θ = π: one projected step of slope β(1 + r)²/(2r))."
            ))],
            caption: format!(
                "DPO on independent two-action contexts, one per reference ratio, from π_ref, by gradient descent under softmax logits and under θ = π (projected onto [0, 1]); Δ ln (21) = change of ln[π(y_l)/π(y_w)] − ln ρ_ref. {}",
                caption(
                    file,
                    cfg,
                    &[
                        "beta",
                        "ratio_min",
                        "ratio_max",
                        "contexts",
                        "optimizer.lr",
                        "optimizer.epochs"
                    ]
                )
            ),
            notes,
            ..Default::default()
        })
    }
}
