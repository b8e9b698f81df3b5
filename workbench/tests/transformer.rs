//! The transformer policy and the SFT → DPO pipeline: log-probabilities against a hand
//! computation, causal masking, SFT lowering the NLL, and DPO's step 0 (loss log 2,
//! quantity (21) = 1), and sharded steps (repeating bitwise, agreeing with and summing to the whole
//! batch).

mod common;

use burn::tensor::Tensor;
use workbench::optim::{AdamSpec, StepRules};
use workbench::sequence::pipeline::{self, Bars, Phase, PipelineSpec};
use workbench::sequence::synthetic::{SyntheticSpec, generate};
use workbench::sequence::{SequenceBatch, Specials, TokenPair, Transformer, TransformerShape};
use workbench::tensors::to_vec;

fn shape(n_layers: usize) -> TransformerShape {
    TransformerShape {
        vocab: Specials::after(5).vocab,
        d_model: 8,
        n_layers,
        n_heads: 2,
        d_ff: 12,
        context: 12,
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    to_vec(t.detach())
}

/// `x · W + b` for a row vector, W row-major `[d_in, d_out]`.
fn affine(x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    let d_out = b.len();
    (0..d_out)
        .map(|j| {
            b[j] + x
                .iter()
                .enumerate()
                .map(|(i, xi)| xi * w[i * d_out + j])
                .sum::<f64>()
        })
        .collect()
}

fn layer_norm(x: &[f64], gamma: &[f64], beta: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    x.iter()
        .enumerate()
        .map(|(i, v)| (v - mean) / (var + 1e-5).sqrt() * gamma[i] + beta[i])
        .collect()
}

fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
}

struct Linear {
    w: Vec<f64>,
    b: Vec<f64>,
}

impl Linear {
    fn of(linear: &burn::nn::Linear) -> Self {
        Self {
            w: values(linear.weight.val()),
            b: values(linear.bias.as_ref().expect("bias").val()),
        }
    }

    fn apply(&self, x: &[f64]) -> Vec<f64> {
        affine(x, &self.w, &self.b)
    }
}

fn norm(n: &burn::nn::LayerNorm) -> (Vec<f64>, Vec<f64>) {
    (
        values(n.gamma.val()),
        values(n.beta.as_ref().expect("beta").val()),
    )
}

/// log p(token_{t+1} | tokens_0..=t) for every t, by hand from the model's weights.
fn hand_log_probs(model: &Transformer, tokens: &[u32]) -> Vec<f64> {
    let d = model.blocks.d_model;
    let heads = model.blocks.n_heads;
    let dk = d / heads;
    let embed = values(model.tokens.weight.val());
    let pos = values(model.positions.weight.val());
    let mut x: Vec<Vec<f64>> = tokens
        .iter()
        .enumerate()
        .map(|(t, &tok)| {
            (0..d)
                .map(|j| embed[tok as usize * d + j] + pos[t * d + j])
                .collect()
        })
        .collect();
    for layer in &model.blocks.layers {
        // Pre-norm attention (burn's norm_first uses norm_2 before attention, norm_1 before
        // the MLP).
        let (g2, b2) = norm(&layer.norm_2);
        let (g1, b1) = norm(&layer.norm_1);
        let (wq, wk, wv, wo) = (
            Linear::of(&layer.mha.query),
            Linear::of(&layer.mha.key),
            Linear::of(&layer.mha.value),
            Linear::of(&layer.mha.output),
        );
        let normed: Vec<Vec<f64>> = x.iter().map(|v| layer_norm(v, &g2, &b2)).collect();
        let q: Vec<Vec<f64>> = normed.iter().map(|v| wq.apply(v)).collect();
        let k: Vec<Vec<f64>> = normed.iter().map(|v| wk.apply(v)).collect();
        let v: Vec<Vec<f64>> = normed.iter().map(|v| wv.apply(v)).collect();
        let mut next = Vec::new();
        for t in 0..x.len() {
            let mut context = vec![0.0; d];
            for h in 0..heads {
                let r = h * dk..(h + 1) * dk;
                let scores: Vec<f64> = (0..=t)
                    .map(|s| {
                        q[t][r.clone()]
                            .iter()
                            .zip(&k[s][r.clone()])
                            .map(|(a, b)| a * b)
                            .sum::<f64>()
                            / (dk as f64).sqrt()
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (s, score) in scores.iter().enumerate() {
                    let w = (score - max).exp() / z;
                    for j in r.clone() {
                        context[j] += w * v[s][j];
                    }
                }
            }
            let attended = wo.apply(&context);
            let h: Vec<f64> = x[t].iter().zip(&attended).map(|(a, b)| a + b).collect();
            let inner: Vec<f64> = Linear::of(&layer.pwff.linear_inner)
                .apply(&layer_norm(&h, &g1, &b1))
                .into_iter()
                .map(gelu)
                .collect();
            let out = Linear::of(&layer.pwff.linear_outer).apply(&inner);
            next.push(h.iter().zip(&out).map(|(a, b)| a + b).collect());
        }
        x = next;
    }
    let (gf, bf) = norm(&model.norm);
    let head = Linear::of(&model.head);
    (0..tokens.len() - 1)
        .map(|t| {
            let logits = head.apply(&layer_norm(&x[t], &gf, &bf));
            let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let log_z = max + logits.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
            logits[tokens[t + 1] as usize] - log_z
        })
        .collect()
}

/// A model of `shape` initialised from `seed` as the pipeline does, under its lock: tests
/// run side by side and draw from the device's one generator.
fn seeded(shape: TransformerShape, seed: u64, device: &burn::tensor::Device) -> Transformer {
    let mut spec = tiny_spec(Specials::after(5), 1, 1);
    spec.shape = shape;
    spec.seed = seed;
    pipeline::initial_model(&spec, device)
}

#[test]
fn log_probabilities_equal_a_hand_computation_on_a_one_layer_model() {
    let device = common::device();
    let model = seeded(shape(1), 3, &device);
    let specials = Specials::after(5);
    let (prompt, response) = (vec![1u32, 4, 2], vec![0u32, 3, 3]);
    let batch = SequenceBatch::new(
        &[(prompt.as_slice(), response.as_slice()), (&[2], &[1])],
        specials,
        12,
        &device,
    );
    let tokens: Vec<u32> = [vec![specials.bos], prompt, response, vec![specials.eos]].concat();
    let by_hand = hand_log_probs(&model, &tokens);
    let burn_tokens = values(model.token_log_probs(&batch));
    let time = tokens.len() - 1;
    for (t, expected) in by_hand.iter().enumerate() {
        let got = burn_tokens[t];
        assert!(
            (got - expected).abs() < 1e-9,
            "t = {t}: burn {got}, hand {expected}"
        );
    }
    // log π(y|x) sums the response tokens and EOS: the last 4 targets.
    let expected: f64 = by_hand[time - 4..].iter().sum();
    let got = values(model.sequence_log_probs(&batch))[0];
    assert!(
        (got - expected).abs() < 1e-9,
        "log π(y|x): burn {got}, hand {expected}"
    );
}

#[test]
fn changing_a_later_token_leaves_earlier_log_probs_unchanged() {
    let device = common::device();
    let model = seeded(shape(2), 5, &device);
    let specials = Specials::after(5);
    let prompt = [1u32, 2, 3];
    let (a, b) = ([0u32, 1, 2, 3], [0u32, 1, 4, 0]);
    let batch = SequenceBatch::new(&[(&prompt, &a), (&prompt, &b)], specials, 12, &device);
    let lp = values(model.token_log_probs(&batch));
    let time = lp.len() / 2;
    // Targets 0..=4 are BOS→1, 1→2, 2→3, 3→0, 0→1: identical in both sequences; target 5
    // (→2 vs →4) differs, and so may everything after it.
    for t in 0..=4 {
        assert!(
            (lp[t] - lp[time + t]).abs() < 1e-12,
            "position {t} saw a later token: {} vs {}",
            lp[t],
            lp[time + t]
        );
    }
    assert!(
        (lp[5] - lp[time + 5]).abs() > 1e-9,
        "different targets, same log-prob"
    );
    assert!(
        (lp[6] - lp[time + 6]).abs() > 1e-12,
        "position 6 should see token 5"
    );
}

fn tiny_spec(specials: Specials, sft_epochs: usize, dpo_epochs: usize) -> PipelineSpec {
    let adam = |lr| AdamSpec {
        lr,
        betas: [0.9, 0.999],
        eps: 1e-8,
    };
    PipelineSpec {
        shape: TransformerShape {
            vocab: specials.vocab,
            context: 12,
            ..shape(1)
        },
        specials,
        sft: Phase {
            epochs: sft_epochs,
            adam: adam(1e-2),
            batch_size: 16,
            rules: StepRules::default(),
            log_every: 0,
        },
        dpo: Phase {
            epochs: dpo_epochs,
            adam: adam(1e-2),
            batch_size: 16,
            rules: StepRules::default(),
            log_every: 0,
        },
        beta: 0.5,
        seed: 11,
        dpo_seed: None,
        eval_every: 0,
        keep_reference: false,
        resume: None,
    }
}

/// SFT then DPO of `spec` on `pairs`, each batch in `shards` shards.
fn dpo_run(
    pairs: &[TokenPair],
    spec: &PipelineSpec,
    device: &burn::tensor::Device,
    shards: usize,
) -> pipeline::PipelineRun {
    let dpo = common::loss("dpo", "");
    pipeline::run(pairs, spec, dpo.as_ref(), device, &Bars::hidden(), shards).expect("finite")
}

fn tiny_data() -> (Vec<TokenPair>, Specials) {
    let data = generate(&SyntheticSpec {
        pairs: 64,
        symbols: 5,
        prompt_len: [2, 3],
        response_len: [1, 4],
        sharpness: 2.0,
        reward_scale: 1.0,
        echo_bonus: 1.0,
        equal_lengths: false,
        seed: 2,
    });
    (data.pairs, data.specials)
}

#[test]
fn sft_lowers_the_nll_of_the_chosen_responses() {
    let device = common::device();
    let (pairs, specials) = tiny_data();
    let before = {
        let spec = tiny_spec(specials, 1, 1);
        let model = pipeline::initial_model(&spec, &device);
        pipeline::score(&model, &pairs, &spec, &device)
    };
    let run = dpo_run(&pairs, &tiny_spec(specials, 4, 1), &device, 2);
    let nll = |scores: &[f64]| -scores.iter().sum::<f64>();
    let (start, end) = (nll(&before.chosen), nll(&run.reference.chosen));
    assert!(end < 0.8 * start, "SFT NLL of y_w: {start} → {end}");
    let losses = &run.sft.loss;
    assert!(losses.last().unwrap() < &losses[0], "SFT loss {losses:?}");
}

#[test]
fn dpo_starts_at_log_2_with_quantity_21_equal_to_one() {
    let device = common::device();
    let (pairs, specials) = tiny_data();
    let spec = tiny_spec(specials, 1, 1);
    let run = dpo_run(&pairs, &spec, &device, 2);
    let first = run.dpo.loss[0];
    assert!(
        (first - std::f64::consts::LN_2).abs() < 1e-12,
        "DPO loss at step 0: {first}"
    );
    // TRL's metrics at step 0, π_θ = π_ref: no reward, no margin, no pair won.
    for name in ["rewards/chosen", "rewards/rejected", "rewards/margins"] {
        let at_start = run.dpo.pairs.get(name).expect(name)[0];
        assert!(at_start.abs() < 1e-12, "{name} at step 0: {at_start}");
    }
    // Whether y_w's reward is the larger is then decided by rounding: only a fraction.
    let accuracies = run.dpo.pairs.get("rewards/accuracies").unwrap();
    assert!(accuracies.iter().all(|a| (0.0..=1.0).contains(a)));
    assert_eq!(
        run.dpo.pairs.get("logps/chosen").unwrap().len(),
        run.dpo.loss.len()
    );
    assert!(run.sft.pairs.is_empty());
    // At π_θ = π_ref, (21) = 1 for every pair: scoring π_ref's scores in a DPO batch.
    let reference = pipeline::score(&run.model, &pairs, &spec, &device);
    let chunk: Vec<usize> = (0..pairs.len()).collect();
    let (inputs, _) = pipeline::pair_inputs(&run.model, &pairs, &chunk, &reference, &spec, &device);
    let log_21 = values(inputs.margin());
    assert!(
        log_21.iter().all(|m| m.abs() < 1e-12),
        "log (21) at init: {log_21:?}"
    );
    // After DPO, the policy has moved: (21) differs from 1.
    let moved = run.policy.log_ratio();
    let reference = run.reference.log_ratio();
    let change: f64 = moved
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .sum();
    assert!(change > 1e-3, "DPO did not move the policy");
}

#[test]
fn sharded_runs_repeat_bitwise_and_agree_with_whole_batches() {
    let device = common::device();
    let (pairs, specials) = tiny_data();
    let spec = tiny_spec(specials, 2, 2);
    let run = |shards| dpo_run(&pairs, &spec, &device, shards);
    // Threads finish in any order; the shares are summed in shard order.
    let (first, again, whole) = (run(2), run(2), run(1));
    assert_eq!(first.sft.loss, again.sft.loss);
    assert_eq!(first.dpo.loss, again.dpo.loss);
    assert_eq!(first.policy, again.policy);
    // Sharding changes only the order of additions in the gradients.
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9);
    assert!(
        close(&first.sft.loss, &whole.sft.loss),
        "{:?} vs {:?}",
        first.sft.loss,
        whole.sft.loss
    );
    assert!(close(&first.dpo.loss, &whole.dpo.loss));
    assert!(close(&first.policy.chosen, &whole.policy.chosen));
    assert!(close(&first.policy.rejected, &whole.policy.rejected));
}

#[test]
fn accumulated_micro_batches_equal_one_large_batch() {
    let device = common::device();
    let (pairs, specials) = tiny_data();
    let whole = tiny_spec(specials, 2, 2);
    let mut accumulated = whole.clone();
    for phase in [&mut accumulated.sft, &mut accumulated.dpo] {
        phase.batch_size = 4;
        phase.rules.accumulation = 4;
    }
    let (a, b) = (
        dpo_run(&pairs, &whole, &device, 2),
        dpo_run(&pairs, &accumulated, &device, 2),
    );
    // 64 pairs in effective batches of 16: the same 8 steps, to rounding.
    assert_eq!(a.sft.loss.len(), 8);
    assert_eq!(b.sft.loss.len(), 8);
    let close = |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(p, q)| (p - q).abs() < 1e-10);
    for (x, y) in [
        (&a.sft.loss, &b.sft.loss),
        (&a.sft.grad_norm, &b.sft.grad_norm),
        (&a.dpo.loss, &b.dpo.loss),
        (&a.dpo.grad_norm, &b.dpo.grad_norm),
        (&a.policy.chosen, &b.policy.chosen),
        (&a.policy.rejected, &b.policy.rejected),
    ] {
        assert!(close(x, y), "{x:?} against {y:?}");
    }
}

#[test]
fn steps_follow_the_schedule_and_the_clip() {
    use workbench::optim::{Decay, LrSchedule, Warmup};
    let device = common::device();
    let (pairs, specials) = tiny_data();
    let plain = tiny_spec(specials, 1, 2);
    let mut ruled = plain.clone();
    ruled.dpo.rules.schedule = LrSchedule {
        warmup: Warmup::Steps(2),
        decay: Decay::Cosine,
        floor: 0.1,
    };
    let (a, b) = (
        dpo_run(&pairs, &plain, &device, 2),
        dpo_run(&pairs, &ruled, &device, 2),
    );
    let total = b.dpo.lr.len();
    assert_eq!(total, 8);
    for (step, &lr) in b.dpo.lr.iter().enumerate() {
        let want = 1e-2 * ruled.dpo.rules.schedule.factor(step, total);
        assert_eq!(lr, want, "step {step}");
    }
    assert_eq!(b.dpo.lr[0], 0.0);
    assert!(a.dpo.lr.iter().all(|&lr| lr == 1e-2));
    // A first step at learning rate 0 leaves the policy where it was: the second loss
    // is the first.
    assert_eq!(b.dpo.loss[0], b.dpo.loss[1]);
    // SFT is the same in both: π_ref and its scores are bitwise equal.
    assert_eq!(a.reference, b.reference);
    assert_eq!(a.sft.grad_norm, b.sft.grad_norm);

    // A clip below every gradient norm: the first step (same for both) is clipped.
    let mut clipped = plain.clone();
    let smallest = a
        .dpo
        .grad_norm
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    clipped.dpo.rules.max_norm = smallest / 4.0;
    let c = dpo_run(&pairs, &clipped, &device, 2);
    assert_eq!(c.dpo.grad_norm[0], a.dpo.grad_norm[0]);
    assert_eq!(c.dpo.loss[0], a.dpo.loss[0]);
    // Adam's first step hardly depends on the gradient's scale; once steps with different
    // clip factors mix in its moments, the path is another.
    assert_ne!(c.dpo.loss[2..], a.dpo.loss[2..]);
    assert_ne!(c.policy, a.policy);
}

#[test]
fn the_first_sft_step_is_the_whole_batchs_nll() {
    // One batch of every pair, split into shards: the shards' shares sum to the mean NLL
    // per response token of the whole batch, whatever order the batch was drawn in.
    let device = common::device();
    let (pairs, specials) = tiny_data();
    let mut spec = tiny_spec(specials, 1, 1);
    spec.sft.batch_size = pairs.len();
    let model = pipeline::initial_model(&spec, &device);
    let sequences: Vec<(&[u32], &[u32])> = pairs
        .iter()
        .map(|p| (p.prompt.as_slice(), p.chosen.as_slice()))
        .collect();
    let batch = SequenceBatch::new(&sequences, specials, spec.shape.context, &device);
    let whole = values(pipeline::nll(&model, &batch))[0];
    let run = dpo_run(&pairs, &spec, &device, 2);
    assert_eq!(run.sft.loss.len(), 1);
    assert!(
        (run.sft.loss[0] - whole).abs() < 1e-12,
        "first SFT step {} against the whole batch's NLL {whole}",
        run.sft.loss[0]
    );
}

/// Every float parameter of `model`, in visiting order.
fn parameters(model: &Transformer) -> Vec<f64> {
    use burn::module::{Module, ModuleVisitor, Param};
    struct Collect(Vec<f64>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.extend(values(param.val()));
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

#[test]
fn parallel_adam_steps_are_burns_adam_steps_to_the_bit() {
    use burn::optim::GradientsParams;
    use workbench::optim::{OptimizerSpec, ParallelAdam};
    let device = common::device();
    let (pairs, specials) = tiny_data();
    let spec = tiny_spec(specials, 1, 1);
    let sequences: Vec<(&[u32], &[u32])> = pairs
        .iter()
        .map(|p| (p.prompt.as_slice(), p.chosen.as_slice()))
        .collect();
    let batch = SequenceBatch::new(&sequences, specials, spec.shape.context, &device);
    let grads = |model: &Transformer| {
        GradientsParams::from_grads(pipeline::nll(model, &batch).backward(), model)
    };
    let start = pipeline::initial_model(&spec, &device);
    let mut burns = OptimizerSpec::adam(spec.sft.adam).build();
    let mut reference = start.clone();
    for _ in 0..3 {
        let g = grads(&reference);
        reference = burns.step(spec.sft.adam.lr, reference, g);
    }
    let expected = parameters(&reference);
    assert_ne!(expected, parameters(&start), "three steps moved nothing");
    for workers in [1, 2, 3] {
        let mut parallel = ParallelAdam::new(spec.sft.adam, workers);
        let mut model = start.clone();
        for _ in 0..3 {
            let g = grads(&model);
            model = parallel.step(spec.sft.adam.lr, model, g);
        }
        assert_eq!(parameters(&model), expected, "{workers} workers");
    }
}
