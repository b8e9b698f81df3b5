//! Every built-in loss, as `workbench list losses` names it, runs where a loss is used: on
//! a bandit in expected and in sampled mode (all at once, as the example study does) and
//! in `sequence_dpo`; and the list names every TRL `loss_type`.

mod common;

use common::{python, repo, stderr, workbench};

/// The loss names `workbench list losses` prints (its lines with a name in column 3).
fn listed() -> Vec<String> {
    let output = workbench(&["list", "losses"]);
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn the_list_names_every_trl_loss_type_and_its_source() {
    let names = listed();
    for trl in [
        "sigmoid",
        "hinge",
        "ipo",
        "exo_pair",
        "nca_pair",
        "robust",
        "bco_pair",
        "sppo_hard",
        "aot",
        "aot_unpaired",
        "apo_zero",
        "apo_down",
        "discopop",
        "sft",
        "sigmoid_norm",
        "simpo",
        "cpo",
        "orpo",
    ] {
        assert!(names.iter().any(|n| n == trl), "{trl} not in {names:?}");
    }
    let text = String::from_utf8_lossy(&workbench(&["list", "losses"]).stdout).into_owned();
    assert_eq!(text.matches("source:").count(), names.len(), "{text}");
}

#[test]
fn every_listed_loss_trains_a_sequence_policy() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let experiment = repo("experiments/fig6_table2.toml");
    for name in listed() {
        let out = scratch.path().join(&name);
        // Every loss with its defaults, and the keys two of them require.
        let extra = match name.as_str() {
            "fdpo" => ", divergence = \"forward_kl\"",
            "robust" => ", label_smoothing = 0.1",
            _ => "",
        };
        let method = format!("dpo.method={{ loss = \"{name}\"{extra} }}");
        let output = workbench(&[
            "run",
            &experiment,
            "--smoke",
            "--set",
            &method,
            "--set",
            "data.pairs=200",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        // Every per-pair change and the summaries are finite numbers.
        python(
            "import h5py, numpy as np, sys\n\
             f = h5py.File(sys.argv[1])\n\
             assert np.isfinite(f['log_ratio_change/all'][:]).all()\n\
             assert np.isfinite(f['dpo/loss'][:]).all()\n",
            &[&out.join("fig6_table2.h5")],
        );
    }
}

#[test]
fn every_listed_loss_trains_a_bandit_in_expected_and_sampled_mode() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let study = repo("experiments/examples/trl_losses_weight_decay.toml");
    let text = std::fs::read_to_string(&study).expect("the example study");
    for name in listed() {
        assert!(
            text.contains(&format!("loss = \"{name}\"")) || name == "dpo" || name == "fdpo",
            "the example study lacks {name}"
        );
    }
    for mode in ["expected", "sampled"] {
        let out = scratch.path().join(mode);
        let set = format!("data.mode=\"{mode}\"");
        let output = workbench(&[
            "run",
            &study,
            "--set",
            &set,
            "--set",
            "optimizer.epochs=50",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(output.status.success(), "{mode}: {}", stderr(&output));
        python(
            "import h5py, numpy as np, sys\n\
             f = h5py.File(sys.argv[1])\n\
             groups = [g for g in f if g not in ('summary',) and isinstance(f[g], h5py.Group)]\n\
             assert len(groups) >= 20, groups\n\
             for g in groups:\n    p = f[g]['policy'][:]\n    assert np.isfinite(p).all(), g\n    assert np.allclose(p.sum(axis=1), 1.0), g\n",
            &[&out.join("trl_losses_weight_decay.h5")],
        );
    }
}
