//! Checkpoint reading (workbench::sequence::pretrained::weights) without Python: safetensors
//! files written here with the `safetensors` crate, in bf16, f16 and f32, single and sharded.
//! Values arrive exactly (each stored value is representable in f64), and every way a
//! checkpoint can disagree with its config is a one-line error naming the tensor.

mod common;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, serialize};
use std::path::Path;
use workbench::sequence::pretrained::weights::Checkpoint;

/// Values exactly representable in bf16 and f16 alike.
const VALUES: [f32; 6] = [1.0, -0.5, 0.25, 3.0, -2.0, 0.125];

fn bytes(dtype: Dtype) -> Vec<u8> {
    match dtype {
        Dtype::BF16 => VALUES
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect(),
        Dtype::F16 => VALUES
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect(),
        Dtype::F32 => VALUES.iter().flat_map(|v| v.to_le_bytes()).collect(),
        other => panic!("{other:?}"),
    }
}

/// Writes `dir/file` holding one `[2, 3]` tensor per `(name, dtype)`.
fn write(dir: &Path, file: &str, tensors: &[(&str, Dtype)]) {
    let data: Vec<(String, Vec<u8>, Dtype)> = tensors
        .iter()
        .map(|&(name, dtype)| (name.to_string(), bytes(dtype), dtype))
        .collect();
    let views: Vec<(String, TensorView)> = data
        .iter()
        .map(|(name, b, dtype)| {
            (
                name.clone(),
                TensorView::new(*dtype, vec![2, 3], b).expect("view"),
            )
        })
        .collect();
    std::fs::write(dir.join(file), serialize(views, None).expect("serialise")).expect("write");
}

#[test]
fn bf16_f16_and_f32_tensors_load_exactly_from_one_file_or_shards() {
    let device = common::device();
    let single = tempfile::tempdir().expect("dir");
    write(
        single.path(),
        "model.safetensors",
        &[("a", Dtype::BF16), ("b", Dtype::F16), ("c", Dtype::F32)],
    );
    let sharded = tempfile::tempdir().expect("dir");
    write(
        sharded.path(),
        "model-00001-of-00002.safetensors",
        &[("a", Dtype::BF16), ("b", Dtype::F16)],
    );
    write(
        sharded.path(),
        "model-00002-of-00002.safetensors",
        &[("c", Dtype::F32)],
    );
    let index = r#"{"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
        "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}"#;
    std::fs::write(sharded.path().join("model.safetensors.index.json"), index).expect("write");
    let want: Vec<f64> = VALUES.iter().map(|&v| v as f64).collect();
    for dir in [single.path(), sharded.path()] {
        let checkpoint = Checkpoint::open(dir).expect("open");
        for name in ["a", "b", "c"] {
            let tensor = checkpoint.tensor(name, [2, 3], &device).expect("tensor");
            assert_eq!(workbench::tensors::to_vec(tensor), want, "{name}");
        }
        checkpoint.all_used(&[]).expect("all used");
    }
}

#[test]
fn a_checkpoint_that_disagrees_with_its_config_is_a_one_line_error_naming_the_tensor() {
    let device = common::device();
    let dir = tempfile::tempdir().expect("dir");
    write(
        dir.path(),
        "model.safetensors",
        &[("a", Dtype::F32), ("unused.weight", Dtype::F32)],
    );
    let checkpoint = Checkpoint::open(dir.path()).expect("open");
    let file = dir.path().join("model.safetensors").display().to_string();
    let one_line = |e: workbench::error::ConfigError| {
        let text = e.to_string();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with(&file), "{text}");
        text
    };
    let shape = one_line(checkpoint.tensor("a", [3, 2], &device).expect_err("shape"));
    assert!(
        shape.contains("a = [2, 3]: has the wrong shape: config.json implies [3, 2]"),
        "{shape}"
    );
    let missing = one_line(
        checkpoint
            .tensor("b", [2, 3], &device)
            .expect_err("missing"),
    );
    assert!(
        missing.contains("b: missing from the checkpoint"),
        "{missing}"
    );
    let unused = one_line(checkpoint.all_used(&[]).expect_err("unused"));
    assert!(
        unused.contains("unused.weight: is not part of the architecture"),
        "{unused}"
    );
    let empty = tempfile::tempdir().expect("dir");
    let none = Checkpoint::open(empty.path())
        .err()
        .expect("no weights")
        .to_string();
    assert!(
        none.contains("neither model.safetensors nor model.safetensors.index.json"),
        "{none}"
    );
}
