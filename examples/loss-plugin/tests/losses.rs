//! The plugin's losses: gradients against finite differences, values on known inputs, and
//! the plugin binary running a Figure 2 experiment with them.

use loss_plugin::{CDpo, Hinge, SimPo};
use std::process::Command;
use workbench::losses::testing::{SAMPLE_PAIRS, max_gradient_error, values};
use workbench::losses::{Dpo, PairwiseLoss};

fn device() -> burn::tensor::Device {
    backends::device(backends::BackendName::Flex, backends::Precision::F64).expect("flex f64")
}

/// Autodiff agrees with central differences to 1e-6 for every loss and β (β chosen so that
/// no sample pair sits on the hinge's kink βh = 1, where the derivative jumps).
#[test]
fn gradients_match_finite_differences() {
    let losses: [&dyn PairwiseLoss; 3] = [
        &SimPo { gamma: 0.5 },
        &Hinge {},
        &CDpo {
            label_smoothing: 0.2,
        },
    ];
    for loss in losses {
        for beta in [0.1, 1.3, 2.5] {
            let error = max_gradient_error(loss, &SAMPLE_PAIRS, beta, &device());
            assert!(
                error < 1e-6,
                "{} β={beta}: gradient error {error}",
                loss.label()
            );
        }
    }
}

/// Values on one pair: log π_θ(y_w) = −0.5, log π_θ(y_l) = −1.5, reference −1, −1 (h = 1).
#[test]
fn values_on_a_known_pair() {
    let pair = [[-0.5, -1.5, -1.0, -1.0]];
    let value = |loss: &dyn PairwiseLoss, beta: f64| values(loss, &pair, beta, &device())[0];
    let softplus = |x: f64| (1.0 + x.exp()).ln();
    // SimPO: −log σ(β(−0.5 + 1.5) − γ) = softplus(γ − β)
    assert!((value(&SimPo { gamma: 0.5 }, 2.0) - softplus(0.5 - 2.0)).abs() < 1e-12);
    // Hinge: max(0, 1 − βh) with h = 1
    assert!((value(&Hinge {}, 0.4) - 0.6).abs() < 1e-12);
    assert_eq!(value(&Hinge {}, 3.0), 0.0);
    // cDPO with ε = 0 is DPO; with ε: (1 − ε) softplus(−β) + ε softplus(β)
    assert!(
        (value(
            &CDpo {
                label_smoothing: 0.0
            },
            1.0
        ) - value(&Dpo::default(), 1.0))
        .abs()
            < 1e-12
    );
    let expected = 0.75 * softplus(-1.0) + 0.25 * softplus(1.0);
    assert!(
        (value(
            &CDpo {
                label_smoothing: 0.25
            },
            1.0
        ) - expected)
            .abs()
            < 1e-12
    );
}

fn plugin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loss-plugin-workbench"))
        .args(args)
        .env_remove("WORKBENCH_BACKEND")
        .output()
        .expect("the plugin binary runs")
}

fn experiment(name: &str) -> String {
    format!(
        "{}/../../experiments/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Runs `experiments/fig2_weight_decay.toml` with the plugin binary into `out`, with `set`
/// overrides; fails the test on an error.
fn run_fig2(out: &std::path::Path, set: &[&str]) {
    let file = experiment("fig2_weight_decay");
    let out = out.display().to_string();
    let mut args = vec!["run", file.as_str(), "--out", out.as_str(), "--quiet"];
    for s in set {
        args.extend(["--set", s]);
    }
    let output = plugin(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `script` with python3 (h5py, numpy) on `files`; fails the test if it fails.
fn python_check(script: &str, files: &[&str]) {
    let check = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(files)
        .output()
        .expect("python3");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn the_plugin_binary_lists_and_runs_its_losses() {
    let listed = String::from_utf8_lossy(&plugin(&["list", "losses"]).stdout).into_owned();
    for name in [
        "plugin_simpo",
        "plugin_hinge",
        "cdpo",
        "dpo",
        "robust",
        "bco_pair",
    ] {
        assert!(listed.contains(name), "{name} missing:\n{listed}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    run_fig2(
        dir.path(),
        &[
            "methods=[{ loss = \"plugin_simpo\", gamma = 0.2 }, { loss = \"cdpo\" }, { loss = [{ name = \"plugin_hinge\", weight = 0.5 }, { name = \"dpo\", weight = 0.5 }] }]",
            "optimizer.epochs=200",
        ],
    );
    let script = "import h5py, sys, numpy as np\n\
        f = h5py.File(sys.argv[1])\n\
        for m in ['plugin_simpo', 'cdpo', '0.5plugin_hinge+0.5dpo']:\n\
        \x20   d = f[m + '/distance'][()]\n\
        \x20   assert d.shape == (11,) and np.all(np.isfinite(d)), (m, d)\n\
        \x20   note = f.attrs[m + '/counterpart']\n\
        \x20   assert 'DPO' in note and 'declares none' in note, note\n";
    let path = dir
        .path()
        .join("fig2_weight_decay.h5")
        .display()
        .to_string();
    python_check(script, &[&path]);
}

#[test]
fn bad_plugin_parameters_name_the_loss_and_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().display().to_string();
    let file = experiment("fig2_weight_decay");
    for (method, needles) in [
        (
            "methods=[{ loss = \"plugin_simpo\", gama = 1 }]",
            ["plugin_simpo", "gama"],
        ),
        (
            "methods=[{ loss = \"cdpo\", label_smoothing = 0.9 }]",
            ["cdpo", "label_smoothing"],
        ),
    ] {
        let output = plugin(&["run", &file, "--out", &out, "--quiet", "--set", method]);
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        for needle in needles {
            assert!(message.contains(needle), "`{needle}` not in {message}");
        }
    }
}

/// On sequences the pipeline passes each response's scored token count (EOS included, none
/// for a response the context cuts), so SimPO normalises by length: its value is the
/// per-token formula, and it differs from the unnormalised margin when lengths differ.
#[test]
fn simpo_on_sequences_divides_by_each_responses_token_count() {
    use workbench::optim::{AdamSpec, StepRules};
    use workbench::sequence::pipeline::{self, Phase, PipelineSpec};
    use workbench::sequence::{Specials, TokenPair, TransformerShape};

    let device = device();
    let specials = Specials::after(6);
    let phase = Phase {
        epochs: 1,
        adam: AdamSpec {
            lr: 1e-3,
            betas: [0.9, 0.999],
            eps: 1e-8,
        },
        batch_size: 4,
        rules: StepRules::default(),
        log_every: 0,
    };
    let spec = PipelineSpec {
        shape: TransformerShape {
            vocab: specials.vocab,
            d_model: 8,
            n_layers: 1,
            n_heads: 2,
            d_ff: 8,
            context: 8,
        },
        specials,
        sft: phase,
        dpo: phase,
        beta: 0.7,
        seed: 3,
        dpo_seed: None,
        eval_every: 0,
        keep_reference: false,
        resume: None,
    };
    let pair = |chosen: Vec<u32>, rejected: Vec<u32>| TokenPair {
        prompt: vec![1, 2],
        chosen,
        rejected,
    };
    // Room after BOS is 7 tokens: [3] and [4, 5, 0] fit whole (2 and 4 scored tokens with
    // EOS); [0, 1, 2, 3, 4, 5] is cut to 5 tokens and gets no EOS.
    let pairs = [
        pair(vec![3], vec![4, 5, 0]),
        pair(vec![4, 5, 0], vec![0, 1, 2, 3, 4, 5]),
    ];
    let model = pipeline::initial_model(&spec, &device);
    let reference = pipeline::score(&model, &pairs, &spec, &device);
    let (inputs, _) = pipeline::pair_inputs(&model, &pairs, &[0, 1], &reference, &spec, &device);
    let row = |t: &burn::tensor::Tensor<2>| workbench::tensors::to_vec(t.clone().detach());
    let (chosen_tokens, rejected_tokens) = (
        row(inputs
            .chosen_tokens
            .as_ref()
            .expect("token counts on sequences")),
        row(inputs
            .rejected_tokens
            .as_ref()
            .expect("token counts on sequences")),
    );
    assert_eq!(chosen_tokens, [2.0, 4.0]);
    assert_eq!(rejected_tokens, [4.0, 5.0]);
    let (w, l) = (row(&inputs.policy_chosen), row(&inputs.policy_rejected));
    let simpo = SimPo { gamma: 0.5 };
    let got = workbench::tensors::to_vec(simpo.loss(&inputs, spec.beta).detach());
    let softplus = |x: f64| x.exp().ln_1p();
    for i in 0..2 {
        let margin = spec.beta * (w[i] / chosen_tokens[i] - l[i] / rejected_tokens[i]) - 0.5;
        let unnormalised = spec.beta * (w[i] - l[i]) - 0.5;
        assert!((got[i] - softplus(-margin)).abs() < 1e-12, "pair {i}");
        assert!(
            (got[i] - softplus(-unnormalised)).abs() > 1e-3,
            "pair {i}: SimPO ignored the lengths"
        );
    }
}

/// A policy family registered by the plugin is chosen by name like a built-in one: with
/// φ = I the log-linear policy is the softmax policy from θ₀ = 0; with one feature it can
/// only move along φ (log π(a) − log π(b) = θ (φ(a) − φ(b))).
#[test]
fn the_plugin_policy_is_chosen_by_name_in_the_file() {
    let listed = String::from_utf8_lossy(&plugin(&["list", "policies"]).stdout).into_owned();
    assert!(listed.contains("log_linear"), "{listed}");
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |name: &str, policy: &str| {
        run_fig2(
            dir.path(),
            &[
                &format!("name={name}"),
                &format!("policy={policy}"),
                "optimizer.epochs=300",
            ],
        );
        dir.path().join(format!("{name}.h5")).display().to_string()
    };
    let softmax = run("softmax", "{ name = \"softmax\", init = \"zeros\" }");
    let identity = run(
        "identity",
        "{ name = \"log_linear\", features = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], init = [0.0, 0.0, 0.0] }",
    );
    let one_feature = run(
        "one_feature",
        "{ name = \"log_linear\", features = [[1.0], [0.5], [-1.0]], init = [0.0] }",
    );
    let script = "import h5py, sys, numpy as np\n\
        s, i, o = (h5py.File(p) for p in sys.argv[1:4])\n\
        for m in ['dpo', 'fdpo_forward_kl', 'ipo']:\n\
        \x20   assert np.abs(s[m + '/policy'][()] - i[m + '/policy'][()]).max() < 1e-12, m\n\
        \x20   lp = np.log(o[m + '/policy'][()])\n\
        \x20   theta = lp[:, 0] - lp[:, 2]\n\
        \x20   assert np.abs(lp[:, 0] - lp[:, 1] - 0.25 * theta).max() < 1e-9, m\n\
        \x20   assert np.abs(theta).max() > 1e-3, m\n";
    python_check(script, &[&softmax, &identity, &one_feature]);
}
