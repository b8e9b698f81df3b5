//! The two sbatch scripts of a submission: the job array (task `i` runs the points of
//! record `tasks[i]`) and the job after it that collects the sweeps and builds the report.

use super::SlurmOptions;
use super::record::TaskRecord;
use crate::error::{CliError, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What both scripts are written from.
pub struct Spec<'a> {
    /// Job names start `wb-<name>`; logs are `<name>-…`.
    pub name: &'a str,
    /// One line saying what is submitted (the scripts' comment).
    pub what: &'a str,
    /// The binary every step runs.
    pub binary: &'a Path,
    /// The results folder (absolute).
    pub out: &'a Path,
    /// The report folder (absolute).
    pub report: &'a Path,
    /// Flags every run takes (`--smoke`, `--set …`, …).
    pub flags: &'a [String],
    /// The array's tasks.
    pub tasks: &'a [TaskRecord],
    /// The sweep folders to collect afterwards.
    pub sweeps: &'a [PathBuf],
    /// The scheduler's options.
    pub slurm: &'a SlurmOptions,
}

/// The collecting job's first lines under `--requeue`: while a task of the array is queued
/// again (requeued), collect after it instead, as a new job with the same script.
const AFTER_REQUEUE: &str = r#"array="${1:?needs the job id of the array (workbench submit passes it)}"
if [ -n "$(squeue --noheader --array --jobs="$array" --format=%i 2>/dev/null)" ]; then
  next=$(sbatch --parsable --dependency=afterany:"$array" {script} "$array") || exit 1
  echo "the array $array has tasks queued again (requeued): collecting after them as job ${next%%;*}"
  exit 0
fi
"#;

/// Seconds before the time limit that a `--requeue` task is warned, by default.
pub const DEFAULT_SIGNAL_BEFORE: u32 = 300;

/// What a `--requeue` task runs its points through: each point in the background, so that
/// Slurm's warning (SIGUSR1 to this script, `--signal=B:USR1@…`) reaches it at once; the
/// point saves its training state and stops (exit 75), and the task requeues itself: run
/// again, each point continues from its state (finished points are up to date).
const REQUEUE: &str = r#"child=
stopped=0
requeue() {
  echo "task ${SLURM_ARRAY_TASK_ID}: stopped with its state saved; requeued" >&2
  scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
  exit 0
}
trap 'stopped=1; if [ -n "$child" ]; then kill -USR1 "$child" 2>/dev/null; fi' USR1
launch() {
  if [ "$stopped" = 1 ]; then requeue; fi
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  # A trapped signal ends `wait` early: wait again for the point's own status.
  while kill -0 "$child" 2>/dev/null; do
    status=0
    wait "$child" || status=$?
  done
  child=
  if [ "$stopped" = 1 ] || [ "$status" = 75 ]; then requeue; fi
  return "$status"
}
"#;

/// Shell-quotes `text` (a path or an argument).
pub fn quote(text: &str) -> Result<String> {
    shlex::try_quote(text)
        .map(|q| q.into_owned())
        .map_err(|e| CliError::from(format!("{text:?} cannot be written into a script: {e}")))
}

/// sbatch options the scripts set themselves (both spellings).
const RESERVED: [&str; 14] = [
    "--array",
    "-a",
    "--output",
    "-o",
    "--error",
    "-e",
    "--job-name",
    "-J",
    "--dependency",
    "-d",
    "--wrap",
    "--parsable",
    "--cpus-per-task",
    "-c",
];

/// Whether `text` is one of Slurm's time formats: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`,
/// `D-H:M:S` (digits), or `UNLIMITED`/`INFINITE`.
fn slurm_time(text: &str) -> bool {
    if matches!(text, "UNLIMITED" | "INFINITE" | "unlimited" | "infinite") {
        return true;
    }
    let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.chars().all(|c| c.is_ascii_digit());
    let (days, rest) = match text.split_once('-') {
        Some((d, rest)) => (Some(d), rest),
        None => (None, text),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    days.is_none_or(digits) && parts.len() <= 3 && parts.iter().all(|p| digits(p))
}

/// A path as the value of a `#SBATCH` option: refused with control characters or `"`,
/// double-quoted when it holds a space (sbatch reads quoted values whole).
fn directive_path(path: &Path) -> Result<String> {
    let text = path.to_string_lossy();
    if text.chars().any(|c| c.is_control() || c == '"') {
        return Err(CliError::from(format!(
            "{text:?}: a path with control characters or '\"' cannot be written into a #SBATCH line"
        )));
    }
    Ok(if text.contains(char::is_whitespace) {
        format!("\"{text}\"")
    } else {
        text.into_owned()
    })
}

/// Shell-quotes a path.
fn quote_path(path: &Path) -> Result<String> {
    quote(&path.to_string_lossy())
}

impl Spec<'_> {
    /// The logs folder.
    pub fn logs(&self) -> PathBuf {
        self.out.join("logs")
    }

    /// `#SBATCH` lines common to both jobs (partition, time, the user's own options).
    fn common(&self, text: &mut String) -> Result<()> {
        let s = self.slurm;
        if let Some(p) = &s.partition {
            let bad = |c: char| c.is_control() || c.is_whitespace() || c == '#';
            if p.is_empty() || p.chars().any(bad) {
                return Err(CliError::from(format!(
                    "--partition {p:?}: a partition name (no spaces or control characters)"
                )));
            }
            writeln!(text, "#SBATCH --partition={p}").ok();
        }
        if let Some(t) = &s.time {
            if !slurm_time(t) {
                return Err(CliError::from(format!(
                    "--time {t:?}: not a Slurm time (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED)"
                )));
            }
            writeln!(text, "#SBATCH --time={t}").ok();
        }
        for arg in &s.sbatch_args {
            if arg.chars().any(char::is_control) || !arg.starts_with('-') {
                return Err(CliError::from(format!(
                    "--sbatch-arg {arg:?}: one sbatch option on one line, e.g. --sbatch-arg=--account=abc"
                )));
            }
            let option = arg.split(['=', ' ']).next().unwrap_or_default();
            if RESERVED.contains(&option) {
                return Err(CliError::from(format!(
                    "--sbatch-arg {arg:?}: {option} is set by `workbench submit` itself and cannot be overridden"
                )));
            }
            writeln!(text, "#SBATCH {arg}").ok();
        }
        Ok(())
    }

    /// The job array's script.
    pub fn array(&self) -> Result<String> {
        let s = self.slurm;
        let mut text = String::from("#!/bin/bash\n");
        writeln!(text, "# {}, written by `workbench submit`.", self.what).ok();
        writeln!(text, "#SBATCH --job-name=wb-{}", self.name).ok();
        let last = self.tasks.len().saturating_sub(1);
        match s.max_parallel {
            Some(m) => writeln!(text, "#SBATCH --array=0-{last}%{m}"),
            None => writeln!(text, "#SBATCH --array=0-{last}"),
        }
        .ok();
        let log = self.logs().join(format!("{}-%A_%a.log", self.name));
        writeln!(text, "#SBATCH --output={}", directive_path(&log)?).ok();
        if let Some(n) = s.cpus_per_task {
            writeln!(text, "#SBATCH --cpus-per-task={n}").ok();
        }
        if let Some(n) = s.gpus_per_task {
            writeln!(text, "#SBATCH --gpus-per-task={n}").ok();
        }
        if s.requeue {
            // A requeued task appends to its log rather than starting it afresh.
            text.push_str("#SBATCH --requeue\n#SBATCH --open-mode=append\n");
            let before = s.signal_before.unwrap_or(DEFAULT_SIGNAL_BEFORE);
            writeln!(text, "#SBATCH --signal=B:USR1@{before}").ok();
        }
        self.common(&mut text)?;
        text.push_str("set -u\n");
        writeln!(text, "bin={}", quote_path(self.binary)?).ok();
        text.push_str("jobs=\"${SLURM_CPUS_PER_TASK:-1}\"\nfailed=0\n");
        let launch = if s.requeue {
            text.push_str(REQUEUE);
            "launch "
        } else {
            ""
        };
        text.push_str("case \"${SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}\" in\n");
        let out = quote_path(self.out)?;
        let flags = self
            .flags
            .iter()
            .map(|f| quote(f))
            .collect::<Result<Vec<_>>>()?;
        for (index, task) in self.tasks.iter().enumerate() {
            writeln!(text, "  {index})").ok();
            for unit in &task.units {
                let file = quote_path(&unit.file)?;
                let mut line = format!("    {launch}\"$bin\" run {file} --out {out}");
                if let Some(points) = &unit.points {
                    write!(line, " --point {} --jobs \"$jobs\"", quote(points)?).ok();
                }
                write!(
                    line,
                    " --backend {} --dtype {} --expect-config {} --quiet",
                    quote(unit.backend.name())?,
                    quote(unit.dtype.name())?,
                    quote(&unit.expect)?
                )
                .ok();
                for flag in &flags {
                    write!(line, " {flag}").ok();
                }
                writeln!(text, "{line} || failed=1").ok();
            }
            text.push_str("    ;;\n");
        }
        text.push_str(
            "  *)\n    echo \"task $SLURM_ARRAY_TASK_ID is not in this array\" >&2\n    exit 2\n    ;;\nesac\nexit \"$failed\"\n",
        );
        Ok(text)
    }

    /// The script of the job that runs after the array: collect each sweep, build the report.
    /// `path` is where it is written: with `--requeue` it submits itself again, after the
    /// array, when a task is queued again (Slurm counts a requeued task as ended, so this job
    /// may start before the task has run again). The array's job id is its first argument.
    pub fn collect(&self, path: &Path) -> Result<String> {
        let mut text = String::from("#!/bin/bash\n");
        writeln!(
            text,
            "# After {}: collect the sweeps and build the report; written by `workbench submit`.",
            self.what
        )
        .ok();
        writeln!(text, "#SBATCH --job-name=wb-{}-collect", self.name).ok();
        let log = self.logs().join(format!("{}-collect-%j.log", self.name));
        writeln!(text, "#SBATCH --output={}", directive_path(&log)?).ok();
        self.common(&mut text)?;
        text.push_str("set -u\n");
        writeln!(text, "bin={}", quote_path(self.binary)?).ok();
        if self.slurm.requeue {
            text.push_str(&AFTER_REQUEUE.replace("{script}", &quote_path(path)?));
        }
        text.push_str("failed=0\n");
        for dir in self.sweeps {
            writeln!(text, "\"$bin\" collect {} || failed=1", quote_path(dir)?).ok();
        }
        writeln!(
            text,
            "\"$bin\" report {} --out {} || failed=1",
            quote_path(self.out)?,
            quote_path(self.report)?
        )
        .ok();
        text.push_str("exit \"$failed\"\n");
        Ok(text)
    }
}

/// Splits `items` into at most `max` contiguous tasks of near-equal size.
pub fn shard<T>(items: Vec<T>, max: usize) -> Vec<Vec<T>> {
    let tasks = items.len().min(max.max(1));
    if tasks == 0 {
        return Vec::new();
    }
    let (base, extra) = (items.len() / tasks, items.len() % tasks);
    let mut items = items.into_iter();
    (0..tasks)
        .map(|t| items.by_ref().take(base + usize::from(t < extra)).collect())
        .collect()
}

/// `0-3,7,9-10`: `points` (sorted) as `--point` takes them.
pub fn selection_text(points: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let start = points[i];
        let mut end = start;
        while i + 1 < points.len() && points[i + 1] == end + 1 {
            i += 1;
            end = points[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::{selection_text, shard};

    #[test]
    fn slurm_times_and_directive_paths() {
        for good in [
            "30",
            "30:00",
            "02:00:00",
            "1-0",
            "1-12:00",
            "2-00:00:00",
            "UNLIMITED",
        ] {
            assert!(super::slurm_time(good), "{good}");
        }
        for bad in [
            "",
            "garbage",
            "1:2:3:4",
            "cpu\ntouch pwned",
            "-5",
            "1-",
            "1h",
        ] {
            assert!(!super::slurm_time(bad), "{bad:?}");
        }
        let spaced = super::directive_path(std::path::Path::new("/a b/x.log")).unwrap();
        assert_eq!(spaced, "\"/a b/x.log\"");
        assert!(super::directive_path(std::path::Path::new("/o\ntouch pwned #/x")).is_err());
    }

    #[test]
    fn shards_are_contiguous_and_near_equal() {
        let tasks = shard((0..8).collect(), 3);
        assert_eq!(tasks, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
        assert_eq!(shard((0..2).collect(), 1000), vec![vec![0], vec![1]]);
        assert!(shard(Vec::<u8>::new(), 3).is_empty());
    }

    #[test]
    fn selections_round_trip() {
        assert_eq!(selection_text(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(selection_text(&[5]), "5");
        let text = selection_text(&[1, 2, 4, 6, 7, 8]);
        assert_eq!(
            crate::sweep::selection(&text, 9).unwrap(),
            [1, 2, 4, 6, 7, 8]
        );
    }
}
