//! OCI image store: pull from registries, import archives, unpack layers into overlay snapshots.
//!
//! # Store layout
//!
//! An [`ImageStore`] is rooted at `<data-dir>/agent/` (`/var/lib/skiff/agent/` by default):
//!
//! ```text
//! <data-dir>/registries.yaml        mirrors, credentials and TLS per registry (k3s format)
//! <data-dir>/agent/
//!   images/                          tarballs dropped here are imported once at start
//!   blobs/sha256/<hex>               content-addressed blobs (manifests, configs, layers)
//!   snapshots/<diffid-hex>/fs        one unpacked layer per diffID, shared between images;
//!                                    whiteouts are overlay-native (char dev 0:0, opaque dirs
//!                                    carry the xattr `trusted.overlay.opaque=y`)
//!   images.json                      reference -> image record (written tmp + fsync + rename)
//!   imports.json                     tarballs already imported (name, size, mtime)
//!   tmp/                             staging area of pulls and imports in progress
//!   lock                             flock taken while content is committed or collected
//! ```
//!
//! A pull or import stages every blob and unpacked layer under `tmp/`, verifies every digest,
//! and only then commits blobs, snapshots and the image record under the lock: a failure stores
//! nothing. Blobs and snapshots are shared: `remove` and `prune` delete only content no image
//! record references any more.

mod error;
mod import;
mod manifest;
pub mod progress;
mod pull;
pub mod reference;
pub mod registries;
mod store;
pub mod unpack;

use std::path::PathBuf;

pub use error::{Error, Result};
pub use import::{ImportDirReport, import_dir_once};
pub use progress::{NoProgress, Progress, ProgressEvent};
pub use reference::Reference;
pub use registries::RegistriesConfig;
pub use store::{ImageStore, PruneReport};

/// The parts of an image config a runtime needs to start a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageConfig {
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: String,
    pub user: String,
}

/// A stored image, resolved from a reference.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageRecord {
    /// Normalized reference, e.g. `127.0.0.1:5000/busybox:latest`.
    pub reference: String,
    /// Manifest digest (`sha256:...`), what Kubernetes shows as imageID.
    pub digest: String,
    pub config: ImageConfig,
    /// Unpacked layer directories, lowest layer first (overlay's lowerdir wants them reversed).
    pub layers: Vec<PathBuf>,
    /// Config digest (`sha256:...`), what `crictl images` shows as IMAGE ID.
    #[serde(default)]
    pub id: String,
    /// Sum of the compressed layer sizes plus config and manifest, in bytes.
    #[serde(default)]
    pub size: u64,
}
