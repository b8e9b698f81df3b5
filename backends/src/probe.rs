//! Whether a built-in backend works on this machine: a tiny computation is run once per
//! process, with the backend's panic (no adapter, no driver, no libtorch) caught and kept
//! as the reason.

use crate::{BackendName, BackendSupport, base_device};
use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock};

/// Whether a backend can run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Built in and a probe computation succeeded.
    Usable,
    /// Not compiled into this binary.
    NotBuiltIn,
    /// Built in, but the probe failed; the reason, on one line.
    Unusable(String),
}

/// What the probe computation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Probe {
    /// It ran and gave the right values.
    Usable,
    /// It could not run (no adapter, no driver, no libtorch): the backend's panic, on one
    /// line.
    Unusable(String),
    /// It ran but gave wrong values in the device's float type (lavapipe's f64, say): what
    /// it computed.
    WrongValues(String),
}

/// The probe's result for `backend`, computed on first call.
pub(crate) fn availability(backend: BackendName) -> Availability {
    if !backend.is_built_in() {
        return Availability::NotBuiltIn;
    }
    match usable(backend) {
        Probe::Usable => Availability::Usable,
        Probe::Unusable(why) | Probe::WrongValues(why) => Availability::Unusable(why),
    }
}

/// Runs the probe computation once per process and backend.
pub(crate) fn usable(backend: BackendName) -> Probe {
    static CACHE: OnceLock<Mutex<HashMap<BackendName, Probe>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache
        .entry(backend)
        .or_insert_with(|| run_probe(backend))
        .clone()
}

fn run_probe(backend: BackendName) -> Probe {
    let computed = quietly(|| {
        let device = base_device(backend);
        let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
        let got: Vec<f64> = log_softmax(x, 0).into_data().iter::<f64>().collect();
        (got, device.settings().float_dtype)
    });
    let (got, dtype) = match computed {
        Ok(computed) => computed,
        Err(why) => return Probe::Unusable(why),
    };
    let expected = [
        -2.407_605_964_444_38,
        -1.407_605_964_444_38,
        -0.407_605_964_444_38,
    ];
    if got.len() == 3 && got.iter().zip(expected).all(|(g, e)| (g - e).abs() < 1e-5) {
        Probe::Usable
    } else {
        Probe::WrongValues(first_line(&format!(
            "computes wrong values in {dtype:?} (probe: log_softmax([1, 2, 3]) = {got:?})"
        )))
    }
}

/// Runs `f`, turning a panic into its message (on one line) without printing it.
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: Mutex<()> = Mutex::new(());
    let _guard = HOOK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the backend panicked".to_string());
        first_line(&message)
    })
}

fn first_line(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("the backend panicked");
    const MAX: usize = 200;
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

/// Sets up the process environment the GPU backends expect. Call it first thing in
/// `main`, before any thread starts.
///
/// Vulkan loaders (lavapipe included) warn "XDG_RUNTIME_DIR is invalid" when the variable
/// is unset or names no directory; it then points at a private directory under the
/// system temp dir.
pub fn prepare_environment() {
    let valid = std::env::var_os("XDG_RUNTIME_DIR")
        .map(|dir| std::path::Path::new(&dir).is_dir())
        .unwrap_or(false);
    if valid {
        return;
    }
    let dir = std::env::temp_dir().join(format!("dpo-workbench-xdg-{}", whoami()));
    if std::fs::create_dir_all(&dir).is_ok() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
        // SAFETY: documented as to be called before any other thread exists.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir) };
    }
}

fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "user".to_string())
}
