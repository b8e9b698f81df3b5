//! The closed set of burn backends dpo-workbench runs on. Each is a cargo feature; this
//! crate turns a `--backend` name into a [`Device`] and knows which were compiled in.
#![warn(missing_docs)]

use burn::tensor::{Device, FloatDType};

/// A backend the workbench knows about, built in or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendName {
    /// burn-ndarray: pure-Rust CPU (deprecated upstream, kept because users ask for it).
    Ndarray,
    /// burn-flex: pure-Rust CPU, ndarray's successor.
    Flex,
}

impl BackendName {
    /// Every known backend.
    pub const ALL: [BackendName; 2] = [Self::Ndarray, Self::Flex];

    /// The default backend: flex, the faster of the two CPU backends on these tiny
    /// problems (Figure 2 end to end: 0.81 s against ndarray's 1.06 s; `workbench bench`).
    pub const DEFAULT: BackendName = Self::Flex;

    /// The name used on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ndarray => "ndarray",
            Self::Flex => "flex",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|b| b.name()).collect();
                format!("unknown backend `{name}`; known: {}", known.join(", "))
            })
    }

    /// Whether this binary was compiled with it.
    pub fn is_built_in(&self) -> bool {
        match self {
            Self::Ndarray => cfg!(feature = "ndarray"),
            Self::Flex => cfg!(feature = "flex"),
        }
    }

    /// The cargo feature that builds it in.
    pub fn feature(&self) -> &'static str {
        self.name()
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
    pub fn from_name(name: &str) -> Result<Self, String> {
        match name {
            "f32" => Ok(Self::F32),
            "f64" => Ok(Self::F64),
            _ => Err(format!("unknown dtype `{name}`; known: f32, f64")),
        }
    }
}

/// The autodiff device for `backend` with default float type `precision`.
///
/// A device's float type is fixed at its first use in a process; asking for another one
/// afterwards is an error.
pub fn device(backend: BackendName, precision: Precision) -> Result<Device, String> {
    if !backend.is_built_in() {
        return Err(format!(
            "backend `{}` is not built into this binary; rebuild with `--features {}`",
            backend.name(),
            backend.feature()
        ));
    }
    let mut device = base_device(backend);
    let dtype = match precision {
        Precision::F32 => FloatDType::F32,
        Precision::F64 => FloatDType::F64,
    };
    // Threads of one process may ask at once; the first to configure wins, and a second
    // asking for the same type finds it already set.
    static CONFIGURE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = CONFIGURE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if device.settings().float_dtype != dtype {
        device.configure(dtype).map_err(|e| {
            format!(
                "backend `{}` cannot use {} (its float type is fixed at first use in a process): {e:?}",
                backend.name(),
                precision.name()
            )
        })?;
    }
    Ok(device.autodiff())
}

fn base_device(backend: BackendName) -> Device {
    match backend {
        // Deprecated upstream in favour of flex; shipped because users ask for it (DESIGN.md).
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        BackendName::Ndarray => Device::ndarray(),
        #[cfg(feature = "flex")]
        BackendName::Flex => Device::flex(),
        #[allow(unreachable_patterns)]
        _ => unreachable!("checked by is_built_in"),
    }
}
