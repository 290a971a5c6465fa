//! A [`StreamingBackend`] over a `RuntimeService`: the kubelet supplies only a resolver from
//! namespace/pod to the pod's sandbox id.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use skiff_runtime::{
    AttachSession, ContainerFilter, ContainerState, ContainerStatus, ExecOptions, ExecSession,
    RuntimeService,
};
use tokio::net::TcpStream;

use crate::backend::{BackendError, ContainerRef, StreamingBackend};
use crate::logs::LogSource;

/// Maps (namespace, pod name) to the id of the pod's current sandbox.
pub type SandboxResolver = Arc<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;

/// How long connecting to a pod port may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The streaming API over a container runtime.
pub struct RuntimeBackend {
    runtime: Arc<dyn RuntimeService>,
    resolve: SandboxResolver,
}

impl RuntimeBackend {
    pub fn new(runtime: Arc<dyn RuntimeService>, resolve: SandboxResolver) -> Self {
        RuntimeBackend { runtime, resolve }
    }

    fn sandbox(&self, namespace: &str, pod: &str) -> Result<String, BackendError> {
        (self.resolve)(namespace, pod)
            .ok_or_else(|| BackendError::NotFound(format!("pod {namespace}/{pod} not found")))
    }

    /// The instances of a container, newest first.
    async fn instances(&self, t: &ContainerRef) -> Result<Vec<ContainerStatus>, BackendError> {
        let sandbox = self.sandbox(&t.namespace, &t.pod)?;
        let filter = ContainerFilter {
            sandbox_id: Some(sandbox),
            ..Default::default()
        };
        let mut all: Vec<ContainerStatus> = self
            .runtime
            .list_containers(filter)
            .await
            .map_err(|e| BackendError::Internal(e.to_string()))?
            .into_iter()
            .filter(|c| c.name == t.container)
            .collect();
        all.sort_by(|a, b| {
            b.attempt
                .cmp(&a.attempt)
                .then(b.created_at.cmp(&a.created_at))
        });
        Ok(all)
    }

    async fn current(&self, t: &ContainerRef) -> Result<ContainerStatus, BackendError> {
        self.instances(t).await?.into_iter().next().ok_or_else(|| {
            BackendError::BadRequest(format!(
                "container {:?} in pod {:?} is waiting to start: ContainerCreating",
                t.container, t.pod
            ))
        })
    }

    async fn running(&self, t: &ContainerRef) -> Result<ContainerStatus, BackendError> {
        let c = self.current(t).await?;
        if c.state != ContainerState::Running {
            return Err(BackendError::BadRequest(format!(
                "container {:?} in pod {:?} is not running",
                t.container, t.pod
            )));
        }
        Ok(c)
    }
}

#[async_trait]
impl StreamingBackend for RuntimeBackend {
    async fn log_source(
        &self,
        target: &ContainerRef,
        previous: bool,
    ) -> Result<LogSource, BackendError> {
        let instances = self.instances(target).await?;
        let chosen = if previous {
            instances.get(1).cloned().ok_or_else(|| {
                BackendError::BadRequest(format!(
                    "previous terminated container {:?} in pod {:?} not found",
                    target.container, target.pod
                ))
            })?
        } else {
            self.current(target).await?
        };
        let runtime = self.runtime.clone();
        let id = chosen.id.clone();
        let still_running = !previous;
        Ok(LogSource {
            path: chosen.log_path.clone(),
            running: Box::new(move || {
                let runtime = runtime.clone();
                let id = id.clone();
                Box::pin(async move {
                    still_running
                        && runtime
                            .container_status(&id)
                            .await
                            .is_ok_and(|s| s.state == ContainerState::Running)
                })
            }),
        })
    }

    async fn exec(
        &self,
        target: &ContainerRef,
        cmd: Vec<String>,
        opts: ExecOptions,
    ) -> Result<ExecSession, BackendError> {
        let c = self.running(target).await?;
        self.runtime
            .exec(&c.id, cmd, opts)
            .await
            .map_err(|e| BackendError::Internal(e.to_string()))
    }

    async fn attach(&self, target: &ContainerRef) -> Result<AttachSession, BackendError> {
        let c = self.running(target).await?;
        self.runtime
            .attach(&c.id)
            .await
            .map_err(|e| BackendError::Internal(e.to_string()))
    }

    async fn port_forward(
        &self,
        namespace: &str,
        pod: &str,
        port: u16,
    ) -> Result<TcpStream, BackendError> {
        let sandbox = self.sandbox(namespace, pod)?;
        let status = self
            .runtime
            .pod_sandbox_status(&sandbox)
            .await
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        let std_stream = match status.netns_path {
            Some(netns) => connect_in_netns(netns, port).await,
            None => tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(("127.0.0.1", port)))
                .await
                .map_err(|_| "timed out".to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
                .and_then(|s| s.into_std().map_err(|e| e.to_string())),
        }
        .map_err(|e| {
            BackendError::Internal(format!(
                "failed to connect to localhost:{port} inside namespace of pod {namespace}/{pod}: {e}"
            ))
        })?;
        std_stream
            .set_nonblocking(true)
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        TcpStream::from_std(std_stream).map_err(|e| BackendError::Internal(e.to_string()))
    }
}

/// Connect to 127.0.0.1:`port` inside the network namespace at `netns`, from a dedicated
/// thread (setns changes only the calling thread, which ends right after).
pub async fn connect_in_netns(netns: PathBuf, port: u16) -> Result<std::net::TcpStream, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("portforward-netns".into())
        .spawn(move || {
            let result = (|| {
                let f = std::fs::File::open(&netns)
                    .map_err(|e| format!("opening {}: {e}", netns.display()))?;
                nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("entering {}: {e}", netns.display()))?;
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                std::net::TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
                    .map_err(|e| e.to_string())
            })();
            let _ = tx.send(result);
        })
        .map_err(|e| format!("spawning a thread: {e}"))?;
    rx.await.map_err(|_| "connect thread failed".to_string())?
}
