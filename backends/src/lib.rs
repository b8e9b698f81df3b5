//! The closed set of burn backends dpo-workbench runs on. Each is a cargo feature; this
//! crate turns a `--backend` name into a [`Device`], knows which were compiled in, and
//! finds out once per process whether a built-in backend is usable on this machine.
#![warn(missing_docs)]

mod probe;

mod error;

pub use error::{BackendError, Result};

use burn::tensor::{Device, FloatDType};
pub use probe::{Availability, prepare_environment};

/// A backend the workbench knows about, built in or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// The name used on the command line.
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

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|b| b.name()).collect();
                BackendError::UnknownBackend {
                    name: name.to_string(),
                    known: known.join(", "),
                }
            })
    }

    /// An error saying how to build it in, where this binary was compiled without it.
    pub fn require_built_in(&self) -> Result<()> {
        if self.is_built_in() {
            Ok(())
        } else {
            Err(BackendError::NotBuiltIn {
                backend: self.name(),
                hint: self.build_hint(),
            })
        }
    }

    /// Whether this binary was compiled with it.
    pub fn is_built_in(&self) -> bool {
        match self {
            Self::Ndarray => cfg!(feature = "ndarray"),
            Self::Flex => cfg!(feature = "flex"),
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::TchCpu | Self::TchCuda => cfg!(feature = "tch"),
            Self::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The cargo feature that builds it in.
    pub fn feature(&self) -> &'static str {
        match self {
            Self::Ndarray => "ndarray",
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
            Self::TchCpu | Self::TchCuda => "tch",
            Self::Cuda => "cuda",
        }
    }

    /// How to get a build that contains it (one line).
    pub fn build_hint(&self) -> String {
        match self {
            Self::TchCpu | Self::TchCuda => "rebuild with `--features tch` after \
                `eval \"$(bash scripts/install-libtorch.sh --print-env)\"` (README, libtorch)"
                .to_string(),
            Self::Cuda => "rebuild with `--features cuda` on a machine with the CUDA toolkit \
                (nvcc, NCCL headers)"
                .to_string(),
            _ => format!("rebuild with `--features {}`", self.feature()),
        }
    }

    /// What this machine must have for the backend to run (one line).
    pub fn runtime_hint(&self) -> &'static str {
        match self {
            Self::Ndarray | Self::Flex => "nothing beyond the CPU",
            Self::Wgpu => {
                "a GPU driver, or Mesa's software Vulkan: `apt-get install mesa-vulkan-drivers libvulkan1`"
            }
            Self::TchCpu => {
                "libtorch 2.9.0 on LD_LIBRARY_PATH: `eval \"$(bash scripts/install-libtorch.sh --print-env)\"`"
            }
            Self::TchCuda => "an NVIDIA GPU and driver, and the CUDA build of libtorch 2.9.0",
            Self::Cuda => "an NVIDIA GPU with its driver (libcuda.so) and NVRTC",
        }
    }

    /// Whether it is built in and works here, probed once per process by a tiny
    /// computation. The probe fixes the device's float type to the backend's default, so
    /// use it only where nothing else computes on the backend in this process (`workbench
    /// list backends`); [`device`] probes after configuring the float type.
    pub fn availability(&self) -> Availability {
        probe::availability(*self)
    }

    /// The precision used when none is asked for: f64 on the CPU backends and libtorch,
    /// f32 on the GPU-first ones (wgpu, CubeCL CUDA), and f32 wherever f64 is missing.
    pub fn default_precision(&self) -> Precision {
        match self {
            Self::Wgpu | Self::Cuda => Precision::F32,
            _ if self.supports(Precision::F64) => Precision::F64,
            _ => Precision::F32,
        }
    }

    /// Whether the backend is built in and its device reports `precision` (false where
    /// the device cannot even be queried). Leaves the float type unset.
    pub fn supports(&self, precision: Precision) -> bool {
        if !self.is_built_in() {
            return false;
        }
        let device = base_device(*self);
        probe::quietly(|| device.supports_dtype(precision.float_dtype())).unwrap_or(false)
    }
}

/// Float precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

impl Precision {
    /// `f32` or `f64`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }

    /// Parses `f32` / `f64`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "f32" => Ok(Self::F32),
            "f64" => Ok(Self::F64),
            _ => Err(BackendError::UnknownDtype(name.to_string())),
        }
    }

    fn float_dtype(&self) -> FloatDType {
        match self {
            Self::F32 => FloatDType::F32,
            Self::F64 => FloatDType::F64,
        }
    }
}

/// The autodiff device for `backend` with default float type `precision`.
///
/// Errors (one line each) when the backend is not built in, not usable on this machine,
/// or has no such float type. A device's float type is fixed at its first use in a
/// process; asking for another one afterwards is an error.
pub fn device(backend: BackendName, precision: Precision) -> Result<Device> {
    backend.require_built_in()?;
    let unusable = |why: String| BackendError::Unusable {
        backend: backend.name(),
        why,
        needs: backend.runtime_hint(),
    };
    let mut device = base_device(backend);
    let dtype = precision.float_dtype();
    match probe::quietly(|| device.supports_dtype(dtype)) {
        Err(why) => return Err(unusable(why)),
        Ok(false) => {
            return Err(BackendError::Dtype {
                backend: backend.name(),
                why: format!("has no {}", precision.name()),
                use_instead: backend.default_precision().name(),
            });
        }
        Ok(true) => {}
    }
    {
        // Threads of one process may ask at once; the first to configure wins, and a
        // second asking for the same type finds it already set.
        static CONFIGURE: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = CONFIGURE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if device.settings().float_dtype != dtype {
            device
                .configure(dtype)
                .map_err(|e| BackendError::AlreadyConfigured {
                    backend: backend.name(),
                    dtype: precision.name(),
                    detail: format!("{e:?}"),
                })?;
        }
    }
    probe::usable(backend).map_err(|why| {
        if why.starts_with("computes wrong values") {
            BackendError::Dtype {
                backend: backend.name(),
                why,
                use_instead: Precision::F32.name(),
            }
        } else {
            unusable(why)
        }
    })?;
    Ok(device.autodiff())
}

/// The plain (non-autodiff) device of a built-in backend.
fn base_device(backend: BackendName) -> Device {
    match backend {
        // Deprecated upstream in favour of flex; shipped because users ask for it (docs/backends.md).
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        BackendName::Ndarray => Device::ndarray(),
        #[cfg(feature = "flex")]
        BackendName::Flex => Device::flex(),
        #[cfg(feature = "wgpu")]
        BackendName::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        BackendName::TchCpu => Device::libtorch(),
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        BackendName::TchCuda => Device::libtorch_cuda(0),
        #[cfg(feature = "cuda")]
        BackendName::Cuda => Device::cuda(0),
        #[allow(unreachable_patterns)]
        _ => unreachable!("checked by is_built_in"),
    }
}
