//! `loss-plugin-workbench`: the `workbench` command line with this crate's losses.

fn main() -> std::process::ExitCode {
    let mut registry = workbench::Registry::builtin();
    loss_plugin::register(&mut registry);
    dpo_workbench::main_with(registry)
}
