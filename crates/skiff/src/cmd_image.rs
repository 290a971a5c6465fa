//! `skiff image`: pull, import, ls, rm, prune on the node's image store.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use skiff_images::progress::{BarProgress, LineProgress, human_size};
use skiff_images::{ImageStore, Progress, RegistriesConfig};

#[derive(clap::Args)]
pub struct ImageArgs {
    /// Skiff's data directory (the same one `skiff server` uses).
    #[arg(long, default_value = "/var/lib/skiff", global = true)]
    pub data_dir: PathBuf,
    /// Registries file (mirrors, credentials, TLS); default `<data-dir>/registries.yaml`.
    #[arg(long, global = true)]
    pub registries: Option<PathBuf>,
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(clap::Subcommand)]
pub enum ImageCommand {
    /// Pull an image from its registry (or its mirrors), e.g. `busybox` or `127.0.0.1:5000/app:v1`.
    Pull {
        /// Image reference; normalized like containerd (`busybox` -> docker.io/library/busybox:latest).
        reference: String,
    },
    /// Import a `docker save` tarball or an OCI archive (plain, gzip or zstd).
    Import {
        /// The archive file.
        file: PathBuf,
        /// Name for images the archive does not name (default import.local/<file name>).
        #[arg(long)]
        name: Option<String>,
    },
    /// List stored images.
    #[command(alias = "list")]
    Ls {
        /// Only print references.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Remove images (by reference, digest or image id) and content nothing else uses.
    #[command(alias = "rmi")]
    Rm {
        #[arg(required = true)]
        references: Vec<String>,
    },
    /// Remove blobs and layer snapshots no image uses, and leftovers of interrupted pulls.
    Prune,
}

fn open_store(args: &ImageArgs) -> anyhow::Result<ImageStore> {
    let registries = match &args.registries {
        Some(path) => RegistriesConfig::load(path)?,
        None => RegistriesConfig::load_or_default(&args.data_dir.join("registries.yaml"))?,
    };
    let store = ImageStore::open(args.data_dir.join("agent")).with_context(|| {
        format!(
            "opening the image store in {} (is --data-dir right, and are you root?)",
            args.data_dir.display()
        )
    })?;
    Ok(store.with_registries(registries))
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

pub async fn run(args: ImageArgs) -> anyhow::Result<()> {
    let store = open_store(&args)?;
    match args.command {
        ImageCommand::Pull { reference } => {
            let progress: Arc<dyn Progress> = if std::io::stderr().is_terminal() {
                Arc::new(BarProgress::new())
            } else {
                Arc::new(LineProgress::new(std::io::stderr()))
            };
            let rec = store.pull_with_progress(&reference, progress).await?;
            println!("{} {}", rec.reference, rec.digest);
        }
        ImageCommand::Import { file, name } => {
            let store2 = store.clone();
            let recs = tokio::task::spawn_blocking(move || {
                store2.import_archive_named(&file, name.as_deref())
            })
            .await??;
            for r in recs {
                println!("imported {} {}", r.reference, r.digest);
            }
        }
        ImageCommand::Ls { quiet } => {
            let images = store.list()?;
            if quiet {
                for i in images {
                    println!("{}", i.reference);
                }
                return Ok(());
            }
            let rows: Vec<[String; 4]> = images
                .iter()
                .map(|i| {
                    [
                        i.reference.clone(),
                        short(&i.digest).to_string(),
                        short(&i.id).to_string(),
                        human_size(i.size),
                    ]
                })
                .collect();
            let header = ["REF", "DIGEST", "IMAGE ID", "SIZE"].map(str::to_string);
            let mut widths = header.clone().map(|h| h.len());
            for r in &rows {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.chars().count());
                }
            }
            for r in std::iter::once(&header).chain(&rows) {
                println!(
                    "{:<w0$}   {:<w1$}   {:<w2$}   {}",
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2]
                );
            }
        }
        ImageCommand::Rm { references } => {
            let mut missing = Vec::new();
            for r in &references {
                let removed = store.remove(r)?;
                if removed.is_empty() {
                    missing.push(r.clone());
                }
                for name in removed {
                    println!("deleted {name}");
                }
            }
            if !missing.is_empty() {
                anyhow::bail!(
                    "no such image: {} (see `skiff image ls`)",
                    missing.join(", ")
                );
            }
        }
        ImageCommand::Prune => {
            let report = store.prune()?;
            println!(
                "removed {} blobs and {} layer snapshots, freed {}",
                report.blobs_removed,
                report.snapshots_removed,
                human_size(report.bytes_freed)
            );
        }
    }
    Ok(())
}
