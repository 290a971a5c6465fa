//! Errors of the node agent.

/// Everything that can go wrong in the agent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("runtime: {0}")]
    Runtime(#[from] skiff_runtime::Error),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    /// A volume could not be set up (the message is what FailedMount events show).
    #[error("{0}")]
    Mount(String),
    /// A container's configuration could not be built (CreateContainerConfigError).
    #[error("{0}")]
    Config(String),
    #[error("invalid quantity {0:?}")]
    Quantity(String),
    #[error("network: {0}")]
    Network(String),
    #[error("{0}")]
    Other(String),
}

/// Result with the agent's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach a path to an IO error.
pub(crate) trait IoContext<T> {
    fn ctx(self, what: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, what: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| Error::Io {
            what,
            path: path.display().to_string(),
            source,
        })
    }
}
