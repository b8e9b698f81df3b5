//! `workbench export`: a `sequence_dpo` run (with a held-out split), a bandit run (with
//! 2-D datasets) and a sweep file as CSV and Parquet tables, read back with pandas and compared with h5py
//! (tests/oracle/export_tables.py, in the oracle Python, which has pandas, pyarrow and
//! h5py); bad targets are refused with one line.

mod common;

use common::{repo, stderr, workbench};

fn ok(args: &[&str]) -> String {
    let output = workbench(args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stderr(&output)
}

const SWEEP: &str = r#"
name = "wd_points"
kind = "weight_decay_sweep"

[bandit]
pi_star = [0.6, 0.3, 0.1]
pi_ref = [0.2, 0.3, 0.5]
beta = 0.5

[optimizer]
lr = 0.05
epochs = 20

[constraints.weight_decay]
alpha = [0.0, 0.1]

[[methods]]
loss = "dpo"

[sweep]
grid = { "optimizer.lr" = [0.05, 0.01], "bandit.beta" = [0.5, 1.0] }
"#;

#[test]
fn exported_tables_read_back_with_pandas_equal_the_results_file() {
    let Some(python) = common::oracle::transformers_python() else {
        return;
    };
    let dir = common::scratch("wb-export-");
    let results = dir.join("results");
    let r = results.display().to_string();
    let fig6 = repo("experiments/fig6_table2.toml");
    ok(&[
        "run",
        &fig6,
        "--out",
        &r,
        "--quiet",
        "--set",
        "data.pairs=600",
        "--set",
        "sft.epochs=1",
        "--set",
        "dpo.epochs=1",
        "--set",
        "analysis.q=10.0",
        "--set",
        "data.eval_fraction=0.2",
        "--set",
        "dpo.eval_every=3",
    ]);
    // A bandit file with 2-D datasets (each method's policy over the weight-decay grid).
    let fig2 = repo("experiments/fig2_weight_decay.toml");
    ok(&["run", &fig2, "--out", &r, "--quiet", "--smoke"]);
    let sweep = dir.join("wd_points.toml");
    std::fs::write(&sweep, SWEEP).unwrap();
    ok(&["run", sweep.to_str().unwrap(), "--out", &r, "--quiet"]);

    let (csv, parquet) = (dir.join("csv"), dir.join("parquet"));
    for (format, out) in [("csv", &csv), ("parquet", &parquet)] {
        let said = ok(&[
            "export",
            &r,
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(said.contains("table(s) to"), "{said}");
    }
    for table in [
        "fig6_table2.dpo",
        "fig6_table2.eval_dpo",
        "fig6_table2.pairs",
        "fig6_table2.eval_pairs",
        "wd_points.points",
    ] {
        assert!(
            parquet.join(format!("{table}.parquet")).is_file(),
            "{table}"
        );
        assert!(csv.join(format!("{table}.csv")).is_file(), "{table}");
    }
    // No temporary file is left behind.
    for entry in std::fs::read_dir(&parquet).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "{name}");
    }
    let said = common::oracle::run_script(&python, "export_tables.py", &[&results, &csv, &parquet]);
    let said = String::from_utf8_lossy(&said);
    assert_eq!(
        said.lines().filter(|l| l.starts_with("ok ")).count(),
        3,
        "{said}"
    );
}

#[test]
fn export_refuses_what_is_not_a_results_file() {
    let dir = common::scratch("wb-export-bad-");
    let missing = dir.join("nothing.h5");
    let output = workbench(&["export", missing.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no such results file or folder"),
        "{}",
        stderr(&output)
    );
    let output = workbench(&["export", dir.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no results files (*.h5)"),
        "{}",
        stderr(&output)
    );
    let fake = dir.join("fake.h5");
    std::fs::write(&fake, "not hdf5").unwrap();
    let output = workbench(&["export", fake.to_str().unwrap(), "--format", "parquet"]);
    assert!(!output.status.success());
    assert_eq!(
        stderr(&output).trim().lines().count(),
        1,
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("fake.h5"), "{}", stderr(&output));
}
