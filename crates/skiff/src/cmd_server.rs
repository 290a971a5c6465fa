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
        data_dir: args.data_dir,
        bind_address: args.bind_address,
        https_port: args.https_port,
        tls_sans: args.tls_san,
        token_file: args.token_file,
        service_cidr,
        kubeconfig: args.write_kubeconfig,
    };
    let store = skiff_apiserver::open_store(&config)?;
    let running = skiff_apiserver::start(&config, store).await?;
    tracing::info!(
        addr = %running.addr,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Skiff API server is ready"
    );
    println!(
        "Skiff is running. Use it with:\n  export KUBECONFIG={}\n  kubectl get nodes",
        running.kubeconfig.display()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("shutting down");
    Ok(())
}
