//! `sequence_dpo` on Hugging Face checkpoints, end to end through the CLI: the oracle
//! (tests/oracle/hf_pipeline.py) trains a BPE tokenizer on the shipped Anthropic-HH split,
//! saves tiny random GPT-NeoX, Llama and Qwen2 checkpoints beside it, and scores every
//! pair with transformers after the workbench's documented prompt/response split,
//! special tokens and truncation. The workbench runs each checkpoint with
//! `sft.epochs = 0`, so its π_ref is the checkpoint as loaded: the results file's
//! `reference/log_prob_{chosen,rejected}` must equal transformers' log π(y|x), to 1e-9 per
//! scored token in f64 and 1e-4 per scored token in f32. That checks the tokenizer (a
//! different token anywhere changes the sums by far more), BOS/EOS from each folder's own
//! configuration, the truncation and the padded batches, and that y_w and y_l share their
//! prompt tokens.
//!
//! The Python is `$WORKBENCH_ORACLE_PYTHON` (default: the libtorch venv, which holds
//! torch, transformers and tokenizers). Without it the test is skipped, unless
//! `WORKBENCH_REQUIRE_BACKENDS` is set (the test suite), where it fails.

mod common;

use common::{stderr, workbench};
use serde_json::Value;
use std::path::{Path, PathBuf};
use workbench::results::ResultsFile;

/// Runs the oracle into `dir`; `None` (test skipped) without a usable Python where the
/// suite does not require one.
fn run_oracle(dir: &Path) -> Option<Value> {
    let python = common::oracle::transformers_python()?;
    common::oracle::run_script(&python, "hf_pipeline.py", &[dir]);
    let text = std::fs::read_to_string(dir.join("cases.json")).expect("cases.json");
    Some(serde_json::from_str(&text).expect("cases.json is JSON"))
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

/// `sequence_dpo` on the checkpoint `case`, π_ref = the checkpoint, one DPO epoch.
fn experiment(dir: &Path, case: &str, max_length: u64) -> PathBuf {
    let file = dir.join(format!("{case}.toml"));
    std::fs::write(
        &file,
        format!(
            r#"name = "pretrained_{case}"
kind = "sequence_dpo"

[data]
source = "jsonl"
path = "data.jsonl"

[model]
path = "{case}"
max_length = {max_length}
seed = 5

[sft]
epochs = 0

[dpo]
epochs = 1
lr = 1e-3
batch_size = 4

[analysis]
q = 25.0
"#
        ),
    )
    .unwrap();
    file
}

/// Runs `file` on flex in `dtype` into `out`; the results file.
fn run(file: &Path, out: &Path, dtype: &str) -> ResultsFile {
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
    let name = file.file_stem().unwrap().to_str().unwrap();
    ResultsFile::open(&out.join(format!("pretrained_{name}.h5"))).expect("results file")
}

#[test]
fn reference_scores_equal_transformers_on_tokenized_truncated_hh_pairs() {
    let dir = common::scratch("wb-pretrained-pipeline-");
    let Some(oracle) = run_oracle(&dir) else {
        return;
    };
    let max_length = oracle["max_length"].as_u64().unwrap();
    let pairs = oracle["pairs"].as_u64().unwrap() as usize;
    for case in oracle["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let file = experiment(&dir, name, max_length);
        for (dtype, per_token) in [("f64", 1e-9), ("f32", 1e-4)] {
            let results = run(&file, &dir.join(format!("out-{dtype}")), dtype);
            let mut worst = 0.0f64;
            for side in ["chosen", "rejected"] {
                let ours = results.vec(&format!("reference/log_prob_{side}")).unwrap();
                let theirs = floats(&case[dtype][side]);
                let scored = floats(&case["scored"][side]);
                assert_eq!(ours.len(), pairs, "{name} {side}: one score per pair");
                for ((a, b), n) in ours.iter().zip(&theirs).zip(&scored) {
                    let per = (a - b).abs() / n;
                    assert!(
                        per <= per_token,
                        "{name} {dtype} {side}: workbench {a}, transformers {b} over {n} tokens"
                    );
                    worst = worst.max(per);
                }
            }
            // DPO moved the policy away from the checkpoint.
            let before = results.vec("reference/log_prob_chosen").unwrap();
            let after = results.vec("policy/log_prob_chosen").unwrap();
            assert!(before.iter().zip(&after).any(|(a, b)| a != b), "{name}");
            eprintln!(
                "{name} {dtype}: max |workbench - transformers| per scored token {worst:.2e}"
            );
        }
    }
}

#[test]
fn a_checkpoint_is_refused_in_one_line_where_its_config_or_keys_do_not_fit() {
    let dir = common::scratch("wb-pretrained-refused-");
    let folder = dir.join("model");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        dir.join("data.jsonl"),
        "{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\n",
    )
    .unwrap();
    let config = |extra: &str| {
        format!(
            r#"{{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 64,
            "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 32, "max_position_embeddings": 32{extra}}}"#
        )
    };
    let file = dir.join("e.toml");
    let check = |toml_model: &str, config_json: &str, needle: &str| {
        std::fs::write(folder.join("config.json"), config_json).unwrap();
        std::fs::write(
            &file,
            format!(
                "name = \"e\"\nkind = \"sequence_dpo\"\n[data]\nsource = \"jsonl\"\npath = \"data.jsonl\"\n[model]\n{toml_model}\n[sft]\nepochs = 0\n"
            ),
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
        assert!(!output.status.success(), "{needle}: accepted");
        assert!(message.contains(needle), "{needle}: {message}");
        assert_eq!(message.trim().lines().count(), 1, "one line: {message}");
        assert!(!out.join("e.h5").exists(), "{needle}: nothing written");
    };
    check(
        "path = \"model\"",
        &config(r#", "rope_scaling": {"rope_type": "yarn", "factor": 4.0}"#),
        "rope_scaling",
    );
    check("path = \"model\"", &config(""), "tokenizer.json");
    check(
        "path = \"model\"\nd_model = 64",
        &config(""),
        "model.d_model",
    );
    check(
        "path = \"model\"\nmax_length = 33",
        &config(""),
        "max_position_embeddings 32",
    );
    check("path = \"nowhere\"", &config(""), "model.path");
    check("max_length = 20", &config(""), "model.max_length");
}
