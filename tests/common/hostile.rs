//! Helpers of the hostile-input tests: experiment files in a scratch folder, refusals,
//! folder listings, deadlines and FIFOs.

use super::stderr;
use std::path::Path;
use std::time::{Duration, Instant};

/// A bandit sweep of two points, about a second in all.
pub const SWEEP: &str = r#"
name = "sw"
kind = "mode_seeking"

[data]
mode = "sampled"
n_pairs = 50

[optimizer]
epochs = 20

[sweep]
grid = { "optimizer.lr" = [0.01, 0.02] }
"#;

/// Writes `text` as `<dir>/<name>.toml` and returns its path.
pub fn file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write experiment");
    path.display().to_string()
}

/// Whether `output` failed with one line on stderr containing every one of `needles`.
pub fn refused(output: &std::process::Output, needles: &[&str]) {
    let text = stderr(output);
    assert!(!output.status.success(), "must fail: {text}");
    for needle in needles {
        assert!(text.contains(needle), "stderr lacks {needle:?}: {text}");
    }
}

/// Every file below `dir`, relative to it, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

/// Runs `args` with a deadline: a command that blocks (on a FIFO, say) fails the test
/// instead of hanging it.
pub fn within(args: &[&str], seconds: u64) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("workbench starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(seconds) {
            let _ = child.kill();
            panic!("workbench {args:?} still runs after {seconds} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// Makes a FIFO at `path`.
pub fn fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

/// Holds the results lock `lock` (shared) as another process writing `holder` would.
pub fn hold_lock(lock: &Path, holder: &str) -> std::fs::File {
    let held = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(lock)
        .expect("lock file");
    std::fs::write(lock, holder).expect("holder");
    held.lock_shared().expect("hold");
    held
}
