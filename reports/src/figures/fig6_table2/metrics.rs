//! The per-step metrics a DPO user watches, as TRL names them: each phase's loss, the
//! rewards and their accuracy, the log-probabilities, the gradient norm and the learning
//! rate, on the training batches (per logged row) and on the held-out pairs (per
//! evaluation) where the run has them.

use crate::h5::ResultsFile;
use crate::plot::{LinePanel, Panel, Series};

/// A phase's logged rows: `<prefix>/step` (1, 2, … in files written before it was stored)
/// and the columns asked for.
pub(super) struct Rows<'a> {
    file: &'a ResultsFile,
    prefix: &'a str,
    /// The optimiser step each row ends at.
    pub step: Vec<f64>,
}

impl<'a> Rows<'a> {
    /// The rows of `prefix` (`sft`, `dpo`, `eval/dpo`); `None` when it has no loss.
    pub fn read(file: &'a ResultsFile, prefix: &'a str) -> Result<Option<Self>, String> {
        let loss = format!("{prefix}/loss");
        if !file.exists(&loss) {
            return Ok(None);
        }
        let n = file.vec(&loss)?.len();
        let step_path = format!("{prefix}/step");
        let step = if file.exists(&step_path) {
            file.vec_len(&step_path, n)?
        } else {
            (1..=n).map(|t| t as f64).collect()
        };
        Ok(Some(Self { file, prefix, step }))
    }

    /// The column `name`, if stored.
    pub fn column(&self, name: &str) -> Result<Option<Vec<f64>>, String> {
        let path = format!("{}/{name}", self.prefix);
        if self.file.exists(&path) {
            self.file.vec_len(&path, self.step.len()).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A series of the column `name` labelled `label`, if stored.
    fn series(&self, name: &str, label: &str) -> Result<Option<Series>, String> {
        Ok(self
            .column(name)?
            .map(|values| Series::new(label, &self.step, &values)))
    }
}

/// One panel per metric with data: rewards, accuracies, log-probabilities (training
/// batches and held-out pairs) and, with held-out pairs, the loss on both.
pub(super) fn metrics_panels(dpo: &Rows, eval: Option<&Rows>) -> Result<Vec<Panel>, String> {
    let mut panels = Vec::new();
    let sets = [(Some(dpo), "train"), (eval, "held out")];
    let mut panel = |title: &str, y_label: &str, columns: &[(&str, &str)]| -> Result<(), String> {
        let mut series = Vec::new();
        for (rows, set) in sets.iter().filter_map(|(r, s)| r.map(|r| (r, s))) {
            for (name, label) in columns {
                series.extend(rows.series(name, &format!("{label} ({set})"))?);
            }
        }
        if !series.is_empty() {
            panels.push(Panel::Lines(LinePanel {
                title: title.into(),
                x_label: "DPO optimiser step".into(),
                y_label: y_label.into(),
                series,
                ..Default::default()
            }));
        }
        Ok(())
    };
    panel(
        "Implicit rewards β·(log π_θ − log π_ref)",
        "mean reward (nats)",
        &[
            ("rewards/chosen", "chosen"),
            ("rewards/rejected", "rejected"),
            ("rewards/margins", "margin"),
        ],
    )?;
    panel(
        "Reward accuracy",
        "share of pairs with reward(y_w) > reward(y_l)",
        &[("rewards/accuracies", "accuracy")],
    )?;
    panel(
        "Log-probabilities under π_θ",
        "mean log π_θ(y|x) (nats)",
        &[("logps/chosen", "y_w"), ("logps/rejected", "y_l")],
    )?;
    if let Some(eval) = eval {
        panel_loss(&mut panels, dpo, eval)?;
    }
    Ok(panels)
}

/// Each phase's gradient norm and learning rate (one panel each, a line per phase).
pub(super) fn optimiser_panels(sft: Option<&Rows>, dpo: &Rows) -> Result<Vec<Panel>, String> {
    let phases: Vec<(&Rows, &str)> = sft
        .into_iter()
        .map(|r| (r, "SFT"))
        .chain([(dpo, "DPO")])
        .collect();
    let mut panels = Vec::new();
    for (name, title, y_label) in [
        (
            "grad_norm",
            "Gradient norm before clipping",
            "global L2 norm",
        ),
        ("lr", "Learning rate", "learning rate"),
    ] {
        let mut series = Vec::new();
        for (rows, phase) in &phases {
            series.extend(rows.series(name, phase)?);
        }
        if !series.is_empty() {
            panels.push(Panel::Lines(LinePanel {
                title: title.into(),
                x_label: "optimiser step of its phase".into(),
                y_label: y_label.into(),
                series,
                ..Default::default()
            }));
        }
    }
    Ok(panels)
}

/// The preference loss on the training batches and on the held-out pairs.
fn panel_loss(panels: &mut Vec<Panel>, dpo: &Rows, eval: &Rows) -> Result<(), String> {
    let series = [
        dpo.series("loss", "train")?,
        eval.series("loss", "held out")?,
    ];
    panels.push(Panel::Lines(LinePanel {
        title: "Preference loss, training batches and held-out pairs".into(),
        x_label: "DPO optimiser step".into(),
        y_label: "loss (nats)".into(),
        series: series.into_iter().flatten().collect(),
        markers: true,
        ..Default::default()
    }));
    Ok(())
}
