//! Progress bars on a terminal, silence otherwise.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where a run's progress bars go: nowhere, stderr, or a shared multi-bar display (one
/// line per bar, as `workbench reproduce` shows experiments running side by side).
/// indicatif hides them anyway when stderr is not a terminal.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    visible: bool,
    shared: Option<MultiProgress>,
    prefix: String,
}

impl Progress {
    /// No bars.
    pub fn hidden() -> Self {
        Self::default()
    }

    /// Bars on stderr.
    pub fn terminal() -> Self {
        Self {
            visible: true,
            ..Self::default()
        }
    }

    /// Bars added to `shared`, labelled `prefix: …`.
    pub fn within(shared: &MultiProgress, prefix: &str) -> Self {
        Self {
            visible: true,
            shared: Some(shared.clone()),
            prefix: format!("{prefix}: "),
        }
    }

    /// A bar of `len` steps labelled `label`.
    pub fn bar(&self, len: u64, label: &str) -> ProgressBar {
        let target = if self.visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        // The template is a literal known to parse.
        let style = ProgressStyle::with_template("{prefix:>36} [{bar:30}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{}{label}", self.prefix));
        match &self.shared {
            Some(shared) => shared.add(bar),
            None => bar,
        }
    }
}
