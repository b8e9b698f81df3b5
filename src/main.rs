//! The `workbench` binary: the built-in registry and the command line.

/// mimalloc keeps freed pages for reuse: the per-step tensors of a training loop are
/// allocated and freed thousands of times, and glibc's malloc returned them to the kernel
/// and faulted them in again each time (about a sixth of a transformer run's time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dpo_workbench::main_with(workbench::Registry::builtin())
}
