//! Section 5.3's instruments: both responses of a pair scored under one prompt (a crafted
//! JSONL pair of unequal lengths, laid out and inspected), and the length-adjusted analysis
//! over all pairs with the effect sizes, recomputed from the stored per-pair data with
//! statsmodels and scipy (tests/oracle/adjusted.py).

mod common;

use common::{python, repo, stderr, workbench};

/// A pair whose long prompt the context cannot hold beside its longer response, then 23
/// short pairs that fit whole.
fn jsonl() -> String {
    let mut lines = vec![format!(
        r#"{{"prompt": "{}", "chosen": "good", "rejected": "{}"}}"#,
        "p".repeat(30),
        "r".repeat(20)
    )];
    for i in 0..23 {
        let prompt = "abcdefgh"[..3 + i % 5].to_string();
        let chosen = "wxyz12"[..2 + i % 4].to_string();
        let rejected = "mnopq"[..1 + (i * 7) % 5].to_string() + "!";
        lines.push(format!(
            r#"{{"prompt": "{prompt}", "chosen": "{chosen}", "rejected": "{rejected}"}}"#
        ));
    }
    lines.join("\n") + "\n"
}

const TOML: &str = r#"name = "one_prompt"
kind = "sequence_dpo"

[data]
source = "jsonl"
path = "pairs.jsonl"

[model]
d_model = 8
n_layers = 1
n_heads = 2
d_ff = 16
context = 32

[sft]
epochs = 1
batch_size = 8

[dpo]
epochs = 1
batch_size = 8

[analysis]
q = 25.0
"#;

#[test]
fn a_pair_of_unequal_lengths_is_scored_under_one_prompt() {
    let dir = common::scratch("wb-one-prompt-");
    std::fs::write(dir.join("pairs.jsonl"), jsonl()).unwrap();
    std::fs::write(dir.join("one_prompt.toml"), TOML).unwrap();
    let out = dir.join("out");
    let file = dir.join("one_prompt.toml");
    let output = workbench(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Context 32: 31 tokens after BOS. y_w ("good" + EOS) keeps 5, y_l keeps
    // max(31 − 30, 31/2) = 15 of its 21 (cut, no EOS): the prompt keeps 31 − 15 = 16 of its
    // 30 bytes for both (y_w alone would have kept 26). The short pairs keep everything.
    python(
        r#"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
get = lambda k: f["lengths/" + k][:]
assert get("scored_prompt")[0] == 16, get("scored_prompt")[:3]
assert (get("scored_chosen")[0], get("scored_rejected")[0]) == (5, 15)
assert (get("cut_chosen")[0], get("cut_rejected")[0]) == (0, 1)
prompts = [3 + i % 5 for i in range(23)]
assert list(get("scored_prompt")[1:]) == prompts, get("scored_prompt")
assert not get("cut_chosen")[1:].any() and not get("cut_rejected")[1:].any()
assert list(get("scored_chosen")[1:]) == [3 + i % 4 for i in range(23)]
print("ok")
"#,
        &[&out.join("one_prompt.h5")],
    );
}

#[test]
fn the_adjusted_analysis_and_effect_sizes_agree_with_statsmodels_and_scipy() {
    let out = common::scratch("wb-adjusted-");
    let small = ["sft.epochs=1", "dpo.epochs=1"];
    // The default synthetic data, Table 2 on the pairs trained on: its groups are length
    // groups (no stratum of the length difference holds both); then lengths drawn apart
    // from each other, half the pairs held out and analysed, wider groups: several strata.
    let cases: [(&str, &[&str], usize); 2] = [
        ("fig6_table2", &["data.pairs=600", "analysis.q=10.0"], 0),
        (
            "fig6_table2_controlled",
            &[
                "data.pairs=1200",
                "analysis.q=40.0",
                "data.equal_lengths=false",
                "data.eval_fraction=0.5",
                "analysis.on=\"eval\"",
            ],
            2,
        ),
    ];
    for (name, sets, strata) in cases {
        let dir = out.join(name);
        let (file, dir_s) = (
            repo(&format!("experiments/{name}.toml")),
            dir.display().to_string(),
        );
        let mut args = vec!["run", &file, "--out", &dir_s, "--quiet"];
        for set in small.iter().chain(sets) {
            args.extend(["--set", set]);
        }
        let output = workbench(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        let script = std::fs::read_to_string(repo("tests/oracle/adjusted.py")).unwrap();
        let said = python(&script, &[&dir.join(format!("{name}.h5"))]);
        let said = String::from_utf8_lossy(&said.stdout).into_owned();
        let used: usize = said
            .split(['(', ' '])
            .find_map(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("{said}"));
        assert!(
            if strata == 0 {
                used == 0
            } else {
                used >= strata
            },
            "{name}: {said}"
        );
    }
}

#[test]
fn random_labels_swap_the_responses_of_the_drawn_pairs_and_bad_rates_are_refused() {
    let out = common::scratch("wb-flip-");
    let file = repo("experiments/fig6_table2.toml");
    let small = [
        "data.pairs=600",
        "sft.epochs=1",
        "dpo.epochs=1",
        "analysis.q=10.0",
    ];
    for (name, flip) in [
        ("plain", "data.flip_labels=0.0"),
        ("flipped", "data.flip_labels=0.5"),
    ] {
        let dir = out.join(name).display().to_string();
        let mut args = vec!["run", &file, "--out", &dir, "--quiet", "--set", flip];
        for set in &small {
            args.extend(["--set", set]);
        }
        let output = workbench(&args);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    python(
        r#"
import sys, h5py, numpy as np
plain, flipped = (h5py.File(p, "r") for p in sys.argv[1:3])
assert "data/flipped" not in plain
flags = flipped["data/flipped"][:].astype(bool)
assert flipped["data/flipped_pairs"][()] == flags.sum()
assert 240 <= flags.sum() <= 360, flags.sum()
for a, b in [("chosen", "rejected"), ("rejected", "chosen")]:
    mine, theirs = flipped["lengths/" + a][:], plain["lengths/" + b][:]
    assert (mine[flags] == theirs[flags]).all()
    assert (mine[~flags] == plain["lengths/" + a][:][~flags]).all()
margin = flipped["reward_margin/all"][:]
assert np.allclose(margin[flags], -plain["reward_margin/all"][:][flags])
print("ok")
"#,
        &[
            &out.join("plain/fig6_table2.h5"),
            &out.join("flipped/fig6_table2.h5"),
        ],
    );
    for bad in [
        "data.flip_labels=1.5",
        "data.flip_labels=-0.1",
        "data.flip_labels=nan",
    ] {
        let output = workbench(&["validate", &file, "--set", bad]);
        assert!(!output.status.success());
        let said = stderr(&output);
        assert!(
            said.contains("data.flip_labels") && said.contains("[0, 1]"),
            "{said}"
        );
    }
}

#[test]
fn the_analysis_over_steps_ends_at_the_final_analysis() {
    let out = common::scratch("wb-trajectory-");
    let file = repo("experiments/fig6_table2.toml");
    let dir = out.join("run");
    let dir_s = dir.display().to_string();
    // 640 pairs in batches of 64: 10 DPO steps an epoch, 20 in all; a row every 4 steps
    // and every 5 (whose last row is the final model).
    for every in [4, 5] {
        let every_set = format!("analysis.every={every}");
        let name = format!("name=\"every_{every}\"");
        let output = workbench(&[
            "run",
            &file,
            "--out",
            &dir_s,
            "--quiet",
            "--set",
            "data.pairs=640",
            "--set",
            "sft.epochs=1",
            "--set",
            "dpo.epochs=2",
            "--set",
            "analysis.q=10.0",
            "--set",
            &every_set,
            "--set",
            &name,
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let script = r#"
import sys, h5py, numpy as np
from scipy.stats import mannwhitneyu
for path, every in zip(sys.argv[1::2], sys.argv[2::2]):
    f = h5py.File(path, "r")
    t = {k: f["trajectory/" + k][()] for k in f["trajectory"]}
    every = int(every)
    assert list(t["step"]) == list(range(every, 21, every)), t["step"]
    if 20 % every == 0:
        low, high = f["log_ratio_change/low"][()], f["log_ratio_change/high"][()]
        u1 = mannwhitneyu(low, high).statistic
        r = 2 * u1 / (len(low) * len(high)) - 1
        for got, want in [
            (t["rank_biserial"][-1], r),
            (t["rank_biserial"][-1], f["summary/rank_biserial"][()]),
            (t["low_mean"][-1], low.mean()),
            (t["high_mean"][-1], high.mean()),
            (t["log_rho_coefficient"][-1], f["summary/log_rho_coefficient"][()]),
            (t["log_rho_coefficient_ci_high"][-1], f["summary/log_rho_coefficient_ci_high"][()]),
        ]:
            assert abs(got - want) < 1e-9 * max(1, abs(want)), (path, got, want)
    assert np.all(t["log_rho_coefficient_ci_low"] <= t["log_rho_coefficient"])
print("ok")
"#;
    let (four, five) = (dir.join("every_4.h5"), dir.join("every_5.h5"));
    let (e4, e5) = (std::path::PathBuf::from("4"), std::path::PathBuf::from("5"));
    let said = python(script, &[&four, &e4, &five, &e5]);
    assert_eq!(String::from_utf8_lossy(&said.stdout).trim(), "ok");
    // The report draws it.
    let report = out.join("report");
    let output = workbench(&["report", &dir_s, "--out", &report.display().to_string()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(report.join("every_5_trajectory.png").is_file());
    // Not with a training state that could not keep its rows, nor on held-out pairs.
    let output = workbench(&[
        "validate",
        &file,
        "--set",
        "analysis.every=5",
        "--set",
        "output.checkpoint_every=3",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("analysis.every = 5: is not kept with the training state"),
        "{}",
        stderr(&output)
    );
}
