//! Writing result files so that a crash or a full disk never leaves a half-written file:
//! each file is written to a temporary file in the same folder, flushed, then renamed.

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
    Ok(())
}

/// Atomically replaces `dir/name` with `bytes`.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(&path)
        .with_context(|| format!("renaming the finished file to {}", path.display()))?;
    Ok(path)
}
