//! The closed set of burn backends dpo-workbench runs on. Each is a cargo feature; this
//! crate turns a `--backend` name into a [`Device`], knows which were compiled in, and
//! finds out once per process whether a built-in backend is usable on this machine.
#![warn(missing_docs)]

mod error;
mod probe;

pub use error::{BackendError, Result};
pub use probe::{Availability, prepare_environment};
/// The names, shared with the core (which does not depend on this crate).
pub use workbench::backend::{BackendName, Precision, UnknownName};

use burn::tensor::Device;
use probe::Probe;

/// What this binary and this machine can do with a [`BackendName`]: whether it is built
/// in, how to build it in, what it needs at run time, and which precisions it computes in.
/// (The names themselves live in `workbench::backend`, which the core shares with every
/// crate; this crate alone knows the cargo features.)
pub trait BackendSupport {
    /// An error saying how to build it in, where this binary was compiled without it.
    fn require_built_in(&self) -> Result<()>;

    /// Whether this binary was compiled with it.
    fn is_built_in(&self) -> bool;

    /// The cargo feature that builds it in.
    fn feature(&self) -> &'static str;

    /// How to get a build that contains it (one line).
    fn build_hint(&self) -> String;

    /// What this machine must have for the backend to run (one line).
    fn runtime_hint(&self) -> &'static str;

    /// Whether it is built in and works here, probed once per process by a tiny
    /// computation. The probe fixes the device's float type to the backend's default, so
    /// use it only where nothing else computes on the backend in this process (`workbench
    /// list backends`); [`device`] probes after configuring the float type.
    fn availability(&self) -> Availability;

    /// The precision used when none is asked for: f64 on the CPU backends and libtorch,
    /// f32 on the GPU-first ones (wgpu, CubeCL CUDA), and f32 wherever f64 is missing.
    fn default_precision(&self) -> Precision;

    /// Whether the backend is built in and its device reports `precision` (false where
    /// the device cannot even be queried). Leaves the float type unset.
    fn supports(&self, precision: Precision) -> bool;
}

impl BackendSupport for BackendName {
    fn require_built_in(&self) -> Result<()> {
        if self.is_built_in() {
            Ok(())
        } else {
            Err(BackendError::NotBuiltIn {
                backend: *self,
                hint: self.build_hint(),
            })
        }
    }

    fn is_built_in(&self) -> bool {
        match self {
            Self::Ndarray => cfg!(feature = "ndarray"),
            Self::Flex => cfg!(feature = "flex"),
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::TchCpu | Self::TchCuda => cfg!(feature = "tch"),
            Self::Cuda => cfg!(feature = "cuda"),
        }
    }

    fn feature(&self) -> &'static str {
        match self {
            Self::Ndarray => "ndarray",
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
            Self::TchCpu | Self::TchCuda => "tch",
            Self::Cuda => "cuda",
        }
    }

    fn build_hint(&self) -> String {
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

    fn runtime_hint(&self) -> &'static str {
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

    fn availability(&self) -> Availability {
        probe::availability(*self)
    }

    fn default_precision(&self) -> Precision {
        match self {
            Self::Wgpu | Self::Cuda => Precision::F32,
            _ if self.supports(Precision::F64) => Precision::F64,
            _ => Precision::F32,
        }
    }

    fn supports(&self, precision: Precision) -> bool {
        if !self.is_built_in() {
            return false;
        }
        let device = base_device(*self);
        probe::quietly(|| device.supports_dtype(precision.float_dtype())).unwrap_or(false)
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
        backend,
        why,
        needs: backend.runtime_hint(),
    };
    let mut device = base_device(backend);
    let dtype = precision.float_dtype();
    match probe::quietly(|| device.supports_dtype(dtype)) {
        Err(why) => return Err(unusable(why)),
        Ok(false) => {
            return Err(BackendError::Dtype {
                backend,
                why: format!("has no {precision}"),
                use_instead: backend.default_precision(),
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
                    backend,
                    dtype: precision,
                    detail: format!("{e:?}"),
                })?;
        }
    }
    match probe::usable(backend) {
        Probe::Usable => Ok(device.autodiff()),
        Probe::Unusable(why) => Err(unusable(why)),
        Probe::WrongValues(why) => Err(BackendError::Dtype {
            backend,
            why,
            use_instead: Precision::F32,
        }),
    }
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
