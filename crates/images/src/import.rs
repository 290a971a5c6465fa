//! Importing `docker save` tarballs and OCI archives, and the once-only import directory.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ImageRecord;
use crate::error::{Error, Result};
use crate::manifest::{self, Compression, Descriptor, HashingReader, Index, Parsed};
use crate::progress::NoProgress;
use crate::reference::Reference;
use crate::store::{ImageStore, NewImage, Staging, write_atomic};

/// Annotation containerd puts the full image name in.
const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// OCI annotation with a tag or a full reference.
const OCI_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A file of the archive, copied to staging.
struct ArchiveFile {
    path: PathBuf,
    digest: String,
    size: u64,
}

/// The archive's regular files and symlinks, by normalized name.
struct Archive {
    files: BTreeMap<String, ArchiveFile>,
    links: BTreeMap<String, String>,
}

impl Archive {
    fn get(&self, name: &str) -> Option<&ArchiveFile> {
        let mut name = normalize(name)?;
        for _ in 0..16 {
            if let Some(f) = self.files.get(&name) {
                return Some(f);
            }
            name = self.links.get(&name)?.clone();
        }
        None
    }

    fn read(&self, name: &str, what: &str) -> Result<Vec<u8>> {
        let f = self
            .get(name)
            .ok_or_else(|| Error::format("archive", format!("{what} {name:?} is missing")))?;
        if f.size > 64 << 20 {
            return Err(Error::format(
                "archive",
                format!("{what} {name:?} is too large"),
            ));
        }
        fs::read(&f.path).map_err(|e| Error::io("reading", &f.path, e))
    }

    /// The OCI layout blob of `digest`, checked.
    fn blob(&self, digest: &str) -> Result<&ArchiveFile> {
        let hex = manifest::validate_digest(digest)?;
        let f = self
            .get(&format!("blobs/sha256/{hex}"))
            .ok_or_else(|| Error::format("OCI archive", format!("blob {digest} is missing")))?;
        if f.digest != digest {
            return Err(Error::DigestMismatch {
                expected: digest.to_string(),
                actual: f.digest.clone(),
            });
        }
        Ok(f)
    }
}

/// `a/./b/` -> `a/b`; None for paths that climb out.
fn normalize(name: &str) -> Option<String> {
    let comps = crate::unpack::components(name.trim_start_matches('/').as_bytes()).ok()?;
    let parts: Vec<String> = comps
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

fn read_archive(path: &Path, staging: &Staging) -> Result<Archive> {
    let file = fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let reader = manifest::decompressed(file).map_err(|e| Error::io("reading", path, e))?;
    let mut tar = tar::Archive::new(reader);
    let bad = |e: io::Error| Error::format(format!("archive {}", path.display()), e);
    let mut out = Archive {
        files: BTreeMap::new(),
        links: BTreeMap::new(),
    };
    for (n, entry) in tar.entries().map_err(bad)?.enumerate() {
        let entry = entry.map_err(bad)?;
        let raw = entry.path_bytes().into_owned();
        let Some(name) = normalize(&String::from_utf8_lossy(&raw)) else {
            continue;
        };
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let dest = staging.file(&format!("a-{n}"));
                let mut hashing = HashingReader::new(entry);
                let mut f = fs::File::create(&dest).map_err(|e| Error::io("creating", &dest, e))?;
                io::copy(&mut hashing, &mut f).map_err(|e| Error::io("writing", &dest, e))?;
                let (digest, size) = hashing.finish().map_err(bad)?;
                out.files.insert(
                    name,
                    ArchiveFile {
                        path: dest,
                        digest,
                        size,
                    },
                );
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let Some(target) = entry.link_name_bytes() else {
                    continue;
                };
                let target = String::from_utf8_lossy(&target).into_owned();
                let resolved = if entry.header().entry_type() == tar::EntryType::Link {
                    normalize(&target)
                } else {
                    let parent = name.rsplit_once('/').map_or("", |(p, _)| p);
                    resolve_relative(parent, &target)
                };
                if let Some(r) = resolved {
                    out.links.insert(name, r);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Resolves a symlink target relative to `parent` inside the archive.
fn resolve_relative(parent: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        parent.split('/').filter(|p| !p.is_empty()).collect()
    };
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// docker save's manifest.json entries.
#[derive(Deserialize)]
struct DockerEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

impl ImageStore {
    /// Imports a `docker save` tarball or an OCI archive (optionally gzip/zstd compressed).
    /// Images without a name in the archive are stored as `import.local/<file stem>:<tag>`.
    pub fn import_archive(&self, path: &Path) -> Result<Vec<ImageRecord>> {
        self.import_archive_named(path, None)
    }

    /// Like [`import_archive`](Self::import_archive); unnamed images get `name`.
    pub fn import_archive_named(
        &self,
        path: &Path,
        name: Option<&str>,
    ) -> Result<Vec<ImageRecord>> {
        let mut staging = self.staging()?;
        let archive = read_archive(path, &staging)?;
        let default_name = match name {
            Some(n) => Reference::parse(n)?.name(),
            None => {
                let stem = path
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let stem = stem.split('.').next().unwrap_or("").to_ascii_lowercase();
                let clean: String = stem
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect();
                let clean = clean.trim_matches('-');
                format!(
                    "import.local/{}",
                    if clean.is_empty() { "image" } else { clean }
                )
            }
        };
        let images = if archive.get("index.json").is_some() {
            self.oci_images(&archive, &mut staging, &default_name, name.is_some())?
        } else if archive.get("manifest.json").is_some() {
            self.docker_images(&archive, &mut staging, &default_name)?
        } else {
            return Err(Error::format(
                format!("archive {}", path.display()),
                "neither a docker save tarball (manifest.json) nor an OCI archive (index.json)",
            ));
        };
        if images.is_empty() {
            return Err(Error::format(
                format!("archive {}", path.display()),
                "it holds no image",
            ));
        }
        let mut out = Vec::new();
        for img in images {
            out.extend(self.finish(&mut staging, img, &NoProgress)?);
        }
        Ok(out)
    }

    fn oci_images(
        &self,
        archive: &Archive,
        staging: &mut Staging,
        default_name: &str,
        force_name: bool,
    ) -> Result<Vec<NewImage>> {
        let index: Index = serde_json::from_slice(&archive.read("index.json", "index.json")?)
            .map_err(|e| Error::format("OCI archive index.json", e))?;
        let mut out = Vec::new();
        for desc in &index.manifests {
            let reference = if force_name {
                None
            } else {
                desc.annotations.get(CONTAINERD_NAME).cloned()
            };
            let reference = match (reference, desc.annotations.get(OCI_REF_NAME)) {
                (Some(r), _) => Reference::parse(&r)?.to_string(),
                (None, Some(n)) if !force_name && (n.contains('/') || n.contains(':')) => {
                    Reference::parse(n)?.to_string()
                }
                (None, Some(tag)) => {
                    Reference::parse(&format!("{default_name}:{tag}"))?.to_string()
                }
                (None, None) => Reference::parse(&format!("{default_name}:latest"))?.to_string(),
            };
            let top = archive.blob(&desc.digest)?;
            let top_bytes = fs::read(&top.path).map_err(|e| Error::io("reading", &top.path, e))?;
            self.stage_bytes(staging, &desc.digest, &top_bytes)?;
            let media = Some(desc.media_type.as_str()).filter(|m| !m.is_empty());
            let (m, manifest_digest, manifest_size) =
                match manifest::parse_manifest(&top_bytes, media)? {
                    Parsed::Manifest(m) => (m, desc.digest.clone(), top.size),
                    Parsed::Index(inner) => {
                        let chosen = manifest::choose_platform(&inner)?;
                        let f = archive.blob(&chosen.digest)?;
                        let bytes =
                            fs::read(&f.path).map_err(|e| Error::io("reading", &f.path, e))?;
                        self.stage_bytes(staging, &chosen.digest, &bytes)?;
                        match manifest::parse_manifest(&bytes, Some(chosen.media_type.as_str()))? {
                            Parsed::Manifest(m) => (m, chosen.digest.clone(), f.size),
                            Parsed::Index(_) => {
                                return Err(Error::Unsupported("nested image index".into()));
                            }
                        }
                    }
                };
            let config = archive.blob(&m.config.digest)?;
            let config_bytes =
                fs::read(&config.path).map_err(|e| Error::io("reading", &config.path, e))?;
            self.stage_bytes(staging, &m.config.digest, &config_bytes)?;
            for l in &m.layers {
                if self.find_blob(staging, &l.digest)?.is_none() {
                    let f = archive.blob(&l.digest)?;
                    staging.blobs.insert(l.digest.clone(), f.path.clone());
                }
            }
            out.push(NewImage {
                references: vec![reference],
                digest: desc.digest.clone(),
                manifest_digest,
                manifest_size,
                config_digest: m.config.digest.clone(),
                config_bytes,
                layers: m.layers.clone(),
            });
        }
        Ok(out)
    }

    fn docker_images(
        &self,
        archive: &Archive,
        staging: &mut Staging,
        default_name: &str,
    ) -> Result<Vec<NewImage>> {
        let entries: Vec<DockerEntry> =
            serde_json::from_slice(&archive.read("manifest.json", "manifest.json")?)
                .map_err(|e| Error::format("docker save manifest.json", e))?;
        let mut out = Vec::new();
        for e in entries {
            let config_file = archive.get(&e.config).ok_or_else(|| {
                Error::format(
                    "docker archive",
                    format!("config {:?} is missing", e.config),
                )
            })?;
            let config_bytes = archive.read(&e.config, "config")?;
            let config_digest = config_file.digest.clone();
            self.stage_bytes(staging, &config_digest, &config_bytes)?;
            let mut layers = Vec::new();
            for name in &e.layers {
                let f = archive.get(name).ok_or_else(|| {
                    Error::format("docker archive", format!("layer {name:?} is missing"))
                })?;
                let mut head = [0u8; 4];
                let n = fs::File::open(&f.path)
                    .and_then(|mut h| h.read(&mut head))
                    .map_err(|err| Error::io("reading", &f.path, err))?;
                let media = Compression::sniff(&head[..n]).oci_media_type();
                if self.find_blob(staging, &f.digest)?.is_none() {
                    staging.blobs.insert(f.digest.clone(), f.path.clone());
                }
                layers.push(Descriptor {
                    media_type: media.to_string(),
                    digest: f.digest.clone(),
                    size: f.size,
                    platform: None,
                    annotations: BTreeMap::new(),
                });
            }
            // Docker archives carry no manifest: write the OCI manifest they stand for.
            let m = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": manifest::OCI_MANIFEST,
                "config": {"mediaType": manifest::OCI_CONFIG, "digest": config_digest, "size": config_bytes.len()},
                "layers": layers,
            });
            let m_bytes = serde_json::to_vec(&m).map_err(|err| Error::format("manifest", err))?;
            let m_digest = manifest::digest_of(&m_bytes);
            self.stage_bytes(staging, &m_digest, &m_bytes)?;
            let tags = e.repo_tags.unwrap_or_default();
            let references = if tags.is_empty() {
                vec![Reference::parse(&format!("{default_name}:latest"))?.to_string()]
            } else {
                tags.iter()
                    .map(|t| Reference::parse(t).map(|r| r.to_string()))
                    .collect::<Result<_>>()?
            };
            out.push(NewImage {
                references,
                digest: m_digest.clone(),
                manifest_digest: m_digest,
                manifest_size: m_bytes.len() as u64,
                config_digest,
                config_bytes,
                layers,
            });
        }
        Ok(out)
    }
}

/// Files of the import directory already imported, by file name.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ImportsDb {
    #[serde(default)]
    files: BTreeMap<String, Seen>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    size: u64,
    mtime_ns: i128,
}

/// What [`import_dir_once`] did.
#[derive(Debug, Default)]
pub struct ImportDirReport {
    /// Images imported by this call.
    pub imported: Vec<ImageRecord>,
    /// Files skipped because they were imported before (same name, size and mtime).
    pub skipped: Vec<PathBuf>,
    /// Files that failed (tried again next time).
    pub failed: Vec<(PathBuf, Error)>,
}

/// Imports every archive in `dir` (normally `<data-dir>/agent/images/`) that was not imported
/// before; the store remembers each file's name, size and mtime in `imports.json`, so
/// restarting does not import again. A missing `dir` imports nothing.
pub fn import_dir_once(store: &ImageStore, dir: &Path) -> Result<ImportDirReport> {
    let mut report = ImportDirReport::default();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(report),
        Err(e) => return Err(Error::io("listing", dir, e)),
    };
    let mut files: Vec<(PathBuf, String, Seen)> = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io("listing", dir, e))?;
        let name = entry.file_name();
        if name.as_bytes().starts_with(b".") {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let seen = Seen {
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        };
        files.push((path, name.to_string_lossy().into_owned(), seen));
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    let db_path = store.root().join("imports.json");
    let known = load_imports(&db_path)?;
    for (path, name, seen) in files {
        if known.files.get(&name) == Some(&seen) {
            report.skipped.push(path);
            continue;
        }
        match store.import_archive(&path) {
            Ok(records) => {
                tracing::info!(file = %path.display(), images = records.len(), "imported");
                report.imported.extend(records);
                let _lock = store.lock()?;
                let mut db = load_imports(&db_path)?;
                db.files.insert(name, seen);
                let bytes =
                    serde_json::to_vec_pretty(&db).map_err(|e| Error::format("imports.json", e))?;
                write_atomic(&db_path, &bytes)?;
            }
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "import failed");
                report.failed.push((path, e));
            }
        }
    }
    Ok(report)
}

fn load_imports(path: &Path) -> Result<ImportsDb> {
    match fs::read(path) {
        Ok(b) => {
            serde_json::from_slice(&b).map_err(|e| Error::format(format!("{}", path.display()), e))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(ImportsDb::default()),
        Err(e) => Err(Error::io("reading", path, e)),
    }
}
