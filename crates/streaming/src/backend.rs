//! What the kubelet server needs from the node: logs, exec, attach and pod sockets.

use async_trait::async_trait;
use skiff_runtime::{AttachSession, ExecOptions, ExecSession};
use tokio::net::TcpStream;

use crate::logs::LogSource;

/// A container addressed the way the kubelet API addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    pub namespace: String,
    pub pod: String,
    pub container: String,
}

/// Why a backend call failed; each maps to an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// No such pod or container (404).
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be served in the current state (400), e.g. a container that has
    /// not started yet.
    #[error("{0}")]
    BadRequest(String),
    /// Anything else (500).
    #[error("{0}")]
    Internal(String),
}

impl BackendError {
    /// The HTTP status code of this error.
    pub fn code(&self) -> u16 {
        match self {
            BackendError::NotFound(_) => 404,
            BackendError::BadRequest(_) => 400,
            BackendError::Internal(_) => 500,
        }
    }
}

/// The node-side half of the streaming API; the kubelet implements it (see
/// [`crate::RuntimeBackend`] for one over a `RuntimeService`).
#[async_trait]
pub trait StreamingBackend: Send + Sync {
    /// The log of a container (or of its previous instance).
    async fn log_source(
        &self,
        target: &ContainerRef,
        previous: bool,
    ) -> Result<LogSource, BackendError>;

    /// Run `cmd` in the container.
    async fn exec(
        &self,
        target: &ContainerRef,
        cmd: Vec<String>,
        opts: ExecOptions,
    ) -> Result<ExecSession, BackendError>;

    /// Attach to the container's main process.
    async fn attach(&self, target: &ContainerRef) -> Result<AttachSession, BackendError>;

    /// A TCP connection to `port` on the pod's loopback (inside its network namespace).
    async fn port_forward(
        &self,
        namespace: &str,
        pod: &str,
        port: u16,
    ) -> Result<TcpStream, BackendError>;
}
