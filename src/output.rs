//! Writing result files so that a crash or a full disk never leaves a half-written file:
//! each file is written to a temporary file in the same folder, flushed, then renamed. A
//! process killed mid-write can leave only a hidden `.argva-partial-*` file, never a result
//! under its own name; the next run into that folder removes such leftovers. Native only:
//! the command line and the Python module write through it (the page offers downloads).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Creates `dir` (and parents) and checks it is writable before any training starts, so a
/// bad `--out` fails in a second, not after the run.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let probe = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("the output folder {} is not writable", dir.display()))?;
    drop(probe);
    remove_partial_files(dir);
    Ok(())
}

/// Names of temporary files on their way to becoming results.
const PARTIAL_PREFIX: &str = ".argva-partial-";

/// Removes what killed runs left mid-write (best effort: a file that cannot be removed
/// harms nothing).
fn remove_partial_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(PARTIAL_PREFIX)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A temporary file in `dir` that becomes a user's result: created with the permissions an
/// ordinary new file gets (0666 less the umask), not tempfile's private 0600.
fn result_tempfile(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(PARTIAL_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

/// Atomically replaces `dir/name` with `bytes`.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    let mut tmp = result_tempfile(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(&path)
        .with_context(|| format!("renaming the finished file to {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results are readable like any new file (umask applies), not private like a temp file.
    #[cfg(unix)]
    #[test]
    fn results_get_ordinary_file_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let path = write_atomic(dir.path(), "r.bin", b"y").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), mode(&plain));
    }

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"old contents, longer").unwrap();
        let path = write_atomic(dir.path(), "a.txt", b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.txt")]);
    }

    #[test]
    fn an_unwritable_folder_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, b"x").unwrap();
        let err = prepare_dir(&file.join("sub")).unwrap_err();
        assert!(format!("{err:#}").contains("not-a-folder"), "{err:#}");
        assert!(write_atomic(&file, "a.txt", b"x").is_err());
        assert_eq!(
            std::fs::read(&file).unwrap(),
            b"x",
            "existing file untouched"
        );
    }
}
