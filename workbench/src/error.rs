//! Error types: every failure is one line naming what went wrong and where.

use std::fmt;
use std::path::PathBuf;

/// A configuration value that could not be accepted: names the file, the key and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Where the configuration came from (the experiment file).
    pub file: String,
    /// Dotted key path, e.g. `bandit.beta`.
    pub key: String,
    /// The offending value as written (TOML syntax), empty if missing.
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

impl ConfigError {
    /// A rejected `value` at `key`.
    pub fn new(
        key: impl Into<String>,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            file: String::new(),
            key: key.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// The same error, attributed to `file`.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = file.into();
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.file.is_empty() {
            write!(f, "{}: ", self.file)?;
        }
        // One line, whatever the underlying parser put in its message.
        let reason = self.reason.split_whitespace().collect::<Vec<_>>().join(" ");
        if self.value.is_empty() {
            write!(f, "{}: {reason}", self.key)
        } else {
            write!(f, "{} = {}: {reason}", self.key, self.value)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every error the workbench reports.
#[derive(Debug, thiserror::Error)]
pub enum WorkbenchError {
    /// A configuration that cannot be run.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Reading an experiment file failed.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing a results file failed.
    #[error("{path}: cannot write results: {reason}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Training diverged (a NaN or infinity appeared).
    #[error(
        "experiment `{experiment}`, {what}: training diverged (non-finite or exploding values) at epoch {epoch}{}",
        step.map(|s| format!(", step {s}")).unwrap_or_default()
    )]
    NonFinite {
        /// The experiment.
        experiment: String,
        /// Which model or phase.
        what: String,
        /// The first epoch where it was seen (1-based: after that epoch's updates).
        epoch: usize,
        /// The optimiser step within that epoch (1-based), where known.
        step: Option<usize>,
    },
    /// Training stopped on request (a signal) with its state saved.
    #[error(
        "experiment `{experiment}`: stopped on request after step {done} of {phase}; its training state is in {}: run it again to continue",
        state.display()
    )]
    Stopped {
        /// The experiment.
        experiment: String,
        /// `sft` or `dpo`.
        phase: String,
        /// Steps done in that phase.
        done: usize,
        /// The state file.
        state: PathBuf,
    },
    /// Preference data that cannot be used (the message names the file and line).
    #[error("{0}")]
    Data(String),
    /// A JSONL preference file that cannot be read or holds no usable pair.
    #[error(transparent)]
    Jsonl(#[from] crate::sequence::jsonl::JsonlError),
}

/// `Result` with [`WorkbenchError`].
pub type Result<T, E = WorkbenchError> = std::result::Result<T, E>;
