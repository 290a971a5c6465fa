//! The runtime's error type: every variant names what failed (syscall, path, object).

use std::path::PathBuf;

/// Errors returned by the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{syscall}: {source}")]
    Sys {
        syscall: String,
        #[source]
        source: std::io::Error,
    },
    #[error("pod sandbox {0:?} not found")]
    SandboxNotFound(String),
    #[error("container {0:?} not found")]
    ContainerNotFound(String),
    #[error("image {0:?} not found")]
    ImageNotFound(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("container set-up failed: {0}")]
    Setup(String),
    #[error("decode {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("image service: {0}")]
    Image(String),
}

/// Result alias for the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on a path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A failed syscall, with `errno` taken from the last OS error.
    pub fn last_sys(syscall: impl Into<String>) -> Self {
        Error::Sys {
            syscall: syscall.into(),
            source: std::io::Error::last_os_error(),
        }
    }

    /// A failed syscall from a nix errno.
    pub fn nix(syscall: impl Into<String>, errno: nix::errno::Errno) -> Self {
        Error::Sys {
            syscall: syscall.into(),
            source: std::io::Error::from(errno),
        }
    }
}

/// Attach an operation and path to an `io::Result`.
pub trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(op, path, e))
    }
}
