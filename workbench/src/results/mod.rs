//! Results as plain Rust values (`f64` arrays with shapes) and their HDF5 form
//! (docs/results.md): this module owns the format. [`format`] names every attribute and
//! dataset, the writer writes [`Results`] atomically, and [`ResultsFile`] is the one reader.
//! The writer never sees a tensor.

#[cfg(feature = "hdf5")]
pub mod folders;
pub mod format;
#[cfg(feature = "hdf5")]
mod hdf5_writer;
#[cfg(feature = "hdf5")]
mod reader;

pub use format::{attr, path};
#[cfg(feature = "hdf5")]
pub use hdf5_writer::{prepare_dir, write, write_as, writer_tag};
#[cfg(feature = "hdf5")]
pub use reader::{AttrValue, Column, DatasetInfo, Identity, Matrix, ResultsFile};

/// One dataset: a slash-separated path (`dpo/policy`), a shape (empty for a scalar) and
/// row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Path inside the file; groups are created as needed.
    pub path: String,
    /// Shape; `[]` is a scalar.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f64>,
}

/// A 1-D dataset of text (variable-length UTF-8), e.g. a sweep's status per point.
#[derive(Debug, Clone, PartialEq)]
pub struct TextDataset {
    /// Path inside the file; groups are created as needed.
    pub path: String,
    /// The values.
    pub values: Vec<String>,
}

/// A folder of files a run saves beside its results file (a trained model in the format
/// its checkpoint came in). The writer puts it at `<stem>/<name>/` next to `<stem>.h5`,
/// whole or not at all, before the results file, and records its path and its files'
/// SHA-256 in the results file's `saved` attribute ([`folders`]).
#[derive(Clone, PartialEq)]
pub struct Folder {
    /// Its path under `<stem>/`, `/`-separated (`models/policy`).
    pub name: String,
    /// Its files, by name, with their bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for Folder {
    /// Names and sizes: the bytes of a model are too many to print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let files: Vec<String> = self
            .files
            .iter()
            .map(|(name, bytes)| format!("{name} ({} bytes)", bytes.len()))
            .collect();
        f.debug_struct("Folder")
            .field("name", &self.name)
            .field("files", &files)
            .finish()
    }
}

/// Everything one experiment run writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// The experiment's name (the file is `<name>.h5`).
    pub experiment: String,
    /// Its kind.
    pub kind: String,
    /// The fully resolved configuration, as TOML text.
    pub config_toml: String,
    /// The backend it ran on.
    pub backend: String,
    /// The float type it ran in.
    pub dtype: String,
    /// Extra root attributes (name, text): the run's bookkeeping ([`attr::BUILD_ID`],
    /// [`attr::INPUTS_ID`], a sweep point's) and notes on how to read the file.
    pub notes: Vec<(String, String)>,
    /// The datasets.
    pub datasets: Vec<Dataset>,
    /// Text datasets.
    pub texts: Vec<TextDataset>,
    /// Folders saved beside the results file.
    pub folders: Vec<Folder>,
}

impl Results {
    /// Empty results for `experiment` of `kind`.
    pub fn new(experiment: &str, kind: &str, config_toml: &str) -> Self {
        Self {
            experiment: experiment.into(),
            kind: kind.into(),
            config_toml: config_toml.into(),
            backend: String::new(),
            dtype: String::new(),
            notes: Vec::new(),
            datasets: Vec::new(),
            texts: Vec::new(),
            folders: Vec::new(),
        }
    }

    /// Adds a dataset of `shape` (its element count must match `values`).
    pub fn push(&mut self, path: impl Into<String>, shape: &[usize], values: Vec<f64>) {
        let path = path.into();
        assert_eq!(
            shape.iter().product::<usize>(),
            values.len(),
            "dataset {path}: shape {shape:?} does not hold {} values",
            values.len()
        );
        self.datasets.push(Dataset {
            path,
            shape: shape.to_vec(),
            values,
        });
    }

    /// Adds a scalar dataset.
    pub fn scalar(&mut self, path: impl Into<String>, value: f64) {
        self.push(path, &[], vec![value]);
    }

    /// A scalar that sums up the run, at `summary/<name>` (see `Kind::SUMMARIES`).
    pub fn summary(&mut self, name: impl AsRef<str>, value: f64) {
        self.scalar(path::summary(name.as_ref()), value);
    }

    /// Adds a 1-D dataset.
    pub fn vector(&mut self, path: impl Into<String>, values: Vec<f64>) {
        let n = values.len();
        self.push(path, &[n], values);
    }

    /// Adds a 1-D text dataset.
    pub fn texts(&mut self, path: impl Into<String>, values: Vec<String>) {
        self.texts.push(TextDataset {
            path: path.into(),
            values,
        });
    }

    /// Adds the root attribute `name` (one of [`attr`], or a note of the kind's own).
    pub fn note(&mut self, name: &str, value: impl Into<String>) {
        self.notes.push((name.to_string(), value.into()));
    }

    /// Declares the tables `workbench export` writes ([`attr::TABLES`]): each a name and
    /// the paths of its columns' datasets (1-D, of one length).
    pub fn tables(&mut self, tables: &[(String, Vec<String>)]) {
        self.note(attr::TABLES, format::encode_tables(tables));
    }

    /// The dataset at `path`, if present.
    pub fn get(&self, path: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.path == path)
    }
}
