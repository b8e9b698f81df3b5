//! A [`CausalLm`] as a Hugging Face checkpoint folder that transformers loads with
//! `from_pretrained`: the source folder's `config.json` and tokenizer files, and a
//! `model.safetensors` of the model's current weights.
//!
//! The weights are stored under the names the source checkpoint gave them, in the run's
//! float type (F32 or F64; transformers reads either), each in the checkpoint's layout
//! (a linear layer's weight `[out, in]`, burn's transposed). A tied LM head is not stored:
//! the embedding is, once, as transformers' own `save_pretrained` writes it, and the
//! config's `tie_word_embeddings` ties them again on loading. Buffers that older
//! checkpoints carried (causal masks, rotary frequencies) are not parameters and are left
//! out; transformers recomputes them. The config's `torch_dtype` / `dtype`, where given, is
//! set to the stored type, so that `torch_dtype = "auto"` loads what was saved.

use super::CausalLm;
use super::layers::Parameter;
use crate::error::WorkbenchError;
use burn::tensor::DType;
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use std::collections::HashMap;
use std::path::Path;

/// Files of a checkpoint folder that describe its tokenizer and generation settings,
/// copied unchanged where present: what `AutoTokenizer` and `GenerationConfig` read.
pub const COPIED: [&str; 8] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
];

/// The files of a folder holding `model`, whose checkpoint was read from `source`: name
/// and bytes of `config.json`, `model.safetensors` and the [`COPIED`] files `source` has.
pub fn folder(model: &CausalLm, source: &Path) -> Result<Vec<(String, Vec<u8>)>, WorkbenchError> {
    let read = |name: &str| {
        let path = source.join(name);
        std::fs::read(&path).map_err(|source| WorkbenchError::Read { path, source })
    };
    let (weights, dtype) = safetensors_bytes(model)?;
    let config_path = source.join("config.json");
    let config = with_dtype(&read("config.json")?, dtype).map_err(|why| {
        WorkbenchError::Data(format!("{}: cannot rewrite: {why}", config_path.display()))
    })?;
    let mut files = vec![
        ("config.json".to_string(), config),
        ("model.safetensors".to_string(), weights),
    ];
    for name in COPIED {
        if source.join(name).is_file() {
            files.push((name.to_string(), read(name)?));
        }
    }
    Ok(files)
}

/// `config.json`'s text with its `torch_dtype` and `dtype` (where present) set to `dtype`,
/// written as transformers writes configs (keys sorted, two-space indent); the text
/// unchanged where neither is present or both already say `dtype`.
fn with_dtype(text: &[u8], dtype: &str) -> Result<Vec<u8>, String> {
    let mut value: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    let map = value.as_object_mut().ok_or("not a JSON object")?;
    let mut changed = false;
    for key in ["torch_dtype", "dtype"] {
        if let Some(old) = map.get_mut(key)
            && old.as_str() != Some(dtype)
        {
            *old = dtype.into();
            changed = true;
        }
    }
    if !changed {
        return Ok(text.to_vec());
    }
    let mut out = serde_json::to_vec_pretty(&value).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}

/// The safetensors file of `model`'s parameters and the torch name of its float type
/// (`float32` or `float64`).
fn safetensors_bytes(model: &CausalLm) -> Result<(Vec<u8>, &'static str), WorkbenchError> {
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, parameter) in model.parameters() {
        let data = match parameter {
            Parameter::Vector(t) => t.into_data(),
            Parameter::Matrix(t) => t.into_data(),
            Parameter::Transposed(t) => t.transpose().into_data(),
        };
        let shape = data.shape().to_vec();
        // Little-endian, as the format requires, whatever the machine's order.
        let (dtype, bytes): (Dtype, Vec<u8>) = match data.dtype() {
            DType::F64 => (
                Dtype::F64,
                data.iter::<f64>().flat_map(f64::to_le_bytes).collect(),
            ),
            // A backend computing in a narrower type (f16 on some GPUs) is stored widened.
            _ => (
                Dtype::F32,
                data.iter::<f32>().flat_map(f32::to_le_bytes).collect(),
            ),
        };
        tensors.push((name, dtype, shape, bytes));
    }
    let torch = if tensors.iter().all(|(_, d, _, _)| *d == Dtype::F64) {
        "float64"
    } else {
        "float32"
    };
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes).map(|view| (name.as_str(), view))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WorkbenchError::Data(format!("model.safetensors: {e}")))?;
    // transformers refuses safetensors files without the framework they were written for.
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| WorkbenchError::Data(format!("model.safetensors: {e}")))?;
    Ok((bytes, torch))
}

#[cfg(test)]
mod tests {
    use super::with_dtype;

    #[test]
    fn the_config_names_the_stored_float_type() {
        let text = br#"{"model_type": "llama", "torch_dtype": "bfloat16", "a": 1}"#;
        let out = String::from_utf8(with_dtype(text, "float64").unwrap()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["torch_dtype"], "float64");
        assert_eq!(value["model_type"], "llama");
        assert_eq!(value["a"], 1);
        // Nothing to change: the bytes as they were.
        let same = br#"{"model_type": "llama",  "dtype": "float32"}"#;
        assert_eq!(with_dtype(same, "float32").unwrap(), same.to_vec());
        assert_eq!(with_dtype(b"{}", "float32").unwrap(), b"{}".to_vec());
        assert!(with_dtype(b"[1]", "float32").is_err());
    }
}
