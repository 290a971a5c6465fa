//! Skiff's container runtime behind a CRI-shaped trait.
//!
//! Pod sandboxes hold a pod's network, IPC and UTS namespaces in a tiny reaping init;
//! containers get their own PID and mount namespaces, an overlay rootfs, cgroups (v1 or v2)
//! and a shim that writes CRI-format logs and records the exit status. All namespace and
//! process set-up happens in re-executed helper processes (see [`helper`]).

mod attach;
pub mod caps;
pub mod cgroups;
mod error;
pub mod helper;
pub mod log;
mod runtime;
pub mod service;
pub mod spec;
pub mod state;
pub mod sys;
pub mod types;

pub use error::{Error, Result};
pub use runtime::{Runtime, RuntimeConfig};
pub use service::{
    AttachSession, ExecOptions, ExecSession, ExecSyncResult, ImageService, Reader, RuntimeService,
    StaticImages, Writer,
};
pub use state::RootfsSource;
pub use types::*;
