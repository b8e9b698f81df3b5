//! The `workbench` binary: the built-in registry behind the shared command line.

fn main() -> std::process::ExitCode {
    dpo_workbench::main_with(workbench::Registry::builtin())
}
