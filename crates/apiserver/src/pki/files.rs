//! Private file helpers: directories 0700, files 0600, written atomically.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::PkiError;

/// Wraps an IO error with the path it concerns.
pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (and parents) and restricts it to the owner (0700).
pub fn ensure_private_dir(dir: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))
}

/// Writes `contents` to `path` with mode 0600: written to a temporary file beside it, then
/// renamed over it, so a crash of the process never leaves a half-written key or certificate.
/// Nothing is flushed to disk here: call [`sync_later`] with the paths written.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        // The mode above only applies when the file is new; be sure of it either way.
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_err(&tmp))?;
        file.write_all(contents).map_err(io_err(&tmp))?;
        fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Flushes `paths` and their directories to disk on a background thread.
///
/// `fsync` costs 5-50 ms per file on a busy disk, which would make the first start slow; the
/// files are already visible to this and other processes, and only a power loss in the few
/// milliseconds before this thread runs could lose them (the next start then reports the
/// unreadable file).
pub fn sync_later(paths: Vec<PathBuf>) {
    let spawned = std::thread::Builder::new()
        .name("pki-fsync".to_string())
        .spawn(move || {
            let mut dirs: Vec<PathBuf> = Vec::new();
            for path in &paths {
                if let Ok(file) = fs::File::open(path) {
                    let _ = file.sync_all();
                }
                if let Some(dir) = path.parent()
                    && !dirs.iter().any(|d| d == dir)
                {
                    dirs.push(dir.to_path_buf());
                }
            }
            for dir in dirs {
                if let Ok(d) = fs::File::open(&dir) {
                    let _ = d.sync_all();
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the thread flushing certificates to disk");
    }
}

/// Reads a file as UTF-8 text; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, PkiError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| PkiError::Invalid {
                path: path.to_path_buf(),
                reason: "not UTF-8 text".to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp.{}", std::process::id()));
    path.with_file_name(name)
}
