//! What can go wrong choosing a backend, each a one-line message that says what to do.

/// A backend or dtype that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// No backend of that name.
    #[error("unknown backend `{name}`; known: {known}")]
    UnknownBackend {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
    /// No float type of that name.
    #[error("unknown dtype `{0}`; known: f32, f64")]
    UnknownDtype(String),
    /// The binary was built without it.
    #[error("backend `{backend}` is not built into this binary; {hint}")]
    NotBuiltIn {
        /// The backend.
        backend: &'static str,
        /// How to build it in.
        hint: String,
    },
    /// Built in, but this machine cannot run it.
    #[error("backend `{backend}` is built in but not usable here ({why}); it needs {needs}")]
    Unusable {
        /// The backend.
        backend: &'static str,
        /// What failed.
        why: String,
        /// What it needs at run time.
        needs: &'static str,
    },
    /// The backend lacks, or computes wrongly in, the float type asked for.
    #[error("backend `{backend}` {why} on this machine; use --dtype {use_instead}")]
    Dtype {
        /// The backend.
        backend: &'static str,
        /// What is wrong.
        why: String,
        /// The float type to use instead.
        use_instead: &'static str,
    },
    /// The device's float type was fixed earlier in this process.
    #[error(
        "backend `{backend}` cannot use {dtype} (its float type is fixed at first use in a process): {detail}"
    )]
    AlreadyConfigured {
        /// The backend.
        backend: &'static str,
        /// The float type asked for.
        dtype: &'static str,
        /// burn's message.
        detail: String,
    },
}

/// `Result` with [`BackendError`].
pub type Result<T, E = BackendError> = std::result::Result<T, E>;
