//! The crate's error type.

/// Errors of the streaming protocols and the kubelet server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A peer sent bytes that do not follow the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Header block (de)compression failed.
    #[error("header compression: {0}")]
    Compression(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// TLS material could not be used.
    #[error("TLS: {0}")]
    Tls(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
