//! The reference-model cache end to end: sweep points that share π_ref train it once, and
//! every dataset is bit for bit what it is without the cache — when the points run one
//! after the other, as concurrent processes (Slurm tasks), and after an entry is damaged.

mod common;

use common::{python, stderr, workbench};
use std::path::{Path, PathBuf};

/// A small `sequence_dpo` sweep of two points that differ only in β: one π_ref.
const SWEEP: &str = r#"
name = "cached"
kind = "sequence_dpo"

[sweep]
grid = { "dpo.beta" = [0.1, 0.5] }

[data]
source = "synthetic"
pairs = 400
seed = 3

[model]
d_model = 16
n_layers = 1
n_heads = 2
d_ff = 32
context = 18
seed = 5

[sft]
epochs = 1

[dpo]
epochs = 1

[analysis]
q = 10.0
"#;

fn sweep_file(dir: &Path) -> PathBuf {
    let file = dir.join("cached.toml");
    std::fs::write(&file, SWEEP).unwrap();
    file
}

/// `workbench run FILE --out OUT --quiet ARGS...`, which must succeed.
fn run(file: &Path, out: &Path, args: &[&str]) {
    let mut all = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    all.extend(args);
    let output = workbench(&all);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// Every dataset of every point file of `a` equals (bit for bit, NaN included) the one of
/// the same path in `b`, and neither has one the other lacks; prints how many.
const SAME_DATASETS: &str = r#"
import sys, glob, os, h5py, numpy as np
a, b = sys.argv[1], sys.argv[2]
files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(a, "point-*.h5")))
assert files and files == sorted(os.path.basename(p) for p in glob.glob(os.path.join(b, "point-*.h5"))), files
count = 0
for name in files:
    fa, fb = h5py.File(os.path.join(a, name), "r"), h5py.File(os.path.join(b, name), "r")
    def names(f):
        found = []
        f.visititems(lambda k, v: found.append(k) if isinstance(v, h5py.Dataset) else None)
        return sorted(found)
    assert names(fa) == names(fb), name
    for k in names(fa):
        x, y = fa[k][()], fb[k][()]
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes(), (name, k)
        count += 1
print(count)
"#;

/// The `reference_cache` note of each point file in `dir`, in point order.
const NOTES: &str = r#"
import sys, glob, h5py
for p in sorted(glob.glob(sys.argv[1] + "/point-*.h5")):
    print(h5py.File(p, "r").attrs["reference_cache"])
"#;

fn notes(dir: &Path) -> Vec<String> {
    let output = python(NOTES, &[dir]);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn assert_same_datasets(a: &Path, b: &Path) {
    let output = python(SAME_DATASETS, &[a, b]);
    let count: usize = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(count > 40, "only {count} datasets compared");
}

/// The cache's entries (folders named by their key, temporary ones excluded).
fn entries(out: &Path) -> Vec<PathBuf> {
    let dir = out.join(".cache/reference");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found
}

#[test]
fn points_sharing_pi_ref_train_it_once_and_their_datasets_equal_those_without_the_cache() {
    let dir = common::scratch("wb-refcache-");
    let file = sweep_file(&dir);
    let (cached, plain) = (dir.join("cached"), dir.join("plain"));
    run(&file, &cached, &["--jobs", "1"]);
    run(&file, &plain, &["--jobs", "1", "--no-reference-cache"]);
    assert_same_datasets(&cached.join("cached"), &plain.join("cached"));
    let found = notes(&cached.join("cached"));
    assert_eq!(found.len(), 2);
    assert!(found[0].starts_with("miss "), "{found:?}");
    assert!(found[1].starts_with("hit "), "{found:?}");
    assert_eq!(found[0][5..37], found[1][4..36], "one key: {found:?}");
    assert_eq!(notes(&plain.join("cached")), ["off", "off"]);
    assert_eq!(entries(&cached).len(), 1);
    assert!(!plain.join(".cache").exists());

    // Another β and learning rate (after SFT): the same entry; another SFT learning
    // rate: a new one.
    run(&file, &cached, &["--jobs", "1", "--set", "dpo.lr=0.002"]);
    assert_eq!(entries(&cached).len(), 1);
    assert!(
        notes(&cached.join("cached"))
            .iter()
            .all(|n| n.starts_with("hit "))
    );
    run(&file, &cached, &["--jobs", "1", "--set", "sft.lr=0.002"]);
    assert_eq!(entries(&cached).len(), 2);
}

#[test]
fn concurrent_tasks_of_one_key_leave_one_entry_and_the_results_of_a_run_without_it() {
    let dir = common::scratch("wb-refcache-par-");
    let file = sweep_file(&dir);
    let (shared, plain) = (dir.join("shared"), dir.join("plain"));
    // The two points as two processes at once, as two Slurm tasks of one submission.
    let tasks: Vec<_> = ["0", "1"]
        .iter()
        .map(|point| {
            std::process::Command::new(env!("CARGO_BIN_EXE_workbench"))
                .args(["run", file.to_str().unwrap(), "--out"])
                .arg(&shared)
                .args(["--quiet", "--point", point])
                .env_remove("WORKBENCH_BACKEND")
                .output()
                .expect("workbench runs")
        })
        .collect::<Vec<_>>();
    for task in &tasks {
        assert!(task.status.success(), "{}", stderr(task));
    }
    run(&file, &plain, &["--no-reference-cache"]);
    assert_same_datasets(&shared.join("cached"), &plain.join("cached"));
    let found = entries(&shared);
    assert_eq!(found.len(), 1, "{found:?}");
    let leftovers: Vec<_> = std::fs::read_dir(shared.join(".cache/reference"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary folders left: {leftovers:?}"
    );
}

#[test]
fn concurrent_threads_of_one_key_wait_for_one_another_and_train_pi_ref_once() {
    let dir = common::scratch("wb-refcache-thr-");
    let file = sweep_file(&dir);
    let (shared, plain) = (dir.join("shared"), dir.join("plain"));
    run(&file, &shared, &["--jobs", "2"]);
    run(&file, &plain, &["--jobs", "2", "--no-reference-cache"]);
    assert_same_datasets(&shared.join("cached"), &plain.join("cached"));
    let mut found = notes(&shared.join("cached"));
    found.sort();
    // The second point waited on the key's lock while the first trained π_ref.
    assert!(
        found[0].starts_with("hit ") && found[1].starts_with("miss "),
        "{found:?}"
    );
    assert_eq!(entries(&shared).len(), 1);
}

#[test]
fn a_damaged_entry_is_ignored_with_a_warning_and_replaced() {
    let dir = common::scratch("wb-refcache-bad-");
    let file = sweep_file(&dir);
    let out = dir.join("out");
    run(&file, &out, &["--jobs", "1", "--point", "0"]);
    let entry = entries(&out).remove(0);
    let weights = entry.join("weights.bpk");
    let mut bytes = std::fs::read(&weights).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&weights, bytes).unwrap();
    let output = workbench(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--point",
        "1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let warned = stderr(&output);
    assert!(
        warned.contains("weights.bpk: damaged") && warned.contains("trained again"),
        "{warned}"
    );
    assert_eq!(notes(&out.join("cached"))[1][..5], *"miss ");
    let plain = dir.join("plain");
    run(&file, &plain, &["--no-reference-cache"]);
    // Point 1 only ran in `out` once point 0 had: both are there now.
    assert_same_datasets(&out.join("cached"), &plain.join("cached"));
    // The replacement is whole: the next point that needs it loads it.
    run(&file, &out, &["--point", "0", "--force"]);
    assert_eq!(notes(&out.join("cached"))[0][..4], *"hit ");
}
