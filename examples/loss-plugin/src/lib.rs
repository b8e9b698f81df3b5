//! An example plugin for dpo-workbench: three preference losses from the literature and a
//! log-linear bandit policy, registered from outside the core. `register` adds them to a
//! registry; `src/main.rs` builds a `workbench`-compatible binary with them.
#![warn(missing_docs)]

mod cdpo;
mod hinge;
pub mod log_linear;
mod simpo;

pub use cdpo::CDpo;
pub use hinge::Hinge;
pub use simpo::SimPo;

use std::sync::Arc;
use workbench::Registry;
use workbench::policy::PolicyEntry;
use workbench::registry::LossEntry;

/// Adds the losses `plugin_simpo`, `plugin_hinge` and `cdpo` and the policy `log_linear` to
/// `registry`. The first two are also built in (as `simpo` and `hinge`); the plugin keeps
/// its own versions under their own names, as a plugin's example of each kind of loss
/// (length-normalised, parameter-free).
pub fn register(registry: &mut Registry) {
    registry.register_policy(
        "log_linear",
        PolicyEntry {
            description: "π ∝ exp(φ(y)·θ) with fixed features φ, θ ∈ R^P (P < K limits capacity)",
            parameters: "features = [φ(y_1), …, φ(y_K)] (each of length P), init = θ₀ (default zeros)",
            build: log_linear::build,
        },
    );
    registry.register_loss(
        "plugin_simpo",
        LossEntry {
            description: "SimPO (Meng et al. 2024): reference-free, length-normalised, margin γ",
            parameters: "gamma = γ >= 0 (default 0.5)",
            source: "Meng et al. 2024, eq. (6) (the plugin example; built in as simpo)",
            build: |table| Ok(Arc::new(SimPo::from_params(table)?)),
        },
    );
    registry.register_loss(
        "plugin_hinge",
        LossEntry {
            description: "SLiC hinge (Zhao et al. 2023): max(0, 1 - β h)",
            parameters: "(none)",
            source: "Zhao et al. 2023 (the plugin example; built in as hinge)",
            build: |table| Ok(Arc::new(workbench::losses::parse_params::<Hinge>(table)?)),
        },
    );
    registry.register_loss(
        "cdpo",
        LossEntry {
            description: "conservative DPO (Mitchell 2023): DPO with label smoothing ε",
            parameters: "label_smoothing = ε ∈ [0, 0.5] (default 0.1)",
            source: "Mitchell 2023 (a note on DPO with noisy preferences)",
            build: |table| Ok(Arc::new(CDpo::from_params(table)?)),
        },
    );
}
