//! Skiff's node agent core: registers the Node, keeps its Lease, runs the pods bound to it.
//!
//! [`run`] is the entry point: it registers the node, starts the heartbeat and node status
//! loops, re-adopts whatever the runtime already runs (fail-static), and drives one worker
//! per pod (see [`pod::worker`]) from a watch of the pods bound to this node.

pub mod env;
mod error;
pub mod events;
pub mod expand;
pub mod labels;
mod manager;
pub mod node;
pub mod pod;
pub mod probe;
pub mod quantity;
pub mod volume;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use skiff_runtime::{ImageService, RuntimeService};

pub use error::{Error, Result};

/// Version reported as `nodeInfo.kubeletVersion`.
pub const KUBELET_VERSION: &str = "v1.33.0-skiff";

/// Settings of the node agent.
#[derive(Debug, Clone)]
pub struct KubeletConfig {
    pub node_name: String,
    pub node_ip: IpAddr,
    /// Root of the agent's state: pod volumes live under `<data_dir>/agent/pods/<uid>/`.
    pub data_dir: PathBuf,
    /// Servers carry the `node-role.kubernetes.io/control-plane` and `master` labels.
    pub is_server: bool,
    /// Port of the kubelet HTTPS API, reported in `status.daemonEndpoints`.
    pub kubelet_port: u16,
    pub cluster_dns: Vec<IpAddr>,
    pub cluster_domain: String,
    /// Maximum number of pods (`capacity.pods`).
    pub max_pods: u32,
    /// Extra node labels.
    pub node_labels: std::collections::BTreeMap<String, String>,
    /// Version of the runtime, reported as `skiff://<version>`.
    pub runtime_version: String,
    /// Where container logs go: `<pod_logs_dir>/<ns>_<name>_<uid>/<container>/<attempt>.log`
    /// (upstream: /var/log/pods). Default `<data_dir>/agent/logs`.
    pub pod_logs_dir: PathBuf,
}

impl KubeletConfig {
    /// A configuration with upstream's defaults for everything but the node's identity.
    pub fn new(
        node_name: impl Into<String>,
        node_ip: IpAddr,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        let data_dir: PathBuf = data_dir.into();
        KubeletConfig {
            node_name: node_name.into(),
            node_ip,
            pod_logs_dir: data_dir.join("agent").join("logs"),
            data_dir,
            is_server: false,
            kubelet_port: 10250,
            cluster_dns: Vec::new(),
            cluster_domain: "cluster.local".into(),
            max_pods: 110,
            node_labels: Default::default(),
            runtime_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// `<data_dir>/agent/pods/<uid>`.
    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.data_dir.join("agent").join("pods").join(uid)
    }
}

/// Identity of a pod on this node.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodKey {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl std::fmt::Display for PodKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}({})", self.name, self.namespace, self.uid)
    }
}

/// A host port a pod asks for (`containers[].ports[].hostPort`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host_port: u16,
    pub container_port: u16,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    pub host_ip: Option<IpAddr>,
}

/// The pod network (bridge, veth, IPAM) as the agent sees it.
#[async_trait]
pub trait PodNetwork: Send + Sync {
    /// Plumb the pod's network namespace; returns the pod IP.
    async fn setup(&self, pod: &PodKey, netns: &Path, host_ports: &[HostPort]) -> Result<IpAddr>;
    /// Release the pod's address and host ports; idempotent.
    async fn teardown(&self, pod: &PodKey) -> Result<()>;
}

/// A network that plumbs nothing and hands out one fixed address (tests, host-network nodes).
#[derive(Debug, Clone)]
pub struct NoopNetwork(pub IpAddr);

#[async_trait]
impl PodNetwork for NoopNetwork {
    async fn setup(&self, _pod: &PodKey, _netns: &Path, _ports: &[HostPort]) -> Result<IpAddr> {
        Ok(self.0)
    }
    async fn teardown(&self, _pod: &PodKey) -> Result<()> {
        Ok(())
    }
}

/// Run the node agent until `client`'s API goes away for good or an unrecoverable error.
pub async fn run(
    config: KubeletConfig,
    client: kube::Client,
    runtime: Arc<dyn RuntimeService>,
    images: Arc<dyn ImageService>,
    network: Arc<dyn PodNetwork>,
) -> anyhow::Result<()> {
    manager::run(config, client, runtime, images, network).await
}

/// A chrono time as an API `Time`.
pub(crate) fn ktime(
    t: chrono::DateTime<chrono::Utc>,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff_ts(t))
}

/// A chrono time as an API `MicroTime`.
pub(crate) fn kmicrotime(
    t: chrono::DateTime<chrono::Utc>,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(jiff_ts(t))
}

fn jiff_ts(t: chrono::DateTime<chrono::Utc>) -> k8s_openapi::jiff::Timestamp {
    let nanos = i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos());
    k8s_openapi::jiff::Timestamp::from_nanosecond(nanos)
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
}
