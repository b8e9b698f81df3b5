//! What can go wrong choosing a backend, each a one-line message that says what to do.

use crate::{BackendName, Precision};

/// A backend or dtype that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The binary was built without it.
    #[error("backend `{backend}` is not built into this binary; {hint}")]
    NotBuiltIn {
        /// The backend.
        backend: BackendName,
        /// How to build it in.
        hint: String,
    },
    /// Built in, but this machine cannot run it.
    #[error("backend `{backend}` is built in but not usable here ({why}); it needs {needs}")]
    Unusable {
        /// The backend.
        backend: BackendName,
        /// What failed.
        why: String,
        /// What it needs at run time.
        needs: &'static str,
    },
    /// The backend lacks, or computes wrongly in, the float type asked for.
    #[error("backend `{backend}` {why} on this machine; use --dtype {use_instead}")]
    Dtype {
        /// The backend.
        backend: BackendName,
        /// What is wrong.
        why: String,
        /// The float type to use instead.
        use_instead: Precision,
    },
    /// The device's float type was fixed earlier in this process.
    #[error(
        "backend `{backend}` cannot use {dtype} (its float type is fixed at first use in a process): {detail}"
    )]
    AlreadyConfigured {
        /// The backend.
        backend: BackendName,
        /// The float type asked for.
        dtype: Precision,
        /// burn's message.
        detail: String,
    },
}

/// `Result` with [`BackendError`].
pub type Result<T, E = BackendError> = std::result::Result<T, E>;
