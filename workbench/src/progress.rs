//! Progress of long runs, reported through a small observer: the core counts steps, says
//! how they go and warns about what it skipped; whoever runs it decides what to show (the
//! `workbench` command line draws terminal bars and prints warnings above them, tests and
//! library users see nothing unless they ask). The core never prints.

use std::fmt;
use std::sync::Arc;

/// One task's progress: steps as they complete, and a short status line.
pub trait Observer: Send + Sync {
    /// `steps` more steps are done.
    fn advance(&self, steps: u64);

    /// The current status (e.g. the loss and the throughput).
    fn message(&self, _text: String) {}

    /// The task is over.
    fn finish(&self) {}
}

/// Makes an [`Observer`] for each task of a run.
pub trait ProgressSink: Send + Sync {
    /// An observer for a task of `len` steps called `label`.
    fn start(&self, len: u64, label: &str) -> Box<dyn Observer>;

    /// A warning for the user (e.g. a skipped line of a data file), one line of text.
    fn warn(&self, _text: &str) {}
}

/// Observes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn advance(&self, _steps: u64) {}
}

impl ProgressSink for Silent {
    fn start(&self, _len: u64, _label: &str) -> Box<dyn Observer> {
        Box::new(Silent)
    }
}

/// Where a run reports progress.
#[derive(Clone)]
pub struct Progress(Arc<dyn ProgressSink>);

impl Progress {
    /// Nowhere.
    pub fn hidden() -> Self {
        Self(Arc::new(Silent))
    }

    /// To `sink`.
    pub fn to(sink: impl ProgressSink + 'static) -> Self {
        Self(Arc::new(sink))
    }

    /// An observer for a task of `len` steps called `label`.
    pub fn bar(&self, len: u64, label: &str) -> Box<dyn Observer> {
        self.0.start(len, label)
    }

    /// Passes the warning `text` on to whoever watches.
    pub fn warn(&self, text: &str) {
        self.0.warn(text);
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::hidden()
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress")
    }
}
