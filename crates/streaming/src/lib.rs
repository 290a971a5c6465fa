//! Everything that streams between kubectl and a container: the `channel.k8s.io` WebSocket
//! protocols, a SPDY/3.1 codec and session, CRI log reading, and the kubelet HTTPS API
//! (`/containerLogs`, `/exec`, `/attach`, `/portforward`) over a [`StreamingBackend`].

pub mod backend;
pub mod channel;
mod error;
pub mod logs;
pub mod runtime_backend;
pub mod server;
pub mod spdy;
mod wsio;

pub use backend::{BackendError, ContainerRef, StreamingBackend};
pub use error::{Error, Result};
pub use runtime_backend::{RuntimeBackend, SandboxResolver};
pub use server::{ClientCert, default_authz, router, serve, server_tls_config};
