//! Pulling images over the OCI Distribution API v2, with mirrors, token and basic auth.

mod auth;

use std::sync::Arc;

use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use crate::ImageRecord;
use crate::error::{Error, Result};
use crate::manifest::{self, Descriptor, Parsed};
use crate::progress::{NoProgress, Progress, ProgressEvent};
use crate::reference::Reference;
use crate::registries::{Endpoint, RegistriesConfig};
use crate::store::{ImageStore, NewImage, Staging};

use auth::EndpointClient;

/// How many layers download at once.
const PARALLEL_DOWNLOADS: usize = 4;
/// Largest manifest or config accepted in memory.
const MAX_DOCUMENT: u64 = 8 << 20;

impl ImageStore {
    /// Pulls `reference` (stored under its normalized name) without progress output.
    pub async fn pull(&self, reference: &str) -> Result<ImageRecord> {
        self.pull_with_progress(reference, Arc::new(NoProgress))
            .await
    }

    /// Pulls `reference`, trying the registry's mirrors in order, then the registry itself.
    /// Every blob's digest is verified; on any failure nothing is stored.
    pub async fn pull_with_progress(
        &self,
        reference: &str,
        progress: Arc<dyn Progress>,
    ) -> Result<ImageRecord> {
        let r = Reference::parse(reference)?;
        let endpoints = self.registries().endpoints(&r.registry);
        let mut errors = Vec::new();
        for ep in &endpoints {
            match self.pull_from(&r, ep, progress.clone()).await {
                Ok(rec) => return Ok(rec),
                Err(e) => {
                    tracing::warn!(endpoint = %ep.base_url, error = %e, "pull attempt failed");
                    errors.push((ep.base_url.clone(), e));
                }
            }
        }
        if errors.len() == 1 {
            if let Some((_, e)) = errors.pop() {
                return Err(e);
            }
        }
        let joined: Vec<String> = errors.iter().map(|(u, e)| format!("{u}: {e}")).collect();
        Err(Error::Registry(format!(
            "pulling {r} failed on every endpoint: {}",
            joined.join("; ")
        )))
    }

    async fn pull_from(
        &self,
        r: &Reference,
        ep: &Endpoint,
        progress: Arc<dyn Progress>,
    ) -> Result<ImageRecord> {
        let client = Arc::new(EndpointClient::new(ep, &r.repository, self.registries())?);
        let mut staging = self.staging()?;

        let (top_bytes, content_type) = client.manifest(r.object()).await?;
        let top_digest = manifest::digest_of(&top_bytes);
        if let Some(pinned) = &r.digest {
            manifest::verify_bytes(pinned, &top_bytes)?;
        }
        progress.event(ProgressEvent::Resolved {
            reference: r.to_string(),
            digest: top_digest.clone(),
        });
        self.stage_bytes(&mut staging, &top_digest, &top_bytes)?;
        let (manifest, manifest_digest, manifest_size) =
            match manifest::parse_manifest(&top_bytes, content_type.as_deref())? {
                Parsed::Manifest(m) => (m, top_digest.clone(), top_bytes.len() as u64),
                Parsed::Index(index) => {
                    let chosen = manifest::choose_platform(&index)?.clone();
                    let (bytes, ct) = client.manifest(&chosen.digest).await?;
                    manifest::verify_bytes(&chosen.digest, &bytes)?;
                    self.stage_bytes(&mut staging, &chosen.digest, &bytes)?;
                    match manifest::parse_manifest(&bytes, ct.as_deref())? {
                        Parsed::Manifest(m) => (m, chosen.digest.clone(), bytes.len() as u64),
                        Parsed::Index(_) => {
                            return Err(Error::Unsupported("nested image index".into()));
                        }
                    }
                }
            };

        let config_bytes = match self.find_blob(&staging, &manifest.config.digest)? {
            Some(p) => std::fs::read(&p).map_err(|e| Error::io("reading", &p, e))?,
            None => {
                let bytes = client.blob_bytes(&manifest.config.digest).await?;
                self.stage_bytes(&mut staging, &manifest.config.digest, &bytes)?;
                bytes
            }
        };
        manifest::verify_bytes(&manifest.config.digest, &config_bytes)?;

        self.download_layers(&client, &mut staging, &manifest.layers, &progress)
            .await?;

        let new = NewImage {
            references: vec![r.to_string()],
            digest: top_digest,
            manifest_digest,
            manifest_size,
            config_digest: manifest.config.digest.clone(),
            config_bytes,
            layers: manifest.layers.clone(),
        };
        let store = self.clone();
        let prog = progress.clone();
        let records = tokio::task::spawn_blocking(move || {
            let mut staging = staging;
            store.finish(&mut staging, new, &*prog)
        })
        .await
        .map_err(|e| Error::Unsupported(format!("unpack task failed: {e}")))??;
        progress.event(ProgressEvent::Done {
            reference: r.to_string(),
        });
        records
            .into_iter()
            .next()
            .ok_or_else(|| Error::Unsupported("pull stored no record".into()))
    }

    async fn download_layers(
        &self,
        client: &Arc<EndpointClient>,
        staging: &mut Staging,
        layers: &[Descriptor],
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let mut wanted: Vec<Descriptor> = Vec::new();
        for l in layers {
            manifest::validate_digest(&l.digest)?;
            if self.find_blob(staging, &l.digest)?.is_some()
                || wanted.iter().any(|w| w.digest == l.digest)
            {
                progress.event(ProgressEvent::BlobExists {
                    digest: l.digest.clone(),
                });
                continue;
            }
            wanted.push(l.clone());
        }
        let dir = staging.dir.clone();
        let results: Vec<Result<(String, std::path::PathBuf)>> = futures::stream::iter(wanted)
            .map(|l| {
                let client = client.clone();
                let progress = progress.clone();
                let path = dir.join(format!("blob-{}", l.digest.trim_start_matches("sha256:")));
                async move {
                    download_blob(&client, &l, &path, &*progress).await?;
                    Ok((l.digest.clone(), path))
                }
            })
            .buffer_unordered(PARALLEL_DOWNLOADS)
            .collect()
            .await;
        for r in results {
            let (digest, path) = r?;
            staging.blobs.insert(digest, path);
        }
        Ok(())
    }
}

/// Streams a blob to `path`, hashing as it goes; fails (and removes the file) on mismatch.
async fn download_blob(
    client: &EndpointClient,
    desc: &Descriptor,
    path: &std::path::Path,
    progress: &dyn Progress,
) -> Result<()> {
    progress.event(ProgressEvent::BlobStart {
        digest: desc.digest.clone(),
        total: desc.size,
    });
    let resp = client.blob(&desc.digest).await?;
    let total = if desc.size > 0 {
        desc.size
    } else {
        resp.content_length().unwrap_or(0)
    };
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| Error::io("creating", path, e))?;
    let mut hasher = Sha256::new();
    let mut done: u64 = 0;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Error::Registry(format!(
                "downloading {} from {}: {}",
                desc.digest,
                client.host(),
                auth::error_chain(&e)
            ))
        })?;
        done += chunk.len() as u64;
        if desc.size > 0 && done > desc.size {
            let _ = tokio::fs::remove_file(path).await;
            return Err(Error::Registry(format!(
                "registry {} sent more than the {} bytes of blob {}",
                client.host(),
                desc.size,
                desc.digest
            )));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::io("writing", path, e))?;
        progress.event(ProgressEvent::BlobProgress {
            digest: desc.digest.clone(),
            done,
            total,
        });
    }
    file.sync_all()
        .await
        .map_err(|e| Error::io("writing", path, e))?;
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual != desc.digest {
        let _ = tokio::fs::remove_file(path).await;
        return Err(Error::DigestMismatch {
            expected: desc.digest.clone(),
            actual,
        });
    }
    progress.event(ProgressEvent::BlobDone {
        digest: desc.digest.clone(),
    });
    Ok(())
}

/// Used by the auth module to build hints.
pub(crate) fn registries_hint(reg: &RegistriesConfig, host: &str) -> String {
    format!(
        "add credentials in {} (configs.\"{host}\".auth)",
        reg.source_display()
    )
}
