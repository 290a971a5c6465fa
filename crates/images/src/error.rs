//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the image store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid image reference {reference:?}: {reason}")]
    Reference { reference: String, reason: String },
    #[error("invalid registries file {path}: {reason}")]
    RegistriesFile { path: PathBuf, reason: String },
    #[error("{0}")]
    Registry(String),
    #[error(
        "digest mismatch for {expected}: the content has digest {actual}; the registry or archive \
         serves corrupt data, nothing was stored"
    )]
    DigestMismatch { expected: String, actual: String },
    #[error("invalid digest {0:?}: only sha256:<64 hex> digests are supported")]
    InvalidDigest(String),
    #[error("refusing layer {layer}: entry {entry:?} {reason}; nothing was stored")]
    UnsafeLayer {
        layer: String,
        entry: String,
        reason: String,
    },
    #[error("invalid {what}: {reason}")]
    Format { what: String, reason: String },
    #[error("unsupported {0}")]
    Unsupported(String),
    #[error("image {0} is not in the store: pull it with `skiff image pull {0}` or import it")]
    NotFound(String),
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            context,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::Format {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}
