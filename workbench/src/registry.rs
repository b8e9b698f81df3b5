//! What a workbench binary knows: the [`Catalogue`] of losses and policy families, and the
//! experiment kinds. Built-ins are wired in here, exactly the way a plugin adds its own;
//! nothing downstream matches on a name.

pub use crate::catalogue::Catalogue;
pub use crate::losses::{LossConstructor, LossEntry};
pub use crate::policy::PolicyEntry;

use crate::experiments::{self, ExperimentKind, Kind};
use crate::losses::PairwiseLoss;
use crate::policy::{PolicyFamily, PolicySetting};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Losses, policy families and experiment kinds by name.
#[derive(Clone, Default)]
pub struct Registry {
    catalogue: Catalogue,
    kinds: BTreeMap<String, Arc<dyn ExperimentKind>>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Everything built in.
    pub fn builtin() -> Self {
        let mut registry = Self {
            catalogue: Catalogue::builtin(),
            kinds: BTreeMap::new(),
        };
        for kind in experiments::builtin_kinds() {
            registry.kinds.insert(kind.name().to_string(), kind);
        }
        registry
    }

    /// The losses and policy families.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Adds (or replaces) the loss `name`.
    pub fn register_loss(&mut self, name: &str, entry: LossEntry) {
        self.catalogue.register_loss(name, entry);
    }

    /// Adds (or replaces) the policy family `name` (`[policy] name = "..."`).
    pub fn register_policy(&mut self, name: &str, entry: PolicyEntry) {
        self.catalogue.register_policy(name, entry);
    }

    /// Adds (or replaces) the experiment kind `K` (`kind = "<K::NAME>"`).
    pub fn register_kind<K: Kind>(&mut self) {
        self.kinds
            .insert(K::NAME.to_string(), experiments::entry::<K>());
    }

    /// The loss `name`, if registered.
    pub fn loss(&self, name: &str) -> Option<&LossEntry> {
        self.catalogue.loss(name)
    }

    /// Every loss, sorted by name.
    pub fn losses(&self) -> impl Iterator<Item = (&str, &LossEntry)> {
        self.catalogue.losses()
    }

    /// Names of the registered losses.
    pub fn loss_names(&self) -> Vec<&str> {
        self.catalogue.loss_names()
    }

    /// Builds the loss a method table asks for (see [`Catalogue::build_loss`]).
    pub fn build_loss(&self, method: &toml::Table) -> Result<Arc<dyn PairwiseLoss>, String> {
        self.catalogue.build_loss(method)
    }

    /// Every policy family, sorted by name.
    pub fn policies(&self) -> impl Iterator<Item = (&str, &PolicyEntry)> {
        self.catalogue.policies()
    }

    /// Builds the policy family a `[policy]` table asks for (see
    /// [`Catalogue::build_policy`]).
    pub fn build_policy(
        &self,
        table: &toml::Table,
        setting: PolicySetting<'_>,
    ) -> Result<Arc<dyn PolicyFamily>, String> {
        self.catalogue.build_policy(table, setting)
    }

    /// The experiment kind `name`, if registered.
    pub fn kind(&self, name: &str) -> Option<&Arc<dyn ExperimentKind>> {
        self.kinds.get(name)
    }

    /// Every experiment kind, sorted by name.
    pub fn kinds(&self) -> impl Iterator<Item = &Arc<dyn ExperimentKind>> {
        self.kinds.values()
    }

    /// Names of the registered experiment kinds.
    pub fn kind_names(&self) -> Vec<&str> {
        self.kinds.keys().map(String::as_str).collect()
    }
}
