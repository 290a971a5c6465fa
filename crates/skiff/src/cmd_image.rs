//! `skiff image`: pull, import, ls, rm, prune on the node's image store.

#[derive(clap::Args)]
pub struct ImageArgs {
    /// Skiff's data directory (the same one `skiff server` uses).
    #[arg(long, default_value = "/var/lib/skiff")]
    pub data_dir: std::path::PathBuf,
}

pub async fn run(_args: ImageArgs) -> anyhow::Result<()> {
    anyhow::bail!("skiff image: not implemented yet")
}
