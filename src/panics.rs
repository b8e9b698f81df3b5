//! A panic inside one experiment is that experiment's failure, reported in one line, not
//! the end of the process (nor of a whole `reproduce`).

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    /// Whether this thread is inside [`contained`] (its panics are reported by it).
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
    /// Where the last contained panic happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that stays quiet for panics [`contained`] will report, and
/// leaves every other panic to the default hook.
pub fn install_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if CONTAINED.with(Cell::get) {
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()));
            LOCATION.with(|last| *last.borrow_mut() = location);
        } else {
            default(info);
        }
    }));
}

/// Fault injection for the tests: panics when `WORKBENCH_INJECT_PANIC` names this
/// experiment, or `<name>#<index>` a point of a sweep (a panic inside an experiment must
/// fail that experiment or point only).
pub fn injected(experiment: &str) {
    if std::env::var("WORKBENCH_INJECT_PANIC").is_ok_and(|name| name == experiment) {
        panic!("injected by WORKBENCH_INJECT_PANIC");
    }
}

/// Runs `f`; a panic becomes `Err("<name>: internal error (panic at FILE:LINE): message")`.
pub fn contained<T>(name: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    let outer = CONTAINED.with(|c| c.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(outer));
    outcome.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        let location = LOCATION
            .with(|l| l.borrow_mut().take())
            .unwrap_or_else(|| "unknown location".into());
        format!(
            "{name}: internal error (panic at {location}): {}",
            message.replace('\n', " ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::{contained, install_hook};

    #[test]
    fn a_panic_becomes_an_error_naming_the_experiment_and_the_message() {
        install_hook();
        assert_eq!(contained("ok", || 3), Ok(3));
        let e = contained("fig9", || -> u8 { panic!("two\nlines") }).unwrap_err();
        assert!(
            e.starts_with("fig9: internal error (panic at src/panics.rs:"),
            "{e}"
        );
        assert!(e.ends_with("two lines"), "{e}");
    }
}
