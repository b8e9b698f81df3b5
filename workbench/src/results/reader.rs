//! The one reader of results files, used by reuse checks, sweep collection, `status` and
//! the report: 0-, 1- and 2-D `f64` datasets, 1-D string datasets, root attributes (text,
//! structured, the run's identity), summaries, and the list of every dataset with its shape
//! and element type.
//!
//! Every error message names the results file and the dataset (or attribute), so a
//! problem in the report can be traced back to the exact place in the data.

use super::format::{attr, decode_names, path};
use hdf5::types::{VarLenAscii, VarLenUnicode};
use std::path::{Path, PathBuf};

/// The most elements a dataset may hold to be read (512 MiB as `f64`); the largest the
/// workbench writes (per-pair values of a large data set, a 10⁶-point sweep's columns) are
/// far below it.
pub const MAX_ELEMENTS: usize = 1 << 26;

/// An open HDF5 results file.
pub struct ResultsFile {
    path: PathBuf,
    name: String,
    file: hdf5::File,
}

/// A row-major 2-D array read from a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// The values, row after row.
    pub data: Vec<f64>,
}

/// One dataset of a results file, as listed by [`ResultsFile::datasets`].
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetInfo {
    /// Path from the root, without a leading `/` (`dpo/distance`).
    pub path: String,
    /// Shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// Element type as HDF5 describes it (`float64`, `int32`, `unicode (var len)`, ...).
    pub dtype: String,
    /// Whether the elements are numbers (integers or floats), readable as `f64`.
    pub numeric: bool,
}

/// A 1-D dataset read as what its elements are, by [`ResultsFile::column`].
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers (integers or floats), as `f64`.
    Numbers(Vec<f64>),
    /// Strings.
    Text(Vec<String>),
}

impl Column {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::Numbers(v) => v.len(),
            Self::Text(v) => v.len(),
        }
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether an HDF5 element type is a number (integer or float), readable as `f64`.
fn numeric(descriptor: &hdf5::types::TypeDescriptor) -> bool {
    use hdf5::types::TypeDescriptor::{Float, Integer, Unsigned};
    matches!(descriptor, Float(_) | Integer(_) | Unsigned(_))
}

/// Groups deeper than this are not listed (a guard against link cycles).
const MAX_DEPTH: usize = 32;
/// At most this many datasets are listed.
const MAX_DATASETS: usize = 10_000;

impl Matrix {
    /// Row `i` as a slice (empty if out of range).
    pub fn row(&self, i: usize) -> &[f64] {
        if i >= self.rows {
            return &[];
        }
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

impl ResultsFile {
    /// Opens `path` read-only.
    pub fn open(path: &Path) -> Result<Self, String> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        // HDF5 would block forever on a FIFO, and read a device without end.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Err(format!("{name}: not a regular file"));
        }
        let file = hdf5::File::open(path).map_err(|e| format!("{name}: cannot open: {e}"))?;
        Ok(Self {
            path: path.to_path_buf(),
            name,
            file,
        })
    }

    /// The file name (e.g. `fig2_weight_decay.h5`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn dataset(&self, dataset: &str) -> Result<hdf5::Dataset, String> {
        if !self.exists(dataset) {
            return Err(format!("{}: missing dataset `{dataset}`", self.name));
        }
        self.file
            .dataset(dataset)
            .map_err(|e| format!("{}: cannot open dataset `{dataset}`: {e}", self.name))
    }

    /// Whether a dataset or group exists at `path` (intermediate groups included).
    pub fn exists(&self, path: &str) -> bool {
        let mut prefix = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if !self.file.link_exists(&prefix) {
                return false;
            }
        }
        !prefix.is_empty()
    }

    fn read_all(&self, dataset: &str, ndim: usize) -> Result<(Vec<usize>, Vec<f64>), String> {
        let ds = self.dataset(dataset)?;
        let shape = ds.shape();
        if shape.len() != ndim {
            return Err(format!(
                "{}: dataset `{dataset}` has shape {shape:?}, expected {ndim} dimension(s)",
                self.name
            ));
        }
        Ok((shape, self.read(&ds, dataset)?))
    }

    /// `Err` when `ds` holds more than [`MAX_ELEMENTS`], checked before anything is read
    /// (a few kilobytes of compressed zeros can declare billions of elements).
    fn bounded(&self, ds: &hdf5::Dataset, dataset: &str) -> Result<(), String> {
        let size = ds.size();
        if size > MAX_ELEMENTS {
            return Err(format!(
                "{}: dataset `{dataset}` has {size} elements, more than the {MAX_ELEMENTS} a results reader reads",
                self.name
            ));
        }
        Ok(())
    }

    /// Reads all of `ds` (the dataset at `dataset`) as `f64`.
    fn read(&self, ds: &hdf5::Dataset, dataset: &str) -> Result<Vec<f64>, String> {
        self.bounded(ds, dataset)?;
        ds.read_raw::<f64>()
            .map_err(|e| format!("{}: cannot read dataset `{dataset}`: {e}", self.name))
    }

    /// Reads a scalar (0-D) dataset; a 1-element 1-D dataset is accepted too.
    pub fn scalar(&self, dataset: &str) -> Result<f64, String> {
        let data = self.values(dataset)?;
        match data.as_slice() {
            [v] => Ok(*v),
            _ => Err(format!(
                "{}: dataset `{dataset}` has {} values, expected a scalar",
                self.name,
                data.len()
            )),
        }
    }

    /// Reads a 1-D dataset.
    pub fn vec(&self, dataset: &str) -> Result<Vec<f64>, String> {
        Ok(self.read_all(dataset, 1)?.1)
    }

    /// Reads a 1-D dataset after checking its length.
    pub fn vec_len(&self, dataset: &str, len: usize) -> Result<Vec<f64>, String> {
        let shape = self.dataset(dataset)?.shape();
        if shape != [len] {
            return Err(format!(
                "{}: dataset `{dataset}` has shape {shape:?}, expected [{len}]",
                self.name
            ));
        }
        self.vec(dataset)
    }

    /// Reads a 2-D dataset.
    pub fn matrix(&self, dataset: &str) -> Result<Matrix, String> {
        let (shape, data) = self.read_all(dataset, 2)?;
        Ok(Matrix {
            rows: shape[0],
            cols: shape[1],
            data,
        })
    }

    /// Reads a 1-D dataset of variable-length strings (UTF-8 or ASCII).
    pub fn strings(&self, dataset: &str) -> Result<Vec<String>, String> {
        let ds = self.dataset(dataset)?;
        let shape = ds.shape();
        if shape.len() != 1 {
            return Err(format!(
                "{}: dataset `{dataset}` has shape {shape:?}, expected 1 dimension(s)",
                self.name
            ));
        }
        self.bounded(&ds, dataset)?;
        if let Ok(v) = ds.read_raw::<VarLenUnicode>() {
            return Ok(v.iter().map(|s| s.as_str().to_owned()).collect());
        }
        ds.read_raw::<VarLenAscii>()
            .map(|v| v.iter().map(|s| s.as_str().to_owned()).collect())
            .map_err(|e| {
                format!(
                    "{}: cannot read dataset `{dataset}` as variable-length strings: {e}",
                    self.name
                )
            })
    }

    /// Reads a 1-D dataset as numbers when its elements are numbers, else as strings.
    pub fn column(&self, dataset: &str) -> Result<Column, String> {
        let descriptor = self
            .dataset(dataset)?
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| {
                format!(
                    "{}: dataset `{dataset}` has no readable type: {e}",
                    self.name
                )
            })?;
        if numeric(&descriptor) {
            self.vec(dataset).map(Column::Numbers)
        } else {
            self.strings(dataset).map(Column::Text)
        }
    }

    /// Reads a string root attribute (UTF-8 or ASCII, variable length); `None` when it is
    /// absent or not such a string.
    pub fn attr(&self, name: &str) -> Option<String> {
        let attr = self.file.attr(name).ok()?;
        match attr.read_scalar::<VarLenUnicode>() {
            Ok(s) => Some(s.as_str().to_owned()),
            Err(_) => attr
                .read_scalar::<VarLenAscii>()
                .ok()
                .map(|s| s.as_str().to_owned()),
        }
    }

    /// Names of the top-level groups, sorted.
    pub fn groups(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .file
            .member_names()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| self.file.group(n).is_ok())
            .collect();
        names.sort();
        names
    }

    /// Names of the datasets directly in `group` (not in its subgroups), sorted; empty when
    /// there is no such group.
    pub fn datasets_in(&self, group: &str) -> Vec<String> {
        let Ok(g) = self.file.group(group) else {
            return Vec::new();
        };
        let mut names: Vec<String> = g
            .member_names()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| matches!(g.loc_type_by_name(n), Ok(hdf5::LocationType::Dataset)))
            .collect();
        names.sort();
        names
    }

    /// The datasets below `group` at any depth, as paths relative to it
    /// (`dpo/max_distance`), sorted.
    pub fn datasets_under(&self, group: &str) -> Vec<String> {
        let mut names = self.datasets_in(group);
        let Ok(g) = self.file.group(group) else {
            return names;
        };
        for member in g.member_names().unwrap_or_default() {
            if matches!(g.loc_type_by_name(&member), Ok(hdf5::LocationType::Group)) {
                let inner = self.datasets_under(&format!("{group}/{member}"));
                names.extend(inner.into_iter().map(|n| format!("{member}/{n}")));
            }
        }
        names.sort();
        names
    }

    /// Every dataset in the file, depth first, sorted by path within each group. Objects
    /// that cannot be opened are skipped; the list stops at 10 000 datasets.
    pub fn datasets(&self) -> Vec<DatasetInfo> {
        let mut out = Vec::new();
        list_datasets(&self.file, "", 0, &mut out);
        out
    }

    /// Reads a numeric dataset of any shape as `f64`, row-major.
    pub fn values(&self, dataset: &str) -> Result<Vec<f64>, String> {
        self.read(&self.dataset(dataset)?, dataset)
    }

    /// Names of the root attributes, sorted.
    pub fn attr_names(&self) -> Vec<String> {
        let mut names = self.file.attr_names().unwrap_or_default();
        names.sort();
        names
    }

    /// A root attribute as what it holds: text, numbers, or another HDF5 type (named);
    /// `None` when it is absent.
    pub fn attr_value(&self, name: &str) -> Option<AttrValue> {
        if let Some(s) = self.attr(name) {
            return Some(AttrValue::Text(s));
        }
        let attr = self.file.attr(name).ok()?;
        if let Ok(values) = attr.read_raw::<f64>() {
            return Some(AttrValue::Numbers(values.to_vec()));
        }
        Some(AttrValue::Other(
            attr.dtype()
                .and_then(|t| t.to_descriptor())
                .map(|t| t.to_string())
                .ok(),
        ))
    }

    /// The list of names in the structured root attribute `name` (a sweep file's
    /// [`attr::SWEPT_KEYS`] or [`attr::SEED_KEYS`]); `None` when it is absent.
    pub fn names(&self, name: &str) -> Result<Option<Vec<String>>, String> {
        let Some(text) = self.attr(name) else {
            return Ok(None);
        };
        decode_names(&text)
            .map(Some)
            .map_err(|e| format!("{}: root attribute `{name}` is {e}: {text}", self.name))
    }

    /// Every scalar under [`path::SUMMARY`], at any depth, named by its path below it
    /// (`dpo/max_distance`), sorted; the error names the dataset that cannot be read.
    pub fn summaries(&self) -> Result<Vec<(String, f64)>, String> {
        self.datasets_under(path::SUMMARY)
            .into_iter()
            .map(|name| {
                let value = self.scalar(&path::summary(&name))?;
                Ok((name, value))
            })
            .collect()
    }

    /// The identity a reuse check compares: configuration, backend, dtype, build and data
    /// files, as this file records them (absent attributes are `None`).
    pub fn identity(&self) -> Identity {
        Identity {
            config_toml: self.attr(attr::CONFIG_TOML),
            backend: self.attr(attr::BACKEND),
            dtype: self.attr(attr::DTYPE),
            build_id: self.attr(attr::BUILD_ID),
            inputs_id: self.attr(attr::INPUTS_ID),
        }
    }
}

/// A root attribute's value, read by [`ResultsFile::attr_value`].
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A string (UTF-8 or ASCII).
    Text(String),
    /// Numbers.
    Numbers(Vec<f64>),
    /// Another HDF5 type, named when it can be described.
    Other(Option<String>),
}

/// What a results file records about how it was made (see [`ResultsFile::identity`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// [`attr::CONFIG_TOML`].
    pub config_toml: Option<String>,
    /// [`attr::BACKEND`].
    pub backend: Option<String>,
    /// [`attr::DTYPE`].
    pub dtype: Option<String>,
    /// [`attr::BUILD_ID`].
    pub build_id: Option<String>,
    /// [`attr::INPUTS_ID`].
    pub inputs_id: Option<String>,
}

/// Appends the datasets under `group` (whose path is `prefix`) to `out`.
fn list_datasets(group: &hdf5::Group, prefix: &str, depth: usize, out: &mut Vec<DatasetInfo>) {
    let mut names = group.member_names().unwrap_or_default();
    names.sort();
    for name in names {
        if out.len() >= MAX_DATASETS {
            return;
        }
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        match group.loc_type_by_name(&name) {
            Ok(hdf5::LocationType::Group) if depth < MAX_DEPTH => {
                if let Ok(g) = group.group(&name) {
                    list_datasets(&g, &path, depth + 1, out);
                }
            }
            Ok(hdf5::LocationType::Dataset) => {
                if let Ok(ds) = group.dataset(&name) {
                    let descriptor = ds.dtype().and_then(|t| t.to_descriptor());
                    out.push(DatasetInfo {
                        path,
                        shape: ds.shape(),
                        numeric: descriptor.as_ref().is_ok_and(numeric),
                        dtype: descriptor
                            .map(|t| t.to_string())
                            .unwrap_or_else(|_| "unknown type".into()),
                    });
                }
            }
            _ => {}
        }
    }
}
