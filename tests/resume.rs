//! Points that resume: a `sequence_dpo` run with `output.checkpoint_every` saves its
//! training state into `<out>/.state` (a file per phase); killed with SIGKILL at several moments (in SFT, in
//! preference optimisation, in the middle of writing a state, before any step) and run
//! again each time, it ends with results bitwise those of an uninterrupted run. SIGUSR1
//! saves the state and stops the run (exit 75); a damaged state is not resumed from.

mod common;

use common::{python, repo, scratch, stderr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// About ten seconds of training on two cores, with a held-out split evaluated along the
/// way and log rows of several steps (so the open row and the held-out log are saved).
const SETS: [&str; 10] = [
    "data.pairs=3000",
    "sft.epochs=3",
    "dpo.epochs=3",
    "analysis.q=10.0",
    "data.eval_fraction=0.2",
    "dpo.eval_every=3",
    "sft.log_every=3",
    "dpo.log_every=4",
    "output.checkpoint_every=2",
    "dpo.schedule.warmup_steps=5",
];

fn command(out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workbench"));
    command
        .args(["run", &repo("experiments/fig6_table2.toml"), "--out"])
        .arg(out)
        .arg("--quiet")
        .env_remove("WORKBENCH_BACKEND");
    for set in SETS.iter().chain(extra) {
        command.args(["--set", set]);
    }
    command
}

/// Runs to the end; returns its stderr.
fn finish(out: &Path, extra: &[&str]) -> String {
    let output = command(out, extra).output().expect("workbench runs");
    assert!(output.status.success(), "{}", stderr(&output));
    stderr(&output)
}

fn spawn(out: &Path, extra: &[&str]) -> Child {
    command(out, extra)
        .stderr(Stdio::null())
        .spawn()
        .expect("workbench starts")
}

/// The state files (and any scratch file of a save in progress) in `out`'s `.state`.
fn state_files(out: &Path) -> Vec<(PathBuf, SystemTime)> {
    let Ok(entries) = std::fs::read_dir(out.join(".state")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.modified().ok()?)))
        .collect()
}

/// Waits until `done` says so of `out`'s state files (polling), then kills `child` with
/// SIGKILL. Panics if the run ends first or takes over two minutes.
fn kill_when(mut child: Child, out: &Path, done: impl Fn(&[(PathBuf, SystemTime)]) -> bool) {
    let start = Instant::now();
    loop {
        if done(&state_files(out)) {
            break;
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the run ended before the moment to kill it"
        );
        assert!(start.elapsed() < Duration::from_secs(120), "no such moment");
        std::thread::sleep(Duration::from_micros(300));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

/// A moment: once the state has been saved `saves` more times (each save replaces the
/// file: a new modification time).
fn after_saves(saves: usize) -> impl Fn(&[(PathBuf, SystemTime)]) -> bool {
    let seen = std::cell::RefCell::new((0usize, None::<SystemTime>));
    move |files| {
        let mut seen = seen.borrow_mut();
        // The newest save of either phase's file.
        let newest = files
            .iter()
            .filter(|(p, _)| p.extension() == Some("bpk".as_ref()))
            .map(|(_, time)| *time)
            .max();
        if let Some(time) = newest
            && seen.1 != Some(time)
        {
            *seen = (seen.0 + 1, Some(time));
        }
        seen.0 > saves
    }
}

/// A moment: in the middle of a save (its scratch file exists, not yet renamed).
fn mid_save(files: &[(PathBuf, SystemTime)]) -> bool {
    files
        .iter()
        .any(|(p, _)| p.extension() == Some("tmp".as_ref()))
}

/// Whether `out`'s reference cache holds π_ref (SFT is over).
fn cached(out: &Path) -> bool {
    std::fs::read_dir(out.join(".cache/reference")).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
    })
}

/// Runs (resuming where there is a state), kills it at `moment`; returns what it said.
fn kill_at(out: &Path, moment: impl Fn(&[(PathBuf, SystemTime)]) -> bool) -> String {
    let mut child = command(out, &[])
        .stderr(Stdio::piped())
        .spawn()
        .expect("workbench starts");
    let pipe = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || std::io::read_to_string(pipe).unwrap_or_default());
    kill_when(child, out, moment);
    reader.join().expect("stderr read")
}

fn same_results(expected: &Path, actual: &Path) {
    let script = std::fs::read_to_string(repo("tests/slurm/same_results.py")).unwrap();
    python(&script, &[expected, actual, Path::new("fig6_table2")]);
}

#[test]
fn a_run_killed_at_several_moments_ends_bitwise_as_an_uninterrupted_one() {
    let (expected, out) = (scratch("wb-resume-a-"), scratch("wb-resume-b-"));
    finish(&expected, &[]);
    assert!(
        state_files(&expected).is_empty(),
        "a finished run leaves no state"
    );
    // Before any step (nothing saved yet); early in SFT (the reference cache has no π_ref
    // yet); in the middle of a save; once SFT is over (π_ref cached) and preference
    // optimisation has saved a few states; in the middle of one of its saves.
    let mut resumed = kill_at(&out, |_| true);
    resumed += &kill_at(&out, after_saves(3));
    resumed += &kill_at(&out, mid_save);
    let in_dpo = after_saves(5);
    resumed += &kill_at(&out, |files| cached(&out) && in_dpo(files));
    resumed += &kill_at(&out, mid_save);
    resumed += &finish(&out, &[]);
    assert!(resumed.contains("resuming sft after step"), "{resumed}");
    assert!(resumed.contains("resuming dpo after step"), "{resumed}");
    assert!(
        state_files(&out).is_empty(),
        "state or scratch files left: {:?}",
        state_files(&out)
    );
    same_results(&expected, &out);
}

#[test]
fn sigusr1_saves_the_state_and_stops_and_a_damaged_state_is_not_resumed_from() {
    let (expected, out) = (scratch("wb-stop-a-"), scratch("wb-stop-b-"));
    finish(&expected, &[]);
    // SIGUSR1 (Slurm's warning): the state after the current step, exit 75.
    let child = command(&out, &[])
        .stderr(Stdio::piped())
        .spawn()
        .expect("workbench starts");
    let pid = child.id();
    let mut signalled = Some(child);
    let start = Instant::now();
    while state_files(&out).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let output = signalled
        .take()
        .unwrap()
        .wait_with_output()
        .expect("waited");
    assert_eq!(output.status.code(), Some(75), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(said.contains("stopped on request after step"), "{said}");
    assert_eq!(said.lines().count(), 1, "one line: {said}");
    let files = state_files(&out);
    assert_eq!(files.len(), 1, "{files:?}");
    // A state file cut short is named, set aside and trained past.
    let state = &files[0].0;
    let bytes = std::fs::read(state).unwrap();
    std::fs::write(state, &bytes[..bytes.len() / 2]).unwrap();
    let said = finish(&out, &[]);
    assert!(said.contains("not resumed from"), "{said}");
    same_results(&expected, &out);
    // And stopped again, then resumed from an intact state.
    std::fs::remove_file(out.join("fig6_table2.h5")).unwrap();
    let child = spawn(&out, &[]);
    let pid = child.id();
    let start = Instant::now();
    while state_files(&out).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(5));
    }
    Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status()
        .expect("kill runs");
    let output = child.wait_with_output().expect("waited");
    assert_eq!(output.status.code(), Some(75));
    let said = finish(&out, &[]);
    assert!(said.contains("resuming"), "{said}");
    same_results(&expected, &out);
}
