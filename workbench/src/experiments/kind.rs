//! The one way to declare an experiment kind: implement [`Kind`] on its checked spec.
//!
//! A kind names itself, says what its files look like ([`Kind::File`], parsed by serde),
//! how a file is checked into the spec ([`Kind::validate`]), how the spec runs on a device
//! ([`Kind::run`]), the reduced overrides that make a smoke run ([`Kind::SMOKE`]) and the
//! scalars that sum up a run ([`Kind::SUMMARIES`], written to `summary/<name>`). The
//! registry stores it behind the object-safe [`ExperimentKind`] through [`entry`].
//!
//! ```
//! use workbench::experiments::{Identity, Kind, RunContext, Validation};
//! use workbench::results::Results;
//! use workbench::{ConfigError, WorkbenchError};
//!
//! workbench::experiment_file! {
//!     /// `kind = "constant"`: writes one number.
//!     #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
//!     #[serde(deny_unknown_fields)]
//!     pub struct ConstantFile {
//!         /// The number.
//!         pub value: f64 = 0.0,
//!     }
//! }
//!
//! /// The checked spec.
//! struct Constant(f64);
//!
//! impl Kind for Constant {
//!     const NAME: &'static str = "constant";
//!     const DESCRIPTION: &'static str = "writes one number";
//!     const SUMMARIES: &'static [(&'static str, &'static str)] = &[("value", "the number")];
//!     type File = ConstantFile;
//!
//!     fn validate(file: &ConstantFile, _: &Validation<'_>) -> Result<Self, ConfigError> {
//!         workbench::config::validate::check(file.value.is_finite(), "value", file.value, "must be finite")?;
//!         Ok(Constant(file.value))
//!     }
//!
//!     fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
//!         let mut results = identity.results(context);
//!         results.summary("value", self.0);
//!         Ok(results)
//!     }
//! }
//!
//! let mut registry = workbench::Registry::builtin();
//! registry.register_kind::<Constant>();
//! assert!(registry.kind("constant").is_some());
//! ```

use super::{Accepts, ExperimentKind, Identity, RunContext};
use crate::catalogue::Catalogue;
use crate::error::{ConfigError, WorkbenchError};
use crate::results::Results;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;

/// An experiment kind, implemented on its checked spec.
pub trait Kind: Send + Sync + Sized + 'static {
    /// The name used in TOML (`kind = "..."`).
    const NAME: &'static str;

    /// One line for `workbench list`.
    const DESCRIPTION: &'static str;

    /// The `[constraints.NAME]` tables and `[policy]` families its files accept.
    const ACCEPTS: Accepts = Accepts::NOTHING;

    /// `--set` overrides that make a run take seconds (conformance, tests, `--smoke`).
    const SMOKE: &'static [&'static str] = &[];

    /// The dotted keys that seed its randomness (`data.seed`, `model.seed`): a sweep's
    /// `seeds` writes each seed to every one of them the resolved file has.
    const SEEDS: &'static [&'static str] = &[];

    /// The scalars that sum up a run, `(name, meaning)`; each is written to
    /// `summary/<name>` (a `<m>` in a name stands for each method's label).
    const SUMMARIES: &'static [(&'static str, &'static str)];

    /// The experiment file (serde), with the shared header keys (see
    /// [`crate::experiment_file`]).
    type File: DeserializeOwned + Serialize + Send + Sync;

    /// Checks everything but the header (the loader checks the name) into the spec; errors
    /// name the key and value.
    fn validate(file: &Self::File, check: &Validation<'_>) -> Result<Self, ConfigError>;

    /// Runs it on `context`'s device.
    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError>;

    /// A key whose values this kind trains side by side as one batch (`data.seed` for mode
    /// seeking): a sweep runs its points that differ only in this key through
    /// [`Kind::run_batch`].
    const BATCH_KEY: Option<&'static str> = None;

    /// Runs `runs` (specs of this kind that differ only in [`Kind::BATCH_KEY`]) as one
    /// batch: one [`Results`] each, equal to what [`Kind::run`] gives it alone.
    fn run_batch(
        runs: &[(&Self, &Identity)],
        context: &RunContext,
    ) -> Result<Vec<Results>, WorkbenchError> {
        runs.iter()
            .map(|(spec, identity)| spec.run(identity, context))
            .collect()
    }

    /// Data files it reads besides the configuration.
    fn inputs(&self) -> Vec<PathBuf> {
        Vec::new()
    }

    /// A rough upper estimate of the memory a run on `backend` in `precision` needs, in
    /// bytes (0: not estimated).
    fn memory_estimate(
        &self,
        _backend: crate::backend::BackendName,
        _precision: crate::backend::Precision,
    ) -> u64 {
        0
    }
}

/// What validation may use besides the file: the catalogue and the file's name.
#[derive(Clone, Copy)]
pub struct Validation<'a> {
    /// Losses and policy families by name.
    pub catalogue: &'a Catalogue,
    /// The experiment file, as named in errors.
    pub file: &'a str,
}

/// The keys every experiment file starts with, read once by the loader.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Header {
    /// Experiment name; the results file is `<name>.h5`.
    pub name: String,
    /// The kind.
    pub kind: String,
    /// The backend the file asks for.
    #[serde(default)]
    pub backend: Option<String>,
}

/// Declares an experiment file struct with the shared header keys (`name`, `kind`,
/// `description`, `backend`) in front of its own.
///
/// Either every key of its own declares its default on the field (`pub beta: f64 = 0.5,`),
/// and the file gets a `Default` impl and `#[serde(default)]`, or the body is written out
/// with serde attributes as usual.
#[macro_export]
macro_rules! experiment_file {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $ty:ty = $default:expr),+ $(,)?
        }
    ) => {
        $crate::experiment_file! {
            $(#[$meta])*
            #[serde(default)]
            pub struct $name { $($(#[$field_meta])* pub $field: $ty,)+ }
        }

        // The header's `name` and `kind` are empty here but never missing from a parsed
        // file: the loader reads the header (where both are required) before the file.
        impl ::std::default::Default for $name {
            fn default() -> Self {
                Self {
                    name: ::std::string::String::new(),
                    kind: ::std::string::String::new(),
                    description: ::std::string::String::new(),
                    backend: None,
                    sweep_table: None,
                    $($field: $default,)+
                }
            }
        }
    };
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            /// Experiment name; the results file is `<name>.h5`.
            pub name: String,
            /// The kind (`kind = "..."`).
            pub kind: String,
            /// Free text.
            #[serde(default)]
            pub description: String,
            /// Backend to run on unless the command line says otherwise.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub backend: Option<String>,
            /// `[sweep]`, read by the loader (`workbench::sweep`); each point's resolved
            /// configuration holds its values instead.
            #[serde(default, rename = "sweep", skip_serializing)]
            pub sweep_table: Option<serde::de::IgnoredAny>,
            $($body)*
        }
    };
}

/// The registry's handle on kind `K`.
pub(crate) fn entry<K: Kind>() -> Arc<dyn ExperimentKind> {
    Arc::new(Entry::<K>(PhantomData))
}

struct Entry<K>(PhantomData<fn() -> K>);

impl<K: Kind> ExperimentKind for Entry<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn description(&self) -> &'static str {
        K::DESCRIPTION
    }

    fn accepts(&self) -> Accepts {
        K::ACCEPTS
    }

    fn smoke(&self) -> &'static [&'static str] {
        K::SMOKE
    }

    fn summaries(&self) -> &'static [(&'static str, &'static str)] {
        K::SUMMARIES
    }

    fn seeds(&self) -> &'static [&'static str] {
        K::SEEDS
    }

    #[cfg(feature = "files")]
    fn prepare(
        &self,
        figment: &figment::Figment,
        header: &Header,
        check: &Validation<'_>,
    ) -> Result<Box<dyn super::Experiment>, ConfigError> {
        let raw: K::File = figment
            .extract()
            .map_err(|e| crate::config::config_error(e, check.file))?;
        checked::<K>(raw, header, check)
    }

    #[cfg(feature = "files")]
    fn prepare_table(
        &self,
        table: toml::Table,
        header: &Header,
        check: &Validation<'_>,
    ) -> Option<Result<Box<dyn super::Experiment>, ConfigError>> {
        let raw: K::File = serde::Deserialize::deserialize(toml::Value::Table(table)).ok()?;
        Some(checked::<K>(raw, header, check))
    }
}

/// The experiment of the file `raw`, validated.
#[cfg(feature = "files")]
fn checked<K: Kind>(
    raw: K::File,
    header: &Header,
    check: &Validation<'_>,
) -> Result<Box<dyn super::Experiment>, ConfigError> {
    let spec = K::validate(&raw, check).map_err(|e| e.in_file(check.file))?;
    Ok(Box::new(Prepared {
        name: header.name.clone(),
        backend: header.backend.clone(),
        raw,
        identity: std::sync::OnceLock::new(),
        spec,
    }))
}

/// A checked spec with its file: the [`Experiment`] every kind hands out. Its identity
/// (with the resolved configuration as TOML) is written when first asked for: validating a
/// large sweep never needs it, and writing TOML is most of a point's cost.
#[cfg(feature = "files")]
struct Prepared<K: Kind> {
    name: String,
    backend: Option<String>,
    raw: K::File,
    identity: std::sync::OnceLock<Identity>,
    spec: K,
}

#[cfg(feature = "files")]
impl<K: Kind> Prepared<K> {
    fn identity(&self) -> &Identity {
        self.identity.get_or_init(|| Identity {
            name: self.name.clone(),
            kind: K::NAME,
            config_toml: toml::to_string(&self.raw).unwrap_or_default(),
            backend: self.backend.clone(),
        })
    }
}

#[cfg(feature = "files")]
impl<K: Kind> super::Experiment for Prepared<K> {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        K::NAME
    }

    fn config_toml(&self) -> &str {
        &self.identity().config_toml
    }

    fn backend(&self) -> Option<&str> {
        self.backend.as_deref()
    }

    fn inputs(&self) -> Vec<PathBuf> {
        self.spec.inputs()
    }

    fn memory_estimate(
        &self,
        backend: crate::backend::BackendName,
        precision: crate::backend::Precision,
    ) -> u64 {
        self.spec.memory_estimate(backend, precision)
    }

    fn run(&self, context: &RunContext) -> Result<Results, WorkbenchError> {
        self.spec.run(self.identity(), context)
    }

    fn batch_key(&self) -> Option<&'static str> {
        K::BATCH_KEY
    }

    fn run_batch(
        &self,
        others: &[&dyn super::Experiment],
        context: &RunContext,
    ) -> Result<Vec<Results>, WorkbenchError> {
        let mut runs = vec![(&self.spec, self.identity())];
        for other in others {
            let Some(prepared) = other.as_any().downcast_ref::<Prepared<K>>() else {
                return Err(WorkbenchError::Data(format!(
                    "experiment `{}`: a batch mixes kinds {} and {}",
                    self.name,
                    K::NAME,
                    other.kind()
                )));
            };
            runs.push((&prepared.spec, prepared.identity()));
        }
        K::run_batch(&runs, context)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
