//! Section 5.3 end to end through the CLI: the Mann–Whitney numbers of a `sequence_dpo`
//! results file against scipy's `mannwhitneyu` on the stored ratio (21) arrays, and the
//! JSONL path as a new user meets it (a file with broken lines, a file with none usable).

mod common;

use common::{python, repo, stderr, workbench};
use std::path::{Path, PathBuf};

fn temp(name: &str) -> common::Scratch {
    common::scratch(&format!("wb-seq-{name}-"))
}

/// `workbench run FILE --out OUT --quiet --set S...`.
fn run(file: &str, out: &Path, sets: &[&str]) -> std::process::Output {
    let mut args = vec!["run", file, "--out", out.to_str().unwrap(), "--quiet"];
    for set in sets {
        args.extend(["--set", set]);
    }
    workbench(&args)
}

/// scipy recomputes ranks, U, z and p from `ratio_change/{low,high}`.
const SCIPY_CHECK: &str = r#"
import sys, h5py, numpy as np
from scipy.stats import mannwhitneyu, rankdata, norm
f = h5py.File(sys.argv[1], "r")
low, high = f["ratio_change/low"][:], f["ratio_change/high"][:]
n1, n2 = len(low), len(high)
assert n1 == f["mann_whitney/n1"][()] and n2 == f["mann_whitney/n2"][()]
assert np.all(low > 0) and np.all(high > 0), "quantity (21) must be positive"
ranks = rankdata(np.concatenate([low, high]))
assert np.allclose(ranks[:n1], f["rank/low"][:], rtol=0, atol=1e-9), "ranks (low)"
assert np.allclose(ranks[n1:], f["rank/high"][:], rtol=0, atol=1e-9), "ranks (high)"
assert abs(ranks[:n1].mean() - f["rank/low_mean"][()]) < 1e-9
u_low = mannwhitneyu(low, high, alternative="less", use_continuity=False, method="asymptotic")
u1 = u_low.statistic
assert abs(u1 - f["mann_whitney/u1"][()]) < 1e-9, (u1, f["mann_whitney/u1"][()])
u = min(u1, n1 * n2 - u1)
assert abs(u - f["mann_whitney/u"][()]) < 1e-9
# No ties here, so scipy's tie-corrected sigma equals eq. (30)'s.
assert len(np.unique(np.concatenate([low, high]))) == n1 + n2
assert abs(u_low.pvalue - f["mann_whitney/p_low_smaller"][()]) <= 1e-9 * max(u_low.pvalue, 1e-300) + 1e-15, (u_low.pvalue, f["mann_whitney/p_low_smaller"][()])
smaller, larger = (low, high) if u1 <= n1 * n2 - u1 else (high, low)
p = mannwhitneyu(smaller, larger, alternative="less", use_continuity=False, method="asymptotic").pvalue
assert abs(p - f["mann_whitney/p_value"][()]) <= 1e-9 * p + 1e-300, (p, f["mann_whitney/p_value"][()])
sigma = np.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
assert abs((u - n1 * n2 / 2) / sigma - f["mann_whitney/z"][()]) < 1e-9
# DPO starts at log 2 (pi_theta = pi_ref) and the groups are the q-th percentiles.
assert abs(f["dpo/loss"][0] - np.log(2)) < 1e-12
allr = f["log_rho_ref/all"][:]
q = f["groups/q"][()]
assert abs(np.percentile(allr, q) - f["groups/low_threshold"][()]) < 1e-12
assert np.all(f["log_rho_ref/low"][:] < f["groups/low_threshold"][()])
print("ok", n1, n2, u, p)
"#;

#[test]
fn mann_whitney_numbers_agree_with_scipy_on_the_stored_ratios() {
    let out = temp("fig6");
    let file = repo("experiments/fig6_table2.toml");
    let output = run(
        &file,
        &out,
        &[
            "data.pairs=1200",
            "analysis.q=10.0",
            "sft.epochs=1",
            "dpo.epochs=1",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    python(SCIPY_CHECK, &[&out.join("fig6_table2.h5")]);
}

#[test]
fn jsonl_broken_lines_are_reported_and_a_file_with_none_usable_is_an_error() {
    let dir = temp("jsonl");
    let sample = std::fs::read_to_string(repo("experiments/data/hh_sample.jsonl")).unwrap();
    let broken = dir.join("dialogues.jsonl");
    std::fs::write(
        &broken,
        format!("{sample}{{\"chosen\": \"\\n\\nHuman: hi\\n\\nAssistant: hello\", \"rejected\": 5}}\nnot json\n"),
    )
    .unwrap();
    let lines = sample.lines().count();
    let file = repo("experiments/examples/hh_jsonl.toml");
    let out = dir.join("results");
    let set = format!("data.path={:?}", broken.to_str().unwrap());
    let output = run(&file, &out, &[&set, "sft.epochs=1", "dpo.epochs=1"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "dialogues.jsonl:{}: skipped: `rejected` is not a string",
            lines + 1
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "dialogues.jsonl:{}: skipped: invalid JSON",
            lines + 2
        )),
        "{err}"
    );
    assert!(out.join("hh_jsonl.h5").exists());

    let hopeless = dir.join("hopeless.jsonl");
    std::fs::write(&hopeless, "garbage\n{\"prompt\": 1}\n").unwrap();
    let out = dir.join("none");
    let set = format!("data.path={:?}", hopeless.to_str().unwrap());
    let output = run(&file, &out, &[&set]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "hopeless.jsonl: no usable preference pair: 2 lines skipped, the first at line 1"
        ),
        "{err}"
    );
    assert!(
        !out.join("hh_jsonl.h5").exists(),
        "a results file was written"
    );
}

/// Reads `datasets` of an HDF5 file with h5py, one float per line.
fn read_scalars(path: &Path, datasets: &[&str]) -> Vec<f64> {
    let script = r#"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
for name in sys.argv[2:]:
    print(repr(float(f[name][()])))
"#;
    let names: Vec<&Path> = datasets.iter().map(Path::new).collect();
    let args: Vec<&Path> = std::iter::once(path).chain(names).collect();
    String::from_utf8_lossy(&python(script, &args).stdout)
        .lines()
        .map(|l| l.parse().expect("a float"))
        .collect()
}

/// Lengths, truncation counts and correlations against an independent reading of the
/// gzip file: Python splits each HH dialogue pair itself and counts UTF-8 bytes.
const HH_CHECK: &str = r#"
import sys, gzip, json, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
context, pairs = int(sys.argv[3]), int(sys.argv[4])
marker = "\n\nAssistant:"
rows = []
with gzip.open(sys.argv[2], "rt", encoding="utf-8") as lines:
    for line in lines:
        o = json.loads(line)
        c, r = o["chosen"], o["rejected"]
        i = 0
        while i < min(len(c), len(r)) and c[i] == r[i]:
            i += 1
        k = c[:i].rfind(marker)
        p = c[:k + len(marker)]
        yw, yl = c[len(p):], r[len(p):]
        if not yw.strip() or not yl.strip() or yw == yl:
            continue
        rows.append((len(p.encode()), len(yw.encode()), len(yl.encode())))
rows = rows[:pairs]
assert len(rows) == pairs == f["data/pairs"][()]
p, w, l = (np.array(x, dtype=float) for x in zip(*rows))
assert np.array_equal(f["lengths/chosen"][:], w) and np.array_equal(f["lengths/rejected"][:], l)
room = context - 1
cut = lambda y: int(np.sum(y + 1 > np.maximum(room - p, room // 2)))
assert (cut(w), cut(l)) == (f["data/truncated_chosen"][()], f["data/truncated_rejected"][()]), (cut(w), cut(l))
assert cut(w) > 0 and cut(l) > 0, "the context should cut some responses here"
keep = np.maximum(room - p, room // 2)
for side, y in (("chosen", w), ("rejected", l)):
    assert np.array_equal(f[f"lengths/scored_{side}"][:], np.minimum(y + 1, keep)), side
d = w - l
rho = f["log_rho_ref/all"][:]
r = np.corrcoef(rho, d)[0, 1]
assert abs(r - f["correlation/log_rho_ref_length/all"][()]) < 1e-9, r
ch = f["log_ratio_change/all"][:]
assert abs(np.corrcoef(ch, d)[0, 1] - f["correlation/log_ratio_change_length/all"][()]) < 1e-9
low = rho < f["groups/low_threshold"][()]
assert np.array_equal(f["length_diff/low"][:], d[low])
assert abs(np.corrcoef(rho[low], d[low])[0, 1] - f["correlation/log_rho_ref_length/low"][()]) < 1e-9
print("ok", r)
"#;

#[test]
fn real_hh_data_from_gzip_skips_empty_responses_and_agrees_with_independent_readings() {
    let out = temp("hh");
    let file = repo("experiments/fig6_table2_hh.toml");
    let (context, pairs) = ("96", "400");
    let output = run(
        &file,
        &out,
        &[
            &format!("data.max_pairs={pairs}"),
            &format!("model.context={context}"),
            "model.d_model=16",
            "model.n_layers=1",
            "sft.epochs=1",
            "dpo.epochs=1",
            "analysis.q=10.0",
        ],
    );
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    // 517, 926 and 1104 have an empty chosen response, 87 one that is a single space.
    for line in [87, 517, 926, 1104] {
        assert!(
            err.contains(&format!(
                "harmless-base-test.jsonl.gz:{line}: skipped: `chosen` response is empty"
            )),
            "line {line} not reported: {err}"
        );
    }
    let results = out.join("fig6_table2_hh.h5");
    python(SCIPY_CHECK, &[&results]);
    let data = PathBuf::from(repo("experiments/data/hh-rlhf/harmless-base-test.jsonl.gz"));
    python(
        HH_CHECK,
        &[&results, &data, Path::new(context), Path::new(pairs)],
    );
}

/// Label noise and correlations recomputed from the stored per-pair arrays.
const GROUPS_CHECK: &str = r#"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
for g in ["low", "high"]:
    m = f[f"reward_margin/{g}"][:]
    assert abs(np.mean(m < 0) - f[f"label_noise/{g}"][()]) < 1e-12
    assert len(m) == f["mann_whitney/n1" if g == "low" else "mann_whitney/n2"][()]
d = f["length_diff/all"][:]
if np.all(d == 0):
    assert np.isnan(f["correlation/log_rho_ref_length/all"][()])
else:
    r = np.corrcoef(f["log_rho_ref/all"][:], d)[0, 1]
    assert abs(r - f["correlation/log_rho_ref_length/all"][()]) < 1e-9
print(f["label_noise/low"][()], f["label_noise/high"][()], f["correlation/log_rho_ref_length/all"][()])
"#;

/// The default generator ties ρ_ref to length and the groups differ in label noise; the
/// controlled generator makes lengths equal and the groups' label noise and reward margins
/// comparable.
#[test]
fn the_controlled_generator_removes_the_length_confound() {
    let measure = |name: &str| {
        let out = temp(name);
        let output = run(
            &repo(&format!("experiments/{name}.toml")),
            &out,
            &[
                "data.pairs=3000",
                "analysis.q=10.0",
                "sft.epochs=1",
                "dpo.epochs=1",
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let results = out.join(format!("{name}.h5"));
        python(GROUPS_CHECK, &[&results]);
        read_scalars(
            &results,
            &[
                "label_noise/low",
                "label_noise/high",
                "correlation/log_rho_ref_length/all",
            ],
        )
    };
    let confounded = measure("fig6_table2");
    assert!(
        confounded[2] > 0.5,
        "default generator: ln ρ_ref should follow the length difference, r = {}",
        confounded[2]
    );
    assert!(
        (confounded[0] - confounded[1]).abs() > 0.1,
        "default generator: label noise low {} vs high {}",
        confounded[0],
        confounded[1]
    );
    let controlled = measure("fig6_table2_controlled");
    assert!(controlled[2].is_nan(), "equal lengths: r is undefined");
    assert!(
        (controlled[0] - controlled[1]).abs() < 0.1,
        "controlled generator: label noise low {} vs high {}",
        controlled[0],
        controlled[1]
    );
}

/// Peak memory is set by batch, context and model, not by the number of pairs: the
/// process's own peak RSS at 48000 pairs is within 1.2× of that at 3000.
#[test]
fn peak_memory_does_not_grow_with_the_number_of_pairs() {
    let peak = |pairs: usize| {
        let out = temp(&format!("rss{pairs}"));
        let output = run(
            &repo("experiments/fig6_table2.toml"),
            &out,
            &[
                &format!("data.pairs={pairs}"),
                "model.d_model=8",
                "model.n_heads=2",
                "model.d_ff=16",
                "model.n_layers=1",
                "sft.epochs=1",
                "dpo.epochs=1",
                "sft.batch_size=256",
                "dpo.batch_size=256",
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let script =
            "import sys, h5py\nprint(float(h5py.File(sys.argv[1], 'r').attrs['peak_rss_bytes']))";
        let printed = python(script, &[out.join("fig6_table2.h5").as_path()]).stdout;
        String::from_utf8_lossy(&printed)
            .trim()
            .parse::<f64>()
            .expect("peak_rss_bytes")
    };
    let (small, large) = (peak(3000), peak(48000));
    assert!(
        large <= 1.2 * small,
        "peak RSS {:.0} MB at 48000 pairs against {:.0} MB at 3000",
        large / 1e6,
        small / 1e6
    );
}

/// Two transformer experiments running side by side in one `reproduce` give exactly the
/// results each gives alone (their weight initialisations must not interleave).
#[test]
fn results_do_not_depend_on_what_runs_beside_them() {
    let dir = temp("beside");
    let experiments = dir.join("experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    let base = std::fs::read_to_string(repo("experiments/fig6_table2.toml")).unwrap();
    for (name, seed) in [("first", 0), ("second", 7)] {
        let text = base
            .replace("name = \"fig6_table2\"", &format!("name = \"{name}\""))
            .replace("seed = 0", &format!("seed = {seed}"));
        std::fs::write(experiments.join(format!("{name}.toml")), text).unwrap();
    }
    let sets = [
        "data.pairs=800",
        "sft.epochs=1",
        "dpo.epochs=1",
        "analysis.q=10.0",
    ];
    let together = dir.join("together");
    let mut args = vec![
        "reproduce",
        "--experiments",
        experiments.to_str().unwrap(),
        "--out",
        together.to_str().unwrap(),
        "--report",
        dir.to_str().unwrap(),
        "--quiet",
    ];
    for set in &sets {
        args.extend(["--set", set]);
    }
    let output = workbench(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    for name in ["first", "second"] {
        let alone = dir.join(format!("alone-{name}"));
        let file = experiments.join(format!("{name}.toml"));
        let output = run(file.to_str().unwrap(), &alone, &sets);
        assert!(output.status.success(), "{}", stderr(&output));
        python(
            "import sys, h5py, numpy as np\n\
             a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')\n\
             for k in ['reference/log_prob_chosen', 'policy/log_prob_rejected', 'dpo/loss']:\n    \
                 assert np.array_equal(a[k][:], b[k][:]), k",
            &[
                &together.join(format!("{name}.h5")),
                &alone.join(format!("{name}.h5")),
            ],
        );
    }
}
