//! `[output] save` end to end: a saved π_θ (and π_ref) is loaded by transformers and
//! scored. tests/oracle/hf_pipeline.py makes tiny GPT-NeoX (untied head), Llama (tied)
//! and Qwen2 (untied) checkpoints with their tokenizers and the HH pairs; the workbench
//! runs `sequence_dpo` on each with both models saved, in f64 and in f32; then
//! tests/oracle/hf_saved.py loads every saved folder with
//! `AutoModelForCausalLM.from_pretrained` and its own tokenizer.json, and scores the pairs
//! with the workbench's layout and truncation. Its log π(y|x) must equal the results
//! file's `policy/log_prob_*` (`reference/log_prob_*` for π_ref): to 1e-9 in f64 and to
//! 1e-4 per scored token in f32. The folder's model.safetensors must hold the source
//! checkpoint's tensor names in the run's float type, load without missing or unexpected
//! keys, and have the SHA-256 the results file records.
//!
//! The Python is found as tests/pretrained_pipeline.rs finds it (skipped without it
//! unless `WORKBENCH_REQUIRE_BACKENDS` is set).

mod common;

use common::{stderr, workbench};
use serde_json::Value;
use std::path::{Path, PathBuf};
use workbench::results::ResultsFile;

/// `sequence_dpo` on checkpoint `case` saving both models; `sft_epochs` SFT epochs first
/// (0: π_ref is the checkpoint).
fn experiment(dir: &Path, case: &str, max_length: u64, sft_epochs: usize) -> PathBuf {
    let file = dir.join(format!("{case}.toml"));
    std::fs::write(
        &file,
        format!(
            r#"name = "saved_{case}"
kind = "sequence_dpo"

[data]
source = "jsonl"
path = "data.jsonl"

[model]
path = "{case}"
max_length = {max_length}
seed = 5

[sft]
epochs = {sft_epochs}
lr = 1e-3
batch_size = 8

[dpo]
epochs = 1
lr = 1e-3
batch_size = 4

[analysis]
q = 25.0

[output]
save = ["reference", "policy"]
"#
        ),
    )
    .unwrap();
    file
}

/// One saved folder to score, and what the workbench recorded of it.
struct Saved {
    case: String,
    dtype: &'static str,
    /// `reference` or `policy`.
    model: &'static str,
    folder: PathBuf,
    source: PathBuf,
    sha256: String,
    chosen: Vec<f64>,
    rejected: Vec<f64>,
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

/// Runs `file` on flex in `dtype` into `out`; the folders it saved, as recorded.
fn run(file: &Path, out: &Path, dtype: &'static str, case: &str, source: &Path) -> Vec<Saved> {
    let output = workbench(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "flex",
        "--dtype",
        dtype,
        "--quiet",
    ]);
    assert!(output.status.success(), "run failed: {}", stderr(&output));
    let results = ResultsFile::open(&out.join(format!("saved_{case}.h5"))).expect("results");
    let saved: toml::Table = results
        .attr("saved")
        .expect("a `saved` attribute")
        .parse()
        .expect("`saved` is TOML");
    assert_eq!(saved.len(), 2, "{saved}");
    // The folders and nothing else (no temporary folder) under <name>/models/.
    let mut listed: Vec<String> = std::fs::read_dir(out.join(format!("saved_{case}/models")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, ["policy", "reference"]);
    ["reference", "policy"]
        .into_iter()
        .map(|model| {
            let entry = &saved[&format!("models/{model}")];
            let path = entry["path"].as_str().unwrap();
            assert_eq!(path, format!("saved_{case}/models/{model}"));
            let folder = out.join(path);
            let hashes = entry["sha256"].as_table().unwrap();
            let mut files: Vec<&str> = hashes.keys().map(String::as_str).collect();
            files.sort();
            for file in &files {
                assert!(folder.join(file).is_file(), "{case} {model}: {file}");
            }
            // config.json, the weights, and every tokenizer file the source has.
            let mut expected = vec!["config.json", "model.safetensors", "tokenizer.json"];
            for extra in ["generation_config.json", "tokenizer_config.json"] {
                if source.join(extra).exists() {
                    expected.push(extra);
                }
            }
            expected.sort();
            assert_eq!(files, expected, "{case} {model}");
            Saved {
                case: case.to_string(),
                dtype,
                model,
                folder,
                source: source.to_path_buf(),
                sha256: hashes["model.safetensors"].as_str().unwrap().to_string(),
                chosen: results.vec(&format!("{model}/log_prob_chosen")).unwrap(),
                rejected: results.vec(&format!("{model}/log_prob_rejected")).unwrap(),
            }
        })
        .collect()
}

#[test]
fn a_saved_policy_is_loaded_by_transformers_and_scores_as_the_workbench_did() {
    let dir = common::scratch("wb-pretrained-save-");
    let Some(python) = common::oracle::transformers_python() else {
        return;
    };
    common::oracle::run_script(&python, "hf_pipeline.py", &[&dir]);
    let text = std::fs::read_to_string(dir.join("cases.json")).expect("cases.json");
    let oracle: Value = serde_json::from_str(&text).unwrap();
    let max_length = oracle["max_length"].as_u64().unwrap();
    let mut saved = Vec::new();
    for case in oracle["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let source = dir.join(name);
        // The Llama case trains π_ref by SFT first: its saved π_ref is not the checkpoint.
        let sft_epochs = if name == "llama" { 1 } else { 0 };
        let file = experiment(&dir, name, max_length, sft_epochs);
        for dtype in ["f64", "f32"] {
            let out = dir.join(format!("out-{dtype}"));
            saved.extend(run(&file, &out, dtype, name, &source));
        }
    }
    let jobs: Vec<Value> = saved
        .iter()
        .map(|s| serde_json::json!({"case": s.case, "folder": s.folder, "source": s.source}))
        .collect();
    let jobs_file = dir.join("jobs.json");
    std::fs::write(&jobs_file, serde_json::to_string(&jobs).unwrap()).unwrap();
    let scores: Vec<Value> = serde_json::from_slice(&common::oracle::run_script(
        &python,
        "hf_saved.py",
        &[&jobs_file],
    ))
    .expect("the oracle's JSON");
    assert_eq!(scores.len(), saved.len());
    for (s, theirs) in saved.iter().zip(&scores) {
        let what = format!("{} {} {}", s.case, s.dtype, s.model);
        assert_eq!(theirs["sha256"].as_str(), Some(s.sha256.as_str()), "{what}");
        let stored = if s.dtype == "f64" { "F64" } else { "F32" };
        assert_eq!(theirs["dtypes"], serde_json::json!([stored]), "{what}");
        assert_eq!(
            theirs["names"], theirs["source_names"],
            "{what}: the source's tensor names"
        );
        for key in ["missing_keys", "unexpected_keys", "mismatched_keys"] {
            assert_eq!(
                theirs["loading"][key],
                serde_json::json!([]),
                "{what}: {key}"
            );
        }
        let mut worst = 0.0f64;
        for (side, ours) in [("chosen", &s.chosen), ("rejected", &s.rejected)] {
            let transformers = floats(&theirs[side]);
            let scored = floats(&theirs["scored"][side]);
            assert_eq!(ours.len(), transformers.len(), "{what} {side}");
            for ((a, b), n) in ours.iter().zip(&transformers).zip(&scored) {
                let error = (a - b).abs();
                let bound = if s.dtype == "f64" { 1e-9 } else { 1e-4 * n };
                assert!(
                    error <= bound,
                    "{what} {side}: workbench {a}, transformers {b} over {n} tokens"
                );
                worst = worst.max(error / n);
            }
        }
        eprintln!("{what}: max |workbench - transformers| per scored token {worst:.2e}");
    }
    // DPO moved the policy, and SFT the Llama case's π_ref, away from the checkpoint.
    let hash = |case: &str, model: &str| {
        let s = saved
            .iter()
            .find(|s| s.case == case && s.model == model && s.dtype == "f64")
            .unwrap();
        s.sha256.clone()
    };
    assert_ne!(hash("neox", "reference"), hash("neox", "policy"));
    let source_scores = |case: &str| {
        let c = oracle["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == case)
            .unwrap();
        floats(&c["f64"]["chosen"])
    };
    let reference = |case: &str| {
        saved
            .iter()
            .find(|s| s.case == case && s.model == "reference" && s.dtype == "f64")
            .unwrap()
            .chosen
            .clone()
    };
    let differs = |a: &[f64], b: &[f64]| a.iter().zip(b).any(|(x, y)| (x - y).abs() > 1e-6);
    assert!(differs(&reference("llama"), &source_scores("llama")));
    assert!(!differs(&reference("neox"), &source_scores("neox")));
}

#[test]
fn saving_is_refused_in_one_line_where_it_cannot_be_done() {
    let dir = common::scratch("wb-pretrained-save-refused-");
    let file = dir.join("e.toml");
    let check = |output_section: &str, needle: &str| {
        std::fs::write(
            &file,
            format!("name = \"e\"\nkind = \"sequence_dpo\"\n[output]\n{output_section}\n"),
        )
        .unwrap();
        let out = dir.join("out");
        let output = workbench(&[
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        let message = stderr(&output);
        assert!(!output.status.success(), "{output_section}: accepted");
        assert!(message.contains(needle), "{needle}: {message}");
        assert!(message.contains("output.save"), "names the key: {message}");
        assert_eq!(message.trim().lines().count(), 1, "one line: {message}");
        assert!(!out.join("e.h5").exists(), "nothing written");
    };
    check("save = [\"policy\"]", "saving needs [model] path");
    check("save = [\"optimizer\"]", "unknown model \"optimizer\"");
    check("save = [\"policy\", \"policy\"]", "names \"policy\" twice");
}

#[test]
fn a_sweep_saves_one_folder_per_point_and_redoes_a_point_whose_folder_is_gone() {
    let dir = common::scratch("wb-pretrained-save-sweep-");
    let file = dir.join("sw.toml");
    std::fs::write(
        &file,
        format!(
            r#"name = "sw"
kind = "sequence_dpo"
[data]
source = "jsonl"
path = "{}"
max_pairs = 16
[model]
path = "{}"
max_length = 32
[sft]
epochs = 0
[dpo]
epochs = 1
batch_size = 8
[analysis]
q = 25.0
[output]
save = ["policy"]
[sweep]
grid = {{ "dpo.lr" = [1e-3, 1e-4] }}
"#,
            common::repo("experiments/data/hh-rlhf/harmless-base-test.jsonl.gz"),
            common::repo("experiments/models/tiny-pythia"),
        ),
    )
    .unwrap();
    let out = dir.join("out");
    let run = || {
        let output = workbench(&[
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        stderr(&output)
    };
    run();
    let weights = |point: usize| {
        let stem = format!("point-{point:04}");
        let results = ResultsFile::open(&out.join(format!("sw/{stem}.h5"))).unwrap();
        let saved: toml::Table = results.attr("saved").unwrap().parse().unwrap();
        let entry = &saved["models/policy"];
        assert_eq!(
            entry["path"].as_str().unwrap(),
            format!("{stem}/models/policy")
        );
        let path = out.join(format!("sw/{stem}/models/policy/model.safetensors"));
        let bytes = std::fs::read(&path).unwrap();
        let recorded = entry["sha256"]["model.safetensors"].as_str().unwrap();
        assert_eq!(workbench::results::folders::sha256_hex(&bytes), recorded);
        path
    };
    let (first, second) = (weights(0), weights(1));
    assert_ne!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
    // A point whose saved model is gone is run again; the other is reused.
    std::fs::remove_file(&second).unwrap();
    let log = run();
    assert!(log.contains("ran 1, reused 1"), "{log}");
    weights(1);
}
