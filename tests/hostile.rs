//! Hostile and unusual inputs against sweeps, collection and status: a tampered manifest
//! writes nothing outside its results folder, a refused `--point` writes nothing, a `--set`
//! that overlaps a swept key is refused, huge seed counts are refused at once, special files
//! are refused instead of hanging, and a second writer of another configuration is refused
//! while the first holds the results folder.

mod common;

use common::hostile::{SWEEP, fifo, file, hold_lock, refused, tree, within};
use common::{stderr, workbench};
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs the sweep into `<dir>/o` and returns the sweep's folder.
fn swept(dir: &Path) -> std::path::PathBuf {
    let sweep = file(dir, "sw", SWEEP);
    let out = dir.join("o");
    let output = workbench(&["run", &sweep, "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(output.status.success(), "{}", stderr(&output));
    out.join("sw")
}

#[test]
fn a_tampered_manifest_is_refused_and_collect_writes_nothing_outside_its_folder() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = swept(scratch.path());
    let manifest = dir.join("sweep.toml");
    let good = std::fs::read_to_string(&manifest).expect("manifest");
    let before = tree(scratch.path());
    for (tampered, key) in [
        (
            good.replacen("name = \"sw\"", "name = \"/../../../../tmp/evil\"", 1),
            "name",
        ),
        (
            good.replacen("name = \"sw\"", "name = \"../evil\"", 1),
            "name",
        ),
        (
            good.replacen("name = \"sw\"", "name = \"other\"", 1),
            "name",
        ),
        (
            good.replacen("kind = \"mode_seeking\"", "kind = \"nope nope\"", 1),
            "kind",
        ),
        (
            good.replacen("kind = \"mode_seeking\"", "kind = \"sweep\"", 1),
            "kind",
        ),
    ] {
        assert_ne!(tampered, good, "the replacement applies");
        std::fs::write(&manifest, &tampered).expect("tamper");
        let output = workbench(&["collect", dir.to_str().unwrap()]);
        refused(&output, &["sweep.toml", key]);
        assert_eq!(tree(scratch.path()), before, "collect wrote nothing");
        assert!(!Path::new("/tmp/evil.h5").exists());
    }
    std::fs::write(&manifest, &good).expect("restore");
    let output = workbench(&["collect", dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_refused_point_selection_writes_nothing() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let sweep = file(scratch.path(), "sw", SWEEP);
    let out = scratch.path().join("o");
    for bad in ["3-1", "7", "x"] {
        let output = workbench(&[
            "run",
            &sweep,
            "--out",
            out.to_str().unwrap(),
            "--point",
            bad,
            "--quiet",
        ]);
        refused(&output, &["--point", bad]);
        assert!(!out.exists(), "--point {bad}: nothing written");
    }
}

#[test]
fn sets_and_sweeps_that_overlap_a_swept_key_are_refused() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let sweep = file(scratch.path(), "sw", SWEEP);
    let output = workbench(&["validate", &sweep, "--set", "optimizer={lr=0.5, epochs=3}"]);
    refused(
        &output,
        &["--set optimizer", "overlaps the swept key \"optimizer.lr\""],
    );
    let table = file(
        scratch.path(),
        "table",
        &SWEEP.replace(
            "grid = { \"optimizer.lr\" = [0.01, 0.02] }",
            "grid = { \"optimizer\" = [{lr = 0.01, epochs = 5}] }",
        ),
    );
    let output = workbench(&["validate", &table, "--set", "optimizer.lr=0.4"]);
    refused(
        &output,
        &["--set optimizer.lr", "overlaps the swept key \"optimizer\""],
    );
    let both = file(
        scratch.path(),
        "both",
        &SWEEP.replace(
            "grid = { \"optimizer.lr\" = [0.01, 0.02] }",
            "grid = { \"optimizer.lr\" = [0.01, 0.02], \"optimizer\" = [{lr = 0.5}] }",
        ),
    );
    let output = workbench(&["validate", &both]);
    refused(&output, &["sweep.grid.\"optimizer\"", "overlaps"]);
    let itself = file(
        scratch.path(),
        "itself",
        &SWEEP.replace("\"optimizer.lr\"", "\"sweep.seeds\""),
    );
    refused(&workbench(&["validate", &itself]), &["cannot sweep itself"]);
}

#[test]
fn huge_seed_counts_are_refused_before_anything_is_allocated() {
    let scratch = tempfile::tempdir().expect("temp dir");
    for seeds in ["1000000000000", "100000000"] {
        let text = SWEEP.replace(
            "grid = { \"optimizer.lr\" = [0.01, 0.02] }",
            &format!("seeds = {seeds}"),
        );
        let path = file(scratch.path(), "many", &text);
        let started = Instant::now();
        let output = workbench(&["validate", &path]);
        refused(&output, &["sweep.seeds", seeds, "at most 1000000"]);
        // A guard against the old behaviour (an 8 TB allocation, or seconds of building a
        // list before the refusal), generous enough for a loaded machine.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "refused in {:?}",
            started.elapsed()
        );
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    }
}

#[test]
fn special_files_are_refused_not_waited_on() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = swept(scratch.path());
    let dir_text = dir.to_str().unwrap();
    // A FIFO where a point file belongs: that point is not done, and nothing hangs.
    std::fs::remove_file(dir.join("point-0001.h5")).expect("remove point");
    fifo(&dir.join("point-0001.h5"));
    let output = within(&["collect", dir_text], 20);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("1 missing"), "{}", stderr(&output));
    let output = within(&["status", dir_text], 20);
    assert!(output.status.success(), "{}", stderr(&output));
    // A FIFO as the manifest: refused, naming it.
    std::fs::remove_file(dir.join("sweep.toml")).expect("remove manifest");
    fifo(&dir.join("sweep.toml"));
    let output = within(&["collect", dir_text], 20);
    refused(&output, &["sweep.toml", "not a regular file"]);
}

#[test]
fn a_second_writer_of_another_configuration_is_refused_naming_the_holder() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let sweep = file(scratch.path(), "sw", SWEEP);
    let out = scratch.path().join("o");
    std::fs::create_dir_all(&out).expect("out");
    // This test process holds the lock as another run of `sw` would.
    let lock = out.join(".sw.lock");
    let held = hold_lock(&lock, "0123456789abcdef node-9-4242");
    let output = workbench(&["run", &sweep, "--out", out.to_str().unwrap(), "--quiet"]);
    refused(&output, &["node-9-4242", "another configuration"]);
    assert!(!out.join("sw").exists(), "nothing written");
    held.unlock().expect("release");
    let output = workbench(&["run", &sweep, "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    // `head -c 0` exits at once, so the later writes of `workbench` meet a closed pipe.
    for command in ["list", "list kinds"] {
        let script = format!("{{ sleep 0.5; \"$0\" {command}; echo \"rc=$?\" >&2; }} | head -c 0");
        let output = std::process::Command::new("sh")
            .args(["-c", &script, env!("CARGO_BIN_EXE_workbench")])
            .output()
            .expect("sh runs");
        let text = stderr(&output);
        assert!(text.contains("rc=0"), "{command}: {text}");
        assert!(!text.contains("internal error"), "{command}: {text}");
    }
}

#[test]
fn a_name_too_long_for_a_file_is_refused_before_any_training() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let long = "n".repeat(300);
    let path = file(
        scratch.path(),
        "long",
        &SWEEP.replace("name = \"sw\"", &format!("name = \"{long}\"")),
    );
    let output = workbench(&["validate", &path]);
    refused(&output, &["name", "is 300 characters; at most 160"]);
}

#[test]
fn values_that_would_inject_commands_into_slurm_scripts_are_refused() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let sweep = file(scratch.path(), "sw", SWEEP);
    let out = scratch.path().join("o").display().to_string();
    let evil_out = scratch
        .path()
        .join("o\ntouch pwned #")
        .display()
        .to_string();
    let cases: [(&str, Vec<&str>, &str); 7] = [
        (
            "--partition",
            vec!["--out", &out, "--partition", "cpu\ntouch pwned"],
            "--partition",
        ),
        (
            "--partition",
            vec!["--out", &out, "--partition", ""],
            "--partition",
        ),
        ("--time", vec!["--out", &out, "--time", "garbage"], "--time"),
        (
            "--time",
            vec!["--out", &out, "--time", "01:00:00\ntouch pwned"],
            "--time",
        ),
        ("--out", vec!["--out", &evil_out], "#SBATCH"),
        (
            "--sbatch-arg",
            vec!["--out", &out, "--sbatch-arg=--array=0-99"],
            "cannot be overridden",
        ),
        (
            "--sbatch-arg",
            vec!["--out", &out, "--sbatch-arg=--x=1\r\ntouch pwned"],
            "--sbatch-arg",
        ),
    ];
    for (what, extra, needle) in cases {
        let mut args = vec!["submit", sweep.as_str(), "--slurm", "--dry-run"];
        args.extend(extra.iter().copied());
        let output = workbench(&args);
        refused(&output, &[needle]);
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(!printed.contains("touch pwned"), "{what}: {printed}");
    }
    // Legitimate values still make a script.
    let output = workbench(&[
        "submit",
        &sweep,
        "--slurm",
        "--dry-run",
        "--out",
        &out,
        "--time",
        "1-12:00",
        "--partition",
        "cpu",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("#SBATCH --time=1-12:00"), "{printed}");
}

#[test]
fn scripts_and_commands_a_dry_run_prints_run_no_injected_command_under_bash() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = scratch.path();
    let sweep = file(dir, "sw", SWEEP);
    let out = dir.join("o/$(touch pwned1) `touch pwned2`; touch pwned3");
    let output = workbench(&[
        "submit",
        &sweep,
        "--slurm",
        "--dry-run",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    // The printed scripts (each after its `# /path` header) and the two sbatch lines.
    let mut scripts: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("# /") {
            scripts.push(String::new());
        } else if let Some(script) = scripts.last_mut() {
            script.push_str(line);
            script.push('\n');
        }
    }
    assert_eq!(scripts.len(), 2, "{text}");
    let stub = dir.join("stub");
    std::fs::create_dir_all(&stub).expect("stub dir");
    std::fs::write(stub.join("sbatch"), "#!/bin/sh\nexit 0\n").expect("stub sbatch");
    let mut permissions = std::fs::metadata(stub.join("sbatch"))
        .expect("meta")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(stub.join("sbatch"), permissions).expect("chmod");
    let path = format!(
        "{}:{}",
        stub.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // As Slurm runs them: bash, in the submission's folder, with the array's task id.
    for script in &scripts {
        for task in ["0", "1"] {
            std::process::Command::new("bash")
                .args(["-c", script])
                .current_dir(dir)
                .env("SLURM_ARRAY_TASK_ID", task)
                .env("PATH", &path)
                .output()
                .expect("bash runs");
        }
    }
    std::process::Command::new("bash")
        .args(["-c", &text])
        .current_dir(dir)
        .env("SLURM_ARRAY_TASK_ID", "0")
        .env("PATH", &path)
        .output()
        .expect("bash runs");
    let pwned: Vec<String> = tree(dir)
        .into_iter()
        .filter(|p| p.rsplit('/').next().is_some_and(|n| n.starts_with("pwned")))
        .collect();
    assert!(pwned.is_empty(), "injected commands ran: {pwned:?}");
}

#[test]
fn a_point_task_resolves_only_its_points_once_a_manifest_of_its_definition_is_there() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let rates: Vec<String> = (1..=500)
        .map(|i| format!("{:.4}", i as f64 * 1e-4))
        .collect();
    let text = SWEEP.replace(
        r#"grid = { "optimizer.lr" = [0.01, 0.02] }"#,
        &format!(
            r#"grid = {{ "optimizer.lr" = [{}], "optimizer.epochs" = [20, 21] }}"#,
            rates.join(", ")
        ),
    );
    let sweep = file(scratch.path(), "sw", &text);
    let out = scratch.path().join("o");
    let run = |point: &str, env: Option<(&str, &str)>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_workbench"));
        command.env_remove("WORKBENCH_BACKEND").args([
            "run",
            &sweep,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--point",
            point,
        ]);
        if let Some((key, value)) = env {
            command.env(key, value);
        }
        let output = command.output().expect("runs");
        assert!(output.status.success(), "{}", stderr(&output));
        stderr(&output)
    };
    // The first command checks all 1000 points and writes the manifest.
    let first = run("3", None);
    assert!(first.contains("checked all 1000 points"), "{first}");
    let ids = std::fs::read_to_string(out.join("sw/config-ids.txt")).expect("ids");
    assert_eq!(ids.lines().count(), 1000);
    // A later task of the same definition resolves its own points only.
    let later = run("7,8", None);
    assert!(later.contains("checked these 2 "), "{later}");
    assert!(out.join("sw/point-0008.h5").exists());
    // Another definition (an environment variable that sets a key) checks all again.
    let other = run("9", Some(("WORKBENCH_BANDIT__BETA", "0.25")));
    assert!(other.contains("checked all 1000 points"), "{other}");
    // The manifest is now the other definition's: points 3, 7 and 8 are of the first one.
    let output = workbench(&["collect", out.join("sw").to_str().unwrap()]);
    let line = stderr(&output);
    assert!(output.status.success(), "{line}");
    assert!(line.contains("1 done"), "{line}");
}
