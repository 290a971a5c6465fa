//! OCI image store: content-addressed blobs, image records, layer snapshots.
//!
//! Layout under the node's data dir: `<data-dir>/agent/images/` holds tarballs to import at
//! start; the store itself lives in `<data-dir>/agent/containerd-less/` — see `ImageStore`.

use std::path::PathBuf;

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
}
