//! The `skiff` binary: argument parsing and wiring only.

mod agent;
mod cmd_agent;
mod cmd_image;
mod cmd_server;
mod duration;
mod streaming;

use clap::{Parser, Subcommand};

/// Skiff: a Kubernetes-compatible container orchestrator in one binary.
///
/// `skiff server` runs a whole cluster on this machine and writes a kubeconfig that the
/// real kubectl uses. `skiff image` manages the node's images.
#[derive(Parser)]
#[command(name = "skiff", version, about, long_about = None)]
struct Cli {
    /// Log filter, e.g. `info`, `debug`, `skiff_apiserver=debug` (also RUST_LOG).
    #[arg(long, global = true, env = "SKIFF_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane (API server, datastore) on this machine.
    Server(cmd_server::ServerArgs),
    /// Run a worker node that joins a server (kubelet, container runtime, pod network).
    Agent(cmd_agent::AgentCommand),
    /// Manage the node's images: pull, import, ls, rm, prune.
    Image(cmd_image::ImageArgs),
}

fn main() -> anyhow::Result<()> {
    // Container set-up re-executes this binary; that path must run before any thread starts.
    if let Some(code) = skiff_runtime::helper::dispatch_from_args() {
        std::process::exit(code);
    }
    let cli = Cli::parse();
    init_tracing(&cli.log);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Server(args) => cmd_server::run(args).await,
            Command::Agent(args) => cmd_agent::run(args).await,
            Command::Image(args) => cmd_image::run(args).await,
        }
    })
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
