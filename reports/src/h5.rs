//! Reading results files: 0-, 1- and 2-D `f64` datasets and string root attributes.
//!
//! Every error message names the results file and the dataset (or attribute), so a
//! problem in the report can be traced back to the exact place in the data.

use std::path::{Path, PathBuf};

use hdf5::types::VarLenUnicode;

/// An open HDF5 results file.
pub struct Results {
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

impl Matrix {
    /// Row `i` as a slice (empty if out of range).
    pub fn row(&self, i: usize) -> &[f64] {
        if i >= self.rows {
            return &[];
        }
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

impl Results {
    /// Opens `path` read-only.
    pub fn open(path: &Path) -> Result<Self, String> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
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
        let data = ds
            .read_raw::<f64>()
            .map_err(|e| format!("{}: cannot read dataset `{dataset}`: {e}", self.name))?;
        Ok((shape, data))
    }

    /// Reads a scalar (0-D) dataset; a 1-element 1-D dataset is accepted too.
    pub fn scalar(&self, dataset: &str) -> Result<f64, String> {
        let ds = self.dataset(dataset)?;
        let data = ds
            .read_raw::<f64>()
            .map_err(|e| format!("{}: cannot read dataset `{dataset}`: {e}", self.name))?;
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

    /// Reads a 1-D dataset and checks its length.
    pub fn vec_len(&self, dataset: &str, len: usize) -> Result<Vec<f64>, String> {
        let v = self.vec(dataset)?;
        if v.len() != len {
            return Err(format!(
                "{}: dataset `{dataset}` has length {}, expected {len}",
                self.name,
                v.len()
            ));
        }
        Ok(v)
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

    /// Reads a string root attribute; `None` when it is absent or not a string.
    pub fn attr(&self, name: &str) -> Option<String> {
        let attr = self.file.attr(name).ok()?;
        attr.read_scalar::<VarLenUnicode>()
            .ok()
            .map(|s| s.as_str().to_owned())
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
}
