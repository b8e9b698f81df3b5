//! `workbench export`: a results file's tables as CSV or Parquet, for pandas, polars or R.
//!
//! The tables are those the file declares in its `tables` attribute (a `sequence_dpo`
//! run's per-pair scores and per-step metrics, a sweep file's one row per point); the
//! file's other 1-D datasets form one table per group and length, each dataset of two or
//! more dimensions a long table (`axis0`, `axis1`, …, `value`), and its scalars one table
//! of (name, value). Each table is written atomically to `<out>/<stem>.<table>.csv|parquet`;
//! its columns are named by their dataset's path below the columns' common group
//! (`dpo/rewards/chosen` in table `dpo` is `rewards/chosen`), numbers as Float64 (Int64 for
//! `step` and the axes), text as Utf8.

use crate::error::{CliError, Result};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use workbench::results::{Column, ResultsFile, attr, format};

/// The file format of `workbench export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet, Snappy-compressed.
    Parquet,
}

impl TableFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
        }
    }
}

/// One column's values, as Arrow types them.
enum Values {
    Float(Vec<f64>),
    Int(Vec<i64>),
    Text(Vec<String>),
}

impl Values {
    /// `column` named `name`: a `step` column of whole numbers is Int64.
    fn of(name: &str, column: Column) -> Self {
        match column {
            Column::Numbers(v)
                if (name == "step" || name.ends_with("/step"))
                    && v.iter().all(|x| x.fract() == 0.0) =>
            {
                Self::Int(v.iter().map(|x| *x as i64).collect())
            }
            Column::Numbers(v) => Self::Float(v),
            Column::Text(v) => Self::Text(v),
        }
    }
}

/// One table: its name and its columns (name, values), all of one length.
struct Table {
    name: String,
    columns: Vec<(String, Values)>,
}

impl Table {
    /// A table of datasets' columns, named below their common group.
    fn of_datasets(name: String, columns: Vec<(String, Column)>) -> Self {
        let columns = named_below_common_group(columns)
            .into_iter()
            .map(|(n, c)| {
                let values = Values::of(&n, c);
                (n, values)
            })
            .collect();
        Self { name, columns }
    }
}

/// Exports `target` (a results file, or every `*.h5` directly in a folder) into `out`
/// (default: beside each file); prints one line per file written.
pub fn export(target: &Path, format: TableFormat, out: Option<&Path>) -> Result<()> {
    let files = results_files(target)?;
    for file in &files {
        let dir = match out {
            Some(dir) => dir.to_path_buf(),
            None => file.parent().unwrap_or(Path::new(".")).to_path_buf(),
        };
        std::fs::create_dir_all(&dir).map_err(|source| CliError::Io {
            what: format!("create {}", dir.display()),
            source,
        })?;
        let written = export_file(file, format, &dir)?;
        eprintln!(
            "{}: {} table(s) to {}",
            file.display(),
            written.len(),
            dir.display()
        );
    }
    Ok(())
}

/// `target` itself when it is a file, else the `*.h5` files directly in it, sorted.
fn results_files(target: &Path) -> Result<Vec<PathBuf>> {
    if target.is_dir() {
        return crate::files::listed(target, "h5", "results files");
    }
    if !target.is_file() {
        return Err(CliError::Message(format!(
            "{}: no such results file or folder",
            target.display()
        )));
    }
    Ok(vec![target.to_path_buf()])
}

/// Writes `path`'s tables into `dir`; returns the paths written.
fn export_file(path: &Path, format: TableFormat, dir: &Path) -> Result<Vec<PathBuf>> {
    let file = ResultsFile::open(path).map_err(CliError::Message)?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut written = Vec::new();
    for table in tables(&file)? {
        let target = dir.join(format!("{stem}.{}.{}", table.name, format.extension()));
        let bytes = record_batch(&table)
            .and_then(|batch| encode(&batch, format))
            .map_err(|e| {
                CliError::Message(format!("{}: table `{}`: {e}", path.display(), table.name))
            })?;
        crate::files::write_atomic(&target, &bytes)?;
        written.push(target);
    }
    Ok(written)
}

/// The declared tables, then the other 1-D datasets by group and length, then the scalars.
fn tables(file: &ResultsFile) -> Result<Vec<Table>> {
    let fail = |e: String| CliError::Message(e);
    let declared = match file.attr(attr::TABLES) {
        Some(text) => format::decode_tables(&text).map_err(|e| {
            fail(format!(
                "{}: root attribute `{}` is {e}",
                file.path().display(),
                attr::TABLES
            ))
        })?,
        None => Vec::new(),
    };
    let mut out = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for (name, paths) in declared {
        let columns = paths
            .iter()
            .map(|p| file.column(p).map(|c| (p.clone(), c)))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(fail)?;
        used.extend(paths);
        out.push(Table::of_datasets(name, columns));
    }
    // The rest: 1-D datasets grouped by their group and length; scalars in one table.
    let mut groups: BTreeMap<(String, usize), Vec<(String, Column)>> = BTreeMap::new();
    let (mut scalar_names, mut scalar_values) = (Vec::new(), Vec::new());
    for info in file.datasets() {
        if used.contains(&info.path) {
            continue;
        }
        match info.shape.as_slice() {
            [] | [1] if info.numeric => {
                scalar_values.push(file.values(&info.path).map_err(fail)?[0]);
                scalar_names.push(info.path);
            }
            [n] => {
                let group = info
                    .path
                    .rsplit_once('/')
                    .map_or("", |(g, _)| g)
                    .to_string();
                let column = file.column(&info.path).map_err(fail)?;
                groups
                    .entry((group, *n))
                    .or_default()
                    .push((info.path, column));
            }
            [_, _, ..] if info.numeric => {
                let values = file.values(&info.path).map_err(fail)?;
                out.push(long_table(&info.path, &info.shape, values));
            }
            _ => {}
        }
    }
    let mut lengths: BTreeMap<&str, usize> = BTreeMap::new();
    for (group, _) in groups.keys() {
        *lengths.entry(group).or_default() += 1;
    }
    let mut rest = Vec::new();
    for ((group, n), columns) in &groups {
        let base = if group.is_empty() {
            "root".to_string()
        } else {
            group.replace('/', ".")
        };
        let name = if lengths[group.as_str()] > 1 {
            format!("{base}.n{n}")
        } else {
            base
        };
        rest.push(Table::of_datasets(name, columns.clone()));
    }
    out.extend(rest);
    if !scalar_names.is_empty() {
        out.push(Table {
            name: "scalars".into(),
            columns: vec![
                ("name".into(), Values::Text(scalar_names)),
                ("value".into(), Values::Float(scalar_values)),
            ],
        });
    }
    Ok(out)
}

/// The dataset `path` of `shape` (two or more axes), row-major `values`, as a long table
/// `<path with . for />`: one row per element, its index on each axis and its value.
fn long_table(path: &str, shape: &[usize], values: Vec<f64>) -> Table {
    let mut axes: Vec<Vec<i64>> = vec![Vec::with_capacity(values.len()); shape.len()];
    for flat in 0..values.len() {
        let mut rest = flat;
        for (axis, &size) in shape.iter().enumerate().rev() {
            axes[axis].push((rest % size) as i64);
            rest /= size;
        }
    }
    let mut columns: Vec<(String, Values)> = axes
        .into_iter()
        .enumerate()
        .map(|(k, index)| (format!("axis{k}"), Values::Int(index)))
        .collect();
    columns.push(("value".into(), Values::Float(values)));
    Table {
        name: path.replace('/', "."),
        columns,
    }
}

/// `columns` named by their paths below the group all of them share (`dpo/loss` and
/// `dpo/rewards/chosen` become `loss` and `rewards/chosen`).
fn named_below_common_group(columns: Vec<(String, Column)>) -> Vec<(String, Column)> {
    let groups = |p: &str| -> Vec<String> {
        let parts: Vec<&str> = p.split('/').collect();
        parts[..parts.len() - 1]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let mut common = columns.first().map(|(p, _)| groups(p)).unwrap_or_default();
    for (path, _) in &columns {
        let own = groups(path);
        let shared = common.iter().zip(&own).take_while(|(a, b)| a == b).count();
        common.truncate(shared);
    }
    let prefix = common.iter().map(|g| format!("{g}/")).collect::<String>();
    columns
        .into_iter()
        .map(|(path, c)| (path.strip_prefix(&prefix).unwrap_or(&path).to_string(), c))
        .collect()
}

/// The table as one Arrow record batch.
fn record_batch(table: &Table) -> std::result::Result<RecordBatch, String> {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (name, values) in &table.columns {
        let (data_type, array): (DataType, ArrayRef) = match values {
            Values::Int(v) => (DataType::Int64, Arc::new(Int64Array::from(v.clone()))),
            Values::Float(v) => (DataType::Float64, Arc::new(Float64Array::from(v.clone()))),
            Values::Text(v) => (DataType::Utf8, Arc::new(StringArray::from(v.clone()))),
        };
        fields.push(Field::new(name, data_type, false));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| e.to_string())
}

/// The batch as the bytes of a CSV (with a header) or Parquet (Snappy) file.
fn encode(batch: &RecordBatch, format: TableFormat) -> std::result::Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    match format {
        TableFormat::Csv => {
            let mut writer = arrow_csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut bytes);
            writer.write(batch).map_err(|e| e.to_string())?;
        }
        TableFormat::Parquet => {
            let properties = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .build();
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), Some(properties))
                    .map_err(|e| e.to_string())?;
            writer.write(batch).map_err(|e| e.to_string())?;
            writer.close().map_err(|e| e.to_string())?;
        }
    }
    Ok(bytes)
}
