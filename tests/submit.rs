//! `workbench submit --slurm`, `reproduce --slurm` and `status` where no Slurm runs: the
//! scripts `--dry-run` prints carry every option and run every point once, with the exact
//! binary, backend, dtype and configuration; run by bash as Slurm runs them, they give the
//! results a local run gives. The same against a real Slurm: tests/slurm/test.sh.

mod common;

use common::{python, repo, stderr, workbench};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Figure 2 made small and sampled, swept over 2 keys × 2 seeds (8 points).
fn sweep_file(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo("experiments/fig2_weight_decay.toml"))
        .unwrap()
        .replace("name = \"fig2_weight_decay\"", "name = \"fig2_small\"")
        .replace("epochs = 1000", "epochs = 50")
        .replace("mode = \"expected\"", "mode = \"sampled\"");
    let path = dir.join("fig2_small.toml");
    std::fs::write(
        &path,
        format!(
            "{text}\n[sweep]\ngrid = {{ \"optimizer.lr\" = [0.01, 0.05], \"bandit.beta\" = [0.5, 1.0] }}\nseeds = 2\n"
        ),
    )
    .unwrap();
    path
}

/// A temporary folder with the sweep file: (folder, file, results folder, results folder).
fn sweep_in_temp() -> (tempfile::TempDir, String, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = sweep_file(dir.path()).display().to_string();
    let out = dir.path().join("results");
    let out_s = out.display().to_string();
    (dir, file, out, out_s)
}

fn ok(args: &[&str]) -> Output {
    let output = workbench(args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    output
}

/// Asserts that `output` failed with `needle` in its standard error.
fn refused(output: &Output, needle: &str) {
    assert!(!output.status.success(), "succeeded: {}", stderr(output));
    assert!(stderr(output).contains(needle), "{}", stderr(output));
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `submit FILE --slurm --dry-run --out OUT` with `extra` options; what it prints.
fn dry_run(file: &Path, out: &Path, extra: &[&str]) -> Output {
    let (file, out) = (file.display().to_string(), out.display().to_string());
    let args = [
        &[
            "submit",
            file.as_str(),
            "--slurm",
            "--dry-run",
            "--out",
            out.as_str(),
        ][..],
        extra,
    ]
    .concat();
    ok(&args)
}

/// The two scripts a dry run prints (array, then collect).
fn scripts(printed: &str) -> (String, String) {
    let starts: Vec<usize> = printed
        .match_indices("#!/bin/bash")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(starts.len(), 2, "{printed}");
    let end = printed.find("\nsbatch ").expect("the sbatch commands");
    let array = printed[starts[0]..starts[1]].rsplit_once("\n# ").unwrap().0;
    (array.to_string(), printed[starts[1]..end].to_string())
}

/// Runs `script` with bash as Slurm would, with this test's binary in place of the copy
/// submission makes.
fn run_script(script: &str, task: Option<usize>) -> Output {
    run_script_with(script, task, &[], None)
}

/// `run_script` with the script's arguments, and with `commands` first on the PATH (stand-ins
/// for Slurm's).
fn run_script_with(
    script: &str,
    task: Option<usize>,
    args: &[&str],
    commands: Option<&Path>,
) -> Output {
    let script: String = script
        .lines()
        .map(|line| {
            if line.starts_with("bin=") {
                format!("bin={}\n", env!("CARGO_BIN_EXE_workbench"))
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(script)
        .env_remove("WORKBENCH_BACKEND")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_CPUS_PER_TASK");
    command.arg("script").args(args);
    if let Some(task) = task {
        command.env("SLURM_ARRAY_TASK_ID", task.to_string());
    }
    if let Some(dir) = commands {
        let path = std::env::var("PATH").unwrap_or_default();
        command.env("PATH", format!("{}:{path}", dir.display()));
    }
    command.output().expect("bash runs")
}

/// Every `--point` list of the array script, in task order.
fn point_lists(array: &str) -> Vec<String> {
    array
        .lines()
        .filter_map(|l| l.split_once(" --point ").map(|(_, rest)| rest))
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn dry_run_scripts_carry_every_option_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = sweep_file(dir.path());
    let out = dir.path().join("results");
    let report = dir.path().join("report");
    let (file_s, out_s, report_s) = (
        file.display().to_string(),
        out.display().to_string(),
        report.display().to_string(),
    );
    let output = dry_run(
        &file,
        &out,
        &[
            "--report",
            &report_s,
            "--partition",
            "gpu",
            "--time",
            "02:00:00",
            "--cpus-per-task",
            "4",
            "--gpus-per-task",
            "1",
            "--max-parallel",
            "2",
            "--sbatch-arg=--account=abc",
            "--sbatch-arg",
            "--mem=8G",
            "--max-array-size",
            "3",
            "--backend",
            "ndarray",
            "--dtype",
            "f32",
            "--set",
            "optimizer.epochs=30",
        ],
    );
    let printed = stdout(&output);
    let (array, collect) = scripts(&printed);
    for line in [
        "#SBATCH --job-name=wb-fig2_small",
        "#SBATCH --array=0-2%2",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=02:00:00",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --account=abc",
        "#SBATCH --mem=8G",
        &format!("#SBATCH --output={out_s}/logs/fig2_small-%A_%a.log"),
    ] {
        assert!(array.lines().any(|l| l == line), "{line} not in\n{array}");
    }
    let bin = array.lines().find(|l| l.starts_with("bin=")).unwrap();
    let hash = bin
        .strip_prefix(&format!("bin={out_s}/slurm/bin/workbench-"))
        .unwrap_or_else(|| panic!("{bin}"));
    assert!(
        hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{bin}"
    );
    // Every run: this file, the backend, dtype and override given, one expected id.
    let runs: Vec<&str> = array
        .lines()
        .filter(|l| l.contains("\"$bin\" run "))
        .collect();
    assert_eq!(runs.len(), 3, "{array}");
    let ids: BTreeSet<&str> = runs
        .iter()
        .map(|l| {
            l.split(" --expect-config ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{runs:?}");
    for run in &runs {
        let head = format!("run {file_s} --out {out_s} ");
        for part in [
            head.as_str(),
            " --backend ndarray --dtype f32 ",
            " '--set=optimizer.epochs=30'",
            " --jobs \"$jobs\"",
        ] {
            assert!(run.contains(part), "{part} not in {run}");
        }
    }
    // Every point in exactly one task.
    let mut seen = Vec::new();
    for list in point_lists(&array) {
        seen.extend(list.split(',').flat_map(|r| match r.split_once('-') {
            Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect(),
            None => vec![r.parse::<usize>().unwrap()],
        }));
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..8).collect::<Vec<_>>());
    // The job after: collect and report, with the shared options but no GPU.
    assert!(
        collect.contains(&format!("\"$bin\" collect {out_s}/fig2_small ")),
        "{collect}"
    );
    assert!(
        collect.contains(&format!("\"$bin\" report {out_s} --out {report_s} ")),
        "{collect}"
    );
    assert!(
        collect.contains("#SBATCH --account=abc") && !collect.contains("gpus"),
        "{collect}"
    );
    assert!(printed.contains(&format!("sbatch --parsable {out_s}/slurm/fig2_small-1.sh")));
    assert!(printed.contains(&format!(
        "sbatch --parsable --dependency=afterany:<the array's job id> {out_s}/slurm/fig2_small-1-collect.sh <the array's job id>"
    )));
    assert!(!out.exists(), "a dry run wrote {out_s}");
}

#[test]
fn the_scripts_run_as_slurm_runs_them_equal_a_local_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = sweep_file(dir.path());
    let file_s = file.display().to_string();
    let out = dir.path().join("results");
    let local = dir.path().join("local");
    let report = dir.path().join("report");
    let (out_s, local_s, report_s) = (
        out.display().to_string(),
        local.display().to_string(),
        report.display().to_string(),
    );
    ok(&["run", &file_s, "--out", &local_s, "--quiet"]);
    let printed = stdout(&dry_run(
        &file,
        &out,
        &["--report", &report_s, "--max-array-size", "3"],
    ));
    let (array, collect) = scripts(&printed);
    for task in 0..3 {
        let output = run_script(&array, Some(task));
        assert!(output.status.success(), "task {task}: {}", stderr(&output));
    }
    let beyond = run_script(&array, Some(3));
    assert_eq!(beyond.status.code(), Some(2));
    assert!(stderr(&beyond).contains("task 3 is not in this array"));
    let outside = run_script(&array, None);
    assert!(!outside.status.success());
    assert!(stderr(&outside).contains("not run as a Slurm array task"));
    let output = run_script(&collect, None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(report.join("report.html").is_file());
    let same = python(
        &std::fs::read_to_string(repo("tests/slurm/same_results.py")).unwrap(),
        &[local.as_path(), out.as_path(), Path::new("fig2_small")],
    );
    assert!(String::from_utf8_lossy(&same.stdout).contains("fig2_small: 9 file(s) equal, bitwise"));
    let status = stdout(&ok(&["status", &out_s]));
    assert!(
        status.contains("8 points: 8 done, 0 running, 0 queued, 0 failed, 0 missing"),
        "{status}"
    );
}

#[test]
fn a_requeue_script_asks_for_the_signal_and_runs_its_points_as_a_plain_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = sweep_file(dir.path());
    let (out, local) = (dir.path().join("results"), dir.path().join("local"));
    let args = [
        "--max-array-size",
        "3",
        "--requeue",
        "--signal-before",
        "90",
    ];
    let (array, collect) = scripts(&stdout(&dry_run(&file, &out, &args)));
    for line in [
        "#SBATCH --requeue",
        "#SBATCH --open-mode=append",
        "#SBATCH --signal=B:USR1@90",
    ] {
        assert!(array.lines().any(|l| l == line), "{line} not in\n{array}");
    }
    let runs = array.lines().filter(|l| l.contains("\"$bin\" run "));
    assert!(
        runs.clone().count() == 3
            && runs
                .into_iter()
                .all(|l| l.trim_start().starts_with("launch \"$bin\""))
    );
    ok(&[
        "run",
        &file.display().to_string(),
        "--out",
        &local.display().to_string(),
        "--quiet",
    ]);
    for task in 0..3 {
        let output = run_script(&array, Some(task));
        assert!(output.status.success(), "task {task}: {}", stderr(&output));
    }
    // Started while a task of array 7 is queued again (requeued, which `afterany` counts as
    // ended), the collecting job submits itself again after the array and collects nothing.
    let fake = dir.path().join("slurm-commands");
    std::fs::create_dir(&fake).unwrap();
    let queued = fake.join("queued");
    let sbatch_args = fake.join("sbatch.args");
    for (name, body) in [
        (
            "squeue",
            format!(
                "[ \"$*\" = \"--noheader --array --jobs=7 --format=%i\" ] || exit 9\nif [ -e {q} ]; then rm {q}; echo 7_1; fi\n",
                q = queued.display()
            ),
        ),
        (
            "sbatch",
            format!(
                "echo \"$*\" > {}\necho '8;cluster'\n",
                sbatch_args.display()
            ),
        ),
    ] {
        let path = fake.join(name);
        std::fs::write(&path, format!("#!/bin/bash\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    std::fs::write(&queued, "").unwrap();
    let early = run_script_with(&collect, None, &["7"], Some(&fake));
    assert!(early.status.success(), "{}", stderr(&early));
    assert!(
        stdout(&early).contains("tasks queued again (requeued): collecting after them as job 8"),
        "{}",
        stdout(&early)
    );
    let collect_path = out.join("slurm/fig2_small-1-collect.sh");
    assert_eq!(
        std::fs::read_to_string(&sbatch_args).unwrap().trim(),
        format!(
            "--parsable --dependency=afterany:7 {} 7",
            collect_path.display()
        )
    );
    assert!(!out.join("fig2_small.h5").exists(), "collected too early");
    // Once the array has left the queue, it collects.
    let late = run_script_with(&collect, None, &["7"], Some(&fake));
    assert!(late.status.success(), "{}", stderr(&late));
    assert!(out.join("fig2_small.h5").is_file());
    // Without the array's job id it says what is missing.
    let bare = run_script_with(&collect, None, &[], Some(&fake));
    assert!(!bare.status.success() && stderr(&bare).contains("needs the job id of the array"));
    let same = python(
        &std::fs::read_to_string(repo("tests/slurm/same_results.py")).unwrap(),
        &[local.as_path(), out.as_path(), Path::new("fig2_small")],
    );
    assert!(String::from_utf8_lossy(&same.stdout).contains("9 file(s) equal"));
    // A failing point still fails its task (the status passes through `launch`).
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("epochs = 50", "epochs = 60")).unwrap();
    assert_eq!(run_script(&array, Some(0)).status.code(), Some(1));
    let output = workbench(&[
        "submit",
        &file.display().to_string(),
        "--slurm",
        "--dry-run",
        "--signal-before",
        "90",
    ]);
    assert!(!output.status.success() && stderr(&output).contains("--requeue"));
}

#[test]
fn a_task_refuses_a_file_changed_since_submission() {
    let dir = tempfile::tempdir().unwrap();
    let file = sweep_file(dir.path());
    let out = dir.path().join("results");
    let out_s = out.display().to_string();
    let printed = stdout(&dry_run(&file, &out, &[]));
    let (array, _) = scripts(&printed);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("epochs = 50", "epochs = 60")).unwrap();
    let output = run_script(&array, Some(0));
    refused(&output, "changed since `workbench submit`: submit it again");
    let message = stderr(&output);
    assert_eq!(
        message.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{message}"
    );
    assert!(
        !out.join("fig2_small").exists(),
        "a refused task wrote points"
    );
    // A plain experiment is checked the same way.
    let single = repo("experiments/fig5_one_step.toml");
    let output = workbench(&[
        "run",
        &single,
        "--out",
        &out_s,
        "--expect-config",
        "0123456789abcdef",
    ]);
    refused(&output, "--expect-config 0123456789abcdef");
    assert!(!out.join("fig5_one_step.h5").exists());
}

#[test]
fn a_task_refuses_a_data_file_changed_since_submission() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let sample = data.join("hh_sample.jsonl");
    std::fs::copy(repo("experiments/data/hh_sample.jsonl"), &sample).unwrap();
    let examples = dir.path().join("examples");
    std::fs::create_dir_all(&examples).unwrap();
    let file = examples.join("hh_jsonl.toml");
    std::fs::copy(repo("experiments/examples/hh_jsonl.toml"), &file).unwrap();
    let out = dir.path().join("results");
    let (array, _) = scripts(&stdout(&dry_run(&file, &out, &[])));
    // The configuration is unchanged; one pair of the data is dropped.
    let text = std::fs::read_to_string(&sample).unwrap();
    let fewer: Vec<&str> = text.lines().skip(1).collect();
    std::fs::write(&sample, fewer.join("\n") + "\n").unwrap();
    let output = run_script(&array, Some(0));
    refused(&output, "a data file changed since `workbench submit`");
    assert!(!out.join("hh_jsonl.h5").exists());
    // With the data as submitted, the same task runs.
    std::fs::write(&sample, text).unwrap();
    let output = run_script(&array, Some(0));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(out.join("hh_jsonl.h5").is_file());
}

#[test]
fn status_counts_points_and_names_failures() {
    let (dir, file_s, out, out_s) = sweep_in_temp();
    ok(&["run", &file_s, "--out", &out_s, "--point", "0-4", "--quiet"]);
    let sweep = out.join("fig2_small").display().to_string();
    let status = stdout(&ok(&["status", &sweep]));
    assert!(
        status.contains("8 points: 5 done, 0 running, 0 queued, 0 failed, 3 missing (5-7)"),
        "{status}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(["run", &file_s, "--out", &out_s, "--point", "6", "--quiet"])
        .env("WORKBENCH_INJECT_PANIC", "fig2_small#6")
        .env_remove("WORKBENCH_BACKEND")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let status = stdout(&ok(&["status", &out_s]));
    assert!(status.contains("1 failed (6), 2 missing (5,7)"), "{status}");
    assert!(status.contains("  failed: point 6 ("), "{status}");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let output = workbench(&["status", &empty.display().to_string()]);
    refused(&output, "no sweep folder");
}

#[test]
fn submission_needs_slurm_and_writes_nothing_without_sbatch() {
    let (dir, file_s, out, out_s) = sweep_in_temp();
    let output = workbench(&["submit", &file_s, "--out", &out_s]);
    refused(&output, "--slurm");
    // A backend this binary lacks is refused at submission, not in every task.
    let missing = if cfg!(feature = "cuda") {
        None
    } else {
        Some("cuda")
    };
    if let Some(backend) = missing {
        let output = workbench(&[
            "submit",
            &file_s,
            "--slurm",
            "--dry-run",
            "--out",
            &out_s,
            "--backend",
            backend,
        ]);
        refused(&output, "cuda");
        assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    }
    let output = workbench(&["reproduce", "--partition", "gpu", "--out", &out_s]);
    refused(&output, "need --slurm");
    let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args([
            "submit",
            &file_s,
            "--slurm",
            "--out",
            &out_s,
            "--max-array-size",
            "4",
        ])
        .env("PATH", dir.path())
        .env_remove("WORKBENCH_BACKEND")
        .output()
        .unwrap();
    refused(&output, "sbatch: not found on the PATH");
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(!out.exists(), "nothing may be written: {}", out.display());
}

#[test]
fn reproduce_dry_run_makes_each_experiment_and_point_a_task() {
    let dir = tempfile::tempdir().unwrap();
    let experiments = dir.path().join("experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    sweep_file(&experiments);
    for name in ["fig5_one_step", "prop32_ratio_constraint"] {
        std::fs::copy(
            repo(&format!("experiments/{name}.toml")),
            experiments.join(format!("{name}.toml")),
        )
        .unwrap();
    }
    let out = dir.path().join("results");
    let output = ok(&[
        "reproduce",
        "--slurm",
        "--dry-run",
        "--experiments",
        &experiments.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    let (array, collect) = scripts(&stdout(&output));
    assert!(array.contains("#SBATCH --array=0-9\n"), "{array}");
    assert_eq!(point_lists(&array).len(), 8, "{array}");
    for name in ["fig5_one_step", "prop32_ratio_constraint"] {
        assert!(array.contains(&format!("{name}.toml --out ")), "{array}");
    }
    assert!(collect.contains("\"$bin\" collect "), "{collect}");
    assert!(
        stderr(&output)
            .contains("reproduce: 2 experiment(s) and 8 of 8 sweep points in 10 task(s)")
    );
}
