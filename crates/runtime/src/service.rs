//! The CRI-shaped runtime and image service traits, and the stream types of exec/attach.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use skiff_images::{ImageConfig, ImageRecord};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::Result;
use crate::state::RootfsSource;
use crate::types::{
    ContainerConfig, ContainerFilter, ContainerStats, ContainerStatus, PodSandboxConfig,
    PodSandboxStatus,
};

/// A boxed async reader.
pub type Reader = Pin<Box<dyn AsyncRead + Send>>;
/// A boxed async writer.
pub type Writer = Pin<Box<dyn AsyncWrite + Send>>;

/// Options of an exec session.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecOptions {
    pub tty: bool,
    pub stdin: bool,
}

/// A running exec session. With a TTY, output comes on `stdout` only (the pty master).
pub struct ExecSession {
    pub stdin: Option<Writer>,
    pub stdout: Option<Reader>,
    pub stderr: Option<Reader>,
    /// Resize the session's terminal (rows, cols); a no-op without a TTY.
    pub resize: Box<dyn Fn(u16, u16) + Send + Sync>,
    /// Resolves to the process's exit code.
    pub exit: BoxFuture<'static, Result<i32>>,
}

/// Result of a synchronous exec (probes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSyncResult {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// An attach session: the container's stdin (when it has one) and its output as it comes.
pub struct AttachSession {
    pub stdin: Option<Writer>,
    /// Raw stdout bytes produced from now on.
    pub stdout: Reader,
    /// Raw stderr bytes produced from now on (empty with a TTY).
    pub stderr: Reader,
}

/// CRI RuntimeService.
#[async_trait]
pub trait RuntimeService: Send + Sync {
    async fn run_pod_sandbox(&self, config: PodSandboxConfig) -> Result<String>;
    async fn stop_pod_sandbox(&self, id: &str) -> Result<()>;
    async fn remove_pod_sandbox(&self, id: &str) -> Result<()>;
    async fn pod_sandbox_status(&self, id: &str) -> Result<PodSandboxStatus>;
    /// Record the pod's IP once its network is up: /etc/hosts gains `<ip> <hostname>`.
    async fn set_pod_sandbox_ip(&self, _id: &str, _ip: std::net::IpAddr) -> Result<()> {
        Ok(())
    }
    async fn list_pod_sandboxes(
        &self,
        labels: BTreeMap<String, String>,
    ) -> Result<Vec<PodSandboxStatus>>;

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: ContainerConfig,
        sandbox_config: &PodSandboxConfig,
    ) -> Result<String>;
    async fn start_container(&self, id: &str) -> Result<()>;
    /// SIGTERM, then SIGKILL after `timeout` (zero: SIGKILL at once).
    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()>;
    async fn remove_container(&self, id: &str) -> Result<()>;
    async fn container_status(&self, id: &str) -> Result<ContainerStatus>;
    async fn list_containers(&self, filter: ContainerFilter) -> Result<Vec<ContainerStatus>>;
    /// Resolves once the container has exited, with its final status.
    async fn wait_container(&self, id: &str) -> Result<ContainerStatus>;

    async fn exec(&self, id: &str, cmd: Vec<String>, opts: ExecOptions) -> Result<ExecSession>;
    async fn exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecSyncResult>;
    async fn attach(&self, id: &str) -> Result<AttachSession>;
    async fn container_stats(&self, id: &str) -> Result<ContainerStats>;
    async fn reopen_container_log(&self, id: &str) -> Result<()>;
}

/// CRI ImageService.
#[async_trait]
pub trait ImageService: Send + Sync {
    async fn pull_image(&self, reference: &str) -> Result<ImageRecord>;
    async fn list_images(&self) -> Result<Vec<ImageRecord>>;
    async fn image_status(&self, reference: &str) -> Result<Option<ImageRecord>>;
    async fn remove_image(&self, reference: &str) -> Result<()>;
}

/// Images usable by [`crate::Runtime`] for a fixed set of references (tests, benchmarks).
#[derive(Debug, Clone, Default)]
pub struct StaticImages {
    images: BTreeMap<String, (RootfsSource, ImageConfig)>,
}

impl StaticImages {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register `reference` as the given layers and config.
    pub fn with(mut self, reference: &str, rootfs: RootfsSource, config: ImageConfig) -> Self {
        self.images.insert(reference.to_string(), (rootfs, config));
        self
    }

    fn record(reference: &str, rootfs: &RootfsSource, config: &ImageConfig) -> ImageRecord {
        ImageRecord {
            reference: reference.to_string(),
            digest: String::new(),
            config: config.clone(),
            layers: rootfs.lower_dirs.clone(),
            id: String::new(),
            size: 0,
        }
    }
}

#[async_trait]
impl ImageService for StaticImages {
    async fn pull_image(&self, reference: &str) -> Result<ImageRecord> {
        self.image_status(reference)
            .await?
            .ok_or_else(|| crate::Error::ImageNotFound(reference.to_string()))
    }

    async fn list_images(&self) -> Result<Vec<ImageRecord>> {
        Ok(self
            .images
            .iter()
            .map(|(r, (fs, c))| Self::record(r, fs, c))
            .collect())
    }

    async fn image_status(&self, reference: &str) -> Result<Option<ImageRecord>> {
        Ok(self
            .images
            .get(reference)
            .map(|(fs, c)| Self::record(reference, fs, c)))
    }

    async fn remove_image(&self, reference: &str) -> Result<()> {
        Err(crate::Error::FailedPrecondition(format!(
            "static image {reference:?} cannot be removed"
        )))
    }
}

/// Paths of an image record as a rootfs source.
pub fn rootfs_of(record: &ImageRecord) -> RootfsSource {
    RootfsSource {
        lower_dirs: record.layers.iter().map(PathBuf::from).collect(),
    }
}

#[async_trait]
impl ImageService for skiff_images::ImageStore {
    async fn pull_image(&self, reference: &str) -> Result<ImageRecord> {
        self.pull(reference)
            .await
            .map_err(|e| crate::Error::Image(format!("pull {reference}: {e}")))
    }

    async fn list_images(&self) -> Result<Vec<ImageRecord>> {
        self.list()
            .map_err(|e| crate::Error::Image(format!("list images: {e}")))
    }

    async fn image_status(&self, reference: &str) -> Result<Option<ImageRecord>> {
        self.resolve(reference)
            .map_err(|e| crate::Error::Image(format!("resolve {reference}: {e}")))
    }

    async fn remove_image(&self, reference: &str) -> Result<()> {
        self.remove(reference)
            .map(|_| ())
            .map_err(|e| crate::Error::Image(format!("remove {reference}: {e}")))
    }
}
