//! The copy's file on disk: a temporary file beside the target (same directory, so the
//! final rename is atomic), removed with SQLite's side files on every failure; then fsync,
//! the rename over the target, and fsync of the directory.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// A temporary file next to the target; dropped without [`TempCopy::install`], it is removed
/// (with any `-journal`, `-wal` or `-shm` SQLite left beside it).
#[derive(Debug)]
pub struct TempCopy {
    path: PathBuf,
    target: PathBuf,
    installed: bool,
}

impl TempCopy {
    /// A fresh temporary name in `target`'s directory (nothing is created yet). The directory
    /// must exist.
    pub fn beside(target: &Path) -> Result<TempCopy> {
        let name = target
            .file_name()
            .with_context(|| format!("{}: not a file path", target.display()))?;
        let dir = directory(target);
        if !dir.is_dir() {
            bail!("{}: the directory does not exist", dir.display());
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let temp = format!(
            ".{}.publish-{}-{nanos}.tmp",
            name.to_string_lossy(),
            std::process::id()
        );
        Ok(TempCopy {
            path: dir.join(temp),
            target: target.to_path_buf(),
            installed: false,
        })
    }

    /// The temporary file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the temporary file to disk, renames it over the target (readers holding the
    /// old file keep it), and flushes the directory entry. Returns the copy's size in bytes.
    pub fn install(mut self) -> Result<u64> {
        let file = std::fs::File::open(&self.path)
            .with_context(|| format!("opening {}", self.path.display()))?;
        file.sync_all()
            .with_context(|| format!("fsync {}", self.path.display()))?;
        let bytes = file.metadata()?.len();
        drop(file);
        remove_side_files(&self.path);
        std::fs::rename(&self.path, &self.target).with_context(|| {
            format!(
                "renaming {} over {}",
                self.path.display(),
                self.target.display()
            )
        })?;
        self.installed = true;
        let dir = directory(&self.target);
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("fsync the directory {}", dir.display()))?;
        Ok(bytes)
    }
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        if !self.installed {
            let _ = std::fs::remove_file(&self.path);
            remove_side_files(&self.path);
        }
    }
}

/// The directory a path lies in (`.` for a bare name).
fn directory(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Removes SQLite's side files of `path`, where there are any.
fn remove_side_files(path: &Path) {
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
}
