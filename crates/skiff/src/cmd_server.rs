//! `skiff server`: the control plane on this machine.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args)]
pub struct ServerArgs {
    /// Where Skiff keeps its database, certificates and kubeconfig.
    #[arg(long, default_value = "/var/lib/skiff")]
    pub data_dir: PathBuf,
    /// Port of the Kubernetes API (HTTPS).
    #[arg(long, default_value_t = 6443)]
    pub https_port: u16,
    /// Address the API listens on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,
    /// Extra host names or IPs for the serving certificate (repeatable).
    #[arg(long = "tls-san", value_name = "NAME_OR_IP")]
    pub tls_san: Vec<String>,
    /// Static bearer tokens, one per line: token,user,uid,"group1,group2".
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Range of Service ClusterIPs; the first address is the `kubernetes` Service's.
    #[arg(long, default_value = "10.43.0.0/16")]
    pub service_cidr: String,
    /// Range of pod IPs; each node gets a /24 of it.
    #[arg(long, default_value = "10.42.0.0/16")]
    pub cluster_cidr: String,
    /// Controllers to run: `*` for all, `name` to add, `-name` to remove (comma-separated).
    #[arg(long, default_value = "*", value_delimiter = ',')]
    pub controllers: Vec<String>,
    /// Run only the API server and datastore: no controllers, node IPAM or scheduler (for
    /// running those elsewhere, e.g. in their own process).
    #[arg(long)]
    pub disable_controllers: bool,
    /// How long a node may go without a heartbeat before it turns Ready=Unknown and gets the
    /// unreachable taint.
    #[arg(long, default_value = "40s", value_parser = crate::duration::parse_go_duration)]
    pub node_monitor_grace_period: std::time::Duration,
    /// Do not run a node agent on this machine (control plane only).
    #[arg(long)]
    pub disable_agent: bool,
    #[command(flatten)]
    pub agent: crate::agent::AgentArgs,
    /// Where to write the admin kubeconfig [default: <data-dir>/kubeconfig.yaml].
    #[arg(long)]
    pub write_kubeconfig: Option<PathBuf>,
}

pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let service_cidr = args
        .service_cidr
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--service-cidr: {e}"))?;
    let config = skiff_apiserver::Config {
        data_dir: args.data_dir.clone(),
        bind_address: args.bind_address,
        https_port: args.https_port,
        tls_sans: args.tls_san.clone(),
        token_file: args.token_file.clone(),
        service_cidr,
        kubeconfig: args.write_kubeconfig.clone(),
    };
    let cluster_cidr: skiff_net::Ipv4Net = args
        .cluster_cidr
        .parse()
        .map_err(|e| anyhow::anyhow!("--cluster-cidr {:?}: {e}", args.cluster_cidr))?;
    let store = skiff_apiserver::open_store(&config)?;
    let running = skiff_apiserver::start(&config, store).await?;
    let client = client_from_kubeconfig(&running.kubeconfig).await?;
    if !args.disable_controllers {
        start_control_loops(&client, &args, cluster_cidr)?;
        start_storage(&client, &args).await?;
    }
    if !args.disable_agent {
        start_embedded_agent(&args, &running, client.clone(), cluster_cidr, service_cidr).await?;
    }
    tracing::info!(
        addr = %running.addr,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Skiff API server is ready"
    );
    println!(
        "Agents join with: skiff agent --server https://<this-host>:{} --token {}",
        running.addr.port(),
        running.token
    );
    println!(
        "Skiff is running. Use it with:\n  export KUBECONFIG={}\n  kubectl get nodes",
        running.kubeconfig.display()
    );
    shutdown_signal().await?;
    tracing::info!("shutting down");
    Ok(())
}

/// The node agent for this machine, with certificates straight from the cluster CA.
async fn start_embedded_agent(
    args: &ServerArgs,
    running: &skiff_apiserver::Running,
    client: kube::Client,
    cluster_cidr: skiff_net::Ipv4Net,
    service_cidr: skiff_apiserver::alloc::Cidr,
) -> anyhow::Result<()> {
    let node = crate::agent::node_name(&args.agent)?;
    let ip = crate::agent::node_ip(&args.agent);
    let sans = vec![ip.to_string(), "127.0.0.1".to_string(), node.clone()];
    let (cert, key) = running
        .pki
        .issue_serving_cert(&node, &sans)
        .context("issuing the kubelet certificate")?;
    let ctx = crate::agent::AgentContext {
        data_dir: args.data_dir.clone(),
        client,
        is_server: true,
        serving: (cert, key, running.pki.ca_pem().to_string()),
        cluster_cidr,
        service_cidr: crate::cmd_agent::parse_cidr(
            "--service-cidr",
            &format!("{}/{}", service_cidr.base, service_cidr.prefix),
        )?,
    };
    crate::agent::start(&args.agent, ctx).await
}

/// Controllers and node IPAM, each a client of the API.
fn start_control_loops(
    client: &kube::Client,
    args: &ServerArgs,
    cluster_cidr: skiff_net::Ipv4Net,
) -> anyhow::Result<()> {
    let enabled = args.controllers.clone();
    let names: Vec<&str> = enabled.iter().map(String::as_str).collect();
    skiff_controllers::select(&skiff_controllers::registry(), &names)?;
    let controllers_client = client.clone();
    supervise("controllers", async move {
        let names: Vec<&str> = enabled.iter().map(String::as_str).collect();
        skiff_controllers::run(controllers_client, &names).await
    });
    supervise(
        "lifecycle-controllers",
        skiff_lifecycle::run_with(
            client.clone(),
            skiff_lifecycle::Config {
                node_monitor_grace_period: args.node_monitor_grace_period,
                ..skiff_lifecycle::Config::default()
            },
        ),
    );
    supervise(
        "node-ipam",
        skiff_net::ipam_controller::run(client.clone(), cluster_cidr, 24),
    );
    supervise(
        "scheduler",
        skiff_scheduler::run(client.clone(), skiff_scheduler::SchedulerConfig::default()),
    );
    Ok(())
}

/// The default `local-path` StorageClass, its provisioner (volumes under
/// `<data-dir>/storage`, as k3s keeps them) and the PersistentVolume binder.
async fn start_storage(client: &kube::Client, args: &ServerArgs) -> anyhow::Result<()> {
    let dir = std::path::absolute(args.data_dir.join("storage"))
        .context("resolving the storage directory")?;
    let dir = dir
        .to_str()
        .with_context(|| format!("data dir {} is not UTF-8", args.data_dir.display()))?;
    skiff_storage::bootstrap(client, dir)
        .await
        .context("creating the default StorageClass")?;
    let local_node = if args.disable_agent {
        None
    } else {
        Some(crate::agent::node_name(&args.agent)?)
    };
    let options = skiff_storage::Options { local_node };
    supervise(
        "storage-controllers",
        skiff_storage::run(client.clone(), options),
    );
    Ok(())
}

/// A client of our own API, as every control-plane component is.
pub async fn client_from_kubeconfig(path: &std::path::Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let options = kube::config::KubeConfigOptions::default();
    let config = kube::Config::from_custom_kubeconfig(kc, &options).await?;
    Ok(kube::Client::try_from(config)?)
}

/// Run a component in the background; if it stops, say so loudly (the API keeps serving).
pub fn supervise<F>(name: &'static str, fut: F)
where
    F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    tokio::spawn(async move {
        match fut.await {
            Ok(()) => tracing::warn!(component = name, "stopped"),
            Err(e) => tracing::error!(component = name, error = %e, "stopped with an error"),
        }
    });
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C"),
        _ = term.recv() => Ok(()),
    }
}
