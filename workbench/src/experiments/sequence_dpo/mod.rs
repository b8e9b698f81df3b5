//! Section 5.3 (Figure 6, Table 2) on a transformer: SFT → π_ref → DPO, then quantity (21)
//! for the pairs whose ρ_ref = π_ref(y_l|x)/π_ref(y_w|x) is in the lowest or highest q
//! percent, average rank sorting and the one-sided Mann–Whitney U test (App. B.3).

mod adjusted;
mod config;
mod confound;
mod data;
mod memory;
mod reference;
mod trajectory;

pub use config::{
    AnalysedPairs, DataSpec, HeldOutSpec, SavedModel, SequenceDpoFile, SequenceDpoSpec,
};

use super::{Identity, Kind, RunContext, Validation};
use crate::analysis::mann_whitney::{
    Z_95, effect_size, group_ranks, mann_whitney, normal_cdf, percentile, tie_term,
};
use crate::error::{ConfigError, WorkbenchError};
use crate::results::{Folder, Results};
use crate::sequence::SequencePolicy;
use crate::sequence::pipeline::{
    self, Bars, Halt, PairScores, Pairs, PipelineRun, PipelineSpec, Resume, steps_per_epoch,
};
use crate::sequence::pretrained::save;
use crate::sequence::reference_cache::{files_hash, pairs_hash};
use crate::sequence::training_state;
use data::{Data, Split};

/// `kind = "sequence_dpo"`: the checked spec.
pub type SequenceDpo = SequenceDpoSpec;

impl Kind for SequenceDpoSpec {
    const NAME: &'static str = "sequence_dpo";
    const DESCRIPTION: &'static str = "Figure 6 / Table 2: transformer SFT → DPO on synthetic or JSONL pairs; ratio (21), rank sorting, Mann–Whitney U";
    const SEEDS: &'static [&'static str] = &["data.seed", "model.seed", "dpo.seed"];
    const SMOKE: &'static [&'static str] = &[
        "data.pairs=600",
        "sft.epochs=1",
        "dpo.epochs=1",
        "analysis.q=10.0",
    ];
    const SUMMARIES: &'static [(&'static str, &'static str)] = &[
        ("z", "Table 2's z (low-value against high-value group)"),
        (
            "z_paper_direction",
            "(n1 n2/2 − U1)/σ_U with group 1 = low: positive where the low-value group's (21) is smaller (the paper's direction), negative where it is larger",
        ),
        (
            "p_value",
            "Table 2's one-sided p, towards the group that ranks lower",
        ),
        (
            "p_low_smaller",
            "one-sided p of the paper's hypothesis (low group smaller)",
        ),
        (
            "mean_log_ratio_change_low",
            "mean ln (21) of the low-value group",
        ),
        (
            "mean_log_ratio_change_high",
            "mean ln (21) of the high-value group",
        ),
        (
            "mean_log_ratio_change_difference",
            "low minus high: negative as the paper finds",
        ),
    ];
    type File = SequenceDpoFile;

    fn validate(file: &SequenceDpoFile, check: &Validation<'_>) -> Result<Self, ConfigError> {
        file.validate(check.catalogue, check.file)
    }

    fn memory_estimate(
        &self,
        backend: crate::backend::BackendName,
        precision: crate::backend::Precision,
    ) -> u64 {
        memory::estimate(self, backend, precision)
    }

    fn inputs(&self) -> Vec<std::path::PathBuf> {
        let mut files = match &self.data {
            DataSpec::Jsonl { path, .. } => vec![path.clone()],
            DataSpec::Synthetic(_) => Vec::new(),
        };
        if let Some(checkpoint) = &self.checkpoint {
            files.extend(checkpoint.files());
        }
        files
    }

    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
        let checkpoint = self.checkpoint.as_ref();
        let mut data = data::load(&self.data, &self.held_out, checkpoint, &context.progress)?;
        let (flip, seed) = self.flip_labels;
        let flipped = (flip > 0.0).then(|| data::flip(&mut data.train, flip, seed));
        let n = data.train.pairs.len();
        let analysed_pairs = self.analysed(&data).pairs.len();
        let low_count = (analysed_pairs as f64 * self.q / 100.0).floor() as usize;
        if low_count < 2 {
            return Err(WorkbenchError::Data(format!(
                "experiment `{}`: {analysed_pairs} pairs ({}) leave fewer than 2 per group at analysis.q = {}",
                identity.name,
                self.analysed_name(),
                self.q
            )));
        }
        let spec = self.resumable(identity, &data, context);
        let p = &spec;
        let bars = Bars {
            sft: context.progress.bar(
                (p.sft.epochs * steps_per_epoch(n, p.sft.batch_size)) as u64,
                "SFT",
            ),
            dpo: context.progress.bar(
                (p.dpo.epochs * steps_per_epoch(n, p.dpo.batch_size)) as u64,
                &self.loss.label(),
            ),
        };
        let shards = pipeline::shards(context.backend);
        let mut results = identity.results(context);
        let mut kept = Vec::new();
        let analysed = match &self.checkpoint {
            None => {
                let start = reference::Start {
                    model: pipeline::initial_model(p, &context.device),
                    source: || Ok(format!("transformer {:?} seed {}", p.shape, p.seed)),
                };
                self.train(
                    start,
                    (&data, p),
                    context,
                    &bars,
                    shards,
                    &mut results,
                    drop,
                )
            }
            Some(checkpoint) => {
                let start = reference::Start {
                    model: checkpoint.load(&context.device)?,
                    source: || {
                        let files = files_hash(&checkpoint.files())?;
                        Ok(format!("checkpoint {files} context {}", checkpoint.context))
                    },
                };
                let keep = |run| kept = self.kept_models(run);
                self.train(
                    start,
                    (&data, p),
                    context,
                    &bars,
                    shards,
                    &mut results,
                    keep,
                )
            }
        };
        bars.sft.finish();
        bars.dpo.finish();
        analysed
            .map_err(|halt| match halt {
                Halt::Diverged(e) => WorkbenchError::NonFinite {
                    experiment: identity.name.clone(),
                    what: format!("{} loss ({}; lower its lr)", e.phase, e.reason),
                    epoch: e.epoch,
                    step: Some(e.step),
                },
                Halt::Stopped { phase, done, state } => WorkbenchError::Stopped {
                    experiment: identity.name.clone(),
                    phase,
                    done,
                    state,
                },
            })?
            .map_err(|why| {
                WorkbenchError::Data(format!("experiment `{}`: {why}", identity.name))
            })?;
        if let Some(checkpoint) = &self.checkpoint {
            for (which, model) in kept {
                results.folders.push(Folder {
                    name: which.folder(),
                    files: save::folder(&model, &checkpoint.dir)?,
                });
            }
        }
        let parameters = match &self.checkpoint {
            Some(checkpoint) => {
                results.notes.push((
                    "model".into(),
                    format!(
                        "{} ({}; tokenizer.json, bos {}, eos {})",
                        checkpoint.dir.display(),
                        checkpoint.config.model_type,
                        p.specials.bos,
                        p.specials.eos
                    ),
                ));
                checkpoint.parameters()
            }
            None => p.shape.parameters(),
        };
        results.scalar("model/parameters", parameters as f64);
        if let Some(flags) = flipped {
            results.scalar("data/flipped_pairs", flags.iter().sum());
            results.vector("data/flipped", flags);
        }
        results.scalar("data/pairs", n as f64);
        if self.held_out != HeldOutSpec::None {
            results.scalar("data/eval_pairs", data.held_out.pairs.len() as f64);
        }
        results.notes.push((
            "analysis_pairs".into(),
            format!("{} ({analysed_pairs} pairs)", self.analysed_name()),
        ));
        // Peak memory of the whole process so far (`reproduce` runs several experiments in
        // one process): what the memory test compares across data sizes. An attribute, as
        // a measurement of the run, not a result (the datasets of two runs of one
        // configuration are equal).
        if let Some(bytes) = crate::resources::peak_rss_bytes() {
            results
                .notes
                .push(("peak_rss_bytes".into(), bytes.to_string()));
        }
        results.notes.extend(data.notes);
        Ok(results)
    }
}

/// ρ_ref and quantity (21) of every pair, in logs.
struct LogRatios {
    /// ln ρ_ref = ln[π_ref(y_l)/π_ref(y_w)].
    rho: Vec<f64>,
    /// ln (21) = ln[π_θ(y_l)/π_θ(y_w)] − ln ρ_ref.
    change: Vec<f64>,
}

impl LogRatios {
    /// The ratios of pairs scored under π_ref (`reference`) and π_θ (`policy`); `Err`
    /// names the first pair where one is not finite.
    fn of(reference: &PairScores, policy: &PairScores) -> Result<Self, String> {
        let rho = reference.log_ratio();
        let change: Vec<f64> = policy
            .log_ratio()
            .iter()
            .zip(&rho)
            .map(|(p, r)| p - r)
            .collect();
        if let Some(i) = rho
            .iter()
            .zip(&change)
            .position(|(r, c)| !(r.is_finite() && c.is_finite()))
        {
            return Err(format!(
                "pair {i} has a non-finite log-probability ratio after training (ln rho_ref = {}, ln (21) = {}); training diverged: lower sft.lr or dpo.lr",
                rho[i], change[i]
            ));
        }
        if change.iter().all(|c| *c == 0.0) {
            return Err(format!(
                "the policy did not move: every one of the {} pairs' log-probability ratios is exactly as pi_ref's after training, so the loss's gradient vanished or overflowed (check dpo.beta and dpo.lr)",
                change.len()
            ));
        }
        Ok(Self { rho, change })
    }
}

/// The names of the two groups, in the order of [`Groups`]' arrays.
const GROUPS: [&str; 2] = ["low", "high"];

/// The pairs whose ρ_ref lies below the q-th percentile (low) or above the (100 − q)-th
/// (high).
struct Groups {
    low_threshold: f64,
    high_threshold: f64,
    /// Which pairs belong to each group.
    masks: [Vec<bool>; 2],
    /// ln (21) of each group's pairs.
    change: [Vec<f64>; 2],
}

impl Groups {
    /// Splits the pairs at percentile `q` of ln ρ_ref; `Err` when a group is empty.
    fn split(log: &LogRatios, q: f64) -> Result<Self, String> {
        let low_threshold = percentile(&log.rho, q);
        let high_threshold = percentile(&log.rho, 100.0 - q);
        let masks: [Vec<bool>; 2] = [
            log.rho.iter().map(|&r| r < low_threshold).collect(),
            log.rho.iter().map(|&r| r > high_threshold).collect(),
        ];
        let change = [pick(&masks[0], &log.change), pick(&masks[1], &log.change)];
        // Ranks and U are computed on log (21): the same order as (21) itself, without
        // exp() collapsing tiny values into ties.
        if change.iter().any(|g| g.is_empty()) {
            return Err(format!(
                "a group is empty: ln rho_ref has ties at the {q}th / {}th percentiles ({} low, {} high of {} pairs); raise analysis.q or use data with more varied pairs",
                100.0 - q,
                change[0].len(),
                change[1].len(),
                log.rho.len(),
            ));
        }
        Ok(Self {
            low_threshold,
            high_threshold,
            masks,
            change,
        })
    }

    /// Each group's (21), ln (21), ln ρ_ref and (synthetic data) reward margin.
    fn record(&self, log: &LogRatios, reward_margin: Option<&[f64]>, results: &mut Results) {
        for (g, name) in GROUPS.iter().enumerate() {
            let ratio = self.change[g].iter().map(|l| l.exp()).collect();
            results.vector(format!("ratio_change/{name}"), ratio);
            results.vector(format!("log_ratio_change/{name}"), self.change[g].clone());
            results.vector(
                format!("log_rho_ref/{name}"),
                pick(&self.masks[g], &log.rho),
            );
            if let Some(margin) = reward_margin {
                results.vector(
                    format!("reward_margin/{name}"),
                    pick(&self.masks[g], margin),
                );
            }
        }
    }
}

/// The entries of `values` where `mask` is set.
fn pick(mask: &[bool], values: &[f64]) -> Vec<f64> {
    mask.iter()
        .zip(values)
        .filter(|(keep, _)| **keep)
        .map(|(_, v)| *v)
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Table 2's test of the low against the high group: the summaries, the ranks and every
/// term of the Mann–Whitney U test.
fn record_test(change: &[Vec<f64>; 2], tie_correction: bool, results: &mut Results) {
    let (rank_low, rank_high) = group_ranks(&change[0], &change[1]);
    let test = mann_whitney(&change[0], &change[1], tie_correction);
    // One-sided p for "the low-value group's (21) is smaller" (the paper's hypothesis),
    // whichever group has the smaller U.
    let p_low_smaller = normal_cdf((test.u1 - test.mu) / test.sigma);
    let (low, high) = (mean(&change[0]), mean(&change[1]));
    results.summary("z", test.z);
    results.summary("z_paper_direction", (test.mu - test.u1) / test.sigma);
    results.summary("p_value", test.p_value);
    results.summary("p_low_smaller", p_low_smaller);
    results.summary("mean_log_ratio_change_low", low);
    results.summary("mean_log_ratio_change_high", high);
    results.summary("mean_log_ratio_change_difference", low - high);
    // Effect sizes (Hanley–McNeil 95 % intervals: within the run, pairs as if
    // independent): below 0.5 and 0 in the paper's direction.
    let effect = effect_size(&test, Z_95);
    results.summary("auc", effect.auc);
    results.summary("auc_ci_low", effect.auc_ci.0);
    results.summary("auc_ci_high", effect.auc_ci.1);
    results.summary("rank_biserial", effect.rank_biserial);
    results.summary("rank_biserial_ci_low", effect.rank_biserial_ci.0);
    results.summary("rank_biserial_ci_high", effect.rank_biserial_ci.1);
    results.scalar("rank/low_mean", mean(&rank_low));
    results.scalar("rank/high_mean", mean(&rank_high));
    results.vector("rank/low", rank_low);
    results.vector("rank/high", rank_high);
    for (key, value) in [
        ("u", test.u),
        ("u1", test.u1),
        ("u2", test.u2),
        ("z", test.z),
        ("p_value", test.p_value),
        ("r1", test.r1),
        ("r2", test.r2),
        ("n1", test.n1 as f64),
        ("n2", test.n2 as f64),
        ("mu", test.mu),
        ("sigma", test.sigma),
        ("tie_term", tie_term(&change.concat())),
        ("tie_corrected", f64::from(u8::from(test.tie_corrected))),
        ("p_low_smaller", p_low_smaller),
    ] {
        results.scalar(format!("mann_whitney/{key}"), value);
    }
}

/// What the pipeline measured: both phases' losses and throughput, and the reference's
/// and the policy's log-probabilities.
fn record_run<M>(run: &PipelineRun<M>, results: &mut Results) {
    let held = run.held_out.as_ref();
    let logs = [("sft", &run.sft), ("dpo", &run.dpo)]
        .into_iter()
        .chain(held.map(|h| ("eval/dpo", &h.log)));
    for (phase, log) in logs {
        let columns = [
            ("step", &log.step),
            ("loss", &log.loss),
            ("lr", &log.lr),
            ("grad_norm", &log.grad_norm),
        ];
        // An evaluation has no learning rate or gradient.
        for (name, values) in columns.into_iter().filter(|(_, v)| !v.is_empty()) {
            results.vector(format!("{phase}/{name}"), values.clone());
        }
        for (name, values) in log.pairs.named().filter(|_| !log.pairs.is_empty()) {
            results.vector(format!("{phase}/{name}"), values.to_vec());
        }
    }
    if let Some(held) = held {
        for (model, scores) in [("reference", &held.reference), ("policy", &held.policy)] {
            results.vector(
                format!("eval/{model}/log_prob_chosen"),
                scores.chosen.clone(),
            );
            results.vector(
                format!("eval/{model}/log_prob_rejected"),
                scores.rejected.clone(),
            );
        }
    }
    // Throughput is a measurement of the run (an attribute), not a result.
    for (phase, rate) in [
        ("sft", run.sft.tokens_per_second),
        ("dpo", run.dpo.tokens_per_second),
    ] {
        results
            .notes
            .push((format!("{phase}_tokens_per_second"), format!("{rate:.1}")));
    }
    results.vector("reference/log_prob_chosen", run.reference.chosen.clone());
    results.vector(
        "reference/log_prob_rejected",
        run.reference.rejected.clone(),
    );
    results.vector("policy/log_prob_chosen", run.policy.chosen.clone());
    results.vector("policy/log_prob_rejected", run.policy.rejected.clone());
}

impl SequenceDpoSpec {
    /// The pairs Table 2's statistics use (`analysis.on`).
    fn analysed<'d>(&self, data: &'d Data) -> &'d Split {
        match self.analysed {
            AnalysedPairs::Train => &data.train,
            AnalysedPairs::Eval => &data.held_out,
        }
    }

    /// The tables `workbench export` writes: each phase's per-step metrics and the
    /// per-pair scores of the pairs trained on and held out, the analysed pairs' with
    /// their ratios and lengths; of `results`' datasets, those present.
    fn declare_tables(&self, results: &mut Results) {
        let analysed: Vec<&str> = [
            "log_rho_ref/all",
            "log_ratio_change/all",
            "length_diff/all",
            "lengths/chosen",
            "lengths/rejected",
            "lengths/scored_chosen",
            "lengths/scored_rejected",
            "lengths/scored_prompt",
            "lengths/cut_chosen",
            "lengths/cut_rejected",
            "regression/reference_log_prob_per_token",
            "reward_margin/all",
        ]
        .into_iter()
        .filter(|path| results.get(path).is_some())
        .collect();
        let scores = |prefix: &str| -> Vec<String> {
            ["reference", "policy"]
                .into_iter()
                .flat_map(|model| {
                    ["chosen", "rejected"].map(|side| format!("{prefix}{model}/log_prob_{side}"))
                })
                .collect()
        };
        let steps = |phase: &str| {
            let names = ["step", "loss", "lr", "grad_norm"]
                .into_iter()
                .chain(crate::sequence::metrics::NAMES);
            names
                .map(|name| format!("{phase}/{name}"))
                .collect::<Vec<_>>()
        };
        let on = |which: AnalysedPairs| {
            let extra = if self.analysed == which {
                &analysed[..]
            } else {
                &[]
            };
            extra.iter().map(|p| p.to_string())
        };
        let tables = [
            (
                "pairs",
                scores("")
                    .into_iter()
                    .chain(on(AnalysedPairs::Train))
                    .collect(),
            ),
            (
                "eval_pairs",
                scores("eval/")
                    .into_iter()
                    .chain(on(AnalysedPairs::Eval))
                    .collect(),
            ),
            ("sft", steps("sft")),
            ("dpo", steps("dpo")),
            ("eval_dpo", steps("eval/dpo")),
        ];
        let present: Vec<(String, Vec<String>)> = tables
            .into_iter()
            .map(|(name, columns): (&str, Vec<String>)| {
                let kept = columns.into_iter().filter(|c| results.get(c).is_some());
                (name.to_string(), kept.collect::<Vec<_>>())
            })
            .filter(|(_, columns)| !columns.is_empty())
            .collect();
        results.tables(&present);
    }

    /// `train` or `eval`, as `analysis.on` reads.
    fn analysed_name(&self) -> &'static str {
        match self.analysed {
            AnalysedPairs::Train => "train",
            AnalysedPairs::Eval => "eval",
        }
    }

    /// The models of `run` that `[output] save` names, in its order.
    fn kept_models<M>(&self, run: PipelineRun<M>) -> Vec<(SavedModel, M)> {
        let (mut policy, mut reference) = (Some(run.model), run.reference_model);
        self.save
            .iter()
            .filter_map(|&which| {
                let model = match which {
                    SavedModel::Reference => reference.take(),
                    SavedModel::Policy => policy.take(),
                };
                model.map(|m| (which, m))
            })
            .collect()
    }

    /// π_ref (from the cache or by SFT), preference optimisation from it, then the
    /// analysis; the outer `Err` is a diverged phase, the inner one says why the scores
    /// cannot be compared.
    #[allow(clippy::too_many_arguments)]
    fn train<M: SequencePolicy, S: FnOnce() -> std::io::Result<String>>(
        &self,
        start: reference::Start<M, S>,
        (data, p): (&Data, &PipelineSpec),
        context: &RunContext,
        bars: &Bars,
        shards: usize,
        results: &mut Results,
        keep: impl FnOnce(PipelineRun<M>),
    ) -> Result<Result<(), String>, Halt> {
        let pairs = &data.train.pairs;
        let (pi_ref, note) =
            reference::obtain(start, pairs, p, context, bars.sft.as_ref(), shards)?;
        results.notes.push((reference::NOTE.into(), note));
        let loss = self.loss.as_ref();
        let (device, bar) = (&context.device, bars.dpo.as_ref());
        let both = Pairs {
            train: pairs,
            held_out: &data.held_out.pairs,
        };
        // With `analysis.every`, the rows of the analysis over training from the pairs'
        // scores every k steps (the groups by ρ_ref, fixed; an empty group is the final
        // analysis's error to name).
        let reference = (self.trajectory_every > 0).then(|| pi_ref.scores.clone());
        let groups = reference.as_ref().and_then(|reference| {
            let log = LogRatios {
                rho: reference.log_ratio(),
                change: vec![0.0; pairs.len()],
            };
            Groups::split(&log, self.q).ok()
        });
        let mut rows = reference.as_ref().zip(groups).map(|(reference, groups)| {
            let scored = confound::scored(pairs, p.specials, p.shape.context);
            trajectory::Trajectory::new(reference, scored, groups.masks, self.tie_correction)
        });
        let mut see = |model: &M, done: usize| {
            if let Some(rows) = rows.as_mut() {
                rows.observe(done, &pipeline::score_on(model, pairs, p, device, shards));
            }
        };
        let watch: Option<pipeline::Watch<'_, M>> = (self.trajectory_every > 0)
            .then_some((self.trajectory_every, &mut see as &mut dyn FnMut(&M, usize)));
        let run = pipeline::prefer(pi_ref, both, p, loss, device, bar, shards, watch)?;
        if let Some(rows) = rows {
            rows.record(results);
        }
        // Trained: nothing left to resume (a kill from here on trains again).
        if let Some(resume) = &p.resume
            && let Err(e) = training_state::remove(&resume.place)
        {
            let stem = resume.place.stem.display();
            context
                .progress
                .warn(&format!("{stem}.*.bpk: cannot remove: {e}"));
        }
        let analysed = self.analyse(&run, data, results);
        keep(run);
        Ok(analysed)
    }

    /// The pipeline's settings with where this run keeps its training state, when the
    /// context has a place for states: a file named by what makes the run (its resolved
    /// configuration, its data's and model's files, the backend, dtype and shards).
    fn resumable(&self, identity: &Identity, data: &Data, context: &RunContext) -> PipelineSpec {
        let mut spec = self.pipeline.clone();
        // The rows of `analysis.every` are not part of the training state: such a run
        // trains from the start each time.
        let Some(root) = context
            .training_state
            .as_ref()
            .filter(|_| self.trajectory_every == 0)
        else {
            return spec;
        };
        let files = files_hash(&self.inputs()).unwrap_or_else(|e| format!("unreadable: {e}"));
        let shards = pipeline::shards(context.backend).to_string();
        let (backend, dtype) = (context.backend.name(), context.precision.name());
        let parts = [
            &identity.config_toml,
            &files,
            &pairs_hash(&data.train.pairs),
            &pairs_hash(&data.held_out.pairs),
            backend,
            dtype,
            &shards,
        ];
        let place = root.place(&parts);
        training_state::remove_scratch(&place);
        match training_state::inspect(&place) {
            // The latest phase's state is where the run goes on (an earlier phase's only
            // matters without a cached π_ref).
            Ok(found) => {
                if let Some((phase, done, path)) = found.last() {
                    let path = path.display();
                    context
                        .progress
                        .warn(&format!("resuming {phase} after step {done} from {path}"));
                }
            }
            Err(why) => {
                context
                    .progress
                    .warn(&format!("{why}: not resumed from; training afresh"));
                if let Err(e) = training_state::remove(&place) {
                    let stem = place.stem.display();
                    context
                        .progress
                        .warn(&format!("{stem}.*.bpk: cannot remove: {e}"));
                }
            }
        }
        spec.resume = Some(Resume {
            every: self.checkpoint_every,
            place,
        });
        spec
    }

    /// Groups, ranks and tests; `Err` says why the scores cannot be compared.
    fn analyse<M>(
        &self,
        run: &PipelineRun<M>,
        data: &Data,
        results: &mut Results,
    ) -> Result<(), String> {
        let split = self.analysed(data);
        let log = match (self.analysed, &run.held_out) {
            (AnalysedPairs::Eval, Some(held)) => LogRatios::of(&held.reference, &held.policy)?,
            _ => LogRatios::of(&run.reference, &run.policy)?,
        };
        let groups = Groups::split(&log, self.q)?;
        groups.record(&log, split.reward_margin.as_deref(), results);
        let scored = confound::record(
            &split.pairs,
            &confound::Layout {
                context: self.pipeline.shape.context,
                specials: self.pipeline.specials,
            },
            &log.rho,
            &log.change,
            &confound::Membership {
                names: GROUPS,
                masks: [&groups.masks[0], &groups.masks[1]],
            },
            split.reward_margin.as_deref(),
            results,
        );
        let reference = match (self.analysed, &run.held_out) {
            (AnalysedPairs::Eval, Some(held)) => &held.reference,
            _ => &run.reference,
        };
        adjusted::record(
            &adjusted::Pairs {
                rho: &log.rho,
                change: &log.change,
                reference,
                scored: &scored,
                groups: [&groups.masks[0], &groups.masks[1]],
            },
            results,
        );
        results.vector("log_rho_ref/all", log.rho);
        results.vector("log_ratio_change/all", log.change);
        record_test(&groups.change, self.tie_correction, results);
        results.scalar("groups/q", self.q);
        results.scalar("groups/low_threshold", groups.low_threshold);
        results.scalar("groups/high_threshold", groups.high_threshold);
        record_run(run, results);
        self.declare_tables(results);
        results.notes.push((
            "groups".into(),
            format!(
                "low: log rho_ref < {:.4} ({}th percentile), high: > {:.4} ({}th); ranks and U computed on log (21)",
                groups.low_threshold,
                self.q,
                groups.high_threshold,
                100.0 - self.q
            ),
        ));
        results.notes.push((
            "mann_whitney".into(),
            "U1 = R1 - n1(n1+1)/2 (the usual convention; eq. (29) as printed swaps U1 and U2), U = min(U1, U2), z = (U - n1 n2/2)/sigma_U, p_value = Phi(z) one-sided as in the paper (towards whichever group ranks lower); p_low_smaller = Phi((U1 - n1 n2/2)/sigma_U) tests the paper's direction (group 1 = low)".into(),
        ));
        Ok(())
    }
}
