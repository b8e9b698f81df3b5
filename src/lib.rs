//! The `workbench` command line, as a library so that a plugin crate can build a
//! `workbench`-compatible binary with its own losses registered:
//!
//! ```no_run
//! let mut registry = workbench::Registry::builtin();
//! // registry.register_loss("my_loss", ...);
//! std::process::ExitCode::from(dpo_workbench::main_with(registry));
//! ```
#![warn(missing_docs)]

mod allocator;
mod bars;
mod bench;
mod cli;
mod commands;
mod conformance;
mod error;
mod export;
mod files;
mod lock;
mod panics;
mod reproduce;
mod session;
mod slurm;
mod status;
mod sweep;

pub use cli::main_with;
