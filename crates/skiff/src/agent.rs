//! The node agent: runtime, image store, pod network, service proxy and kubelet wired together. Used by
//! `skiff agent` and embedded in `skiff server`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;

/// Settings shared by the embedded and the standalone agent.
#[derive(clap::Args, Clone, Debug)]
pub struct AgentArgs {
    /// This node's name [default: the host name].
    #[arg(long)]
    pub node_name: Option<String>,
    /// The address other nodes and the API server reach this node at [default: the primary address].
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    /// Port of the kubelet API (logs, exec, port-forward).
    #[arg(long, default_value_t = 10250)]
    pub kubelet_port: u16,
    /// Name of the pod network bridge on this node.
    #[arg(long, default_value = "skiff0")]
    pub bridge: String,
    /// Name of this node's nftables table (hostPort, masquerade and Service rules).
    #[arg(long, default_value = "skiff")]
    pub nft_table: String,
}

/// Everything the agent needs that is not a flag.
pub struct AgentContext {
    pub data_dir: PathBuf,
    pub client: kube::Client,
    pub is_server: bool,
    /// The kubelet API's TLS identity and the CA it trusts for clients: (cert PEM, key PEM, CA PEM).
    pub serving: (String, String, String),
    pub cluster_cidr: skiff_net::Ipv4Net,
    pub service_cidr: skiff_net::Ipv4Net,
}

pub fn node_name(args: &AgentArgs) -> anyhow::Result<String> {
    match &args.node_name {
        Some(n) => Ok(n.clone()),
        None => Ok(hostname::get()?.to_string_lossy().to_lowercase()),
    }
}

pub fn node_ip(args: &AgentArgs) -> IpAddr {
    args.node_ip
        .unwrap_or_else(skiff_apiserver::primary_address)
}

/// Start the agent's parts; returns once they run (they keep running in the background).
pub async fn start(args: &AgentArgs, ctx: AgentContext) -> anyhow::Result<()> {
    let node = node_name(args)?;
    let ip = node_ip(args);
    let images = skiff_images::ImageStore::open_data_dir(&ctx.data_dir)
        .context("opening the image store")?;
    let import_dir = images.import_dir();
    match skiff_images::import_dir_once(&images, &import_dir) {
        Ok(report) => {
            tracing::info!(dir = %import_dir.display(), ?report, "image tarballs imported")
        }
        Err(e) => {
            tracing::warn!(dir = %import_dir.display(), error = %e, "importing image tarballs failed")
        }
    }
    let mut rt_config =
        skiff_runtime::RuntimeConfig::new(ctx.data_dir.join("agent").join("runtime"));
    rt_config.cgroup_parent = format!("skiff-{node}");
    let runtime = Arc::new(
        skiff_runtime::Runtime::open(rt_config, Arc::new(images))
            .context("opening the container runtime")?,
    );
    let network = Arc::new(LazyNetwork {
        client: ctx.client.clone(),
        node: node.clone(),
        template: skiff_net::NetConfig {
            bridge: args.bridge.clone(),
            nft_table: args.nft_table.clone(),
            cluster_cidr: ctx.cluster_cidr,
            service_cidr: ctx.service_cidr,
            state_dir: ctx.data_dir.join("agent").join("net"),
            ..skiff_net::NetConfig::default()
        },
        inner: tokio::sync::OnceCell::new(),
    });
    let mut config = skiff_kubelet::KubeletConfig::new(node.clone(), ip, &ctx.data_dir);
    config.is_server = ctx.is_server;
    config.kubelet_port = args.kubelet_port;
    crate::streaming::start(args, &ctx, runtime.clone())?;
    crate::cmd_server::supervise(
        "service-proxy",
        run_proxy(
            ctx.client.clone(),
            skiff_net::proxy::ProxyConfig {
                table: args.nft_table.clone(),
                cluster_cidr: ctx.cluster_cidr,
            },
        ),
    );
    let client = ctx.client.clone();
    crate::cmd_server::supervise(
        "kubelet",
        skiff_kubelet::run(config, client, runtime.clone(), runtime, network),
    );
    tracing::info!(node = %node, ip = %ip, "node agent started");
    Ok(())
}

async fn run_proxy(
    client: kube::Client,
    config: skiff_net::proxy::ProxyConfig,
) -> anyhow::Result<()> {
    Ok(skiff_net::proxy::run(client, config).await?)
}

/// The pod network, created once this node has a podCIDR (assigned by the server's node IPAM
/// controller after the kubelet registers the Node).
struct LazyNetwork {
    client: kube::Client,
    node: String,
    template: skiff_net::NetConfig,
    inner: tokio::sync::OnceCell<skiff_net::PodNetwork>,
}

impl LazyNetwork {
    async fn get(&self) -> anyhow::Result<&skiff_net::PodNetwork> {
        self.inner
            .get_or_try_init(|| async {
                let cidr = wait_for_pod_cidr(&self.client, &self.node).await?;
                let config = skiff_net::NetConfig {
                    pod_cidr: cidr,
                    ..self.template.clone()
                };
                Ok::<_, anyhow::Error>(skiff_net::PodNetwork::new(config).await?)
            })
            .await
    }
}

async fn wait_for_pod_cidr(
    client: &kube::Client,
    node: &str,
) -> anyhow::Result<skiff_net::Ipv4Net> {
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client.clone());
    for _ in 0..600 {
        if let Ok(n) = nodes.get(node).await
            && let Some(cidr) = n.spec.and_then(|s| s.pod_cidr)
        {
            return cidr
                .parse()
                .with_context(|| format!("node {node} has a bad podCIDR {cidr:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!(
        "node {node} got no podCIDR in 60 s: is the server's node IPAM controller running?"
    )
}

fn key(pod: &skiff_kubelet::PodKey) -> skiff_net::PodKey {
    skiff_net::PodKey::new(&pod.namespace, &pod.name, &pod.uid)
}

#[async_trait]
impl skiff_kubelet::PodNetwork for LazyNetwork {
    async fn setup(
        &self,
        pod: &skiff_kubelet::PodKey,
        netns: &Path,
        host_ports: &[skiff_kubelet::HostPort],
    ) -> skiff_kubelet::Result<IpAddr> {
        let net = self
            .get()
            .await
            .map_err(|e| skiff_kubelet::Error::Network(format!("{e:#}")))?;
        let mut ports = Vec::new();
        for hp in host_ports {
            let protocol = hp.protocol.parse().map_err(|e| {
                skiff_kubelet::Error::Network(format!("hostPort {}: {e}", hp.host_port))
            })?;
            let host_ip = match hp.host_ip {
                Some(IpAddr::V4(v4)) => Some(v4),
                _ => None,
            };
            ports.push(skiff_net::HostPort {
                container_port: hp.container_port,
                host_port: hp.host_port,
                protocol,
                host_ip,
            });
        }
        let ip = net
            .setup(&key(pod), netns, &ports)
            .await
            .map_err(|e| skiff_kubelet::Error::Network(e.to_string()))?;
        Ok(IpAddr::V4(ip.ip))
    }

    async fn teardown(&self, pod: &skiff_kubelet::PodKey) -> skiff_kubelet::Result<()> {
        let net = self
            .get()
            .await
            .map_err(|e| skiff_kubelet::Error::Network(format!("{e:#}")))?;
        net.teardown(&key(pod))
            .await
            .map_err(|e| skiff_kubelet::Error::Network(e.to_string()))
    }
}
