//! Fault injection: bad input of every kind (TOML, `--set`, environment, JSONL data, output
//! paths), divergence, panics, a full disk and kill -9. Each bad input must fail with a
//! non-zero exit, one line on stderr naming the file, key or value, no panic, and no
//! results file; faults must never leave a finished-looking file.

mod common;

use common::{repo, stderr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One bad input and what its one-line error must contain.
struct Case {
    /// What is wrong, for the failure message.
    what: &'static str,
    /// The experiment file: `experiments/<name>.toml`, or a file written by `files()`.
    file: &'static str,
    /// `--set` overrides.
    sets: &'static [&'static str],
    /// Environment variables.
    env: &'static [(&'static str, &'static str)],
    /// Substrings of the error line.
    expect: &'static [&'static str],
}

const fn case(
    what: &'static str,
    file: &'static str,
    sets: &'static [&'static str],
    expect: &'static [&'static str],
) -> Case {
    Case {
        what,
        file,
        sets,
        env: &[],
        expect,
    }
}

const FIG2: &str = "fig2_weight_decay";
const FIG3: &str = "fig3_early_stopping";
const MODE: &str = "mode_seeking";
const TABLE1: &str = "table1_thresholding";
const FIG5: &str = "fig5_one_step";
const FIG4: &str = "fig4_penalty_curves";
const PROP32: &str = "prop32_ratio_constraint";
const FIG6: &str = "fig6_table2";
const HH: &str = "fig6_table2_hh";

/// Bad values through `--set`, on every kind.
const OVERRIDES: &[Case] = &[
    case(
        "negative beta",
        FIG2,
        &["bandit.beta=-1"],
        &["bandit.beta", "-1"],
    ),
    case("beta not a number", FIG2, &["bandit.beta=\"x\""], &["beta"]),
    case(
        "pi_star negative",
        FIG2,
        &["bandit.pi_star=[1.2, -0.1, -0.1]"],
        &["pi_star"],
    ),
    case(
        "pi_star and pi_ref lengths differ",
        FIG2,
        &["bandit.pi_ref=[0.5, 0.5]"],
        &["pi_ref"],
    ),
    case(
        "zero learning rate",
        FIG2,
        &["optimizer.lr=0"],
        &["optimizer.lr", "0"],
    ),
    case(
        "zero epochs",
        FIG2,
        &["optimizer.epochs=0"],
        &["optimizer.epochs"],
    ),
    case(
        "unknown optimizer",
        FIG2,
        &["optimizer.name=\"sgdx\""],
        &["optimizer.name", "sgdx"],
    ),
    case(
        "negative weight decay",
        FIG2,
        &["constraints.weight_decay.alpha=-1"],
        &["alpha"],
    ),
    case(
        "zero early-stop budget",
        FIG2,
        &["constraints.early_stop.epochs=0"],
        &["constraints.early_stop.epochs", "0"],
    ),
    case(
        "unknown distance",
        FIG2,
        &["distance=\"cosine\""],
        &["distance", "cosine"],
    ),
    case(
        "unknown data mode",
        FIG2,
        &["data.mode=\"bogus\""],
        &["data.mode", "bogus"],
    ),
    case(
        "unknown pair scheme",
        FIG2,
        &["data.pairs=\"bogus\""],
        &["data.pairs", "bogus"],
    ),
    case(
        "unknown loss",
        FIG2,
        &["methods=[{ loss = \"nope\" }]"],
        &["nope"],
    ),
    case(
        "unknown divergence",
        FIG2,
        &["methods=[{ loss = \"fdpo\", divergence = \"hellinger\" }]"],
        &["hellinger"],
    ),
    case(
        "negative combination weight",
        FIG2,
        &[
            "methods=[{ loss = [{ name = \"dpo\", weight = -0.8 }, { name = \"ipo\", weight = 0.2 }] }]",
        ],
        &["weight", "-0.8"],
    ),
    case(
        "simplex is not a constraint of this schema",
        FIG2,
        &["constraints.simplex=true"],
        &["simplex"],
    ),
    case("unknown top-level key", FIG2, &["colour=1"], &["colour"]),
    case("unknown bandit key", FIG2, &["bandit.nope=1"], &["nope"]),
    case(
        "wrong type for epochs",
        FIG2,
        &["optimizer.epochs=\"many\""],
        &["epochs"],
    ),
    case("empty name", FIG2, &["name=\"\""], &["name"]),
    case(
        "name with a path",
        FIG2,
        &["name=\"../escape\""],
        &["name", "escape"],
    ),
    case(
        "early stopping, zero epochs",
        FIG3,
        &["optimizer.epochs=0"],
        &["optimizer.epochs"],
    ),
    case(
        "early stopping, bad lr",
        FIG3,
        &["optimizer.lr=-0.1"],
        &["optimizer.lr"],
    ),
    case(
        "mode seeking, beta zero",
        MODE,
        &["bandit.beta=0"],
        &["beta"],
    ),
    case(
        "mode seeking, unknown key",
        MODE,
        &["sampled.nope=1"],
        &["nope"],
    ),
    case(
        "thresholding, negative ratio",
        TABLE1,
        &["ratios=[-1.0, 2.0]"],
        &["ratio"],
    ),
    case(
        "thresholding, zero epochs",
        TABLE1,
        &["optimizer.epochs=0"],
        &["optimizer.epochs"],
    ),
    case("one step, one point", FIG5, &["points=1"], &["points", "1"]),
    case(
        "one step, inverted range",
        FIG5,
        &["ratio_min=10.0", "ratio_max=0.1"],
        &["ratio_max"],
    ),
    case("one step, zero beta", FIG5, &["beta=0"], &["beta"]),
    case(
        "penalty curves, unknown key",
        FIG4,
        &["colour=1"],
        &["colour"],
    ),
    case(
        "ratio constraint, zero lr",
        PROP32,
        &["optimizer.lr=0"],
        &["optimizer.lr"],
    ),
    case(
        "sequence, unknown source",
        FIG6,
        &["data.source=\"csv\""],
        &["data.source", "csv"],
    ),
    case(
        "sequence, path with synthetic data",
        FIG6,
        &["data.path=\"x.jsonl\""],
        &["data.path", "x.jsonl"],
    ),
    case(
        "sequence, heads do not divide width",
        FIG6,
        &["model.n_heads=5"],
        &["model.n_heads", "5"],
    ),
    case(
        "sequence, tiny context",
        FIG6,
        &["model.context=2"],
        &["model.context"],
    ),
    case(
        "sequence, context shorter than the data",
        FIG6,
        &["model.context=8"],
        &["model.context", "8"],
    ),
    case(
        "sequence, zero SFT epochs",
        FIG6,
        &["sft.epochs=0"],
        &["sft.epochs"],
    ),
    case(
        "sequence, negative DPO lr",
        FIG6,
        &["dpo.lr=-1"],
        &["dpo.lr"],
    ),
    case("sequence, zero beta", FIG6, &["dpo.beta=0"], &["dpo.beta"]),
    case(
        "sequence, zero batch",
        FIG6,
        &["dpo.batch_size=0"],
        &["dpo.batch_size"],
    ),
    case(
        "sequence, q out of range",
        FIG6,
        &["analysis.q=60.0"],
        &["analysis.q", "60"],
    ),
    case(
        "sequence, inverted length range",
        FIG6,
        &["data.response_len=[5, 2]"],
        &["data.response_len"],
    ),
    case(
        "sequence, unknown loss",
        FIG6,
        &["dpo.method={ loss = \"nope\" }"],
        &["dpo.method", "nope"],
    ),
    case(
        "sequence, too few pairs for q",
        FIG6,
        &["data.pairs=10"],
        &["analysis.q"],
    ),
    case(
        "real data, missing file",
        HH,
        &["data.path=\"nowhere.jsonl\""],
        &["data.path", "nowhere.jsonl"],
    ),
    case(
        "real data, path is a directory",
        HH,
        &["data.path=\"data\""],
        &["data.path", "is a directory"],
    ),
    case(
        "set without a value",
        FIG2,
        &["bandit.beta"],
        &["--set bandit.beta", "KEY=VALUE"],
    ),
    case(
        "set with an empty key part",
        FIG2,
        &["bandit..beta=1"],
        &["bandit..beta"],
    ),
    case(
        "set spanning two lines",
        FIG2,
        &["bandit.beta=0.7\n[optimizer]\nlr=0.5"],
        &["bandit.beta", "several lines"],
    ),
    case("empty pi_star", FIG2, &["bandit.pi_star=[]"], &["pi_star"]),
    case(
        "thresholding, trajectory too large",
        TABLE1,
        &["optimizer.epochs=1000000000000"],
        &["table1_thresholding", "GiB"],
    ),
    case(
        "mode seeking, trajectory too large",
        MODE,
        &["optimizer.epochs=100000000000"],
        &["mode_seeking", "GiB"],
    ),
    case(
        "early stopping, every epoch too large",
        FIG3,
        &["optimizer.epochs=1000000000000"],
        &["fig3_early_stopping", "GiB"],
    ),
    case(
        "one step, grid too large",
        FIG5,
        &["points=100000000000"],
        &["points", "100000000000"],
    ),
    case(
        "penalty curves, grid too large",
        FIG4,
        &["points=100000000000"],
        &["points", "100000000000"],
    ),
    case(
        "sequence data too large for memory",
        FIG6,
        &["data.pairs=10000000000"],
        &["memory", "--ignore-memory-estimate"],
    ),
    case(
        "model too large for memory",
        FIG6,
        &[
            "model.d_model=1000000",
            "model.n_heads=1",
            "model.d_ff=1000000",
        ],
        &["memory", "GiB"],
    ),
];

/// Bad values through the environment.
const ENVIRONMENT: &[Case] = &[
    Case {
        what: "unknown backend",
        file: FIG5,
        sets: &[],
        env: &[("WORKBENCH_BACKEND", "nope")],
        expect: &["nope"],
    },
    Case {
        what: "unknown dtype",
        file: FIG5,
        sets: &[],
        env: &[("WORKBENCH_DTYPE", "f16")],
        expect: &["f16"],
    },
    Case {
        what: "bad lr from the environment",
        file: FIG2,
        sets: &[],
        env: &[("WORKBENCH_OPTIMIZER__LR", "-1")],
        expect: &["lr"],
    },
    Case {
        what: "bad distance from the environment",
        file: FIG2,
        sets: &[],
        env: &[("WORKBENCH_DISTANCE", "cosine")],
        expect: &["distance", "cosine"],
    },
    Case {
        what: "bad sequence beta from the environment",
        file: FIG6,
        sets: &[],
        env: &[("WORKBENCH_DPO__BETA", "-2")],
        expect: &["dpo.beta"],
    },
];

/// Experiment files that are broken as files (written into the test folder).
const FILES: &[(&str, &str, &[&str])] = &[
    ("syntax.toml", "name = \n", &["syntax.toml"]),
    ("no_kind.toml", "name = \"x\"\n", &["no_kind.toml", "kind"]),
    (
        "bad_kind.toml",
        "name = \"x\"\nkind = \"nope\"\n",
        &["bad_kind.toml", "nope"],
    ),
    (
        "kind_number.toml",
        "name = \"x\"\nkind = 3\n",
        &["kind_number.toml", "kind"],
    ),
    ("binary.toml", "\u{0}\u{1}\u{2}", &["binary.toml"]),
    ("empty.toml", "", &["empty.toml"]),
    (
        "jsonl_garbage.toml",
        "name = \"x\"\nkind = \"sequence_dpo\"\n[data]\nsource = \"jsonl\"\npath = \"garbage.jsonl\"\n",
        &["garbage.jsonl", "no usable preference pair"],
    ),
    (
        "jsonl_empty.toml",
        "name = \"x\"\nkind = \"sequence_dpo\"\n[data]\nsource = \"jsonl\"\npath = \"empty.jsonl\"\n",
        &["empty.jsonl", "no usable preference pair"],
    ),
    (
        "jsonl_same.toml",
        "name = \"x\"\nkind = \"sequence_dpo\"\n[data]\nsource = \"jsonl\"\npath = \"same.jsonl\"\n",
        &["same.jsonl", "identical"],
    ),
    (
        "jsonl_array.toml",
        "name = \"x\"\nkind = \"sequence_dpo\"\n[data]\nsource = \"jsonl\"\npath = \"array.jsonl\"\n",
        &["array.jsonl", "not a JSON object"],
    ),
    (
        "jsonl_bad_gzip.toml",
        "name = \"x\"\nkind = \"sequence_dpo\"\n[data]\nsource = \"jsonl\"\npath = \"bad.jsonl.gz\"\n",
        &["bad.jsonl.gz", "cannot read"],
    ),
];

/// The data files the JSONL cases read.
fn write_data(dir: &Path) {
    std::fs::write(dir.join("garbage.jsonl"), "garbage\n{\"prompt\": 1}\n").unwrap();
    std::fs::write(dir.join("empty.jsonl"), "\n\n").unwrap();
    std::fs::write(
        dir.join("same.jsonl"),
        "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"a\"}\n",
    )
    .unwrap();
    std::fs::write(dir.join("array.jsonl"), "[1, 2, 3]\n").unwrap();
    std::fs::write(dir.join("bad.jsonl.gz"), b"\x1f\x8b\x08\x00garbage").unwrap();
}

fn temp(name: &str) -> common::Scratch {
    common::scratch(&format!("wb-faults-{name}-"))
}

/// `workbench ARGS` with `env`, ignoring any WORKBENCH_* variables of the caller.
fn workbench_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workbench"));
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("WORKBENCH_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command.output().expect("workbench runs")
}

/// `workbench run FILE --out OUT --quiet --set S...` with `env`.
fn run_with(file: &str, out: &Path, sets: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec!["run", file, "--out", out.to_str().unwrap(), "--quiet"];
    for set in sets {
        args.extend(["--set", set]);
    }
    workbench_with(&args, env)
}

/// `workbench reproduce` of the experiments in `dir/experiments` into `dir/results` and
/// `dir/report`, with `env`.
fn reproduce_in(dir: &Path, env: &[(&str, &str)]) -> Output {
    let path = |name: &str| dir.join(name).display().to_string();
    let (experiments, out, report) = (path("experiments"), path("results"), path("report"));
    workbench_with(
        &[
            "reproduce",
            "--experiments",
            &experiments,
            "--out",
            &out,
            "--report",
            &report,
            "--quiet",
        ],
        env,
    )
}

/// The files under `dir`, recursively.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                files_in(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// Whether `path` is a file of a whole entry of a reference cache
/// (`.cache/reference/<key>/`, with its `entry.json`).
fn whole_cache_entry_file(path: &Path) -> bool {
    let Some(entry) = path.parent() else {
        return false;
    };
    let in_cache = entry
        .parent()
        .is_some_and(|cache| cache.ends_with(".cache/reference"));
    in_cache && entry.join("entry.json").is_file()
}

/// A failed run: exit 1, one stderr line containing `expect`, no panic, nothing written.
fn assert_clean_failure(what: &str, output: &Output, out: &Path, expect: &[&str]) -> String {
    let err = stderr(output);
    let line = err.trim_end();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{what}: exit {:?}: {err}",
        output.status
    );
    assert_eq!(line.lines().count(), 1, "{what}: not one line:\n{err}");
    assert!(!line.contains("panicked"), "{what}: a panic: {line}");
    for part in expect {
        assert!(line.contains(part), "{what}: `{part}` missing from: {line}");
    }
    // A π_ref trained before the failure (the analysis refused the scores) is a whole,
    // valid reference-cache entry that the corrected run reuses; anything else, a lock
    // file or a partial entry included, is litter.
    let written: Vec<PathBuf> = files_in(out)
        .into_iter()
        .filter(|path| !whole_cache_entry_file(path))
        .collect();
    assert!(written.is_empty(), "{what}: wrote {written:?}");
    line.to_string()
}

#[test]
fn a_corpus_of_bad_inputs_fails_cleanly() {
    let dir = temp("corpus");
    write_data(&dir);
    let mut count = 0;
    for (i, c) in OVERRIDES.iter().chain(ENVIRONMENT).enumerate() {
        let out = dir.join(format!("out{i}"));
        let file = repo(&format!("experiments/{}.toml", c.file));
        let output = run_with(&file, &out, c.sets, c.env);
        assert_clean_failure(c.what, &output, &out, c.expect);
        count += 1;
    }
    for (i, (name, text, expect)) in FILES.iter().enumerate() {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let out = dir.join(format!("file_out{i}"));
        let output = run_with(file.to_str().unwrap(), &out, &[], &[]);
        assert_clean_failure(name, &output, &out, expect);
        let output = workbench_with(&["validate", file.to_str().unwrap()], &[]);
        if !name.starts_with("jsonl_") {
            // The data is read only when running; everything else fails validation too.
            assert_eq!(output.status.code(), Some(1), "validate {name}");
        }
        count += 1;
    }
    // A bandit with 10000 actions: refused by its memory estimate before any allocation.
    let k = 10_000;
    let uniform = format!("[{}]", vec![format!("{}", 1.0 / k as f64); k].join(", "));
    let (star, reference) = (
        format!("bandit.pi_star={uniform}"),
        format!("bandit.pi_ref={uniform}"),
    );
    let out = dir.join("out_k");
    let file = repo("experiments/fig2_weight_decay.toml");
    let output = run_with(&file, &out, &[&star, &reference], &[]);
    assert_clean_failure(
        "K = 10000",
        &output,
        &out,
        &["fig2_weight_decay", "GiB", "memory"],
    );
    count += 1;
    // Output paths and experiment paths.
    let blocker = dir.join("a_file");
    std::fs::write(&blocker, "x").unwrap();
    let fig5 = repo("experiments/fig5_one_step.toml");
    let under_file = blocker.join("sub");
    let dir_arg = dir.display().to_string();
    let missing = dir.join("missing.toml");
    for (what, args, expect) in [
        (
            "output folder is a file",
            vec!["run", fig5.as_str(), "--out", blocker.to_str().unwrap()],
            vec!["a_file"],
        ),
        (
            "output folder under a file",
            vec!["run", fig5.as_str(), "--out", under_file.to_str().unwrap()],
            vec!["a_file"],
        ),
        (
            "output folder in /proc",
            vec!["run", fig5.as_str(), "--out", "/proc/wb-no-such-dir"],
            vec!["/proc/wb-no-such-dir"],
        ),
        (
            "experiment file missing",
            vec!["run", missing.to_str().unwrap(), "--out", dir_arg.as_str()],
            vec!["missing.toml"],
        ),
        (
            "experiment file is a folder",
            vec!["run", dir_arg.as_str(), "--out", dir_arg.as_str()],
            vec![dir_arg.as_str()],
        ),
    ] {
        let before = files_in(&dir).len();
        let output = workbench_with(&args, &[]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{what}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err}");
        for part in expect {
            assert!(err.contains(part), "{what}: `{part}` missing from {err}");
        }
        assert_eq!(files_in(&dir).len(), before, "{what}: wrote a file");
        count += 1;
    }
    // The output folder is checked before any training: a large run fails at once.
    let started = std::time::Instant::now();
    let fig6 = repo("experiments/fig6_table2.toml");
    let output = run_with(&fig6, &under_file, &[], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        started.elapsed().as_secs_f64() < 10.0,
        "trained before checking the output folder"
    );
    count += 1;
    // Argument errors from the command line parser.
    let output = workbench_with(&["bench", fig5.as_str(), "--repeats", "0"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--repeats"));
    count += 1;
    assert!(count >= 60, "only {count} cases");
    println!("{count} bad inputs failed cleanly");
}

/// Divergence in each family of kinds is an error naming the first epoch (or step) where
/// a value became non-finite, and writes nothing.
#[test]
fn divergence_is_detected_and_names_the_first_epoch() {
    let dir = temp("diverge");
    let fig2 = repo("experiments/fig2_weight_decay.toml");
    let run = |epochs: usize, out: &Path| {
        let epochs = format!("optimizer.epochs={epochs}");
        let sets = [
            "optimizer.lr=1e6",
            &epochs,
            "constraints.weight_decay.alpha=[0.0]",
        ];
        run_with(&fig2, out, &sets, &[])
    };
    let out = dir.join("fig2");
    let line = assert_clean_failure(
        "fig2 lr 1e6",
        &run(1000, &out),
        &out,
        &["non-finite", "epoch"],
    );
    let epoch: usize = line
        .rsplit("epoch ")
        .next()
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no epoch in {line}"));
    assert!(epoch < 1000, "named the last epoch: {line}");
    // One epoch fewer trains without a non-finite value: `epoch` really is the first.
    if epoch > 1 {
        let ok = dir.join("fig2_ok");
        let output = run(epoch - 1, &ok);
        assert!(output.status.success(), "{}", stderr(&output));
    }

    // The other kinds with unbounded parameters diverge the same way; the projected ones
    // (mode seeking, Table 1, Figure 5) keep θ in [0, 1] and cannot.
    for name in ["fig3_early_stopping", "prop32_ratio_constraint"] {
        let out = dir.join(name);
        let file = repo(&format!("experiments/{name}.toml"));
        let output = run_with(&file, &out, &["optimizer.lr=1e6"], &[]);
        assert_clean_failure(name, &output, &out, &[name, "diverged", "at epoch"]);
    }
    let out = dir.join("mode_seeking");
    let file = repo("experiments/mode_seeking.toml");
    let output = run_with(&file, &out, &["optimizer.lr=1e6"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let fig6 = repo("experiments/fig6_table2.toml");
    for (what, lr) in [("SFT", "sft.lr=1e6"), ("DPO", "dpo.lr=1e6")] {
        let out = dir.join(what);
        let sets = ["data.pairs=400", "sft.epochs=1", "dpo.epochs=1", lr];
        let output = run_with(&fig6, &out, &sets, &[]);
        assert_clean_failure(what, &output, &out, &["fig6_table2", "non-finite"]);
    }
}

/// Ties in ρ_ref that leave a group empty are a clear error, never a panic.
#[test]
fn tied_reference_ratios_are_an_error_not_a_panic() {
    let out = temp("ties");
    let sets = [
        "data.pairs=400",
        "sft.epochs=1",
        "dpo.epochs=1",
        "data.prompt_len=[1,1]",
        "data.response_len=[1,1]",
        "data.symbols=2",
    ];
    let output = run_with(&repo("experiments/fig6_table2.toml"), &out, &sets, &[]);
    assert_clean_failure("ties", &output, &out, &["group is empty", "analysis.q"]);
}

/// A panicking and a failing experiment in one `reproduce`: the others and the report
/// still finish, and the exit code and message name both.
#[test]
fn reproduce_survives_a_panicking_and_a_failing_experiment() {
    let dir = temp("reproduce");
    let experiments = dir.join("experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    for name in [
        "fig5_one_step",
        "fig4_penalty_curves",
        "table1_thresholding",
    ] {
        std::fs::copy(
            repo(&format!("experiments/{name}.toml")),
            experiments.join(format!("{name}.toml")),
        )
        .unwrap();
    }
    std::fs::write(experiments.join("broken.toml"), "name = \n").unwrap();
    let out = dir.join("results");
    let report = dir.join("report");
    let output = reproduce_in(&dir, &[("WORKBENCH_INJECT_PANIC", "fig4_penalty_curves")]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("fig4_penalty_curves: internal error (panic at"),
        "{err}"
    );
    assert!(err.contains("2 experiment(s) failed"), "{err}");
    assert!(err.contains("broken.toml"), "{err}");
    assert!(out.join("fig5_one_step.h5").is_file(), "{err}");
    assert!(out.join("table1_thresholding.h5").is_file(), "{err}");
    assert!(!out.join("fig4_penalty_curves.h5").exists());
    assert!(report.join("report.html").is_file(), "{err}");
}

/// A kill -9 at a random moment never leaves a finished-looking file; the next run into
/// the folder removes the dead run's partial file.
#[test]
fn kill_9_leaves_no_finished_looking_file() {
    let dir = temp("kill");
    let fig6 = repo("experiments/fig6_table2.toml");
    let out = dir.join("results");
    let args = |pairs: &str| {
        vec![
            "run".to_string(),
            fig6.clone(),
            "--out".into(),
            out.display().to_string(),
            "--quiet".into(),
            "--set".into(),
            format!("data.pairs={pairs}"),
            "--set".into(),
            "sft.epochs=1".into(),
            "--set".into(),
            "dpo.epochs=1".into(),
        ]
    };
    // Delays spread over start-up, training and the write (a run takes about 1 s), and
    // four more that differ from run to run.
    let nanos = common::clock_nanos();
    let random = (0..4).map(|i| (nanos >> (7 * i)) % 1300);
    for delay_ms in [5u64, 150, 400, 700, 900, 1000, 1100, 1200]
        .into_iter()
        .chain(random)
    {
        let _ = std::fs::remove_dir_all(&out);
        let run = args("2000");
        common::kill_after(
            &run.iter().map(String::as_str).collect::<Vec<_>>(),
            delay_ms,
        );
        let done = out.join("fig6_table2.h5");
        if done.exists() {
            // Renamed only when complete: it must open and hold the last datasets.
            common::python(
                "import sys, h5py; f = h5py.File(sys.argv[1], 'r'); assert 'mann_whitney/u' in f and 'policy/log_prob_rejected' in f",
                &[&done],
            );
        }
    }
    // A partial file of a dead writer (as a kill during the write leaves it).
    std::fs::create_dir_all(&out).unwrap();
    let stale = out.join(".fig6_table2.h5.partial-999999999");
    std::fs::write(&stale, b"half a file").unwrap();
    // One being written on another node of a cluster sharing the folder: left alone.
    let elsewhere = out.join(".fig6_table2.h5.partial-other-node-7-999999999");
    std::fs::write(&elsewhere, b"half a file").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(args("400"))
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !stale.exists(),
        "the dead run's partial file is still there"
    );
    assert!(
        elsewhere.exists(),
        "another host's partial file was removed"
    );
    std::fs::remove_file(&elsewhere).unwrap();
    let leftovers: Vec<PathBuf> = files_in(&out)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A full disk is a one-line error naming the file, never a crash, and leaves nothing.
/// Needs root to mount a small tmpfs; skipped (with the reason printed) otherwise.
#[test]
fn a_full_disk_is_a_clean_error() {
    let dir = temp("disk");
    let mount = dir.join("tmpfs");
    std::fs::create_dir_all(&mount).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mount)
        .output();
    let _unmount = match mounted {
        Ok(o) if o.status.success() => Unmount(mount.clone()),
        Ok(o) => {
            println!("skipped: cannot mount a tmpfs here: {}", stderr(&o).trim());
            return;
        }
        Err(e) => {
            println!("skipped: cannot run mount: {e}");
            return;
        }
    };
    let fig2 = repo("experiments/fig2_weight_decay.toml");
    // Free space from nothing to more than the file needs, 8 KiB included (the size that
    // crashed HDF5's own flush).
    for free_kib in [0u64, 4, 8, 12, 16, 24, 32] {
        for entry in std::fs::read_dir(&mount).unwrap().flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        let filler = vec![0u8; ((64 - free_kib) * 1024) as usize];
        let _ = std::fs::write(mount.join("filler"), &filler);
        let output = run_with(&fig2, &mount, &["optimizer.epochs=50"], &[]);
        let err = stderr(&output);
        let leftovers: Vec<PathBuf> = files_in(&mount)
            .into_iter()
            .filter(|p| !p.ends_with("filler"))
            .collect();
        match output.status.code() {
            Some(0) => {
                let done = mount.join("fig2_weight_decay.h5");
                common::python(
                    "import sys, h5py; h5py.File(sys.argv[1], 'r')['dpo/distance'][:]",
                    &[&done],
                );
            }
            Some(1) => {
                assert_eq!(err.trim_end().lines().count(), 1, "{free_kib} KiB: {err}");
                let folder = mount.display().to_string();
                assert!(err.contains(&folder), "{free_kib} KiB: {err}");
                assert!(leftovers.is_empty(), "{free_kib} KiB: left {leftovers:?}");
            }
            other => panic!("{free_kib} KiB free: exit {other:?}, stderr: {err}"),
        }
    }
}

/// Unmounts the file system at its path when dropped, so that a failing test leaves no
/// mount behind (and its temporary folder can be removed after it).
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// `reproduce` re-runs an experiment whose data file changed, even with the same
/// configuration: the reuse key covers the data's contents.
#[test]
fn reproduce_does_not_reuse_results_of_other_data() {
    let dir = temp("reuse");
    let experiments = dir.join("experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    let sample = std::fs::read_to_string(repo("experiments/data/hh_sample.jsonl")).unwrap();
    std::fs::write(experiments.join("pairs.jsonl"), &sample).unwrap();
    let config = std::fs::read_to_string(repo("experiments/examples/hh_jsonl.toml"))
        .unwrap()
        .replace("../data/hh_sample.jsonl", "pairs.jsonl")
        .replace("epochs = 2", "epochs = 1")
        .replace("epochs = 3", "epochs = 1");
    std::fs::write(experiments.join("hh_jsonl.toml"), config).unwrap();
    let reproduce = || {
        let output = reproduce_in(&dir, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        stderr(&output)
    };
    assert!(!reproduce().contains("reusing"));
    assert!(reproduce().contains("hh_jsonl: reusing"));
    // Swap chosen and rejected on every line: same configuration, other data.
    let swapped: String = sample
        .lines()
        .map(|line| {
            line.replace("\"chosen\"", "\"TMP\"")
                .replace("\"rejected\"", "\"chosen\"")
                .replace("\"TMP\"", "\"rejected\"")
                + "\n"
        })
        .collect();
    std::fs::write(experiments.join("pairs.jsonl"), swapped).unwrap();
    let third = reproduce();
    assert!(!third.contains("reusing"), "{third}");
}

/// `workbench run` contains a panic too, and `report` names files it cannot use and fails
/// when none is usable.
#[test]
fn a_panic_in_run_and_unusable_report_input_are_one_line_errors() {
    let dir = temp("panic-report");
    let out = dir.join("out");
    let fig5 = repo("experiments/fig5_one_step.toml");
    let output = run_with(
        &fig5,
        &out,
        &[],
        &[("WORKBENCH_INJECT_PANIC", "fig5_one_step")],
    );
    assert_clean_failure(
        "injected panic",
        &output,
        &out,
        &["fig5_one_step: internal error (panic at", "injected"],
    );

    let results = dir.join("results");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::write(results.join("broken.h5"), "not hdf5").unwrap();
    let output = workbench_with(
        &[
            "report",
            results.to_str().unwrap(),
            "--out",
            dir.join("report").to_str().unwrap(),
        ],
        &[],
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("broken.h5: cannot open"), "{err}");
    assert!(err.contains("no usable results file"), "{err}");
}
