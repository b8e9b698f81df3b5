//! What a DPO user watches, end to end through the CLI: the held-out split
//! (`data.eval_fraction`, `data.eval_path`), its metrics every `dpo.eval_every` steps
//! recomputed from the stored per-pair log-probabilities, `analysis.on = "eval"`, and the
//! per-step logs in rows of `log_every` steps (each row the mean of its steps).

mod common;

use common::{python, repo, stderr, workbench};
use std::path::Path;

/// `workbench run FILE --out OUT --quiet --set S...`.
fn run(file: &str, out: &Path, sets: &[&str]) -> std::process::Output {
    let mut args = vec!["run", file, "--out", out.to_str().unwrap(), "--quiet"];
    for set in sets {
        args.extend(["--set", set]);
    }
    workbench(&args)
}

const SMALL: [&str; 4] = [
    "data.pairs=600",
    "sft.epochs=1",
    "dpo.epochs=1",
    "analysis.q=10.0",
];

/// The held-out metrics of the last evaluation, recomputed with numpy from the stored
/// scores of the held-out pairs under π_ref and π_θ (DPO's loss: −log σ(β·margin)); the
/// evaluation steps; the split's sizes; Table 2 on the held-out pairs.
const EVAL_CHECK: &str = r#"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
beta = 0.1
n_eval, n_train = int(f["data/eval_pairs"][()]), int(f["data/pairs"][()])
assert (n_eval, n_train) == (150, 450), (n_eval, n_train)
rc, rr = f["eval/reference/log_prob_chosen"][:], f["eval/reference/log_prob_rejected"][:]
pc, pr = f["eval/policy/log_prob_chosen"][:], f["eval/policy/log_prob_rejected"][:]
assert len(rc) == n_eval and len(f["reference/log_prob_chosen"]) == n_train
chosen, rejected = beta * (pc - rc), beta * (pr - rr)
margin = chosen - rejected
expect = {
    "rewards/chosen": chosen.mean(), "rewards/rejected": rejected.mean(),
    "rewards/margins": margin.mean(), "rewards/accuracies": (chosen > rejected).mean(),
    "logps/chosen": pc.mean(), "logps/rejected": pr.mean(),
    "loss": np.logaddexp(0, -margin).mean(),
}
steps = f["eval/dpo/step"][:]
dpo_steps = f["dpo/step"][:]
assert list(steps) == [2, 4, 6, 8], steps
assert dpo_steps[-1] == 8
for name, value in expect.items():
    got = f["eval/dpo/" + name][-1]
    assert abs(got - value) <= 1e-9 * max(1, abs(value)), (name, got, value)
# Table 2 is computed on the held-out pairs.
rho = rr - rc
assert np.allclose(f["log_rho_ref/all"][:], rho, rtol=0, atol=1e-12)
assert np.allclose(f["log_ratio_change/all"][:], (pr - pc) - rho, rtol=0, atol=1e-12)
assert f.attrs["analysis_pairs"] == "eval (150 pairs)", f.attrs["analysis_pairs"]
print("ok")
"#;

#[test]
fn held_out_metrics_agree_with_the_stored_scores_and_table_2_uses_them() {
    let out = common::scratch("wb-held-out-");
    let file = repo("experiments/fig6_table2.toml");
    let mut sets = SMALL.to_vec();
    sets.extend([
        "data.eval_fraction=0.25",
        "dpo.eval_every=2",
        "analysis.on=\"eval\"",
    ]);
    let output = run(&file, &out, &sets);
    assert!(output.status.success(), "{}", stderr(&output));
    python(EVAL_CHECK, &[&out.join("fig6_table2.h5")]);
}

/// Rows of 3 steps are the means of the same run's steps logged one by one.
const ROWS_CHECK: &str = r#"
import sys, h5py, numpy as np
one, three = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for phase, names in [("sft", ["loss", "lr", "grad_norm"]),
                     ("dpo", ["loss", "lr", "grad_norm", "rewards/margins", "logps/chosen"])]:
    steps = one[phase + "/step"][:]
    assert list(steps) == list(range(1, len(steps) + 1))
    rows = three[phase + "/step"][:]
    ends = list(range(3, len(steps) + 1, 3))
    if len(steps) % 3:
        ends.append(len(steps))
    assert list(rows) == ends, (rows, ends)
    for name in names:
        v = one[phase + "/" + name][:]
        starts = [0] + ends[:-1]
        want = [v[a:b].mean() for a, b in zip(starts, ends)]
        got = three[phase + "/" + name][:]
        assert np.allclose(got, want, rtol=1e-12, atol=1e-15), (phase, name, got, want)
print("ok")
"#;

#[test]
fn rows_of_log_every_steps_are_the_means_of_their_steps() {
    let dir = common::scratch("wb-log-every-");
    let file = repo("experiments/fig6_table2.toml");
    let (one, three) = (dir.join("one"), dir.join("three"));
    let mut sets = SMALL.to_vec();
    sets.extend(["sft.log_every=1", "dpo.log_every=1"]);
    let output = run(&file, &one, &sets);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut sets = SMALL.to_vec();
    sets.extend(["sft.log_every=3", "dpo.log_every=3"]);
    let output = run(&file, &three, &sets);
    assert!(output.status.success(), "{}", stderr(&output));
    python(
        ROWS_CHECK,
        &[&one.join("fig6_table2.h5"), &three.join("fig6_table2.h5")],
    );
}

#[test]
fn a_held_out_jsonl_file_is_scored_and_bad_splits_are_refused() {
    let out = common::scratch("wb-eval-path-");
    let file = repo("experiments/examples/hh_jsonl.toml");
    let eval = repo("experiments/data/hh_sample.jsonl");
    let eval_path = format!("data.eval_path={eval:?}");
    let sets = [
        eval_path.as_str(),
        "sft.epochs=1",
        "dpo.epochs=1",
        "analysis.on=\"eval\"",
    ];
    let output = run(&file, &out, &sets);
    assert!(output.status.success(), "{}", stderr(&output));
    python(
        r#"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f["data/eval_pairs"][()] == 12 and f["data/pairs"][()] == 12
assert len(f["eval/policy/log_prob_chosen"]) == 12
# The same pairs, held out and trained on: pi_ref scores them alike.
assert abs(f["eval/reference/log_prob_chosen"][0] - f["reference/log_prob_chosen"][0]) < 1e-9
assert f["eval/dpo/step"][-1] == f["dpo/step"][-1]
"#,
        &[&out.join("hh_jsonl.h5")],
    );

    let synthetic = repo("experiments/fig6_table2.toml");
    for (sets, needles) in [
        (
            vec![eval_path.as_str()],
            ["data.eval_path", "source = \"jsonl\" only"],
        ),
        (
            vec!["data.eval_fraction=1.0"],
            ["data.eval_fraction", "[0, 1)"],
        ),
        (
            vec!["analysis.on=\"eval\""],
            ["analysis.on", "needs held-out pairs"],
        ),
        (
            vec!["dpo.eval_every=5"],
            ["dpo.eval_every", "needs held-out pairs"],
        ),
    ] {
        let output = run(&synthetic, &out, &sets);
        let err = stderr(&output);
        assert!(!output.status.success(), "{sets:?} accepted");
        for needle in needles {
            assert!(err.contains(needle), "{sets:?}: {err}");
        }
    }
    let both = [eval_path.as_str(), "data.eval_fraction=0.5"];
    let output = run(&file, &out, &both);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("alternative to data.eval_fraction"));
}
