//! Names in TOML → constructors. Built-in losses and experiment kinds register exactly the
//! way a plugin does; nothing downstream matches on a name.

use crate::experiments::{self, ExperimentKind};
use crate::losses::{self, PairwiseLoss};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Builds a loss from its TOML table (the method's keys other than `loss`); the error
/// names the offending key.
pub type LossConstructor = fn(&toml::Table) -> Result<Arc<dyn PairwiseLoss>, String>;

/// A registered loss.
#[derive(Clone)]
pub struct LossEntry {
    /// One line for `workbench list`.
    pub description: &'static str,
    /// Its TOML parameters, for `workbench list` (e.g. `divergence = "forward_kl"`).
    pub parameters: &'static str,
    /// The constructor.
    pub build: LossConstructor,
}

/// What a workbench binary knows: losses and experiment kinds by name.
#[derive(Clone, Default)]
pub struct Registry {
    losses: BTreeMap<String, LossEntry>,
    kinds: BTreeMap<String, Arc<dyn ExperimentKind>>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Everything built in.
    pub fn builtin() -> Self {
        let mut registry = Self::empty();
        registry.register_loss(
            "dpo",
            LossEntry {
                description: "DPO, eq. (6): -log σ(β h)",
                parameters: "(none)",
                build: |table| Ok(Arc::new(losses::parse_params::<losses::Dpo>(table)?)),
            },
        );
        registry.register_loss(
            "ipo",
            LossEntry {
                description: "IPO, eq. (9): (h - 1/(2β))²",
                parameters: "(none)",
                build: |table| Ok(Arc::new(losses::parse_params::<losses::Ipo>(table)?)),
            },
        );
        registry.register_loss(
            "fdpo",
            LossEntry {
                description: "f-DPO (Wang et al. 2024): -log σ(β [f'(u_w) - f'(u_l)])",
                parameters: "divergence = reverse_kl | forward_kl | js | alpha; a (alpha only, 0 < a < 1)",
                build: |table| Ok(Arc::new(losses::FDpo::from_params(table)?)),
            },
        );
        for kind in experiments::builtin_kinds() {
            registry.register_kind(kind);
        }
        registry
    }

    /// Adds (or replaces) the loss `name`.
    pub fn register_loss(&mut self, name: &str, entry: LossEntry) {
        self.losses.insert(name.to_string(), entry);
    }

    /// Adds (or replaces) an experiment kind.
    pub fn register_kind(&mut self, kind: Arc<dyn ExperimentKind>) {
        self.kinds.insert(kind.name().to_string(), kind);
    }

    /// The loss `name`, if registered.
    pub fn loss(&self, name: &str) -> Option<&LossEntry> {
        self.losses.get(name)
    }

    /// Every loss, sorted by name.
    pub fn losses(&self) -> impl Iterator<Item = (&str, &LossEntry)> {
        self.losses
            .iter()
            .map(|(name, entry)| (name.as_str(), entry))
    }

    /// The experiment kind `name`, if registered.
    pub fn kind(&self, name: &str) -> Option<&Arc<dyn ExperimentKind>> {
        self.kinds.get(name)
    }

    /// Every experiment kind, sorted by name.
    pub fn kinds(&self) -> impl Iterator<Item = &Arc<dyn ExperimentKind>> {
        self.kinds.values()
    }

    /// Names of the registered losses.
    pub fn loss_names(&self) -> Vec<&str> {
        self.losses.keys().map(String::as_str).collect()
    }

    /// Names of the registered experiment kinds.
    pub fn kind_names(&self) -> Vec<&str> {
        self.kinds.keys().map(String::as_str).collect()
    }
}
