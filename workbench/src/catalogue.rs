//! The catalogue: losses and bandit policy families by name. Experiment kinds validate
//! their files against it; built-in entries are added exactly the way a plugin adds its own.

use crate::losses::{self, LossEntry, PairwiseLoss};
use crate::policy::{self, PolicyEntry, PolicyFamily, PolicySetting};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Named losses and policy families.
#[derive(Clone, Default)]
pub struct Catalogue {
    losses: BTreeMap<String, LossEntry>,
    policies: BTreeMap<String, PolicyEntry>,
}

impl Catalogue {
    /// An empty catalogue.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every built-in loss and policy family.
    pub fn builtin() -> Self {
        let mut catalogue = Self::empty();
        for (name, entry) in losses::builtin() {
            catalogue.register_loss(name, entry);
        }
        for (name, entry) in policy::builtin() {
            catalogue.register_policy(name, entry);
        }
        catalogue
    }

    /// Adds (or replaces) the loss `name`.
    pub fn register_loss(&mut self, name: &str, entry: LossEntry) {
        self.losses.insert(name.to_string(), entry);
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

    /// Names of the registered losses.
    pub fn loss_names(&self) -> Vec<&str> {
        self.losses.keys().map(String::as_str).collect()
    }

    /// Builds the loss a method table asks for: `loss = "name"` plus that loss's parameters,
    /// or a weighted combination `loss = [{ name = "dpo", weight = 0.8, ... }, ...]`. The
    /// error names the loss and the offending key.
    pub fn build_loss(&self, method: &toml::Table) -> Result<Arc<dyn PairwiseLoss>, String> {
        let mut params = method.clone();
        if let Some(label) = params.remove("label") {
            let Some(label) = label.as_str() else {
                return Err(format!("label = {label}: must be a string"));
            };
            let inner = self.build_loss(&params)?;
            return Ok(Arc::new(losses::Labelled::new(label, inner)?));
        }
        match params.remove("loss") {
            Some(toml::Value::String(name)) => self.build_named(&name, &params),
            Some(toml::Value::Array(terms)) => {
                if let Some(key) = params.keys().next() {
                    return Err(format!(
                        "`{key}`: a combination takes its parameters inside each term"
                    ));
                }
                if terms.is_empty() {
                    return Err("a combination needs at least one term".into());
                }
                let terms = terms
                    .iter()
                    .map(|term| self.build_term(term))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Arc::new(losses::WeightedSum { terms }))
            }
            _ => Err(
                "needs loss = \"<name>\" or loss = [{ name = \"<name>\", weight = <w> }, ...]"
                    .into(),
            ),
        }
    }

    /// One `{ name = "...", weight = w, ...parameters }` term of a combination.
    fn build_term(&self, term: &toml::Value) -> Result<(f64, Arc<dyn PairwiseLoss>), String> {
        let mut params = term.as_table().cloned().ok_or_else(|| {
            format!("combination term {term}: expected {{ name = \"...\", weight = ... }}")
        })?;
        let name = match params.remove("name") {
            Some(toml::Value::String(name)) => name,
            _ => return Err(format!("combination term {term}: needs name = \"<loss>\"")),
        };
        let weight = match params.remove("weight") {
            Some(toml::Value::Float(w)) => w,
            Some(toml::Value::Integer(w)) => w as f64,
            _ => {
                return Err(format!(
                    "loss `{name}`: a combination term needs a numeric weight"
                ));
            }
        };
        if !(weight.is_finite() && weight > 0.0) {
            return Err(format!(
                "loss `{name}`: weight = {weight} must be finite and positive"
            ));
        }
        Ok((weight, self.build_named(&name, &params)?))
    }

    fn build_named(
        &self,
        name: &str,
        params: &toml::Table,
    ) -> Result<Arc<dyn PairwiseLoss>, String> {
        let entry = self.loss(name).ok_or_else(|| {
            format!(
                "unknown loss `{name}`; known: {}",
                self.loss_names().join(", ")
            )
        })?;
        (entry.build)(params).map_err(|e| format!("loss `{name}`: {e}"))
    }

    /// Adds (or replaces) the policy family `name` (`[policy] name = "..."`).
    pub fn register_policy(&mut self, name: &str, entry: PolicyEntry) {
        self.policies.insert(name.to_string(), entry);
    }

    /// Every policy family, sorted by name.
    pub fn policies(&self) -> impl Iterator<Item = (&str, &PolicyEntry)> {
        self.policies
            .iter()
            .map(|(name, entry)| (name.as_str(), entry))
    }

    /// Builds the policy family a `[policy]` table asks for (`name` plus that family's
    /// keys); the error names the family and the offending key.
    pub fn build_policy(
        &self,
        table: &toml::Table,
        setting: PolicySetting<'_>,
    ) -> Result<Arc<dyn PolicyFamily>, String> {
        let mut params = table.clone();
        let name = match params.remove("name") {
            Some(toml::Value::String(name)) => name,
            Some(other) => return Err(format!("name = {other}: must be a string")),
            None => "softmax".to_string(),
        };
        let entry = self.policies.get(&name).ok_or_else(|| {
            let known: Vec<&str> = self.policies.keys().map(String::as_str).collect();
            format!("unknown policy `{name}`; known: {}", known.join(", "))
        })?;
        (entry.build)(&params, setting).map_err(|e| format!("policy `{name}`: {e}"))
    }
}
