//! One writer configuration per result: a lock file `<out>/.<name>.lock` beside the
//! results of `<name>`, holding the id of what is being written and who writes it. Processes
//! writing the same thing (the `--point` tasks of one submission) share it; a process that
//! would write another configuration under the same name is refused, naming the holder,
//! instead of mixing its results with the holder's.

use crate::error::{CliError, Result};
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;
use workbench::files::same_file;

/// A shared hold on the results of one name; released when dropped (or when the process
/// dies: the operating system releases the lock).
#[derive(Debug)]
pub struct ResultsLock {
    file: File,
    path: std::path::PathBuf,
}

impl Drop for ResultsLock {
    /// The last holder removes the lock file, so that a finished or failed run leaves
    /// nothing behind: it upgrades to an exclusive lock (refused while another process
    /// shares it) and unlinks the file while holding it. A process that opened the file
    /// just before sees, once it holds its lock, that the path no longer names that file,
    /// and starts again (see [`same_file`]).
    fn drop(&mut self) {
        if self.file.try_lock().is_ok() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// How often, at most, a process retries while another one is between taking the lock
/// and writing its id.
const ATTEMPTS: usize = 200;

impl ResultsLock {
    /// Takes the lock on `<out>/<name>` for the work with id `id`; refuses while a process
    /// holds it for other work.
    pub fn acquire(out: &Path, name: &str, id: &str) -> Result<Self> {
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let path = out.join(format!(".{name}.lock"));
        let fail = |e: std::io::Error| CliError::from(format!("{}: {e}", path.display()));
        let open = || {
            File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(fail)
        };
        let mut file = open()?;
        let me = format!("{id} {}", workbench::results::writer_tag());
        for _ in 0..ATTEMPTS {
            match file.try_lock() {
                Ok(()) if !same_file(&file, &path) => {
                    // The last holder removed it after this process opened it.
                    file = open()?;
                    continue;
                }
                Ok(()) => {
                    file.set_len(0).map_err(fail)?;
                    file.rewind().map_err(fail)?;
                    file.write_all(me.as_bytes()).map_err(fail)?;
                    file.sync_all().map_err(fail)?;
                    file.unlock().map_err(fail)?;
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(fail(e)),
            }
            // Shared from here: others writing the same id may join.
            match file.try_lock_shared() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                    continue;
                }
                Err(TryLockError::Error(e)) => return Err(fail(e)),
            }
            if !same_file(&file, &path) {
                file = open()?;
                continue;
            }
            let holder = read_holder(&mut file).map_err(fail)?;
            match holder.split_once(' ') {
                Some((held, _)) if held == id => {
                    return Ok(Self {
                        file,
                        path: path.clone(),
                    });
                }
                Some((_, who)) => {
                    return Err(refused(&path, name, who));
                }
                // Taken but not written yet (another process between its two steps).
                None => {
                    file.unlock().map_err(fail)?;
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
            }
        }
        Err(refused(&path, name, "another process"))
    }
}

/// The lock file's content: `<id> <host>-<pid>`.
fn read_holder(file: &mut File) -> std::io::Result<String> {
    let mut text = String::new();
    file.rewind()?;
    file.take(4096).read_to_string(&mut text)?;
    Ok(text.trim().to_string())
}

/// The refusal naming the holder.
fn refused(path: &Path, name: &str, holder: &str) -> CliError {
    CliError::from(format!(
        "{}: the results of `{name}` are being written by {holder} for another configuration; wait until it ends, or write to another --out",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::ResultsLock;

    #[test]
    fn the_same_work_shares_and_other_work_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = ResultsLock::acquire(dir.path(), "sw", "aaaa").expect("first");
        // Locks are per open file: this process can stand for another one.
        let same = ResultsLock::acquire(dir.path(), "sw", "aaaa").expect("the same work");
        let other = ResultsLock::acquire(dir.path(), "sw", "bbbb").unwrap_err();
        let text = other.to_string();
        assert!(
            text.contains(".sw.lock") && text.contains("another configuration"),
            "{text}"
        );
        assert!(text.contains(&format!("-{}", std::process::id())), "{text}");
        ResultsLock::acquire(dir.path(), "other_name", "bbbb").expect("another name");
        drop(first);
        assert!(dir.path().join(".sw.lock").exists(), "still shared");
        drop(same);
        assert!(
            !dir.path().join(".sw.lock").exists(),
            "the last holder removes it"
        );
        ResultsLock::acquire(dir.path(), "sw", "bbbb").expect("free again");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }
}
