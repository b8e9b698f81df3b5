//! Hostile and unusual inputs against the data, numerics, report and submission paths:
//! special files as `data.path`, a gzip bomb, values that overflow or cannot train, a
//! dataset or attribute too large to read or echo, one unreadable sweep among many, a
//! second plain run of another configuration, and a failed `sbatch` that must leave nothing.

mod common;

use common::hostile::{fifo, file, hold_lock, refused, tree, within};
use common::{python, stderr, workbench};
use std::path::Path;

/// A `sequence_dpo` experiment on the JSONL file `path` (a few seconds when it runs).
fn jsonl_experiment(dir: &Path, path: &str) -> String {
    file(
        dir,
        "seq",
        &format!(
            r#"
name = "seq"
kind = "sequence_dpo"

[data]
source = "jsonl"
path = "{path}"

[model]
d_model = 16
n_layers = 1
n_heads = 2
d_ff = 32
context = 128

[sft]
epochs = 1
[dpo]
epochs = 1
"#
        ),
    )
}

#[test]
fn special_files_as_data_are_refused_as_not_regular() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = scratch.path();
    fifo(&dir.join("pipe.jsonl"));
    std::os::unix::fs::symlink(dir.join("pipe.jsonl"), dir.join("link.jsonl")).expect("link");
    for path in ["pipe.jsonl", "/dev/zero", "link.jsonl"] {
        let experiment = jsonl_experiment(dir, path);
        let output = within(&["validate", &experiment], 20);
        refused(&output, &["data.path", path, "not a regular file"]);
    }
    // A link to a regular file is that file; a missing file is still "no such file".
    std::fs::copy(
        common::repo("experiments/data/hh_sample.jsonl"),
        dir.join("real.jsonl"),
    )
    .expect("copy");
    std::os::unix::fs::symlink(dir.join("real.jsonl"), dir.join("good.jsonl")).expect("link");
    let output = workbench(&["validate", &jsonl_experiment(dir, "good.jsonl")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = workbench(&["validate", &jsonl_experiment(dir, "absent.jsonl")]);
    refused(&output, &["data.path", "no such file"]);
}

#[test]
fn a_gzip_bomb_is_refused_at_its_bound_without_inflating() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = scratch.path();
    // 200 MB of zeros, about 200 KB compressed: a thousand times its size.
    let script = "import gzip, sys\nwith gzip.open(sys.argv[1], 'wb') as f:\n    \
                  for _ in range(200):\n        f.write(bytes(1 << 20))\n";
    let bomb = dir.join("bomb.jsonl.gz");
    let made = python(script, &[&bomb]);
    assert!(made.status.success(), "{}", stderr(&made));
    let compressed = std::fs::metadata(&bomb).expect("bomb").len();
    let out = dir.join("o");
    let output = within(
        &[
            "run",
            &jsonl_experiment(dir, "bomb.jsonl.gz"),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        60,
    );
    refused(
        &output,
        &[
            "bomb.jsonl.gz",
            &format!("more than {} bytes", compressed * 10),
            "10× its compressed size",
        ],
    );
    assert!(!out.join("seq.h5").exists(), "no results file");
}

#[test]
fn values_that_overflow_or_cannot_train_are_errors_not_results() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let experiment = common::repo("experiments/fig6_table2.toml");
    let output = workbench(&["validate", &experiment, "--set", "data.sharpness=1e308"]);
    refused(&output, &["data.sharpness", "1e308", "<= 1e6"]);
    let out = scratch.path().join("o");
    let output = workbench(&[
        "run",
        &experiment,
        "--set",
        "dpo.beta=1e300",
        "--set",
        "data.pairs=200",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    refused(&output, &["astronomically large"]);
    assert!(!out.join("fig6_table2.h5").exists(), "no results file");
}

#[test]
fn a_huge_dataset_or_attribute_is_bounded_in_the_report() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let results = scratch.path().join("results");
    std::fs::create_dir_all(&results).expect("results");
    // 3·10⁸ declared elements that take no space (never written), and a 20 MB
    // configuration attribute.
    let script = "import h5py, sys, numpy as np\n\
        f = h5py.File(sys.argv[1], 'w')\n\
        f.attrs['kind'] = 'my_kind'\n\
        f.attrs['experiment'] = 'huge'\n\
        f.attrs['config_toml'] = 'x = \"' + 'y' * 20_000_000 + '\"\\n'\n\
        f.create_dataset('curves/big', shape=(300_000_000,), dtype='f8', chunks=(1 << 20,), compression='gzip')\n\
        f['curves/small'] = np.linspace(0, 1, 20)\n";
    let made = python(script, &[&results.join("huge.h5")]);
    assert!(made.status.success(), "{}", stderr(&made));
    let report = scratch.path().join("report");
    let output = within(
        &[
            "report",
            results.to_str().unwrap(),
            "--out",
            report.to_str().unwrap(),
        ],
        60,
    );
    let text = stderr(&output);
    assert!(text.len() < 20_000, "stderr is {} bytes", text.len());
    let html = std::fs::read_to_string(report.join("report.html")).expect("report.html");
    assert!(
        html.len() < 1_000_000,
        "report.html is {} bytes",
        html.len()
    );
    assert!(
        html.contains("300000000 elements, more than the 67108864"),
        "the bound is named"
    );
    assert!(html.contains("bytes shown; the report shows at most 65536"));
}

#[test]
fn one_unreadable_sweep_does_not_hide_the_others_from_status() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let out = scratch.path().join("o");
    for name in ["a", "b"] {
        let text = common::hostile::SWEEP.replace("name = \"sw\"", &format!("name = \"{name}\""));
        let path = file(scratch.path(), name, &text);
        let output = workbench(&["run", &path, "--out", out.to_str().unwrap(), "--quiet"]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    std::fs::write(out.join("a/sweep.toml"), "not = [toml").expect("corrupt");
    let output = workbench(&["status", out.to_str().unwrap()]);
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(listing.contains("b ("), "{listing}");
    refused(&output, &["a/sweep.toml"]);
}

#[test]
fn a_second_plain_run_of_another_configuration_is_refused_naming_the_holder() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let out = scratch.path().join("o");
    std::fs::create_dir_all(&out).expect("out");
    let lock = out.join(".fig6_table2.lock");
    let held = hold_lock(&lock, "0123456789abcdef-flex-f64 node-7-99");
    let experiment = common::repo("experiments/fig6_table2.toml");
    let args = [
        "run",
        &experiment,
        "--set",
        "data.pairs=200",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    refused(&workbench(&args), &["node-7-99", "another configuration"]);
    assert!(!out.join("fig6_table2.h5").exists());
    held.unlock().expect("release");
    let output = workbench(&args);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_failed_submission_leaves_nothing_behind() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = scratch.path();
    // An sbatch that is present but refuses every job.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let sbatch = bin.join("sbatch");
    std::fs::write(
        &sbatch,
        "#!/bin/sh\necho 'sbatch: error: invalid partition' >&2\nexit 1\n",
    )
    .expect("sbatch");
    let mut permissions = std::fs::metadata(&sbatch).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&sbatch, permissions).expect("chmod");
    let sweep = file(dir, "sw", common::hostile::SWEEP);
    let out = dir.join("o");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(["submit", &sweep, "--slurm", "--out", out.to_str().unwrap()])
        .env("PATH", path)
        .output()
        .expect("workbench runs");
    refused(&output, &["invalid partition"]);
    let left = if out.exists() { tree(&out) } else { Vec::new() };
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn an_experiment_file_that_is_a_fifo_or_device_is_refused_not_waited_on() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let pipe = scratch.path().join("sweep.toml");
    fifo(&pipe);
    for path in [pipe.to_str().unwrap(), "/dev/zero"] {
        for args in [
            vec!["validate", path],
            vec!["run", path],
            vec!["submit", path, "--slurm", "--dry-run"],
        ] {
            let output = within(&args, 20);
            refused(&output, &[path, "not a regular file"]);
        }
    }
}
