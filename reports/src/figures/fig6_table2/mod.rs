//! Figure 6 and Table 2 (Section 5.3, B.3): average rank sorting of quantity (21) over the
//! low- and high-value groups of ρ_ref, and the one-sided Mann–Whitney U test; with what
//! else tells the two groups apart (response lengths, and for synthetic data the true
//! reward margin and label noise). One section per `sequence_dpo` results file, headed by
//! the data its configuration describes.

mod groups;
mod metrics;
mod panels;
mod tables;

use super::{FigureDir, Rendered, Section};
use crate::config::{Config, caption};
use crate::h5::ResultsFile;
use crate::paper;
use crate::plot::fmt_num;
use groups::{Group, MannWhitney};
use panels::{
    deciles_panel, length_panel, ranks_panel, ratio_change_panel, training_panels,
    trajectory_panels,
};
use tables::{confound_table, findings, table2};

/// Figure 6 and Table 2 for one results file.
pub struct Fig6Table2;

/// Config keys quoted in every caption, after the data's.
const KEYS: &[&str] = &[
    "model.d_model",
    "model.n_layers",
    "model.n_heads",
    "model.d_ff",
    "model.context",
    "sft.epochs",
    "sft.lr",
    "sft.batch_size",
    "dpo.epochs",
    "dpo.lr",
    "dpo.batch_size",
    "dpo.beta",
    "dpo.method",
    "analysis.q",
    "analysis.tie_correction",
];

/// Keys of the synthetic generator.
const SYNTHETIC_KEYS: &[&str] = &[
    "data.pairs",
    "data.symbols",
    "data.response_len",
    "data.equal_lengths",
    "data.echo_bonus",
    "data.seed",
];

/// Keys of a JSONL data file.
const JSONL_KEYS: &[&str] = &["data.path", "data.max_pairs"];

/// The caption's keys: the data source and its own keys (a JSONL file's caption does not
/// quote the synthetic generator's defaults), then [`KEYS`].
/// The length-adjusted analysis in words: the ln ρ_ref coefficient of the regression with
/// its HC3 interval, and van Elteren's length-stratified test.
fn adjusted_notes(file: &ResultsFile) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    if file.exists("summary/log_rho_coefficient") {
        let s = |k: &str| file.scalar(&format!("summary/log_rho_coefficient{k}"));
        let columns = file.attr("regression_columns").unwrap_or_default();
        notes.push(format!(
            "Length-adjusted regression over all {} analysed pairs (OLS of ln (21) on {columns}; HC3 standard errors, normal 95 % interval): the ln ρ_ref coefficient is {} [{}, {}], R² = {}. A within-run interval: pairs of one trained model are not independent replications.",
            fmt_num(file.scalar("regression/n")?),
            fmt_num(s("")?),
            fmt_num(s("_ci_low")?),
            fmt_num(s("_ci_high")?),
            fmt_num(file.scalar("regression/r_squared")?),
        ));
    }
    if file.exists("van_elteren/z") {
        notes.push(format!(
            "Van Elteren's test of the low- against the high-value group within {} quintile strata of the scored length difference: z = {:.3}, one-sided p (low group lower) = {:.3e}.",
            fmt_num(file.scalar("van_elteren/strata")?),
            file.scalar("van_elteren/z")?,
            file.scalar("van_elteren/p_lower")?,
        ));
    }
    Ok(notes)
}

fn caption_keys(cfg: &Config) -> Vec<&'static str> {
    let jsonl = cfg.get("data.source").and_then(|v| v.as_str()) == Some("jsonl");
    let data = if jsonl { JSONL_KEYS } else { SYNTHETIC_KEYS };
    std::iter::once("data.source")
        .chain(data.iter().copied())
        .chain(KEYS.iter().copied())
        .collect()
}

/// The data a configuration describes, for the heading: a JSONL file by its path, the
/// synthetic generator by whether it removes the length confound.
fn data_description(cfg: &Config) -> String {
    let text = |key: &str| cfg.get(key).and_then(|v| v.as_str());
    if text("data.source") == Some("jsonl") {
        return match text("data.path") {
            Some(path) => format!("on real preference data (JSONL file {path})"),
            None => "on real preference data (a JSONL file)".into(),
        };
    }
    let equal = cfg.get("data.equal_lengths").and_then(|v| v.as_bool()) == Some(true);
    let no_echo = cfg.number("data.echo_bonus") == Some(0.0);
    match (equal, no_echo) {
        (true, true) => {
            "on synthetic data without the length confound (equal lengths, no echo bonus)".into()
        }
        (true, false) => "on synthetic data with equal response lengths".into(),
        (false, true) => "on synthetic data without the echo bonus".into(),
        (false, false) => "on synthetic data (Section 5.3)".into(),
    }
}

/// Root attributes shown as notes when the results file has them.
const NOTE_ATTRS: &[&str] = &["groups", "mann_whitney", "data", "data_first_skipped"];

impl Section for Fig6Table2 {
    fn kind(&self) -> &str {
        paper::FIGURE_6_TABLE_2.kind
    }

    fn title(&self, file: &ResultsFile, cfg: &Config) -> String {
        format!(
            "Figure 6 and Table 2: average rank sorting and the Mann–Whitney U test, {} ({})",
            data_description(cfg),
            file.name()
        )
    }

    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let groups = [
            Group::read(file, "low", "low-value", "mann_whitney/n1")?,
            Group::read(file, "high", "high-value", "mann_whitney/n2")?,
        ];
        let mw = MannWhitney::read(file)?;
        let all = file.vec("log_rho_ref/all")?;
        let q = file.scalar("groups/q")?;
        let low_threshold = file.scalar("groups/low_threshold")?;
        let high_threshold = file.scalar("groups/high_threshold")?;
        let sft = metrics::Rows::read(file, "sft")?;
        let dpo = metrics::Rows::read(file, "dpo")?
            .ok_or_else(|| format!("{}: no dataset `dpo/loss`", file.name()))?;
        let eval = metrics::Rows::read(file, "eval/dpo")?;
        let losses = |rows: Option<&metrics::Rows>| -> Result<(Vec<f64>, Vec<f64>), String> {
            Ok(match rows {
                Some(r) => (r.step.clone(), r.column("loss")?.unwrap_or_default()),
                None => (Vec::new(), Vec::new()),
            })
        };
        let (sft_loss, dpo_loss) = (losses(sft.as_ref())?, losses(Some(&dpo))?);
        let watched = metrics::metrics_panels(&dpo, eval.as_ref())?;
        let optimiser = metrics::optimiser_panels(sft.as_ref(), &dpo)?;

        let mut drawn = vec![
            figures
                .save(file, "ranks", &[ranks_panel(&groups)])?
                .with_caption(
                    "Each group's average ranks of (21) over both groups, sorted, with the group's mean rank dashed (the paper's Figure 6: the low-value group should rank lower).",
                ),
            figures
                .save(file, "ratio_change", &[ratio_change_panel(&groups)])?
                .with_caption("ln ρ_ref against ln (21) per pair."),
            figures
                .save(file, "training", &training_panels(&sft_loss, &dpo_loss))?
                .with_caption("SFT and DPO loss per logged row of optimiser steps, each row the mean of its steps (DPO starts at ln 2)."),
        ];
        if !watched.is_empty() {
            drawn.push(figures.save(file, "metrics", &watched)?.with_caption(
                "What a DPO user watches, under TRL's names: the implicit rewards and their accuracy and the log-probabilities per logged row of steps on the training batches (each the mean of its steps' batches, before their updates), and on the held-out pairs (all of them, after the step) where the run has a held-out split, with the loss on both.",
            ));
        }
        if !optimiser.is_empty() {
            drawn.push(figures.save(file, "optimiser", &optimiser)?.with_caption(
                "Each phase's gradient norm before clipping (dpo.max_norm, sft.max_norm) and learning rate (after the schedule) per logged row of steps.",
            ));
        }
        if let Some(panel) = length_panel(&groups) {
            drawn.push(
                figures
                    .save(file, "length", &[panel])?
                    .with_caption("ln (21) against len(y_w) − len(y_l) in tokens, per group."),
            );
        }
        if file.exists("deciles/count") {
            let panel = deciles_panel(
                &file.vec("deciles/log_rho_ref_mean")?,
                &file.vec("deciles/log_ratio_change_mean")?,
                &file.vec("deciles/count")?,
            );
            drawn.push(figures.save(file, "deciles", &[panel])?.with_caption(
                "Mean ln (21) in each decile of ln ρ_ref over all analysed pairs, not only Table 2's tails: whether the change follows ρ_ref across its whole range.",
            ));
        }
        if file.exists("trajectory/step") {
            let step = file.vec("trajectory/step")?;
            let column = |name: &str| file.vec_len(&format!("trajectory/{name}"), step.len());
            let (low, high, r) = (
                column("low_mean")?,
                column("high_mean")?,
                column("rank_biserial")?,
            );
            let coefficient = [
                column("log_rho_coefficient")?,
                column("log_rho_coefficient_ci_low")?,
                column("log_rho_coefficient_ci_high")?,
            ];
            let panels = trajectory_panels(
                &step,
                [&low, &high],
                &r,
                [&coefficient[0], &coefficient[1], &coefficient[2]],
            );
            drawn.push(figures.save(file, "trajectory", &panels)?.with_caption(
                "The analysis over DPO steps (analysis.every): each group's mean ln (21), the rank-biserial correlation of the low against the high group, and the length-adjusted ln ρ_ref coefficient with its HC3 interval, from the pairs trained on scored every few steps. Within-run numbers: the steps of one run are not replications.",
            ));
        }
        let mut tables = vec![table2(&groups, &mw)];
        let overall = |key: &str| -> Result<f64, String> {
            if file.exists(key) {
                file.scalar(key)
            } else {
                Ok(f64::NAN)
            }
        };
        tables.extend(confound_table(
            &groups,
            (
                overall("correlation/log_rho_ref_length/all")?,
                overall("correlation/log_ratio_change_length/all")?,
            ),
        ));

        let mut notes = findings(&groups, &mw);
        notes.extend(adjusted_notes(file)?);
        notes.push(format!(
            "Groups: of {} pairs, the low-value group has ln ρ_ref below {} (its {}th percentile) and the high-value group above {} (its {}th percentile).",
            all.len(),
            fmt_num(low_threshold),
            fmt_num(q),
            fmt_num(high_threshold),
            fmt_num(100.0 - q)
        ));
        if file.exists("data/truncated_chosen") {
            notes.push(format!(
                "Responses cut to fit model.context (scored without EOS): {} chosen and {} rejected of {} pairs.",
                fmt_num(file.scalar("data/truncated_chosen")?),
                fmt_num(file.scalar("data/truncated_rejected")?),
                all.len()
            ));
        }
        notes.extend(
            NOTE_ATTRS
                .iter()
                .filter_map(|n| file.attr(n).map(|v| format!("{n}: {v}"))),
        );
        Ok(Rendered {
            figures: drawn,
            caption: format!(
                "After SFT on y_w (π_ref) and DPO (π_θ), the pairs with ρ_ref = π_ref(y_l|x)/π_ref(y_w|x) below the {q}th percentile (low-value, n1 = {}) and above the {}th (high-value, n2 = {}) are compared through quantity (21) = [π_θ(y_l|x)/π_θ(y_w|x)] / ρ_ref, which is 1 at initialisation. {}",
                groups[0].n(),
                fmt_num(100.0 - q),
                groups[1].n(),
                caption(file, cfg, &caption_keys(cfg)),
                q = fmt_num(q),
            ),
            tables,
            notes,
            ..Default::default()
        })
    }
}
