//! Terminal progress bars (indicatif) for the core's progress observer: one line per
//! task, shared between experiments running side by side; silent when stderr is not a
//! terminal. The core's warnings go to stderr, above the bars.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use workbench::progress::{Observer, Progress, ProgressSink, Silent};

/// Bars on stderr, or added to a shared display with a prefix.
struct Bars {
    shared: Option<MultiProgress>,
    prefix: String,
}

/// A bar as an observer.
struct Bar(ProgressBar);

impl Observer for Bar {
    fn advance(&self, steps: u64) {
        self.0.inc(steps);
    }

    fn message(&self, text: String) {
        self.0.set_message(text);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A bar of `len` steps labelled `label`, in the one style of every bar.
fn styled(len: u64, label: String) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    // The template is a literal known to parse.
    let style = ProgressStyle::with_template("{prefix:>36} [{bar:30}] {pos}/{len} {msg}")
        .expect("valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label);
    bar
}

/// A bar counting `len` units of work (a sweep's points) in `shared`, at the bottom.
pub fn counter(shared: &MultiProgress, len: u64, label: &str) -> ProgressBar {
    shared.add(styled(len, label.to_string()))
}

impl ProgressSink for Bars {
    fn start(&self, len: u64, label: &str) -> Box<dyn Observer> {
        let bar = styled(len, format!("{}{label}", self.prefix));
        Box::new(Bar(match &self.shared {
            Some(shared) => shared.add(bar),
            None => bar,
        }))
    }

    fn warn(&self, text: &str) {
        // Printed even when the bars are hidden (stderr not a terminal): `suspend` clears
        // the bars, runs the print and redraws them.
        match &self.shared {
            Some(shared) => shared.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }
}

/// Bars on stderr (indicatif hides them when stderr is not a terminal).
pub fn terminal() -> Progress {
    Progress::to(Bars {
        shared: None,
        prefix: String::new(),
    })
}

/// Bars added to `shared`, labelled `prefix: …`.
pub fn within(shared: &MultiProgress, prefix: &str) -> Progress {
    Progress::to(Bars {
        shared: Some(shared.clone()),
        prefix: format!("{prefix}: "),
    })
}

/// No bars, but the core's warnings on stderr (`--quiet`, and runs whose bars would only
/// disturb a measurement).
pub fn warnings_only() -> Progress {
    Progress::to(WarningsOnly)
}

/// Warnings on stderr, no bars.
struct WarningsOnly;

impl ProgressSink for WarningsOnly {
    fn start(&self, _len: u64, _label: &str) -> Box<dyn Observer> {
        Box::new(Silent)
    }

    fn warn(&self, text: &str) {
        eprintln!("{text}");
    }
}
