//! Section 5.3 end to end through the CLI: the Mann–Whitney numbers of a `sequence_dpo`
//! results file against scipy's `mannwhitneyu` on the stored ratio (21) arrays, and the
//! JSONL path as a new user meets it (a file with broken lines, a file with none usable).

mod common;

use common::{python, repo, stderr, workbench};
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wb-seq-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
    let output = workbench(&[
        "run",
        &file,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--set",
        "data.pairs=1200",
        "--set",
        "analysis.q=10.0",
        "--set",
        "sft.epochs=1",
        "--set",
        "dpo.epochs=1",
    ]);
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
    let output = workbench(&[
        "run",
        &file,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--set",
        &set,
        "--set",
        "sft.epochs=1",
        "--set",
        "dpo.epochs=1",
    ]);
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
    let output = workbench(&[
        "run",
        &file,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--set",
        &set,
    ]);
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
