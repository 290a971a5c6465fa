//! Everything that streams between kubectl and a container: the `channel.k8s.io` WebSocket
//! protocols, a SPDY/3.1 codec and session, CRI log reading, and the kubelet HTTPS API
//! (`/containerLogs`, `/exec`, `/attach`, `/portforward`) over a [`StreamingBackend`].
//!
//! A kubelet plugs in like this (the API server finds it through the Node's InternalIP and
//! `status.daemonEndpoints.kubeletEndpoint.Port`, and trusts any serving certificate of the
//! cluster CA):
//!
//! ```ignore
//! let resolve: SandboxResolver = Arc::new(move |ns, pod| pods.sandbox_id(ns, pod));
//! let backend = Arc::new(RuntimeBackend::new(runtime.clone(), resolve));
//! let tls = server_tls_config(&serving_cert_pem, &serving_key_pem, &ca_pem)?;
//! tokio::spawn(serve("0.0.0.0:10250".parse()?, tls, backend, default_authz));
//! ```

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
