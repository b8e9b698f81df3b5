//! `workbench export`: a results file's tables as CSV or Parquet, for pandas, polars or R.
//!
//! The tables are those the file declares in its `tables` attribute (a `sequence_dpo`
//! run's per-pair scores and per-step metrics, a sweep file's one row per point); the
//! file's other 1-D datasets form one table per group and length, and its scalars one
//! table of (name, value). Each table is written atomically to
//! `<out>/<stem>.<table>.csv|parquet`; its columns are named by their dataset's path
//! below the columns' common group (`dpo/rewards/chosen` in table `dpo` is
//! `rewards/chosen`), numbers as Float64 (Int64 for `step`), text as Utf8.

use crate::error::{CliError, Result};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use std::collections::BTreeMap;
use std::io::Write;
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

/// One table: its name and its columns (name, values), all of one length.
struct Table {
    name: String,
    columns: Vec<(String, Column)>,
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
    if !target.is_dir() {
        if !target.is_file() {
            return Err(CliError::Message(format!(
                "{}: no such results file or folder",
                target.display()
            )));
        }
        return Ok(vec![target.to_path_buf()]);
    }
    let entries = std::fs::read_dir(target).map_err(|source| CliError::Io {
        what: format!("read {}", target.display()),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "h5"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CliError::Message(format!(
            "{}: no results files (*.h5) in this folder",
            target.display()
        )));
    }
    Ok(files)
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
        let batch = record_batch(&table).map_err(|e| {
            CliError::Message(format!("{}: table `{}`: {e}", path.display(), table.name))
        })?;
        write_atomically(&target, |out| write_batch(&batch, format, out))?;
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
        out.push(Table {
            name,
            columns: named_below_common_group(columns),
        });
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
        rest.push(Table {
            name,
            columns: named_below_common_group(columns.clone()),
        });
    }
    out.extend(rest);
    if !scalar_names.is_empty() {
        out.push(Table {
            name: "scalars".into(),
            columns: vec![
                ("name".into(), Column::Text(scalar_names)),
                ("value".into(), Column::Numbers(scalar_values)),
            ],
        });
    }
    Ok(out)
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
    for (name, column) in &table.columns {
        let is_step = name == "step" || name.ends_with("/step");
        let (data_type, array): (DataType, ArrayRef) = match column {
            Column::Numbers(v) if is_step && v.iter().all(|x| x.fract() == 0.0) => (
                DataType::Int64,
                Arc::new(Int64Array::from_iter_values(v.iter().map(|x| *x as i64))),
            ),
            Column::Numbers(v) => (DataType::Float64, Arc::new(Float64Array::from(v.clone()))),
            Column::Text(v) => (DataType::Utf8, Arc::new(StringArray::from(v.clone()))),
        };
        fields.push(Field::new(name, data_type, false));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| e.to_string())
}

fn write_batch(
    batch: &RecordBatch,
    format: TableFormat,
    out: &mut std::fs::File,
) -> std::result::Result<(), String> {
    match format {
        TableFormat::Csv => {
            let mut writer = arrow_csv::WriterBuilder::new().with_header(true).build(out);
            writer.write(batch).map_err(|e| e.to_string())
        }
        TableFormat::Parquet => {
            let properties = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .build();
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(out, batch.schema(), Some(properties))
                    .map_err(|e| e.to_string())?;
            writer.write(batch).map_err(|e| e.to_string())?;
            writer.close().map(drop).map_err(|e| e.to_string())
        }
    }
}

/// Writes `target` through a temporary file in its folder, synced, then renamed into
/// place: a reader never sees half a table.
fn write_atomically(
    target: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::result::Result<(), String>,
) -> Result<()> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let fail = |why: String| CliError::Message(format!("{}: {why}", target.display()));
    let mut temp = tempfile::Builder::new()
        .prefix(".export-")
        .tempfile_in(dir)
        .map_err(|e| fail(e.to_string()))?;
    write(temp.as_file_mut()).map_err(&fail)?;
    temp.as_file_mut()
        .flush()
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| fail(e.to_string()))?;
    temp.persist(target)
        .map_err(|e| fail(e.error.to_string()))?;
    Ok(())
}
