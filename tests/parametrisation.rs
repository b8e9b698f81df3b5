//! The parametrisation control of Section 5.3 against an independent numpy implementation:
//! every context's change of ln (21) at every step, under softmax logits (a recursion in
//! the margin alone, the same for every ρ_ref) and under θ = π (projected gradient descent
//! on the floored two-point policy), and the first step's closed forms; and the report
//! states the dependence under each.

mod common;

use common::{python, repo, stderr, workbench};

/// Recomputes both parametrisations' Δ ln (21) [steps + 1, contexts] from the file's
/// configuration and compares them, the closed forms and the summaries.
const ORACLE: &str = r#"
import sys, h5py, numpy as np, tomllib
f = h5py.File(sys.argv[1], "r")
cfg = tomllib.loads(f.attrs["config_toml"])
beta, lr, steps = cfg["beta"], cfg["optimizer"]["lr"], cfg["optimizer"]["epochs"]
r = np.exp(np.linspace(np.log(cfg["ratio_min"]), np.log(cfg["ratio_max"]), cfg["contexts"]))
assert np.allclose(f["log_rho_ref"][()], np.log(r), rtol=0, atol=1e-12)
sig = lambda x: 1 / (1 + np.exp(-x))
# Softmax: h = (θ_a − θ_b) − (θ_a⁰ − θ_b⁰); each step adds 2ηβσ(−βh); Δ ln (21) = −h.
h, soft = 0.0, [0.0]
for _ in range(steps):
    h += 2 * lr * beta * sig(-beta * h)
    soft.append(-h)
soft = np.repeat(np.array(soft)[:, None], len(r), axis=1)
# θ = π with the floor f(p) = (1 − 2ε)p + ε inside the log, θ ∈ [0, 1].
eps = 1e-12
fl = lambda p: (1 - 2 * eps) * p + eps
lref = np.log(1 / (1 + r)) - np.log(r / (1 + r))
theta = 1 / (1 + r)
odds = lambda t: np.log(fl(1 - t)) - np.log(fl(t))
start, two = odds(theta), [np.zeros(len(r))]
for _ in range(steps):
    hm = np.log(fl(theta)) - np.log(fl(1 - theta)) - lref
    slope = (1 - 2 * eps) * (1 / fl(theta) + 1 / fl(1 - theta))
    theta = np.clip(theta + lr * beta * sig(-beta * hm) * slope, 0, 1)
    two.append(odds(theta) - start)
two = np.array(two)
for name, want in [("softmax", soft), ("two_point", two)]:
    got = f[name + "/log_ratio_change"][()]
    assert got.shape == want.shape, (name, got.shape, want.shape)
    err = np.max(np.abs(got - want) / np.maximum(1, np.abs(want)))
    assert err < 1e-9, (name, err)
    closed = f[name + "/first_step_closed_form"][()]
    assert np.max(np.abs(closed - want[1])) < 1e-9 * max(1, np.max(np.abs(want[1]))), name
last = two[-1]
k = len(r)
q = cfg["q"]
low = np.log(r) <= np.percentile(np.log(r), q)
high = np.log(r) >= np.percentile(np.log(r), 100 - q)
from scipy.stats import spearmanr
s = f["summary"]
assert abs(s["two_point_spread"][()] - (last.max() - last.min())) < 1e-9
assert abs(s["two_point_spearman"][()] - spearmanr(np.log(r), last).statistic) < 1e-9
assert abs(s["two_point_low_minus_high"][()] - (last[low].mean() - last[high].mean())) < 1e-9
assert s["softmax_spread"][()] < 1e-12 and np.isnan(s["softmax_spearman"][()])
print("ok", s["two_point_spearman"][()], s["two_point_low_minus_high"][()])
"#;

#[test]
fn both_parametrisations_match_numpy_step_by_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let file = repo("experiments/parametrisation_control.toml");
    // The shipped file, and a variant with other ratios, β, rate and steps in which some
    // contexts reach θ = 1 (the projection binds).
    for (name, sets) in [
        ("shipped", vec![]),
        (
            "variant",
            vec![
                "ratio_min=0.001",
                "ratio_max=30",
                "contexts=37",
                "beta=2.0",
                "optimizer.lr=0.01",
                "optimizer.epochs=7",
                "q=10",
            ],
        ),
    ] {
        let name_set = format!("name={name}");
        let mut args = vec!["run", file.as_str(), "--out", out.as_str(), "--quiet"];
        args.extend(["--set", &name_set]);
        for set in &sets {
            args.extend(["--set", set]);
        }
        let output = workbench(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        let checked = python(ORACLE, &[&dir.path().join(format!("{name}.h5"))]);
        let text = String::from_utf8_lossy(&checked.stdout);
        assert!(text.starts_with("ok"), "{text}");
    }
    // The report states the dependence under each parametrisation.
    let report = dir.path().join("report");
    let output = workbench(&["report", &out, "--out", &report.display().to_string()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(
        md.contains("Under softmax logits, after 20 gradient steps: no ρ_ref dependence"),
        "{md}"
    );
    assert!(
        md.contains("Under θ = π (two_point), after 20 gradient steps: a ρ_ref dependence"),
        "{md}"
    );
    // Adam is refused, named.
    let output = workbench(&["validate", &file, "--set", "optimizer.name=\"adam\""]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("optimizer.name"),
        "{}",
        stderr(&output)
    );
}
