//! Section 5.3's pipeline on a transformer: SFT on (x, y_w), freeze the result as π_ref,
//! then preference optimisation (DPO or any registered pairwise loss) starting from π_ref,
//! both with burn's Adam; finally log π of every pair's responses under π_ref and π_θ.
//! The model is the byte-level [`Transformer`] from a seed ([`run`]) or any
//! [`SequencePolicy`], such as a loaded checkpoint ([`run_from`]).

use super::batch::scored_tokens;
pub use super::metrics::PhaseLog;
use super::metrics::{PairTally, Rows, StepValues};
use super::policy::SequencePolicy;
use super::training_state::{self, Position, StatePlace};
use super::{SequenceBatch, Specials, TokenPair, Transformer, TransformerShape};
use crate::losses::{PairLogProbs, PairwiseLoss};
use crate::optim::{AdamSpec, ParallelAdam, StepRules, clip};
use crate::progress::{Observer, Silent};
use crate::tensors::to_vec;
use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::time::Instant;

/// One training phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    /// Passes over the data.
    pub epochs: usize,
    /// Adam's settings (learning rate included).
    pub adam: AdamSpec,
    /// Pairs (DPO) or sequences (SFT) per micro-batch; a step takes
    /// `rules.accumulation` of them.
    pub batch_size: usize,
    /// The learning rate's schedule, gradient clipping and accumulation.
    pub rules: StepRules,
    /// Steps per row of the phase's log, each row their mean (0: as few as keep the
    /// phase within [`super::metrics::MAX_ROWS`] rows).
    pub log_every: usize,
}

impl Phase {
    /// Items per optimiser step: the batch times the accumulated micro-batches.
    pub fn effective_batch(&self) -> usize {
        self.batch_size.max(1) * self.rules.accumulation.max(1)
    }
}

/// Everything the pipeline needs besides the data and the loss.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSpec {
    /// The model's size.
    pub shape: TransformerShape,
    /// The vocabulary's special tokens.
    pub specials: Specials,
    /// Supervised fine-tuning on (x, y_w).
    pub sft: Phase,
    /// Preference optimisation from π_ref.
    pub dpo: Phase,
    /// β (the paper's λ).
    pub beta: f64,
    /// Seeds the initial weights and the batch order.
    pub seed: u64,
    /// Seeds the preference phase's batch order on its own (`None`: it continues the
    /// generator `seed` seeded, after SFT's draws).
    pub dpo_seed: Option<u64>,
    /// Evaluate the held-out pairs every this many preference steps (0: at the end only).
    pub eval_every: usize,
    /// Keep π_ref itself in the outcome ([`PipelineRun::reference_model`]), to save it: a
    /// second copy of the weights through preference optimisation.
    pub keep_reference: bool,
    /// Where and how often the training state is saved, to continue from after a kill
    /// (`None`: never saved).
    pub resume: Option<Resume>,
}

/// Saving the training state ([`super::training_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// Every this many optimiser steps of either phase (0: only when a stop is requested).
    pub every: usize,
    /// The state file and the run's key.
    pub place: StatePlace,
}

/// log π(y_w|x) and log π(y_l|x) of every pair under one model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PairScores {
    /// log π(y_w|x).
    pub chosen: Vec<f64>,
    /// log π(y_l|x).
    pub rejected: Vec<f64>,
}

impl PairScores {
    /// log [π(y_l|x)/π(y_w|x)] per pair.
    pub fn log_ratio(&self) -> Vec<f64> {
        self.rejected
            .iter()
            .zip(&self.chosen)
            .map(|(l, w)| l - w)
            .collect()
    }
}

/// The pipeline's outcome.
#[derive(Debug, Clone)]
pub struct PipelineRun<M = Transformer> {
    /// SFT's mean negative log-likelihood per response token, per step.
    pub sft: PhaseLog,
    /// The preference loss per step (the first is log 2 for DPO: π_θ = π_ref).
    pub dpo: PhaseLog,
    /// Scores under π_ref (the frozen SFT model).
    pub reference: PairScores,
    /// Scores under π_θ after preference optimisation.
    pub policy: PairScores,
    /// The trained policy.
    pub model: M,
    /// π_ref, where [`PipelineSpec::keep_reference`] asks for it.
    pub reference_model: Option<M>,
    /// The held-out pairs, where there are any.
    pub held_out: Option<HeldOut>,
}

/// What the held-out pairs (never trained on) showed.
#[derive(Debug, Clone, Default)]
pub struct HeldOut {
    /// Scores under π_ref.
    pub reference: PairScores,
    /// Scores under π_θ after preference optimisation.
    pub policy: PairScores,
    /// The preference loss and TRL's metrics on them every [`PipelineSpec::eval_every`]
    /// steps and after the last.
    pub log: PhaseLog,
}

/// Why training stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// A non-finite or exploding loss.
    Diverged(Diverged),
    /// A stop was requested ([`super::training_state::stop_flag`]); the state is saved.
    Stopped {
        /// `sft` or `dpo`.
        phase: String,
        /// Steps done in that phase.
        done: usize,
        /// The state file.
        state: std::path::PathBuf,
    },
}

impl From<Diverged> for Halt {
    fn from(diverged: Diverged) -> Self {
        Self::Diverged(diverged)
    }
}

/// Training met a non-finite loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diverged {
    /// `sft` or the loss's label.
    pub phase: String,
    /// The 1-based epoch.
    pub epoch: usize,
    /// The 1-based step within that epoch.
    pub step: usize,
    /// What was seen.
    pub reason: String,
}

/// An epoch whose mean loss exceeds this multiple of the first step's loss (plus one nat)
/// has diverged, even while every value is still finite (an exploding learning rate drives
/// the loss to 1e13 before it overflows).
pub const BLOW_UP: f64 = 10.0;

/// Progress bars for the two phases (hidden ones in tests).
pub struct Bars {
    /// SFT steps.
    pub sft: Box<dyn Observer>,
    /// Preference-optimisation steps.
    pub dpo: Box<dyn Observer>,
}

impl Bars {
    /// Observers that report nothing.
    pub fn hidden() -> Self {
        Self {
            sft: Box::new(Silent),
            dpo: Box::new(Silent),
        }
    }
}

/// Steps of one epoch over `n` items in batches of `batch`.
pub fn steps_per_epoch(n: usize, batch: usize) -> usize {
    n.div_ceil(batch.max(1))
}

/// The model initialised from `spec.seed`, the same whatever else runs in the process.
///
/// burn's initialisers draw from the device's one random generator, lazily, when a
/// parameter is first used; experiments that run side by side (`reproduce`) would
/// interleave their draws. So seeding and every draw (forced by one forward pass, which
/// touches the parameters in the order training would) happen under one lock.
pub fn initial_model(spec: &PipelineSpec, device: &Device) -> Transformer {
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _only_us = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(spec.seed);
    let model = Transformer::new(&spec.shape, device);
    let plain = device.clone().inner();
    let probe = Tensor::<2, Int>::from_data(
        TensorData::new(vec![spec.specials.bos as i64], [1, 1]),
        &plain,
    );
    drop(model.valid().logits(probe));
    model
}

/// How many shards a training step splits its batch into on `backend`
/// (the last shard may be smaller). Each shard's loss and gradients are computed on a
/// thread of its own, with its own copy of the model's autodiff graph, and the shares are
/// summed in shard order.
///
/// Two on the CPU backends whose kernels run on one thread at the transformer's tensor
/// sizes (flex, ndarray), where per-row work dominates: a shard of half a batch takes about
/// 0.55 of the batch's time on flex, so two cores make a step about 1.7× faster. One
/// elsewhere: libtorch runs its kernels on threads of its own (shard threads on top made
/// its steps 1.6–2.9× slower on 2 cores, and half batches alone cost it a quarter of its
/// SFT speed), and a GPU runs one stream. The number depends on the backend only, never on the
/// machine's cores, so a backend's results are the same on every machine.
pub fn shards(backend: crate::backend::BackendName) -> usize {
    if backend.is_pure_rust_cpu() { 2 } else { 1 }
}

/// SFT then preference optimisation, from a model initialised with `spec.seed`, each
/// step's batch in `shards` shards (see [`shards`]).
pub fn run(
    pairs: &[TokenPair],
    spec: &PipelineSpec,
    loss: &dyn PairwiseLoss,
    device: &Device,
    bars: &Bars,
    shards: usize,
) -> Result<PipelineRun, Halt> {
    run_from(
        initial_model(spec, device),
        pairs,
        spec,
        loss,
        device,
        bars,
        shards,
    )
}

/// SFT then preference optimisation from `model` (`spec.shape` is read for its context
/// only; `spec.seed` seeds the batch order). With `spec.sft.epochs = 0`, π_ref is `model`
/// itself: a checkpoint that is already fine-tuned.
pub fn run_from<M: SequencePolicy>(
    model: M,
    pairs: &[TokenPair],
    spec: &PipelineSpec,
    loss: &dyn PairwiseLoss,
    device: &Device,
    bars: &Bars,
    shards: usize,
) -> Result<PipelineRun<M>, Halt> {
    let reference = reference(model, pairs, spec, device, bars.sft.as_ref(), shards)?;
    let pairs = Pairs {
        train: pairs,
        held_out: &[],
    };
    prefer(
        reference,
        pairs,
        spec,
        loss,
        device,
        bars.dpo.as_ref(),
        shards,
        None,
    )
}

/// π_ref and what its making measured: the model after SFT, SFT's log, and every pair's
/// scores under it. Everything preference optimisation needs of the first phase, so it
/// can come from a cache (`super::reference_cache`) as well as from [`reference`].
#[derive(Debug, Clone)]
pub struct Reference<M> {
    /// π_ref, the model after SFT (trainable: preference optimisation starts from it).
    pub model: M,
    /// SFT's mean negative log-likelihood per response token, per step.
    pub sft: PhaseLog,
    /// Scores under π_ref.
    pub scores: PairScores,
}

/// The first phase: SFT of `model` on (x, y_w), then every pair scored under the result.
pub fn reference<M: SequencePolicy>(
    model: M,
    pairs: &[TokenPair],
    spec: &PipelineSpec,
    device: &Device,
    bar: &dyn Observer,
    shards: usize,
) -> Result<Reference<M>, Halt> {
    let mut steps = Steps {
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        shards,
    };
    let (model, sft) = supervised(model, pairs, spec, device, &mut steps, bar)?;
    // π_ref is the SFT model, frozen: its scores are computed once, outside any graph.
    let scores = score_on(&model, pairs, spec, device, shards);
    Ok(Reference { model, sft, scores })
}

/// The pairs of a run: those it trains on and those it only evaluates.
#[derive(Debug, Clone, Copy)]
pub struct Pairs<'a> {
    /// Trained on.
    pub train: &'a [TokenPair],
    /// Held out: scored under π_ref, evaluated every [`PipelineSpec::eval_every`] steps
    /// and scored under π_θ at the end.
    pub held_out: &'a [TokenPair],
}

/// Something that sees the policy every `every` preference steps (the steps done with it):
/// a trajectory of the analysis over training.
pub type Watch<'a, M> = (usize, &'a mut dyn FnMut(&M, usize));

/// The second phase: preference optimisation from π_ref, then every pair scored under the
/// trained policy, with held-out pairs evaluated along the way. The batch order continues
/// the generator SFT drew from (replayed, so a π_ref from the cache leaves the same order
/// as one trained now). `watch`, when given, sees the policy every so many steps.
#[allow(clippy::too_many_arguments)]
pub fn prefer<M: SequencePolicy>(
    reference: Reference<M>,
    pairs: Pairs<'_>,
    spec: &PipelineSpec,
    loss: &dyn PairwiseLoss,
    device: &Device,
    bar: &dyn Observer,
    shards: usize,
    mut watch: Option<Watch<'_, M>>,
) -> Result<PipelineRun<M>, Halt> {
    let mut steps = Steps::after_sft(spec, pairs.train.len(), shards);
    // A clone shares the weights until the optimiser replaces them: it is π_ref.
    let reference_model = spec.keep_reference.then(|| reference.model.clone());
    let held = pairs.held_out;
    let counts = |response: fn(&TokenPair) -> &[u32]| -> Vec<f64> {
        let scored = |p: &TokenPair| {
            let sequence = (p.scored_prompt(spec.shape.context), response(p));
            scored_tokens(sequence, spec.specials, spec.shape.context) as f64
        };
        held.iter().map(scored).collect()
    };
    let evaluation = Evaluation {
        held,
        reference: score_on(&reference.model, held, spec, device, shards),
        tokens: [counts(|p| &p.chosen), counts(|p| &p.rejected)],
        spec,
        loss,
        device: device.clone().inner(),
    };
    // The held-out evaluations so far (a resumed phase restores them).
    let log = RefCell::new(PhaseLog::default());
    let every = spec.eval_every;
    let mut evaluate = |model: &M, done: usize| {
        if !held.is_empty() && every > 0 && done.is_multiple_of(every) {
            let scores = score_on(model, held, spec, device, shards);
            evaluation.record(&mut log.borrow_mut(), done, &scores);
        }
        if let Some((k, see)) = watch.as_mut()
            && *k > 0
            && done.is_multiple_of(*k)
        {
            see(model, done);
        }
    };
    let (model, dpo) = preference(
        reference.model,
        pairs.train,
        &reference.scores,
        spec,
        loss,
        device,
        &mut steps,
        bar,
        (&mut evaluate, &log),
    )?;
    let mut log = log.into_inner();
    let policy = score_on(&model, pairs.train, spec, device, shards);
    let held_out = (!held.is_empty()).then(|| {
        let scores = score_on(&model, held, spec, device, shards);
        let last = dpo.step.last().map_or(0, |s| *s as usize);
        if log.step.last() != Some(&(last as f64)) {
            evaluation.record(&mut log, last, &scores);
        }
        HeldOut {
            reference: evaluation.reference,
            policy: scores,
            log,
        }
    });
    Ok(PipelineRun {
        sft: reference.sft,
        dpo,
        reference: reference.scores,
        policy,
        model,
        reference_model,
        held_out,
    })
}

/// The held-out pairs and what their evaluation needs besides the policy's scores.
struct Evaluation<'a> {
    held: &'a [TokenPair],
    /// Their scores under π_ref.
    reference: PairScores,
    /// The scored tokens of each chosen and each rejected response (for length-normalised
    /// losses), counted once.
    tokens: [Vec<f64>; 2],
    spec: &'a PipelineSpec,
    loss: &'a dyn PairwiseLoss,
    /// The device's plain backend (no autodiff).
    device: Device,
}

impl Evaluation<'_> {
    /// Appends to `log` the preference loss and TRL's metrics of the held-out pairs after
    /// `step` steps, from their scores under the policy.
    fn record(&self, log: &mut PhaseLog, step: usize, policy: &PairScores) {
        let (held, reference, spec) = (self.held, &self.reference, self.spec);
        let n = held.len();
        let row = |values: Vec<f64>| {
            Tensor::<2>::from_data(TensorData::new(values, [1, n]), &self.device)
        };
        let inputs = PairLogProbs {
            chosen_tokens: Some(row(self.tokens[0].clone())),
            rejected_tokens: Some(row(self.tokens[1].clone())),
            ..PairLogProbs::new(
                row(policy.chosen.clone()),
                row(policy.rejected.clone()),
                row(reference.chosen.clone()),
                row(reference.rejected.clone()),
            )
        };
        let losses = to_vec(self.loss.loss(&inputs, spec.beta));
        let mut tally = PairTally::default();
        for i in 0..n {
            let own = [policy.chosen[i], policy.rejected[i]];
            let theirs = [reference.chosen[i], reference.rejected[i]];
            tally.add(&PairTally::pair(spec.beta, own, theirs));
        }
        log.step.push(step as f64);
        log.loss.push(losses.iter().sum::<f64>() / n as f64);
        if let Some(means) = tally.means() {
            log.pairs.push(means);
        }
    }
}

/// How the steps of both phases run: the batch order's generator (seeded once, drawn
/// epoch after epoch through SFT and then DPO) and the number of shards of a batch.
struct Steps {
    rng: ChaCha8Rng,
    shards: usize,
}

impl Steps {
    /// The state SFT of `items` pairs leaves: the generator seeded with `spec.seed` after
    /// SFT's draws, which are its epochs' shuffles only ([`train_phase`] draws one
    /// [`order`] per epoch and nothing else). A few shuffles of indices: far cheaper than
    /// keeping the generator's state with π_ref. With `spec.dpo_seed`, a generator of its
    /// own instead.
    fn after_sft(spec: &PipelineSpec, items: usize, shards: usize) -> Self {
        if let Some(seed) = spec.dpo_seed {
            let rng = ChaCha8Rng::seed_from_u64(seed);
            return Self { rng, shards };
        }
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        for _ in 0..spec.sft.epochs {
            order(items, &mut rng);
        }
        Self { rng, shards }
    }
}

fn order(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}

/// A loss beyond this magnitude has no precision left to train with (f32 overflows at
/// 3.4e38); it comes from a trade-off or learning rate far outside any sensible range,
/// such as `dpo.beta = 1e300`, where rounding noise of 1e-16 in a margin becomes 1e284.
pub const LOSS_CEILING: f64 = 1e30;

fn finite(value: f64, phase: &str, epoch: usize, step: usize) -> Result<f64, Diverged> {
    let reason = if !value.is_finite() {
        format!("the loss is {value}")
    } else if value.abs() > LOSS_CEILING {
        format!("the loss is {value:.3e}, astronomically large (over {LOSS_CEILING:e})")
    } else {
        return Ok(value);
    };
    Err(Diverged {
        phase: phase.to_string(),
        epoch: epoch + 1,
        step: step + 1,
        reason,
    })
}

/// Mean negative log-likelihood per response token of `batch`.
pub fn nll<M: SequencePolicy>(model: &M, batch: &SequenceBatch) -> Tensor<1> {
    shard_nll(model, batch, batch.response_tokens)
}

/// `batch`'s share of a larger batch's mean negative log-likelihood per response token:
/// its summed negative log-likelihood over the larger batch's `response_tokens`.
fn shard_nll<M: SequencePolicy>(
    model: &M,
    batch: &SequenceBatch,
    response_tokens: usize,
) -> Tensor<1> {
    (model.token_log_probs(batch) * batch.mask.clone())
        .sum()
        .div_scalar(response_tokens.max(1) as f64)
        .neg()
}

fn supervised<M: SequencePolicy>(
    model: M,
    pairs: &[TokenPair],
    spec: &PipelineSpec,
    device: &Device,
    steps: &mut Steps,
    bar: &dyn Observer,
) -> Result<(M, PhaseLog), Halt> {
    train_phase(
        model,
        pairs.len(),
        ("sft", &spec.sft, spec.resume.as_ref()),
        "sft",
        steps,
        bar,
        (&mut |_, _| {}, &RefCell::default()),
        |model, shard, chunk| {
            let context = spec.shape.context;
            let sequence = |i: usize| (pairs[i].scored_prompt(context), pairs[i].chosen.as_slice());
            let sequences: Vec<(&[u32], &[u32])> = shard.iter().map(|&i| sequence(i)).collect();
            let batch = SequenceBatch::new(&sequences, spec.specials, spec.shape.context, device);
            let chunk_tokens = chunk
                .iter()
                .map(|&i| scored_tokens(sequence(i), spec.specials, spec.shape.context))
                .sum();
            let tally = Tally {
                tokens: batch.response_tokens,
                pairs: PairTally::default(),
            };
            (shard_nll(model, &batch, chunk_tokens), tally)
        },
    )
}

#[allow(clippy::too_many_arguments)]
fn preference<M: SequencePolicy>(
    model: M,
    pairs: &[TokenPair],
    reference: &PairScores,
    spec: &PipelineSpec,
    loss_fn: &dyn PairwiseLoss,
    device: &Device,
    steps: &mut Steps,
    bar: &dyn Observer,
    after_step: AfterStep<'_, M>,
) -> Result<(M, PhaseLog), Halt> {
    let label = loss_fn.label();
    train_phase(
        model,
        pairs.len(),
        ("dpo", &spec.dpo, spec.resume.as_ref()),
        &label,
        steps,
        bar,
        after_step,
        |model, shard, chunk| {
            let (inputs, batch) = pair_inputs(model, pairs, shard, reference, spec, device);
            let loss = loss_fn.loss(&inputs, spec.beta).sum();
            let policy = [&inputs.policy_chosen, &inputs.policy_rejected]
                .map(|scores| to_vec(scores.clone().detach()));
            let mut tally = Tally {
                tokens: batch.response_tokens,
                pairs: PairTally::default(),
            };
            for (k, &i) in shard.iter().enumerate() {
                let own = [policy[0][k], policy[1][k]];
                let theirs = [reference.chosen[i], reference.rejected[i]];
                tally.pairs.add(&PairTally::pair(spec.beta, own, theirs));
            }
            (loss.div_scalar(chunk.len() as f64), tally)
        },
    )
}

/// What sees the model after each step (with the steps done), and the held-out log it
/// writes (saved and restored with the training state).
type AfterStep<'a, M> = (&'a mut dyn FnMut(&M, usize), &'a RefCell<PhaseLog>);

/// A step's loss on a shard of the batch: `(model, shard, batch)` → (the shard's share of
/// the batch's loss, so that the shares sum to it; what else the shard adds to the log).
type ShardLoss<'a, M> = dyn Fn(&M, &[usize], &[usize]) -> (Tensor<1>, Tally) + Sync + 'a;

/// What a shard adds to its step's log besides its loss.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    /// Response tokens.
    tokens: usize,
    /// Sums of the per-pair metrics (preference phase).
    pairs: PairTally,
}

impl Tally {
    fn add(&mut self, other: &Self) {
        self.tokens += other.tokens;
        self.pairs.add(&other.pairs);
    }
}

/// A step's (or part of a step's) loss value, gradients and tally.
struct Share {
    value: f64,
    grads: GradientsParams,
    tally: Tally,
}

impl Share {
    /// The sum of `shares`, in their order (gradients accumulated over `model`).
    fn sum<M: SequencePolicy>(model: &M, shares: impl IntoIterator<Item = Share>) -> Share {
        let mut total = GradientsAccumulator::<M>::new();
        let (mut value, mut tally) = (0.0, Tally::default());
        for share in shares {
            value += share.value;
            tally.add(&share.tally);
            total.accumulate(model, share.grads);
        }
        Share {
            value,
            grads: total.grads(),
            tally,
        }
    }
}

/// A step's loss value, gradients and response tokens on the batch `chunk`: its
/// micro-batches of `micro` items one after another (gradient accumulation), each the sum
/// of its shards' shares of the whole batch's loss ([`sharded_step`]), summed in order.
fn accumulated_step<M: SequencePolicy>(
    model: &M,
    chunk: &[usize],
    micro: usize,
    shards: usize,
    shard_loss: &ShardLoss<M>,
) -> Share {
    if chunk.len() <= micro {
        return sharded_step(model, chunk, chunk, shards, shard_loss);
    }
    let pieces = chunk
        .chunks(micro.max(1))
        .map(|piece| sharded_step(model, piece, chunk, shards, shard_loss));
    Share::sum(model, pieces)
}

/// The micro-batch `micro`'s loss value, gradients and response tokens as a part of the
/// batch `whole`: the shares of its `shards` shards (see [`shards`]), each on a thread of
/// its own, summed in shard order.
fn sharded_step<M: SequencePolicy>(
    model: &M,
    micro: &[usize],
    whole: &[usize],
    shards: usize,
    shard_loss: &ShardLoss<M>,
) -> Share {
    let share = |model: &M, shard: &[usize]| {
        let (loss, tally) = shard_loss(model, shard, whole);
        let value = to_vec(loss.clone().detach())[0];
        let grads = GradientsParams::from_grads(loss.backward(), model);
        Share {
            value,
            grads,
            tally,
        }
    };
    if shards <= 1 {
        return share(model, micro);
    }
    let device = model.devices().remove(0);
    // A fork has its own autodiff graph: graphs that share parameter nodes would be merged
    // into one graph behind one lock.
    let forked = |shard: &[usize]| share(&model.clone().fork(&device), shard);
    let size = micro.len().div_ceil(shards).max(1);
    let shares: Vec<Share> = std::thread::scope(|scope| {
        let mut pieces = micro.chunks(size);
        let first = pieces.next().unwrap_or_default();
        let others: Vec<_> = pieces
            .map(|piece| scope.spawn(move || forked(piece)))
            .collect();
        let mut shares = vec![forked(first)];
        for other in others {
            let joined = other.join();
            shares.push(joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        shares
    });
    Share::sum(model, shares)
}

/// One phase: `phase.epochs` shuffled passes over `items` in batches of
/// [`Phase::effective_batch`] items, each step's loss (and its number of response tokens)
/// from `shard_loss` on the shards of the batch's micro-batches, the gradient clipped to
/// `max_norm`, then an Adam step at the schedule's learning rate; `after_step` sees the
/// model after each step, with the number of steps done.
///
/// With [`PipelineSpec::resume`], the phase continues from a saved state of its own (`name`)
/// where there is one, saves its state every [`Resume::every`] steps, and when a stop is
/// requested saves it after the step it is in and returns [`Halt::Stopped`].
/// `evaluations` (the held-out log, which `after_step` writes) is saved and restored with
/// it.
#[allow(clippy::too_many_arguments)]
fn train_phase<M: SequencePolicy>(
    model: M,
    items: usize,
    (name, phase, resume): (&str, &Phase, Option<&Resume>),
    label: &str,
    steps: &mut Steps,
    bar: &dyn Observer,
    (after_step, evaluations): AfterStep<'_, M>,
    shard_loss: impl Fn(&M, &[usize], &[usize]) -> (Tensor<1>, Tally) + Sync,
) -> Result<(M, PhaseLog), Halt> {
    // burn's Adam, each step's parameter updates on the shards' threads.
    let mut optimizer = ParallelAdam::new(phase.adam, steps.shards);
    let total = phase.epochs * steps_per_epoch(items, phase.effective_batch());
    let mut rows = Rows::new(phase.log_every, total);
    let device = model.devices().remove(0);
    let saved = resume.and_then(|r| {
        training_state::load(&r.place, name, model.clone(), &mut optimizer, &device)
            .ok()
            .flatten()
    });
    let (mut model, mut at) = match saved {
        Some((model, position)) => {
            rows.reopen(position.row.0, position.row.1, position.row.2);
            *evaluations.borrow_mut() = position.evaluations.clone();
            steps.rng = position.rng.clone();
            bar.advance(position.done as u64);
            (model, position)
        }
        None => (
            model,
            Position {
                phase: name.to_string(),
                done: 0,
                epoch: 0,
                step: 0,
                rng: steps.rng.clone(),
                epoch_sum: 0.0,
                epoch_steps: 0,
                first_loss: None,
                with_pairs: false,
                tokens: 0,
                log: PhaseLog::default(),
                row: (0, 0, [0.0; 9]),
                evaluations: PhaseLog::default(),
            },
        ),
    };
    let started = Instant::now();
    let (tokens_before, first_epoch) = (at.tokens, at.epoch);
    for epoch in first_epoch..phase.epochs {
        if epoch > first_epoch {
            (at.epoch, at.step, at.epoch_sum, at.epoch_steps) = (epoch, 0, 0.0, 0);
        }
        at.rng = steps.rng.clone();
        let skip = at.step;
        for (step, chunk) in order(items, &mut steps.rng)
            .chunks(phase.effective_batch())
            .enumerate()
            .skip(skip)
        {
            let Share {
                value,
                mut grads,
                tally,
            } = accumulated_step(&model, chunk, phase.batch_size, steps.shards, &shard_loss);
            let value = finite(value, label, epoch, step)?;
            let norm = clip::global_norms(&model, &grads, 1, steps.shards)[0];
            clip::scale(&model, &mut grads, &[phase.rules.clip_factor(norm)]);
            let lr = phase.adam.lr * phase.rules.schedule.factor(at.done, total);
            model = optimizer.step(lr, model, grads);
            at.done += 1;
            let pairs = tally.pairs.means();
            at.with_pairs |= pairs.is_some();
            let values = StepValues {
                loss: value,
                lr,
                grad_norm: norm,
                pairs,
            };
            rows.add(values, &mut at.log);
            (at.epoch_sum, at.epoch_steps) = (at.epoch_sum + value, at.epoch_steps + 1);
            at.first_loss.get_or_insert(value);
            at.tokens += tally.tokens;
            let rate = (at.tokens - tokens_before) as f64;
            advance(bar, value, pairs.map(|means| means[3]), rate, started);
            after_step(&model, at.done);
            at.step = step + 1;
            if let Some(resume) = resume {
                let stop = training_state::stop_requested();
                let due = resume.every > 0 && at.done.is_multiple_of(resume.every);
                if (due && at.done < total) || stop {
                    at.row = rows.open_row();
                    at.evaluations = evaluations.borrow().clone();
                    // A state that cannot be written loses only the chance to resume.
                    let written = training_state::save(&resume.place, &model, &optimizer, &at);
                    if stop && written.is_ok() {
                        return Err(Halt::Stopped {
                            phase: name.to_string(),
                            done: at.done,
                            state: resume.place.file(name),
                        });
                    }
                }
            }
        }
        let mean = at.epoch_sum / at.epoch_steps.max(1) as f64;
        let start = at.first_loss.unwrap_or(0.0);
        if mean > BLOW_UP * start.abs() + 1.0 {
            return Err(Diverged {
                phase: label.to_string(),
                epoch: epoch + 1,
                step: at.epoch_steps,
                reason: format!(
                    "the epoch's mean loss {mean:.4e} is over {BLOW_UP}x the first step's {start:.4}"
                ),
            }
            .into());
        }
    }
    let mut log = at.log;
    rows.finish(&mut log, at.with_pairs);
    let measured = (at.tokens - tokens_before) as f64;
    log.tokens_per_second = measured / started.elapsed().as_secs_f64().max(1e-9);
    Ok((model, log))
}

/// The loss inputs `[1, B]` for the pairs `chunk`: chosen and rejected responses scored by
/// `model` in one batch, π_ref's scores as constants, and each response's scored token
/// count (EOS included, as in log π) for length-normalised losses.
pub fn pair_inputs<M: SequencePolicy>(
    model: &M,
    pairs: &[TokenPair],
    chunk: &[usize],
    reference: &PairScores,
    spec: &PipelineSpec,
    device: &Device,
) -> (PairLogProbs, SequenceBatch) {
    let (n, context) = (chunk.len(), spec.shape.context);
    let sequences: Vec<(&[u32], &[u32])> = chunk
        .iter()
        .map(|&i| (pairs[i].scored_prompt(context), pairs[i].chosen.as_slice()))
        .chain(chunk.iter().map(|&i| {
            (
                pairs[i].scored_prompt(context),
                pairs[i].rejected.as_slice(),
            )
        }))
        .collect();
    let batch = SequenceBatch::new(&sequences, spec.specials, spec.shape.context, device);
    let scores = model.sequence_log_probs(&batch);
    let row = |values: Vec<f64>| Tensor::<2>::from_data(TensorData::new(values, [1, n]), device);
    let pick = |from: &[f64]| chunk.iter().map(|&i| from[i]).collect::<Vec<f64>>();
    let counts = |rows: &[usize]| row(rows.iter().map(|&t| t as f64).collect());
    let inputs = PairLogProbs {
        chosen_tokens: Some(counts(&batch.row_tokens[..n])),
        rejected_tokens: Some(counts(&batch.row_tokens[n..])),
        ..PairLogProbs::new(
            scores.clone().slice(0..n).reshape([1, n]),
            scores.slice(n..2 * n).reshape([1, n]),
            row(pick(&reference.chosen)),
            row(pick(&reference.rejected)),
        )
    };
    (inputs, batch)
}

/// How many pairs [`score`] puts in one batch when it scores on `shards` threads: the
/// largest training batch (at least 64), split among the threads. The batch's padding and
/// shape may change the last bits of a score, so this is part of what makes π_ref's
/// scores what they are.
pub fn score_chunk(spec: &PipelineSpec, shards: usize) -> usize {
    spec.dpo
        .batch_size
        .max(spec.sft.batch_size)
        .max(64)
        .div_ceil(shards.max(1))
}

/// log π(y_w|x) and log π(y_l|x) of every pair under `model`, without gradients, on one
/// thread ([`score_on`] with one shard).
pub fn score<M: SequencePolicy>(
    model: &M,
    pairs: &[TokenPair],
    spec: &PipelineSpec,
    device: &Device,
) -> PairScores {
    score_on(model, pairs, spec, device, 1)
}

/// log π(y_w|x) and log π(y_l|x) of every pair under `model`, without gradients, in
/// batches of [`score_chunk`] pairs (chosen and rejected responses apart) spread over
/// `shards` threads, as a training step's shards are (see [`shards`]). Each batch is
/// scored alone, so the scores do not depend on which thread scored it.
///
/// Scoring runs on a copy of the model without autodiff, on the device's plain backend:
/// a forward pass on an autodiff device records a graph that only a backward pass frees,
/// so scoring there would hold memory for every pair until the process ends.
pub fn score_on<M: SequencePolicy>(
    model: &M,
    pairs: &[TokenPair],
    spec: &PipelineSpec,
    device: &Device,
    shards: usize,
) -> PairScores {
    let frozen = model.valid();
    let plain = device.clone().inner();
    let response: [fn(&TokenPair) -> &[u32]; 2] =
        [|p| p.chosen.as_slice(), |p| p.rejected.as_slice()];
    let jobs: Vec<(&[TokenPair], usize)> = pairs
        .chunks(score_chunk(spec, shards))
        .flat_map(|block| [(block, 0), (block, 1)])
        .collect();
    let scored = crate::threads::map_on(&jobs, shards, |&(block, side)| {
        let sequences: Vec<(&[u32], &[u32])> = block
            .iter()
            .map(|p| (p.scored_prompt(spec.shape.context), response[side](p)))
            .collect();
        let batch = SequenceBatch::new(&sequences, spec.specials, spec.shape.context, &plain);
        to_vec(frozen.sequence_log_probs(&batch))
    });
    let mut scores = PairScores {
        chosen: Vec::with_capacity(pairs.len()),
        rejected: Vec::with_capacity(pairs.len()),
    };
    for ((_, side), values) in jobs.iter().zip(scored) {
        let target = if *side == 0 {
            &mut scores.chosen
        } else {
            &mut scores.rejected
        };
        target.extend(values);
    }
    scores
}

/// One step more on `bar`, with the step's loss, its reward accuracy (preference phase)
/// and the phase's tokens per second since `started` (`tokens` since then).
fn advance(bar: &dyn Observer, loss: f64, accuracy: Option<f64>, tokens: f64, started: Instant) {
    bar.advance(1);
    let rate = tokens / started.elapsed().as_secs_f64().max(1e-9);
    let accuracy = accuracy.map_or(String::new(), |a| format!(" · acc {a:.2}"));
    bar.message(format!("loss {loss:.4}{accuracy} · {rate:.0} tok/s"));
}
