//! Sweeps end to end: points equal plain runs with the same values (bitwise), the sweep
//! file's table equals the point files, `--point` in separate processes plus `collect`
//! equals one run, failures are contained and named, bad points are refused before any
//! run, and the report's confidence intervals agree with scipy.

mod common;

use common::{python, repo, stderr, workbench};
use std::path::Path;

/// A bandit sweep: a cartesian grid, a zipped pair of keys and seeds (sampled data).
const BANDIT: &str = r#"
name = "wd_study"
kind = "weight_decay_sweep"

[bandit]
pi_star = [0.6, 0.3, 0.1]
pi_ref = [0.2, 0.3, 0.5]
beta = 0.5

[data]
mode = "sampled"
n_pairs = 60

[optimizer]
lr = 0.05
epochs = 40

[constraints.weight_decay]
alpha = [0.0, 0.1, 1.0]

[[methods]]
loss = "dpo"

[[methods]]
loss = "ipo"
"#;

const BANDIT_SWEEP: &str = r#"
[sweep]
grid = { "optimizer.lr" = [0.05, 0.01], "data.pairs" = ["uniform", "reference"] }
zip = { "bandit.beta" = [0.5, 1.0], "data.n_pairs" = [60, 90] }
seeds = [3, 8]
"#;

/// A transformer sweep at a few seconds a point: β × zipped lengths × seeds.
const SEQUENCE: &str = r#"
name = "seq_study"
kind = "sequence_dpo"

[data]
source = "synthetic"
pairs = 300
symbols = 8
prompt_len = [2, 6]
response_len = [1, 10]

[model]
d_model = 8
n_layers = 1
n_heads = 2
d_ff = 16
context = 18

[sft]
epochs = 1
batch_size = 64

[dpo]
epochs = 1
batch_size = 64

[analysis]
q = 10.0
"#;

const SEQUENCE_SWEEP: &str = r#"
[sweep]
grid = { "dpo.beta" = [0.1, 1.0] }
zip = { "data.prompt_len" = [[2, 6], [3, 3]], "data.response_len" = [[1, 10], [5, 5]] }
seeds = 2
"#;

/// Mode seeking on sampled pairs: its kind trains the seeds of a sweep side by side.
const MODES: &str = r#"
name = "ms_study"
kind = "mode_seeking"

[data]
mode = "sampled"
n_pairs = 100

[optimizer]
epochs = 200
"#;

const MODES_SWEEP: &str = r#"
[sweep]
grid = { "optimizer.lr" = [0.01, 0.02] }
seeds = 4
"#;

fn run_ok(args: &[&str]) -> String {
    let output = workbench(args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stderr(&output)
}

/// Compares every dataset and the resolved configuration of two results files (h5py).
const SAME_RESULTS: &str = r#"
import sys, h5py, numpy as np
def datasets(path):
    f = h5py.File(path, "r")
    out = {}
    f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return f.attrs["config_toml"], out
pairs = sys.argv[1:]
for a, b in zip(pairs[::2], pairs[1::2]):
    ca, da = datasets(a)
    cb, db = datasets(b)
    assert ca == cb, f"{a} and {b}: config_toml differs"
    assert sorted(da) == sorted(db), f"{a} and {b}: datasets differ: {sorted(set(da) ^ set(db))}"
    for name in da:
        x, y = np.asarray(da[name]), np.asarray(db[name])
        assert x.shape == y.shape and x.dtype == y.dtype, f"{a}: {name}"
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), f"{a} vs {b}: {name} differs"
        else:
            assert (x == y).all(), f"{a} vs {b}: {name} differs"
print(len(pairs) // 2)
"#;

/// Point values as `--set` arguments, from the sweep file (h5py), one line per point:
/// `status<TAB>key=value<TAB>...` with the seed written to each seed key.
const POINT_SETS: &str = r#"
import sys, json, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
keys = json.loads(f.attrs["swept_keys"])
seed_keys = json.loads(f.attrs["seed_keys"])
status = [s.decode() for s in f["sweep/status"][()]]
for i in range(len(status)):
    sets = []
    for k in keys:
        v = f["sweep/" + k][i]
        if isinstance(v, bytes):
            v = v.decode()
            if not (v.startswith("[") or v in ("true", "false")):
                v = '"' + v + '"'
        else:
            v = repr(float(v)) if float(v) != int(v) else str(int(v)) if k.endswith("n_pairs") else repr(float(v))
        sets.append(f"{k}={v}")
    if "sweep/seed" in f:
        for k in seed_keys:
            # Per-key seeds have a column each; `seeds = N` writes one seed to every key.
            column = "sweep/" + k if "sweep/" + k in f else "sweep/seed"
            sets.append(f"{k}={int(f[column][i])}")
    print(status[i] + "\t" + "\t".join(sets))
"#;

/// Writes `base` + `sweep` as `<dir>/<name>.toml` and `base` alone as `<dir>/<name>_base.toml`.
fn files(dir: &Path, name: &str, base: &str, sweep: &str) -> (String, String) {
    let swept = dir.join(format!("{name}.toml"));
    let plain = dir.join(format!("{name}_base.toml"));
    std::fs::write(&swept, format!("{base}{sweep}")).unwrap();
    std::fs::write(&plain, base).unwrap();
    (swept.display().to_string(), plain.display().to_string())
}

/// Runs the sweep, then each point as a plain run with its values, and compares.
fn points_equal_plain_runs(name: &str, base: &str, sweep: &str, points: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (swept, plain) = files(dir.path(), name, base, sweep);
    let out = dir.path().join("out");
    let out_s = out.display().to_string();
    let log = run_ok(&["run", &swept, "--out", &out_s, "--quiet", "--jobs", "2"]);
    assert!(
        log.contains(&format!("{points} done, 0 failed, 0 missing")),
        "{log}"
    );
    let sweep_file = out.join(format!("{name}.h5"));
    let listing = python(POINT_SETS, &[sweep_file.as_path()]);
    let lines: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), points);
    let mut compare = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut fields = line.split('\t');
        assert_eq!(fields.next(), Some("done"));
        let single = dir.path().join(format!("single-{i}"));
        let single_s = single.display().to_string();
        let mut args = vec!["run", plain.as_str(), "--out", single_s.as_str(), "--quiet"];
        for set in fields {
            args.extend(["--set", set]);
        }
        run_ok(&args);
        compare.push(out.join(name).join(format!("point-{i:04}.h5")));
        compare.push(single.join(format!("{name}.h5")));
    }
    let args: Vec<&Path> = compare.iter().map(|p| p.as_path()).collect();
    let checked = python(SAME_RESULTS, &args);
    assert_eq!(
        String::from_utf8_lossy(&checked.stdout).trim(),
        points.to_string()
    );
    // The sweep file's summary columns are the point files' summaries.
    let script = r#"
import sys, h5py, numpy as np, os
f = h5py.File(sys.argv[1], "r")
root = os.path.dirname(sys.argv[1])
files = [s.decode() for s in f["sweep/file"][()]]
names = []
f["summary"].visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
assert names, "no summary columns"
for i, rel in enumerate(files):
    p = h5py.File(os.path.join(root, rel), "r")
    point_names = []
    p["summary"].visititems(lambda n, o: point_names.append(n) if isinstance(o, h5py.Dataset) else None)
    assert sorted(point_names) == sorted(names)
    for n in names:
        assert np.array_equal(f["summary/" + n][i], p["summary/" + n][()], equal_nan=True), (i, n)
    assert int(p.attrs["sweep_index"]) == i
print("ok")
"#;
    python(script, &[sweep_file.as_path()]);
    log
}

#[test]
fn bandit_sweep_points_equal_plain_runs_bitwise() {
    // 2 lr × 2 pair schemes × 2 zipped rows × 2 seeds.
    points_equal_plain_runs("wd_study", BANDIT, BANDIT_SWEEP, 16);
}

#[test]
fn points_trained_as_one_batch_equal_plain_runs_bitwise() {
    // 2 lr × 4 seeds: mode seeking trains each lr's 4 seeds as one batch (data.seed is its
    // batch dimension), and every point still equals its own plain run.
    let log = points_equal_plain_runs("ms_study", MODES, MODES_SWEEP, 8);
    assert_eq!(log.matches("in a batch of 4").count(), 8, "{log}");
}

#[test]
fn sequence_sweep_points_equal_plain_runs_bitwise() {
    // 2 β × 2 zipped rows × 2 seeds, seeds written to data.seed and model.seed.
    points_equal_plain_runs("seq_study", SEQUENCE, SEQUENCE_SWEEP, 8);
}

#[test]
fn per_key_seeds_points_equal_plain_runs_and_a_dpo_seed_keeps_pi_ref() {
    // 2 data seeds × 2 DPO batch-order seeds, model.seed as the file has it.
    let sweep = "\n[sweep]\nseeds = { \"data.seed\" = [1, 2], \"dpo.seed\" = [5, 6] }\n";
    points_equal_plain_runs("seq_study", SEQUENCE, sweep, 4);
    // Points 0 and 1 share data.seed = 1 and differ in dpo.seed: the same π_ref, another
    // batch order; points 0 and 2 differ in the data.
    let script = r#"
import sys, h5py, numpy as np, os
f = h5py.File(sys.argv[1], "r")
assert list(f["sweep/data.seed"][()]) == [1, 1, 2, 2], f["sweep/data.seed"][()]
assert list(f["sweep/dpo.seed"][()]) == [5, 6, 5, 6]
assert list(f["sweep/seed"][()]) == [0, 1, 2, 3]
root = os.path.dirname(sys.argv[1])
p = [h5py.File(os.path.join(root, s.decode()), "r") for s in f["sweep/file"][()]]
ref = "reference/log_prob_chosen"
pol = "policy/log_prob_chosen"
assert np.array_equal(p[0][ref][()], p[1][ref][()])
assert not np.array_equal(p[0][pol][()], p[1][pol][()])
assert p[0][ref].shape != p[2][ref].shape or not np.array_equal(p[0][ref][()], p[2][ref][()])
print("ok")
"#;
    let dir = tempfile::tempdir().unwrap();
    let (swept, _) = files(dir.path(), "seq_study", SEQUENCE, sweep);
    let shown = workbench(&["validate", &swept]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("sweep of 4 points over 4 replicates (data.seed × 2, dpo.seed × 2)"),
        "{shown}"
    );
    let out = dir.path().join("out").display().to_string();
    run_ok(&["run", &swept, "--out", &out, "--quiet"]);
    let sweep_file = dir.path().join("out/seq_study.h5");
    let checked = python(script, &[sweep_file.as_path()]);
    assert_eq!(String::from_utf8_lossy(&checked.stdout).trim(), "ok");
    // A key the kind does not declare as a seed is refused, named.
    let bad = files(
        dir.path(),
        "bad",
        SEQUENCE,
        "\n[sweep]\nseeds = { \"dpo.beta\" = 2 }\n",
    )
    .0;
    let output = workbench(&["validate", &bad]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(
            "sweep.seeds.\"dpo.beta\": is not a seed key of kind sequence_dpo (it declares: data.seed, model.seed, dpo.seed)"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn points_run_apart_then_collected_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let (swept, _) = files(dir.path(), "wd_study", BANDIT, BANDIT_SWEEP);
    let whole = dir.path().join("whole");
    let apart = dir.path().join("apart");
    let (whole_s, apart_s) = (whole.display().to_string(), apart.display().to_string());
    run_ok(&["run", &swept, "--out", &whole_s, "--quiet"]);
    // Three processes, one of them two at once, then collect.
    let children: Vec<_> = ["0-5", "6,7,9-15", "8"]
        .iter()
        .map(|points| {
            std::process::Command::new(env!("CARGO_BIN_EXE_workbench"))
                .args([
                    "run", &swept, "--out", &apart_s, "--quiet", "--point", points,
                ])
                .env_remove("WORKBENCH_BACKEND")
                .output()
                .expect("workbench runs")
        })
        .collect();
    for child in &children {
        assert!(child.status.success(), "{}", stderr(child));
        assert!(
            stderr(child).contains("workbench collect"),
            "{}",
            stderr(child)
        );
    }
    assert!(
        !apart.join("wd_study.h5").exists(),
        "--point leaves the sweep file to collect"
    );
    let partial = run_ok(&["collect", &apart.join("wd_study").display().to_string()]);
    assert!(partial.contains("16 done"), "{partial}");
    let args = [whole.join("wd_study.h5"), apart.join("wd_study.h5")];
    let args: Vec<&Path> = args.iter().map(|p| p.as_path()).collect();
    python(SAME_RESULTS, &args);

    // A deleted point file is missing to collect, and a re-run runs only that point.
    std::fs::remove_file(apart.join("wd_study/point-0004.h5")).unwrap();
    let collected = run_ok(&["collect", &apart.join("wd_study").display().to_string()]);
    assert!(
        collected.contains("15 done, 0 failed, 1 missing (4)"),
        "{collected}"
    );
    let rerun = run_ok(&["run", &swept, "--out", &apart_s]);
    assert!(
        rerun.contains("of 16 points ran 1, reused 15, failed 0"),
        "{rerun}"
    );
    python(SAME_RESULTS, &args);
}

#[test]
fn a_failing_point_is_named_and_the_others_finish() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = "[sweep]\ngrid = { \"optimizer.lr\" = [0.05, 0.02, 0.01] }\n";
    let (swept, _) = files(dir.path(), "wd_study", BANDIT, sweep);
    let out = dir.path().join("out");
    let out_s = out.display().to_string();
    // A panic injected into point 1 only.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(["run", &swept, "--out", &out_s, "--quiet"])
        .env("WORKBENCH_INJECT_PANIC", "wd_study#1")
        .env_remove("WORKBENCH_BACKEND")
        .output()
        .expect("workbench runs");
    assert!(!output.status.success());
    let log = stderr(&output);
    assert!(
        log.contains("point 1 (optimizer.lr = 0.02)") && log.contains("injected"),
        "{log}"
    );
    assert!(log.contains("1 of 3 points failed: 1"), "{log}");
    assert!(log.contains("2 done, 1 failed (1), 0 missing"), "{log}");
    assert!(out.join("wd_study/point-0000.h5").exists());
    assert!(out.join("wd_study/point-0002.h5").exists());
    assert!(!out.join("wd_study/point-0001.h5").exists());
    let script = r#"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
status = [s.decode() for s in f["sweep/status"][()]]
error = [s.decode() for s in f["sweep/error"][()]]
assert status == ["done", "failed", "done"], status
assert "injected" in error[1] and error[0] == "" and error[2] == "", error
print("ok")
"#;
    python(script, &[out.join("wd_study.h5").as_path()]);
    // Run again without the fault: only the failed point runs.
    let rerun = run_ok(&["run", &swept, "--out", &out_s]);
    assert!(
        rerun.contains("of 3 points ran 1, reused 2, failed 0"),
        "{rerun}"
    );
    assert!(!out.join("wd_study/point-0001.error").exists());
}

#[test]
fn a_bad_point_is_one_error_naming_it_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = "[sweep]\ngrid = { \"optimizer.lr\" = [0.05, -1.0] }\nseeds = 3\n";
    let (swept, _) = files(dir.path(), "wd_study", BANDIT, sweep);
    let out = dir.path().join("out");
    let output = workbench(&["run", &swept, "--out", &out.display().to_string()]);
    assert!(!output.status.success());
    let log = stderr(&output);
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(
        log.contains("sweep point 3 (optimizer.lr = -1.0, seed = 0)")
            && log.contains("optimizer.lr = -1"),
        "{log}"
    );
    assert!(!out.exists(), "nothing runs when a point is invalid");

    // `--set` of a swept key, a seed sweep on a kind without seeds, a bad table.
    let output = workbench(&["validate", &swept, "--set", "optimizer.lr=0.1"]);
    assert!(
        stderr(&output).contains("--set optimizer.lr"),
        "{}",
        stderr(&output)
    );
    let thresholds = dir.path().join("t.toml");
    std::fs::write(
        &thresholds,
        "name = \"t\"\nkind = \"thresholding\"\n[sweep]\nseeds = 2\n",
    )
    .unwrap();
    let output = workbench(&["validate", &thresholds.display().to_string()]);
    assert!(
        stderr(&output).contains("sweep.seeds: kind thresholding has no seed key"),
        "{}",
        stderr(&output)
    );
    let shown = workbench(&[
        "validate",
        &swept.replace("wd_study.toml", "wd_study_base.toml"),
    ]);
    assert!(shown.status.success());
}

#[test]
fn validate_show_lists_the_points() {
    let output = workbench(&[
        "validate",
        &repo("experiments/ablations/fig6_ablation.toml"),
        "--show",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("sweep of 240 points"), "{text}");
    assert!(
        text.contains(
            "point 239: dpo.lr = 0.001, dpo.beta = 1.0, data.equal_lengths = true, data.echo_bonus = 0.0, data.seed = 4, model.seed = 1"
        ),
        "{text}"
    );
}

/// The report's interval for each (β, seeds) group, recomputed with scipy from the point
/// files.
#[test]
fn report_intervals_agree_with_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = "[sweep]\ngrid = { \"bandit.beta\" = [0.5, 1.0] }\nseeds = [0, 1, 2, 3]\n";
    let (swept, _) = files(dir.path(), "wd_study", BANDIT, sweep);
    let out = dir.path().join("out");
    run_ok(&[
        "run",
        &swept,
        "--out",
        &out.display().to_string(),
        "--quiet",
    ]);
    let report = dir.path().join("report");
    run_ok(&[
        "report",
        &out.display().to_string(),
        "--out",
        &report.display().to_string(),
    ]);
    let script = r#"
import sys, os, glob, h5py, numpy as np, scipy.stats as st
out, md = sys.argv[1], open(sys.argv[2]).read()
groups = {}
for p in sorted(glob.glob(os.path.join(out, "wd_study", "point-*.h5"))):
    f = h5py.File(p, "r")
    beta = float(f.attrs["config_toml"].split("beta = ")[1].split("\n")[0])
    groups.setdefault(beta, []).append(f["summary/dpo/max_distance"][()])
checked = 0
for beta, xs in groups.items():
    xs = np.array(xs)
    m, s = xs.mean(), xs.std(ddof=1)
    lo, hi = st.t.interval(0.95, len(xs) - 1, loc=m, scale=s / np.sqrt(len(xs)))
    # The report prints numbers to 4 significant digits; find the row of this β.
    def fmt(v):
        return f"{v:.4g}"
    rows = [l for l in md.splitlines() if l.startswith("|") and fmt(m) in l]
    assert rows, f"no row with mean {fmt(m)} for beta {beta}"
    row = rows[0]
    assert fmt(lo) in row and fmt(hi) in row, (row, fmt(lo), fmt(hi))
    checked += 1
print(checked)
"#;
    let checked = python(script, &[out.as_path(), report.join("report.md").as_path()]);
    assert_eq!(String::from_utf8_lossy(&checked.stdout).trim(), "2");
}

/// kill -9 of a sweep at several moments: every point file left behind is complete, the
/// next run reuses them and runs the rest, and the sweep file equals an uninterrupted run.
#[test]
fn a_killed_sweep_resumes_to_the_same_sweep_file() {
    let dir = tempfile::tempdir().unwrap();
    let (swept, _) = files(dir.path(), "seq_study", SEQUENCE, SEQUENCE_SWEEP);
    let whole = dir.path().join("whole");
    // About 0.3 s a point, one at a time: the kills land mid-sweep.
    let sized = ["--quiet", "--jobs", "1", "--set", "data.pairs=1500"];
    let whole_s = whole.display().to_string();
    run_ok(
        &[
            &["run", swept.as_str(), "--out", whole_s.as_str()][..],
            &sized[..],
        ]
        .concat(),
    );
    let out = dir.path().join("killed");
    let out_s = out.display().to_string();
    let nanos = common::clock_nanos();
    let mut left = Vec::new();
    for delay_ms in [300u64, 900, 1500, 300 + nanos % 2000] {
        common::kill_after(
            &[
                &["run", swept.as_str(), "--out", out_s.as_str()][..],
                &sized[..],
            ]
            .concat(),
            delay_ms,
        );
        let finished: Vec<std::path::PathBuf> = std::fs::read_dir(out.join("seq_study"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "h5"))
                    .collect()
            })
            .unwrap_or_default();
        left.push(finished.len());
        let args: Vec<&Path> = finished.iter().map(|p| p.as_path()).collect();
        if !args.is_empty() {
            python(
                "import sys, h5py\nfor p in sys.argv[1:]:\n    f = h5py.File(p, 'r'); assert 'mann_whitney/u' in f and 'summary/z_paper_direction' in f, p",
                &args,
            );
        }
    }
    assert!(
        left[0] < 8,
        "the first kill came after the sweep ended: {left:?}"
    );
    let log = run_ok(
        &[
            &["run", swept.as_str(), "--out", out_s.as_str()][..],
            &sized[..],
        ]
        .concat(),
    );
    assert!(log.contains("8 done, 0 failed, 0 missing"), "{log}");
    let leftovers: Vec<String> = std::fs::read_dir(out.join("seq_study"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let pair = [whole.join("seq_study.h5"), out.join("seq_study.h5")];
    let args: Vec<&Path> = pair.iter().map(|p| p.as_path()).collect();
    python(SAME_RESULTS, &args);
}

#[test]
fn collect_gathers_the_trajectories_and_the_report_classifies_each_step() {
    // 300 pairs in batches of 64: 5 DPO steps; a row after steps 2 and 4. 2 β × 3 seeds.
    let dir = tempfile::tempdir().unwrap();
    let base = format!("{SEQUENCE}every = 2\n");
    let sweep = "\n[sweep]\ngrid = { \"dpo.beta\" = [0.1, 1.0] }\nseeds = 3\n";
    let (swept, _) = files(dir.path(), "seq_steps", &base, sweep);
    let out = dir.path().join("out");
    let out_s = out.display().to_string();
    run_ok(&["run", &swept, "--out", &out_s, "--quiet", "--jobs", "2"]);
    // The sweep file's trajectory rows are the point files' (h5py), and each step's mean
    // correlation over seeds is what the report tables (numpy).
    let script = r#"
import sys, os, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
root = os.path.dirname(sys.argv[1])
files = [s.decode() for s in f["sweep/file"][()]]
names = sorted(f["trajectory"])
assert "step" in names and "rank_biserial" in names, names
for name in names:
    m = f["trajectory/" + name][()]
    assert m.shape == (6, 2), (name, m.shape)
    for i, rel in enumerate(files):
        p = h5py.File(os.path.join(root, rel), "r")
        assert np.array_equal(m[i], p["trajectory/" + name][()]), (name, i)
assert (f["trajectory/step"][()] == [2, 4]).all()
beta = f["sweep/dpo.beta"][()]
r = f["trajectory/rank_biserial"][()]
for b in (0.1, 1.0):
    for k in range(2):
        print(f"{r[beta == b, k].mean():.3f}")
"#;
    let sweep_file = out.join("seq_study.h5");
    let said = python(script, &[sweep_file.as_path()]);
    let means: Vec<String> = String::from_utf8_lossy(&said.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(means.len(), 4);
    let report = dir.path().join("report");
    run_ok(&["report", &out_s, "--out", &report.display().to_string()]);
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        html.contains("Over DPO steps") && html.contains("2 observed steps (2–4)"),
        "no note on the steps"
    );
    assert!(html.contains("Section 5.3 ablation over DPO steps"));
    for mean in &means {
        assert!(
            html.contains(&format!("<td>{mean} ")),
            "no cell {mean} in the steps table"
        );
    }
}
