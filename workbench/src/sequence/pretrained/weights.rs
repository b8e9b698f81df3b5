//! A checkpoint's tensors, from `model.safetensors` or from the shards a
//! `model.safetensors.index.json` lists, read with the `safetensors` crate.
//!
//! Values stored as bf16, f16, f32 or f64 become tensors of the run's float type: bf16,
//! f16 and f32 are widened to f32 exactly, f64 is kept, and burn converts to the device's
//! type when the tensor is made. Each tensor's shape is checked against the architecture
//! before use, and a tensor the architecture does not use is an error (it means the
//! config and the weights disagree), except the buffers older transformers versions saved
//! (causal masks, rotary frequencies), which are recomputed.

use super::layers::Norm;
use crate::error::ConfigError;
use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Buffers (not parameters) that older transformers versions wrote into checkpoints.
const BUFFER_SUFFIXES: [&str; 3] = [
    ".attention.bias",
    ".attention.masked_bias",
    ".rotary_emb.inv_freq",
];

/// The tensors of one checkpoint directory.
pub struct Checkpoint {
    /// Each shard's path and bytes.
    shards: Vec<(PathBuf, Vec<u8>)>,
    /// Tensor name → index into `shards`.
    index: BTreeMap<String, usize>,
    /// Names handed out so far.
    used: RefCell<BTreeSet<String>>,
}

fn error(
    path: &Path,
    key: &str,
    value: impl std::fmt::Display,
    why: impl Into<String>,
) -> ConfigError {
    ConfigError::new(key, value, why).in_file(path.display().to_string())
}

fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| error(path, "weights", "", format!("cannot read: {e}")))
}

impl Checkpoint {
    /// Opens `dir/model.safetensors`, or the shards `dir/model.safetensors.index.json` names.
    pub fn open(dir: &Path) -> Result<Self, ConfigError> {
        let single = dir.join("model.safetensors");
        let index_path = dir.join("model.safetensors.index.json");
        let files: Vec<PathBuf> = if single.exists() {
            vec![single]
        } else if index_path.exists() {
            let text = String::from_utf8(read(&index_path)?)
                .map_err(|e| error(&index_path, "weight_map", "", format!("not UTF-8: {e}")))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| error(&index_path, "weight_map", "", format!("not JSON: {e}")))?;
            let map = value["weight_map"].as_object().ok_or_else(|| {
                error(
                    &index_path,
                    "weight_map",
                    "",
                    "missing (a table of tensor → file)",
                )
            })?;
            let mut files = BTreeSet::new();
            for (name, file) in map {
                let file = file
                    .as_str()
                    .filter(|f| !f.contains('/') && !f.contains('\\'))
                    .ok_or_else(|| {
                        error(
                            &index_path,
                            &format!("weight_map.{name}"),
                            file,
                            "must name a file in the same folder",
                        )
                    })?;
                files.insert(file.to_string());
            }
            files.into_iter().map(|f| dir.join(f)).collect()
        } else {
            return Err(error(
                dir,
                "weights",
                "",
                "holds neither model.safetensors nor model.safetensors.index.json",
            ));
        };
        if files.is_empty() {
            return Err(error(&index_path, "weight_map", "{}", "lists no tensors"));
        }
        let mut shards = Vec::new();
        let mut index = BTreeMap::new();
        for path in files {
            let bytes = read(&path)?;
            let names: Vec<String> = SafeTensors::deserialize(&bytes)
                .map_err(|e| {
                    error(
                        &path,
                        "safetensors",
                        "",
                        format!("not a safetensors file: {e}"),
                    )
                })?
                .names()
                .into_iter()
                .map(str::to_string)
                .collect();
            for name in names {
                if index.insert(name.clone(), shards.len()).is_some() {
                    return Err(error(&path, &name, "", "stored in two shards"));
                }
            }
            shards.push((path, bytes));
        }
        Ok(Self {
            shards,
            index,
            used: RefCell::new(BTreeSet::new()),
        })
    }

    /// Whether the checkpoint holds `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The tensor `name` as written, which must have `shape`, on `device` in its float type.
    pub fn tensor<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>, ConfigError> {
        let (values, stored) = self.values(name)?;
        if stored != shape {
            let (path, _) = &self.shards[self.index[name]];
            return Err(error(
                path,
                name,
                format!("{stored:?}"),
                format!("has the wrong shape: config.json implies {shape:?}"),
            ));
        }
        Ok(Tensor::from_data(values, device))
    }

    /// The tensor's values (widened to f32 unless stored as f64) and its shape.
    fn values(&self, name: &str) -> Result<(TensorData, Vec<usize>), ConfigError> {
        let Some(&shard) = self.index.get(name) else {
            let (path, _) = &self.shards[0];
            return Err(error(path, name, "", "missing from the checkpoint"));
        };
        let (path, bytes) = &self.shards[shard];
        let view = SafeTensors::deserialize(bytes)
            .and_then(|t| t.tensor(name))
            .map_err(|e| error(path, name, "", e.to_string()))?;
        let shape = view.shape().to_vec();
        let data = view.data();
        let widen = |convert: fn([u8; 2]) -> f32| -> Vec<f32> {
            data.chunks_exact(2)
                .map(|b| convert([b[0], b[1]]))
                .collect()
        };
        let values = match view.dtype() {
            Dtype::F32 => TensorData::new(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect::<Vec<f32>>(),
                shape.clone(),
            ),
            Dtype::BF16 => TensorData::new(
                widen(|b| half::bf16::from_le_bytes(b).to_f32()),
                shape.clone(),
            ),
            Dtype::F16 => TensorData::new(
                widen(|b| half::f16::from_le_bytes(b).to_f32()),
                shape.clone(),
            ),
            Dtype::F64 => TensorData::new(
                data.chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8")))
                    .collect::<Vec<f64>>(),
                shape.clone(),
            ),
            other => {
                return Err(error(
                    path,
                    name,
                    format!("{other:?}"),
                    "dtype not supported (bf16, f16, f32, f64 are)",
                ));
            }
        };
        self.used.borrow_mut().insert(name.to_string());
        Ok((values, shape))
    }

    /// A linear layer from `name.weight` `[out, in]` (transposed into burn's `[in, out]`)
    /// and, when `bias`, `name.bias` `[out]`.
    pub fn linear(
        &self,
        name: &str,
        [d_in, d_out]: [usize; 2],
        bias: bool,
        device: &Device,
    ) -> Result<Linear, ConfigError> {
        let weight = self.tensor(&format!("{name}.weight"), [d_out, d_in], device)?;
        let bias = bias
            .then(|| self.tensor(&format!("{name}.bias"), [d_out], device))
            .transpose()?;
        Ok(Linear {
            weight: Param::from_tensor(contiguous(weight.transpose())),
            bias: bias.map(Param::from_tensor),
        })
    }

    /// An embedding table `name.weight` `[rows, width]`.
    pub fn embedding(
        &self,
        name: &str,
        [rows, width]: [usize; 2],
        device: &Device,
    ) -> Result<Embedding, ConfigError> {
        Ok(Embedding {
            weight: Param::from_tensor(self.tensor(
                &format!("{name}.weight"),
                [rows, width],
                device,
            )?),
        })
    }

    /// A norm from `name.weight` (and `name.bias` for a LayerNorm), both `[width]`.
    pub fn norm(
        &self,
        name: &str,
        width: usize,
        eps: f64,
        rms: bool,
        device: &Device,
    ) -> Result<Norm, ConfigError> {
        Ok(Norm {
            weight: Param::from_tensor(self.tensor(&format!("{name}.weight"), [width], device)?),
            bias: (!rms)
                .then(|| {
                    self.tensor(&format!("{name}.bias"), [width], device)
                        .map(Param::from_tensor)
                })
                .transpose()?,
            eps,
            rms,
        })
    }

    /// Errors on the first tensor no layer took, other than known buffers and the names in
    /// `ignored` (an LM head stored beside tied embeddings).
    pub fn all_used(&self, ignored: &[&str]) -> Result<(), ConfigError> {
        let used = self.used.borrow();
        let unused = self.index.keys().find(|name| {
            !used.contains(*name)
                && !ignored.contains(&name.as_str())
                && !BUFFER_SUFFIXES.iter().any(|s| name.ends_with(s))
        });
        match unused {
            None => Ok(()),
            Some(name) => Err(error(
                &self.shards[self.index[name]].0,
                name,
                "",
                "is not part of the architecture config.json describes",
            )),
        }
    }
}

/// The tensor laid out row-major (a transposed view copied), so that products with it
/// read memory in order.
fn contiguous<const D: usize>(tensor: Tensor<D>) -> Tensor<D> {
    let device = tensor.device();
    Tensor::from_data(tensor.into_data(), &device)
}
