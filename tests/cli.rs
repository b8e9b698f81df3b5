//! The `workbench` command line end to end: files Python's h5py reads with the documented
//! names and shapes, values an independent numpy implementation reproduces, and one-line
//! errors with no results file for bad input.

mod common;

use common::{python, repo, stderr, workbench};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `experiment` with `set` overrides into a fresh folder; returns the folder and file.
fn run(experiment: &str, set: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    common::run_into(dir.path(), experiment, set, false);
    let name = set
        .iter()
        .find_map(|s| s.strip_prefix("name="))
        .unwrap_or(experiment)
        .trim_matches('"');
    let path = dir.path().join(format!("{name}.h5"));
    assert!(path.exists(), "{} missing", path.display());
    (dir, path)
}

/// The independent numpy oracle recomputes every dataset and checks names and shapes.
fn oracle_check(path: &Path) {
    oracle("tests/oracle/bandit_oracle.py", path);
}

/// The Section 3.3 / 5 oracle: also rejects NaN or infinity in any dataset.
fn oracle_check_mixture_threshold(path: &Path) {
    oracle("tests/oracle/mixture_threshold_oracle.py", path);
}

fn oracle(script: &str, path: &Path) {
    let output = Command::new("python3")
        .args([
            &repo(script),
            "check",
            &path.display().to_string(),
            "--tol",
            "1e-3",
        ])
        .output()
        .expect("python3 runs (scripts/setup.sh --tests installs numpy, scipy, h5py)");
    assert!(
        output.status.success(),
        "oracle disagrees with {}:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn fig2_defaults_match_the_independent_oracle() {
    let (_dir, path) = run("fig2_weight_decay", &[]);
    oracle_check(&path);
}

#[test]
fn fig2_with_overrides_matches_the_independent_oracle() {
    let (_dir, path) = run(
        "fig2_weight_decay",
        &[
            "bandit.pi_star=[0.5, 0.3, 0.2]",
            "bandit.pi_ref=[0.2, 0.5, 0.3]",
            "bandit.beta=0.5",
            "constraints.weight_decay.alpha=[0, 0.05, 0.3]",
            "optimizer.lr=0.02",
            "data.pairs=reference",
            "distance=js",
            "optimizer.epochs=600",
        ],
    );
    oracle_check(&path);
}

#[test]
fn fig3_matches_the_independent_oracle() {
    let (_dir, path) = run(
        "fig3_early_stopping",
        &["optimizer.epochs=300", "bandit.beta=2"],
    );
    oracle_check(&path);
    let (_dir, path) = run(
        "fig3_early_stopping",
        &[
            "optimizer.epochs=200",
            "constraints.weight_decay.alpha=0.1",
            "name=fig3_decay",
            "distance=tv",
        ],
    );
    oracle_check(&path);
}

#[test]
fn mode_seeking_matches_the_independent_oracle() {
    let (_dir, path) = run("mode_seeking", &[]);
    oracle_check_mixture_threshold(&path);
    let (_dir, path) = run(
        "mode_seeking",
        &[
            "optimizer.lr=0.02",
            "data.mode=sampled",
            "data.seed=5",
            "data.n_pairs=200",
            "policy.init=0.3",
        ],
    );
    oracle_check_mixture_threshold(&path);
    // The sampled seeds of Section 3.3 as a sweep file: its column equals the point files,
    // and the mean over 10 seeds lies within 0.08 of the expected-mode minimiser.
    let (_dir, path) = run("mode_seeking_sampled", &[]);
    let output = Command::new("python3")
        .args([
            &repo("tests/oracle/mixture_threshold_oracle.py"),
            "check-sweep",
            &path.display().to_string(),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn table1_matches_the_independent_oracle() {
    let (_dir, path) = run("table1_thresholding", &[]);
    oracle_check_mixture_threshold(&path);
    let (_dir, path) = run(
        "table1_thresholding",
        &[
            "ratios=[0.02, 0.3, 2.0]",
            "constraints.weight_decay.alpha=0.5",
            "beta=0.7",
            "optimizer.lr=0.02",
        ],
    );
    oracle_check_mixture_threshold(&path);
}

#[test]
fn figures_4_and_5_match_the_independent_oracle() {
    let (_dir, path) = run("fig5_one_step", &[]);
    oracle_check_mixture_threshold(&path);
    let (_dir, path) = run(
        "fig5_one_step",
        &["points=12", "beta=1.0", "optimizer.lr=0.05"],
    );
    oracle_check_mixture_threshold(&path);
    let (_dir, path) = run("fig4_penalty_curves", &[]);
    oracle_check_mixture_threshold(&path);
    let (_dir, path) = run(
        "fig4_penalty_curves",
        &["gamma=[0.5, 2.0]", "u0=0.5", "points=100"],
    );
    oracle_check_mixture_threshold(&path);
}

#[test]
fn same_seed_gives_identical_datasets() {
    let set = [
        "data.mode=sampled",
        "data.n_pairs=200",
        "data.seed=11",
        "data.batch_size=50",
        "optimizer.epochs=50",
    ];
    let (_a, first) = run("fig2_weight_decay", &set);
    let (_b, second) = run("fig2_weight_decay", &set);
    let script = "import h5py, sys, numpy as np\n\
        a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])\n\
        names = []\n\
        a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)\n\
        assert len(names) > 10, names\n\
        for n in names: assert np.array_equal(a[n][()], b[n][()]), n\n\
        assert a.attrs['config_toml'] == b.attrs['config_toml']\n";
    python(script, &[&first, &second]);
}

/// Runs a bad configuration: it must fail with one line naming `needles`, and leave no file.
fn assert_rejected(toml_text: &str, set: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, toml_text).expect("write");
    let out = dir.path().join("out");
    let (file_s, out_s) = (file.display().to_string(), out.display().to_string());
    let mut args = vec!["run", file_s.as_str(), "--out", out_s.as_str(), "--quiet"];
    for s in set {
        args.extend(["--set", s]);
    }
    let output = workbench(&args);
    let message = stderr(&output);
    assert!(!output.status.success(), "accepted: {toml_text} {set:?}");
    assert_eq!(
        message.trim_end().lines().count(),
        1,
        "not one line: {message}"
    );
    assert!(message.contains("bad.toml"), "no file name in: {message}");
    for needle in needles {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
    let leftovers = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "a results file was left in {}", out.display());
}

const GOOD: &str = "name = \"bad\"\nkind = \"weight_decay_sweep\"\n[constraints.weight_decay]\nalpha = [0.0, 0.1]\n";

#[test]
fn bad_configurations_are_one_line_errors_with_no_file() {
    assert_rejected(
        "name = \"bad\"\nkind = [",
        &[],
        &["line 2", "malformed TOML"],
    );
    assert_rejected(&format!("{GOOD}colour = 3\n"), &[], &["colour"]);
    assert_rejected(
        &format!("{GOOD}[bandit]\nbetta = 1.0\n"),
        &[],
        &["bandit.betta"],
    );
    assert_rejected(
        &format!("{GOOD}[bandit]\nbeta = \"high\"\n"),
        &[],
        &["bandit.beta", "high"],
    );
    assert_rejected(
        &format!("{GOOD}[bandit]\npi_star = [0.5, 0.3, 0.3]\n"),
        &[],
        &["bandit.pi_star", "[0.5, 0.3, 0.3]", "sum to 1"],
    );
    assert_rejected(GOOD, &["bandit.beta=0"], &["bandit.beta", "0", "> 0"]);
    assert_rejected(
        GOOD,
        &["constraints.weight_decay.alpha=[0.1, -1]"],
        &["constraints.weight_decay.alpha", "-1"],
    );
    assert_rejected(
        GOOD,
        &["bandit.pi_ref=[0.5, 0.5]"],
        &["bandit.pi_ref", "2 actions"],
    );
    assert_rejected(
        &format!("{GOOD}[[methods]]\nloss = \"dpoo\"\n"),
        &[],
        &["methods[0]", "dpoo", "unknown loss"],
    );
    assert_rejected(
        &format!("{GOOD}[[methods]]\nloss = \"fdpo\"\ndivergence = \"hellinger\"\n"),
        &[],
        &["methods[0]", "fdpo", "hellinger"],
    );
    assert_rejected(
        &format!("{GOOD}[[methods]]\nloss = \"dpo\"\ngamma = 1\n"),
        &[],
        &["methods[0]", "dpo", "gamma"],
    );
    assert_rejected(
        &GOOD.replace("weight_decay_sweep", "weight_decay_swep"),
        &[],
        &["kind", "weight_decay_swep"],
    );
}

#[test]
fn an_unwritable_output_folder_is_an_error_with_no_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").expect("write");
    let file = repo("experiments/fig2_weight_decay.toml");
    let out = blocker.join("results").display().to_string();
    let output = workbench(&[
        "run",
        &file,
        "--out",
        &out,
        "--quiet",
        "--set",
        "optimizer.epochs=5",
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("not-a-folder") && message.trim_end().lines().count() == 1,
        "{message}"
    );
}

#[test]
fn validate_and_list_work() {
    let files: Vec<String> = std::fs::read_dir(repo("experiments"))
        .expect("experiments/")
        .map(|e| e.expect("entry").path().display().to_string())
        .filter(|p| p.ends_with(".toml"))
        .collect();
    assert!(files.len() >= 6, "{files:?}");
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let output = workbench(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = workbench(&["list"]);
    let text = String::from_utf8_lossy(&output.stdout);
    for name in [
        "dpo",
        "ipo",
        "fdpo",
        "softmax",
        "convex_mixture",
        "two_point",
        "weight_decay",
        "early_stop",
        "interval",
        "l2_ball",
        "ratio",
        "weight_decay_sweep",
        "early_stopping",
        "mode_seeking",
        "thresholding",
        "one_step",
        "penalty_curves",
        "ndarray",
        "flex",
    ] {
        assert!(
            text.contains(name),
            "`{name}` missing from workbench list:\n{text}"
        );
    }
    assert!(text.contains("simplex"), "{text}");
}

#[test]
fn environment_overrides_the_file_and_set_overrides_the_environment() {
    let file = repo("experiments/fig2_weight_decay.toml");
    let show = |set: &[&str]| {
        let mut args = vec!["validate", file.as_str(), "--show"];
        for s in set {
            args.extend(["--set", s]);
        }
        let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
            .args(&args)
            .env("WORKBENCH_BANDIT__BETA", "0.25")
            .output()
            .expect("workbench runs");
        assert!(output.status.success(), "{}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(show(&[]).contains("beta = 0.25"), "{}", show(&[]));
    assert!(show(&["bandit.beta=2.0"]).contains("beta = 2.0"));
}

#[test]
fn constraints_compose_in_one_run() {
    let (_dir, path) = run(
        "fig2_weight_decay",
        &[
            "constraints.l2_ball.radius=1.5",
            "constraints.early_stop.epochs=40",
            "constraints.ratio={ numerator = 2, denominator = 1, min_ratio = 0.8 }",
            "optimizer.epochs=100",
        ],
    );
    let script = "import h5py, sys, numpy as np\n\
        f = h5py.File(sys.argv[1])\n\
        for m in ['dpo', 'fdpo_forward_kl', 'ipo']:\n\
        \x20   for name in ['policy', 'rlhf_policy']:\n\
        \x20       p = f[m + '/' + name][()]\n\
        \x20       assert np.all(p[:, 2] / p[:, 1] >= 0.8 - 1e-9), (m, name, p)\n\
        \x20       assert np.all(np.isfinite(p)), (m, name)\n";
    python(script, &[&path]);
}

/// Policies chosen by name in the file: the registry's convex mixture trains exactly as the
/// mode-seeking kind's own mixture; the two-point policy reaches DPO's closed-form optimum;
/// the simplex constraint keeps softmax logits on the simplex.
#[test]
fn policies_and_the_simplex_are_chosen_in_the_file() {
    let (_dir, modes) = run("mode_seeking", &[]);
    let (_dir2, mixture) = run(
        "fig2_weight_decay",
        &[
            "bandit={ pi_star = [0.5, 0.0, 0.5], pi_ref = [0.3333333333333333, 0.3333333333333333, 0.3333333333333333], beta = 1.0 }",
            "policy={ name = \"convex_mixture\", components = [[0.3333333333333333, 0.3333333333333333, 0.3333333333333333], [1.0, 0.0, 0.0]], init = 0.5 }",
            "methods=[{ loss = \"dpo\" }]",
            "constraints.weight_decay.alpha=[0.0]",
        ],
    );
    let script = "import h5py, sys, numpy as np\n\
        modes, mix = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])\n\
        pi = lambda t: np.array([t + (1 - t) / 3, (1 - t) / 3, (1 - t) / 3])\n\
        assert np.abs(mix['dpo/policy'][0] - pi(modes['theta_dpo'][()])).max() < 1e-12, (mix['dpo/policy'][0], modes['theta_dpo'][()])\n\
        assert np.abs(mix['dpo/rlhf_policy'][0] - pi(modes['theta_rlhf'][()])).max() < 3e-12  # the floor ε = 1e-12 in log π\n";
    python(script, &[&modes, &mixture]);

    let (_dir3, two_point) = run(
        "fig2_weight_decay",
        &[
            "bandit={ pi_star = [0.7, 0.3], pi_ref = [0.4, 0.6], beta = 1.0 }",
            "policy={ name = \"two_point\", init = \"pi_ref\" }",
            "methods=[{ loss = \"dpo\" }]",
            "constraints.weight_decay.alpha=[0.0, 0.5, 5.0]",
            "optimizer.epochs=3000",
        ],
    );
    let script = "import h5py, sys, numpy as np\n\
        p = h5py.File(sys.argv[1])['dpo/policy'][()]\n\
        theta = 0.4 * 0.7 / (0.4 * 0.7 + 0.6 * 0.3)\n\
        assert abs(p[0, 0] - theta) < 1e-6, (p[0], theta)\n\
        assert np.all(np.abs(p.sum(axis=1) - 1) < 1e-9) and np.all(p >= 0)\n\
        assert p[2, 0] < p[1, 0] < p[0, 0], p\n";
    python(script, &[&two_point]);

    let (_dir4, simplex) = run(
        "fig3_early_stopping",
        &[
            "constraints.simplex={}",
            "policy.init=\"zeros\"",
            "optimizer.epochs=200",
        ],
    );
    // π = softmax(θ) with θ on the simplex: every ratio π_i/π_j within [1/e, e].
    let script = "import h5py, sys, numpy as np\n\
        f = h5py.File(sys.argv[1])\n\
        for m in ['dpo', 'fdpo_forward_kl', 'ipo']:\n\
        \x20   p = f[m + '/policy'][()]\n\
        \x20   r = p.max(axis=1) / p.min(axis=1)\n\
        \x20   assert np.all(r <= np.e * (1 + 1e-9)), (m, r.max())\n\
        \x20   assert r[-1] > 1.5, (m, r[-1])\n";
    python(script, &[&simplex]);
    let output = workbench(&[
        "validate",
        &repo("experiments/fig2_weight_decay.toml"),
        "--set",
        "policy={ name = \"two_point\", init = \"pi_ref\" }",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("policy") && stderr(&output).contains("2 actions"),
        "{}",
        stderr(&output)
    );
}

/// The independent oracles check themselves (Prop. 3.2 and 4.1 included) before they are
/// trusted to check the workbench.
#[test]
fn the_oracles_pass_their_own_self_tests() {
    for script in [
        "tests/oracle/bandit_oracle.py",
        "tests/oracle/mixture_threshold_oracle.py",
    ] {
        let output = Command::new("python3")
            .args([&repo(script), "selftest"])
            .output()
            .expect("python3 runs");
        assert!(
            output.status.success()
                && String::from_utf8_lossy(&output.stdout).contains("SELFTEST PASSED"),
            "{script} selftest failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Two settings of one loss run side by side: labels carry the distinguishing parameter,
/// or the label the file gives; the two α settings train to different policies.
#[test]
fn two_settings_of_one_loss_share_a_file() {
    let (_dir, path) = run(
        "fig2_weight_decay",
        &[
            "methods=[{ loss = \"fdpo\", divergence = \"alpha\", a = 0.3 }, { loss = \"fdpo\", divergence = \"alpha\", a = 0.7 }, { loss = \"robust\", label_smoothing = 0.1 }, { loss = \"robust\", label_smoothing = 0.2 }, { loss = \"dpo\" }, { loss = \"dpo\", label = \"dpo_again\" }]",
            "optimizer.epochs=100",
        ],
    );
    let script = "import h5py, sys, numpy as np\n\
        f = h5py.File(sys.argv[1])\n\
        groups = sorted(k for k in f.keys() if isinstance(f[k], h5py.Group) and k != 'summary')\n\
        assert groups == ['dpo', 'dpo_again', 'fdpo_alpha_0.3', 'fdpo_alpha_0.7', 'robust_eps_0.1', 'robust_eps_0.2'], groups\n\
        assert np.array_equal(f['dpo/policy'][()], f['dpo_again/policy'][()])\n\
        assert not np.allclose(f['fdpo_alpha_0.3/policy'][()], f['fdpo_alpha_0.7/policy'][()])\n";
    python(script, &[&path]);
    let output = workbench(&[
        "validate",
        &repo("experiments/fig2_weight_decay.toml"),
        "--set",
        "methods=[{ loss = \"dpo\", label = \"a/b\" }]",
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("a/b"), "{}", stderr(&output));
}

/// Max |a − b| over every dataset of two results files (h5py).
fn max_difference(a: &Path, b: &Path) -> f64 {
    let script = "import h5py, sys, numpy as np\n\
        a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])\n\
        names = []\n\
        a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)\n\
        print(max(float(np.max(np.abs(a[n][()] - b[n][()]))) for n in names))\n";
    let output = python(script, &[a, b]);
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("a number")
}

/// ndarray and flex agree to 1e-9 in f64; f32 agrees with f64 to 1e-4 (policies and
/// distances of Figure 2 at 300 epochs, the θ of Table 1).
#[test]
fn cpu_backends_and_precisions_agree() {
    for (experiment, set) in [
        ("fig2_weight_decay", "optimizer.epochs=300"),
        ("table1_thresholding", "optimizer.epochs=200"),
    ] {
        let (_a, ndarray) = run(experiment, &[set, "backend=ndarray"]);
        let (_b, flex) = run(experiment, &[set, "backend=flex"]);
        let gap = max_difference(&ndarray, &flex);
        assert!(gap < 1e-9, "{experiment}: ndarray vs flex differ by {gap}");
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().display().to_string();
        let file = repo(&format!("experiments/{experiment}.toml"));
        let output = workbench(&[
            "run", &file, "--out", &out, "--quiet", "--dtype", "f32", "--set", set,
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        let gap = max_difference(&ndarray, &dir.path().join(format!("{experiment}.h5")));
        assert!(gap < 1e-4, "{experiment}: f32 vs f64 differ by {gap}");
    }
}
