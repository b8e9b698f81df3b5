//! What a workbench binary knows: the [`Catalogue`] of losses and policy families, plus the
//! experiment kinds. Built-ins are wired in here, exactly the way a plugin adds its own;
//! nothing downstream matches on a name.
//!
//! The catalogue is its own type because the kinds validate their files against it (a kind
//! cannot see the registry that holds it without an import circle). The registry therefore
//! adds only the kinds and dereferences to its catalogue, so `registry.register_loss(..)`,
//! `registry.loss(..)`, `registry.policies()` and the rest are the catalogue's own methods.

pub use crate::catalogue::Catalogue;
pub use crate::losses::{LossConstructor, LossEntry};
pub use crate::policy::PolicyEntry;

use crate::experiments::{self, ExperimentKind, Kind};
use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Losses and policy families (its [`Catalogue`], reached through `Deref`) and experiment
/// kinds, by name.
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

    /// Adds (or replaces) the experiment kind `K` (`kind = "<K::NAME>"`).
    pub fn register_kind<K: Kind>(&mut self) {
        self.kinds
            .insert(K::NAME.to_string(), experiments::entry::<K>());
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

impl Deref for Registry {
    type Target = Catalogue;

    fn deref(&self) -> &Catalogue {
        &self.catalogue
    }
}

impl DerefMut for Registry {
    fn deref_mut(&mut self) -> &mut Catalogue {
        &mut self.catalogue
    }
}
