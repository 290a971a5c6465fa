//! `skiff agent`: a worker node that joins a Skiff server.

use std::path::PathBuf;

use anyhow::Context;

use crate::agent::{self, AgentArgs, AgentContext};
use crate::cmd_server::{client_from_kubeconfig, shutdown_signal};

#[derive(clap::Args)]
pub struct AgentCommand {
    /// The server to join, e.g. https://10.0.0.1:6443.
    #[arg(long)]
    pub server: String,
    /// The join token `skiff server` printed (also in <server data dir>/token).
    #[arg(long, env = "SKIFF_TOKEN")]
    pub token: String,
    /// Where this agent keeps its images, containers and credentials.
    #[arg(long, default_value = "/var/lib/skiff")]
    pub data_dir: PathBuf,
    /// The cluster's pod CIDR (as given to the server).
    #[arg(long, default_value = "10.42.0.0/16")]
    pub cluster_cidr: String,
    /// The cluster's service CIDR (as given to the server).
    #[arg(long, default_value = "10.43.0.0/16")]
    pub service_cidr: String,
    #[command(flatten)]
    pub agent: AgentArgs,
}

pub async fn run(args: AgentCommand) -> anyhow::Result<()> {
    let server = args.server.trim_end_matches('/').to_string();
    let node = agent::node_name(&args.agent)?;
    let ip = agent::node_ip(&args.agent);
    let bundle =
        skiff_apiserver::join::join_cluster(&server, &args.token, &node, &[ip.to_string()]).await?;
    let dir = args.data_dir.join("agent");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let kubeconfig = dir.join("kubeconfig.yaml");
    let yaml = skiff_apiserver::pki::kubeconfig_yaml(
        &server,
        &bundle.ca,
        &bundle.client_cert,
        &bundle.client_key,
    );
    write_private(&kubeconfig, &yaml)?;
    let client = client_from_kubeconfig(&kubeconfig).await?;
    let ctx = AgentContext {
        data_dir: args.data_dir.clone(),
        client,
        is_server: false,
        serving: (bundle.serving_cert, bundle.serving_key, bundle.ca),
        cluster_cidr: parse_cidr("--cluster-cidr", &args.cluster_cidr)?,
        service_cidr: parse_cidr("--service-cidr", &args.service_cidr)?,
    };
    agent::start(&args.agent, ctx).await?;
    println!("Skiff agent {node} joined {server}");
    shutdown_signal().await?;
    tracing::info!("agent stopping; containers keep running");
    Ok(())
}

pub fn parse_cidr(flag: &str, value: &str) -> anyhow::Result<skiff_net::Ipv4Net> {
    value
        .parse()
        .map_err(|e| anyhow::anyhow!("{flag} {value:?}: {e}"))
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
