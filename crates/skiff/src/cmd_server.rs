//! `skiff server`: the control plane on this machine.

#[derive(clap::Args)]
pub struct ServerArgs {
    /// Where Skiff keeps its database, certificates and kubeconfig.
    #[arg(long, default_value = "/var/lib/skiff")]
    pub data_dir: std::path::PathBuf,
}

pub async fn run(_args: ServerArgs) -> anyhow::Result<()> {
    anyhow::bail!("skiff server: not implemented yet")
}
