//! Everything a command can fail with. Each is shown as one line on stderr, with a
//! non-zero exit, by [`crate::main_with`].

use std::path::PathBuf;
use workbench::backend::UnknownName;

/// A command's failure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A backend or dtype that cannot be used.
    #[error(transparent)]
    Backend(#[from] backends::BackendError),
    /// Loading, validating or running an experiment.
    #[error(transparent)]
    Workbench(#[from] workbench::WorkbenchError),
    /// A bad value in an experiment file or override.
    #[error(transparent)]
    Config(#[from] workbench::ConfigError),
    /// The report cannot be written.
    #[error(transparent)]
    Report(#[from] reports::ReportError),
    /// A `--backend` or `--dtype` (or its environment variable) that names nothing.
    #[error(transparent)]
    Flag(#[from] FlagError),
    /// `backend = "..."` in an experiment file names no backend.
    #[error("{}: backend = {name:?}: {source}", file.display())]
    FileBackend {
        /// The experiment file.
        file: PathBuf,
        /// The name it gives.
        name: String,
        /// Why it is refused.
        source: UnknownName,
    },
    /// A file or process that cannot be read, written or started.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, to which path.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A child process (`conformance --emit`) printed something that is not its JSON.
    #[error("unreadable child output: {0}")]
    ChildOutput(#[source] serde_json::Error),
    /// Another error, said of what was being done (`case X: ...`).
    #[error("{what}: {source}")]
    Within {
        /// What was being done.
        what: String,
        /// What went wrong.
        source: Box<CliError>,
    },
    /// Anything else, said in words (several failed experiments, a child process, ...).
    #[error("{0}")]
    Message(String),
}

impl CliError {
    /// This error, said of `what` was being done.
    pub fn within(self, what: impl Into<String>) -> Self {
        Self::Within {
            what: what.into(),
            source: Box::new(self),
        }
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        Self::Message(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        Self::Message(message.to_string())
    }
}

/// A command-line value that names no backend or dtype, with the option it was given to
/// (clap parses it; [`crate::main_with`] shows it on one line).
#[derive(Debug, thiserror::Error)]
#[error("{option}: {source}")]
pub struct FlagError {
    /// The option, as the user may have given it (`--backend (or WORKBENCH_BACKEND)`).
    pub option: &'static str,
    /// The name and what there is instead.
    pub source: UnknownName,
}

impl FlagError {
    /// A parser of one option's value, for clap's `value_parser`, whose error names
    /// `option`.
    pub fn parser<T: std::str::FromStr<Err = UnknownName>>(
        option: &'static str,
    ) -> impl Fn(&str) -> Result<T, FlagError> + Clone + Send + Sync + 'static {
        move |value: &str| value.parse().map_err(|source| FlagError { option, source })
    }
}

/// `Result` with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;
