//! The names of what a run happens on: the backend and the float precision, parsed once
//! (from `--backend`/`--dtype`, their environment variables, or `backend = "..."` in an
//! experiment file) and carried as types from there on.
//!
//! Only the names live here; the `backends` crate, which knows which backends this binary
//! was built with, turns them into a device. A results file records each by its
//! [`BackendName::name`] and [`Precision::name`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A backend the workbench knows about, built in or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendName {
    /// burn-ndarray: pure-Rust CPU (deprecated upstream, kept because users ask for it).
    Ndarray,
    /// burn-flex: pure-Rust CPU, ndarray's successor.
    Flex,
    /// CubeCL on wgpu: any Vulkan/Metal/DX12 adapter, including Mesa's software lavapipe.
    Wgpu,
    /// libtorch on the CPU.
    TchCpu,
    /// libtorch on CUDA device 0.
    TchCuda,
    /// CubeCL's own CUDA runtime on device 0.
    Cuda,
}

impl BackendName {
    /// Every known backend.
    pub const ALL: [BackendName; 6] = [
        Self::Ndarray,
        Self::Flex,
        Self::Wgpu,
        Self::TchCpu,
        Self::TchCuda,
        Self::Cuda,
    ];

    /// The default backend: flex, the faster of the two CPU backends on these tiny
    /// problems (Figure 2 end to end: 0.81 s against ndarray's 1.06 s; `workbench bench`).
    pub const DEFAULT: BackendName = Self::Flex;

    /// The name used on the command line and recorded in results files.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ndarray => "ndarray",
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
            Self::TchCpu => "tch-cpu",
            Self::TchCuda => "tch-cuda",
            Self::Cuda => "cuda",
        }
    }

    /// Whether it is one of the pure-Rust CPU backends (flex, ndarray), whose kernels run
    /// on the calling thread at the transformer's sizes (see `sequence::pipeline::shards`).
    pub fn is_pure_rust_cpu(&self) -> bool {
        matches!(self, Self::Flex | Self::Ndarray)
    }
}

impl fmt::Display for BackendName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendName {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| UnknownName::Backend(name.to_string()))
    }
}

/// Float precision of a run's tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

impl Precision {
    /// Both, in the order `workbench list backends` shows them.
    pub const ALL: [Precision; 2] = [Self::F64, Self::F32];

    /// `f32` or `f64`: the name `--dtype` takes and results files record.
    pub fn name(&self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }

    /// burn's float type of this precision.
    pub fn float_dtype(&self) -> burn::tensor::FloatDType {
        match self {
            Self::F32 => burn::tensor::FloatDType::F32,
            Self::F64 => burn::tensor::FloatDType::F64,
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| UnknownName::Dtype(name.to_string()))
    }
}

/// A backend or dtype name that names nothing; the message lists the names there are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownName {
    /// Not a backend.
    #[error("unknown backend `{0}`; known: {known}", known = known_backends())]
    Backend(String),
    /// Not a float type.
    #[error("unknown dtype `{0}`; known: f32, f64")]
    Dtype(String),
}

/// `ndarray, flex, …`.
fn known_backends() -> String {
    let names: Vec<&str> = BackendName::ALL.iter().map(|b| b.name()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_serialise_as_themselves() {
        #[derive(Serialize, Deserialize)]
        struct On {
            backend: BackendName,
            dtype: Precision,
        }
        for backend in BackendName::ALL {
            assert_eq!(backend.name().parse(), Ok(backend));
            for dtype in Precision::ALL {
                assert_eq!(dtype.name().parse(), Ok(dtype));
                let text = toml::to_string(&On { backend, dtype }).unwrap();
                assert_eq!(
                    text,
                    format!("backend = \"{backend}\"\ndtype = \"{dtype}\"\n")
                );
                let back: On = toml::from_str(&text).unwrap();
                assert_eq!((back.backend, back.dtype), (backend, dtype));
            }
        }
    }

    #[test]
    fn unknown_names_say_what_there_is() {
        assert_eq!(
            "tpu".parse::<BackendName>().unwrap_err().to_string(),
            "unknown backend `tpu`; known: ndarray, flex, wgpu, tch-cpu, tch-cuda, cuda"
        );
        assert_eq!(
            "f16".parse::<Precision>().unwrap_err().to_string(),
            "unknown dtype `f16`; known: f32, f64"
        );
    }
}
