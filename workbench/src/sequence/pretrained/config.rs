//! A Hugging Face `config.json`, read into the one checked form the architectures use.
//!
//! Every field that changes the arithmetic is either implemented or refused: a checkpoint
//! whose config asks for something this module does not compute (a `rope_scaling` type,
//! a sliding window, another activation, an unknown architecture) is a one-line error
//! naming the file, the field and its value, never a model that silently computes
//! something else. Fields that do not change the forward pass (dropout rates, token ids,
//! `use_cache`, `dtype`, `initializer_range`, ...) are ignored.
//!
//! Both spellings transformers has written are read: the older top-level `rope_theta`,
//! `rotary_pct`, `rotary_emb_base` and `rope_scaling` (the Pythia and Llama checkpoints on
//! the Hub), and the `rope_parameters` table transformers 5 writes.

use crate::error::ConfigError;
use serde_json::{Map, Value};
use std::path::Path;

/// The two architecture families implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// GPT-NeoX (Pythia): LayerNorm, fused per-head QKV, partial rotary, GELU MLP,
    /// parallel or sequential residual.
    NeoX,
    /// Llama, Qwen2 and SmolLM: RMSNorm, RoPE, SwiGLU MLP, grouped-query attention.
    Llama,
}

/// The MLP's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// The exact GELU, x Φ(x) (transformers' `"gelu"`).
    Gelu,
    /// SiLU, x σ(x) (transformers' `"silu"`), gating the SwiGLU MLP.
    Silu,
}

/// A checked architecture configuration: every value the forward pass needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainedConfig {
    /// Which family's blocks to build.
    pub family: Family,
    /// The `model_type` as written (`gpt_neox`, `llama`, `qwen2`).
    pub model_type: String,
    /// Vocabulary size (rows of the embedding and the LM head).
    pub vocab: usize,
    /// Width of the residual stream (`hidden_size`).
    pub hidden: usize,
    /// Number of blocks (`num_hidden_layers`).
    pub layers: usize,
    /// Query heads (`num_attention_heads`).
    pub heads: usize,
    /// Key/value heads (`num_key_value_heads`; equal to `heads` for NeoX).
    pub kv_heads: usize,
    /// Width of one head (`head_dim`, else `hidden / heads`).
    pub head_dim: usize,
    /// Hidden width of the MLP (`intermediate_size`).
    pub intermediate: usize,
    /// RoPE base θ.
    pub rope_theta: f64,
    /// Leading dimensions of each head that are rotated (even; `head_dim` unless partial).
    pub rotary_dims: usize,
    /// ε of every LayerNorm or RMSNorm.
    pub norm_eps: f64,
    /// The LM head is the token embedding (`tie_word_embeddings`).
    pub tied: bool,
    /// Query/key/value projections carry biases.
    pub qkv_bias: bool,
    /// The attention output projection carries a bias.
    pub output_bias: bool,
    /// The MLP's projections carry biases.
    pub mlp_bias: bool,
    /// NeoX only: x + attn(ln₁ x) + mlp(ln₂ x) rather than sequential residuals.
    pub parallel_residual: bool,
    /// The MLP's activation.
    pub activation: Activation,
}

/// Fields that change the arithmetic where set and that no family here implements.
const REFUSED_WHEN_SET: [&str; 5] = [
    "rope_scaling",
    "attn_logit_softcapping",
    "final_logit_softcapping",
    "logits_scaling",
    "embedding_multiplier",
];

/// The fields of one `config.json`, with the file name for errors.
struct Fields<'a> {
    file: &'a str,
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn error(&self, key: &str, value: impl std::fmt::Display, why: &str) -> ConfigError {
        ConfigError::new(key, value, why).in_file(self.file)
    }

    /// The field's value unless absent or `null`.
    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn usize(&self, key: &str) -> Result<Option<usize>, ConfigError> {
        self.get(key)
            .map(|v| {
                v.as_u64()
                    .filter(|&n| n > 0)
                    .map(|n| n as usize)
                    .ok_or_else(|| self.error(key, v, "must be a positive integer"))
            })
            .transpose()
    }

    fn required(&self, key: &str) -> Result<usize, ConfigError> {
        self.usize(key)?
            .ok_or_else(|| self.error(key, "", "missing (a positive integer is required)"))
    }

    fn f64(&self, key: &str) -> Result<Option<f64>, ConfigError> {
        self.get(key)
            .map(|v| {
                v.as_f64()
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .ok_or_else(|| self.error(key, v, "must be a positive number"))
            })
            .transpose()
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.error(key, v, "must be true or false")),
        }
    }

    fn str(&self, key: &str) -> Result<Option<&str>, ConfigError> {
        self.get(key)
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| self.error(key, v, "must be a string"))
            })
            .transpose()
    }
}

/// The family and the `model_type` a config names, from `model_type` and `architectures`
/// (which must agree when both are given).
fn family(fields: &Fields) -> Result<(Family, String), ConfigError> {
    let by_type = |t: &str| match t {
        "gpt_neox" => Some(Family::NeoX),
        "llama" | "qwen2" => Some(Family::Llama),
        _ => None,
    };
    let by_architecture = |a: &str| match a {
        "GPTNeoXForCausalLM" => Some((Family::NeoX, "gpt_neox")),
        "LlamaForCausalLM" => Some((Family::Llama, "llama")),
        "Qwen2ForCausalLM" => Some((Family::Llama, "qwen2")),
        _ => None,
    };
    const KNOWN: &str = "known: GPTNeoXForCausalLM, LlamaForCausalLM, Qwen2ForCausalLM";
    let mut from_architecture = None;
    if let Some(list) = fields.get("architectures") {
        let names = list
            .as_array()
            .filter(|a| a.len() == 1)
            .and_then(|a| a[0].as_str())
            .ok_or_else(|| fields.error("architectures", list, "must list one architecture"))?;
        from_architecture = Some(by_architecture(names).ok_or_else(|| {
            fields.error("architectures", list, &format!("not implemented ({KNOWN})"))
        })?);
    }
    match (fields.str("model_type")?, from_architecture) {
        (Some(t), _) if by_type(t).is_none() => Err(fields.error(
            "model_type",
            format!("\"{t}\""),
            "not implemented (known: gpt_neox, llama, qwen2)",
        )),
        (Some(t), Some((_, a))) if t != a => Err(fields.error(
            "model_type",
            format!("\"{t}\""),
            &format!("disagrees with `architectures` (which names a {a} model)"),
        )),
        (Some(t), _) => Ok((by_type(t).expect("checked above"), t.to_string())),
        (None, Some((f, a))) => Ok((f, a.to_string())),
        (None, None) => Err(fields.error(
            "model_type",
            "",
            "missing, and no `architectures` either: cannot tell the architecture",
        )),
    }
}

/// RoPE's base and rotated fraction from `rope_parameters` (transformers 5) or the older
/// top-level fields; refuses any RoPE type but the default.
fn rope(fields: &Fields, family: Family) -> Result<(f64, f64), ConfigError> {
    let (base_key, fraction_key) = match family {
        Family::NeoX => ("rotary_emb_base", "rotary_pct"),
        Family::Llama => ("rope_theta", "partial_rotary_factor"),
    };
    let mut base = fields.f64(base_key)?.or(fields.f64("rope_theta")?);
    let mut fraction = fields.f64(fraction_key)?;
    if let Some(parameters) = fields.get("rope_parameters") {
        let table = parameters
            .as_object()
            .ok_or_else(|| fields.error("rope_parameters", parameters, "must be a table"))?;
        for (key, value) in table {
            let at = format!("rope_parameters.{key}");
            match key.as_str() {
                "rope_type" | "type" if value.as_str() != Some("default") => {
                    return Err(fields.error(
                        &at,
                        value,
                        "not implemented (only \"default\" RoPE)",
                    ));
                }
                "rope_type" | "type" => {}
                "rope_theta" => {
                    base = Some(
                        value
                            .as_f64()
                            .filter(|x| *x > 0.0)
                            .ok_or_else(|| fields.error(&at, value, "must be a positive number"))?,
                    )
                }
                "partial_rotary_factor" => {
                    fraction = Some(
                        value
                            .as_f64()
                            .filter(|x| *x > 0.0 && *x <= 1.0)
                            .ok_or_else(|| fields.error(&at, value, "must be in (0, 1]"))?,
                    )
                }
                _ => return Err(fields.error(&at, value, "changes RoPE and is not implemented")),
            }
        }
    }
    let fraction = fraction.unwrap_or(1.0);
    if family == Family::Llama && fraction != 1.0 {
        return Err(fields.error(
            fraction_key,
            fraction,
            "partial rotary embeddings are implemented for GPT-NeoX only",
        ));
    }
    Ok((base.unwrap_or(10_000.0), fraction))
}

/// Refuses sliding-window attention where the config turns it on.
fn full_attention_only(fields: &Fields, model_type: &str) -> Result<(), ConfigError> {
    let sliding = match model_type {
        // Qwen2 configs carry a `sliding_window` size that only `use_sliding_window` enables.
        "qwen2" => fields.bool("use_sliding_window", false)?,
        _ => fields.bool("use_sliding_window", false)? || fields.get("sliding_window").is_some(),
    };
    if sliding {
        let (key, value) = match fields.get("sliding_window") {
            Some(v) if model_type != "qwen2" => ("sliding_window", v.to_string()),
            _ => ("use_sliding_window", "true".to_string()),
        };
        return Err(fields.error(key, value, "sliding-window attention is not implemented"));
    }
    if let Some(types) = fields.get("layer_types") {
        let other = types
            .as_array()
            .ok_or_else(|| fields.error("layer_types", types, "must be a list"))?
            .iter()
            .find(|t| t.as_str() != Some("full_attention"));
        if let Some(other) = other {
            return Err(fields.error(
                "layer_types",
                other,
                "only \"full_attention\" layers are implemented",
            ));
        }
    }
    Ok(())
}

impl PretrainedConfig {
    /// Reads and checks `config.json` at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new("config.json", "", format!("cannot read: {e}")).in_file(&file)
        })?;
        Self::parse(&text, &file)
    }

    /// Parses a `config.json` held in `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            ConfigError::new("config.json", "", format!("not JSON: {e}")).in_file(file)
        })?;
        let map = value.as_object().ok_or_else(|| {
            ConfigError::new("config.json", "", "must be a JSON object").in_file(file)
        })?;
        Self::from_fields(&Fields { file, map })
    }

    fn from_fields(fields: &Fields) -> Result<Self, ConfigError> {
        for key in REFUSED_WHEN_SET {
            if let Some(value) = fields.get(key) {
                return Err(fields.error(
                    key,
                    value,
                    "changes the model's arithmetic and is not implemented",
                ));
            }
        }
        let (family, model_type) = family(fields)?;
        full_attention_only(fields, &model_type)?;
        let hidden = fields.required("hidden_size")?;
        let heads = fields.required("num_attention_heads")?;
        let head_dim = match family {
            Family::NeoX => None,
            Family::Llama => fields.usize("head_dim")?,
        };
        let head_dim = match head_dim {
            Some(d) => d,
            None if hidden.is_multiple_of(heads) => hidden / heads,
            None => {
                return Err(fields.error(
                    "num_attention_heads",
                    heads,
                    &format!("does not divide hidden_size = {hidden}"),
                ));
            }
        };
        let kv_heads = match family {
            Family::NeoX => heads,
            Family::Llama => fields.usize("num_key_value_heads")?.unwrap_or(heads),
        };
        if !heads.is_multiple_of(kv_heads) {
            return Err(fields.error(
                "num_key_value_heads",
                kv_heads,
                &format!("does not divide num_attention_heads = {heads}"),
            ));
        }
        let (rope_theta, fraction) = rope(fields, family)?;
        // transformers: int(head_dim * partial_rotary_factor).
        let rotary_dims = (head_dim as f64 * fraction) as usize;
        if rotary_dims == 0 || !rotary_dims.is_multiple_of(2) {
            return Err(fields.error(
                "rotary_pct",
                fraction,
                &format!("rotates {rotary_dims} of {head_dim} head dimensions; must be a positive even number"),
            ));
        }
        let activation_key = "hidden_act";
        let activation = match (family, fields.str(activation_key)?) {
            (Family::NeoX, None | Some("gelu")) => Activation::Gelu,
            (Family::Llama, None | Some("silu")) => Activation::Silu,
            (_, Some(other)) => {
                let implemented = match family {
                    Family::NeoX => "\"gelu\"",
                    Family::Llama => "\"silu\"",
                };
                return Err(fields.error(
                    activation_key,
                    format!("\"{other}\""),
                    &format!("not implemented for {model_type} (implemented: {implemented})"),
                ));
            }
        };
        let (norm_key, default_eps) = match family {
            Family::NeoX => ("layer_norm_eps", 1e-5),
            Family::Llama => ("rms_norm_eps", 1e-6),
        };
        let (qkv_bias, output_bias, mlp_bias) = match (family, model_type.as_str()) {
            (Family::NeoX, _) => {
                let bias = fields.bool("attention_bias", true)?;
                (bias, bias, true)
            }
            // Qwen2 hard-codes biases on q, k, v and none on the output projection.
            (Family::Llama, "qwen2") => (true, false, false),
            (Family::Llama, _) => {
                let bias = fields.bool("attention_bias", false)?;
                (bias, bias, fields.bool("mlp_bias", false)?)
            }
        };
        Ok(Self {
            family,
            vocab: fields.required("vocab_size")?,
            hidden,
            layers: fields.required("num_hidden_layers")?,
            heads,
            kv_heads,
            head_dim,
            intermediate: fields.required("intermediate_size")?,
            rope_theta,
            rotary_dims,
            norm_eps: fields.f64(norm_key)?.unwrap_or(default_eps),
            tied: fields.bool(
                "tie_word_embeddings",
                // transformers' defaults: GPT-NeoX unties, Llama and Qwen2 tie.
                family == Family::Llama,
            )?,
            qkv_bias,
            output_bias,
            mlp_bias,
            parallel_residual: family == Family::NeoX
                && fields.bool("use_parallel_residual", true)?,
            activation,
            model_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<PretrainedConfig, String> {
        PretrainedConfig::parse(json, "config.json").map_err(|e| e.to_string())
    }

    const NEOX: &str = r#"{"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox",
        "vocab_size": 50, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 64, "rotary_pct": 0.25, "rotary_emb_base": 10000,
        "rope_scaling": null, "use_parallel_residual": false, "tie_word_embeddings": false}"#;

    #[test]
    fn pythia_style_fields_are_read() {
        let c = parse(NEOX).unwrap();
        assert_eq!(c.family, Family::NeoX);
        assert_eq!((c.head_dim, c.rotary_dims, c.kv_heads), (8, 2, 4));
        assert!(!c.parallel_residual && !c.tied && c.qkv_bias);
        assert_eq!(c.norm_eps, 1e-5);
    }

    #[test]
    fn fields_that_change_the_math_are_refused_by_name() {
        let cases = [
            (
                r#""rope_scaling": {"type": "linear", "factor": 2.0}"#,
                "rope_scaling = {",
            ),
            (r#""hidden_act": "gelu_new""#, "hidden_act = \"gelu_new\""),
            (
                r#""rope_parameters": {"rope_type": "yarn"}"#,
                "rope_parameters.rope_type = \"yarn\"",
            ),
        ];
        for (field, named) in cases {
            let end = NEOX.rfind('}').unwrap();
            let json = format!("{}, {field}}}", &NEOX[..end]);
            let error = parse(&json).unwrap_err();
            assert!(
                error.starts_with("config.json: ") && error.contains(named),
                "{error}"
            );
            assert_eq!(error.lines().count(), 1);
        }
        let other = NEOX.replace("GPTNeoXForCausalLM", "MambaForCausalLM");
        assert!(
            parse(&other)
                .unwrap_err()
                .contains("architectures = [\"MambaForCausalLM\"]")
        );
        let sliding = r#"{"model_type": "llama", "vocab_size": 5, "hidden_size": 8,
            "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8,
            "sliding_window": 4096}"#;
        assert!(
            parse(sliding)
                .unwrap_err()
                .contains("sliding_window = 4096")
        );
        let qwen = sliding.replace("llama", "qwen2");
        assert!(
            parse(&qwen).is_ok(),
            "Qwen2's window is off unless use_sliding_window"
        );
    }
}
