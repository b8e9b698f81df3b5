//! Everything a command can fail with. Each is shown as one line on stderr, with a
//! non-zero exit, by [`crate::main_with`].

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
    /// Anything else, said in words (several failed experiments, a child process, ...).
    #[error("{0}")]
    Message(String),
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

/// `Result` with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;
