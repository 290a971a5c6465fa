//! The on-disk image store: blobs, snapshots, image records, locking, garbage collection.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::{self, ConfigFile, Descriptor, HashingReader};
use crate::progress::{Progress, ProgressEvent};
use crate::reference::Reference;
use crate::registries::RegistriesConfig;
use crate::{ImageConfig, ImageRecord};

/// An image store rooted at `<data-dir>/agent` (see the crate docs for the layout).
/// Cheap to clone; safe to share between threads and with other processes (file lock).
#[derive(Clone)]
pub struct ImageStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    registries: RegistriesConfig,
}

/// What [`ImageStore::prune`] removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PruneReport {
    pub blobs_removed: usize,
    pub snapshots_removed: usize,
    pub bytes_freed: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Db {
    #[serde(default)]
    pub images: BTreeMap<String, StoredImage>,
}

/// One image record as stored in `images.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredImage {
    pub reference: String,
    /// Top-level digest (the index's when pulled through an index).
    pub digest: String,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layers: Vec<StoredLayer>,
    pub config: ImageConfig,
    pub size: u64,
    pub created: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredLayer {
    pub digest: String,
    pub diff_id: String,
    pub size: u64,
    pub media_type: String,
}

/// An image ready to be committed: its blobs are staged or already stored.
pub(crate) struct NewImage {
    pub references: Vec<String>,
    pub digest: String,
    pub manifest_digest: String,
    pub manifest_size: u64,
    pub config_digest: String,
    pub config_bytes: Vec<u8>,
    pub layers: Vec<Descriptor>,
}

/// A staging directory under `tmp/`, removed on drop.
pub(crate) struct Staging {
    pub dir: PathBuf,
    pub blobs: BTreeMap<String, PathBuf>,
    pub snapshots: BTreeMap<String, PathBuf>,
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Staging {
    /// A fresh file path in the staging dir.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl ImageStore {
    /// Opens (creating if needed) the store at `root`, normally `<data-dir>/agent`.
    pub fn open(root: impl Into<PathBuf>) -> Result<ImageStore> {
        let root = root.into();
        for sub in ["blobs/sha256", "snapshots", "tmp", "images"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(|e| Error::io("creating", &p, e))?;
        }
        let store = ImageStore {
            inner: Arc::new(Inner {
                root,
                registries: RegistriesConfig::default(),
            }),
        };
        store.load_db()?; // fail early on a damaged images.json
        Ok(store)
    }

    /// Opens `<data_dir>/agent` with `<data_dir>/registries.yaml` (if present).
    pub fn open_data_dir(data_dir: &Path) -> Result<ImageStore> {
        let reg = RegistriesConfig::load_or_default(&data_dir.join("registries.yaml"))?;
        Ok(Self::open(data_dir.join("agent"))?.with_registries(reg))
    }

    /// The same store using `registries` for pulls.
    pub fn with_registries(self, registries: RegistriesConfig) -> ImageStore {
        ImageStore {
            inner: Arc::new(Inner {
                root: self.inner.root.clone(),
                registries,
            }),
        }
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub fn registries(&self) -> &RegistriesConfig {
        &self.inner.registries
    }

    /// `<root>/images`: tarballs there are imported by [`crate::import_dir_once`].
    pub fn import_dir(&self) -> PathBuf {
        self.root().join("images")
    }

    /// Path of a stored blob.
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        let hex = manifest::validate_digest(digest)?;
        Ok(self.root().join("blobs/sha256").join(hex))
    }

    /// The unpacked directory of the layer with `diff_id` (its `fs` dir).
    pub fn snapshot_path(&self, diff_id: &str) -> Result<PathBuf> {
        let hex = manifest::validate_digest(diff_id)?;
        Ok(self.root().join("snapshots").join(hex).join("fs"))
    }

    /// The image `reference` names (a reference, `name@digest`, or an image id / digest).
    /// `None` when not stored or when a layer snapshot went missing (pull again).
    pub fn resolve(&self, reference: &str) -> Result<Option<ImageRecord>> {
        let db = self.load_db()?;
        let Some(img) = find(&db, reference)?.into_iter().next() else {
            return Ok(None);
        };
        let record = self.record(img)?;
        if let Some(missing) = record.layers.iter().find(|p| !p.is_dir()) {
            tracing::warn!(image = %img.reference, layer = %missing.display(), "layer snapshot missing");
            return Ok(None);
        }
        Ok(Some(record))
    }

    /// Every stored image, sorted by reference.
    pub fn list(&self) -> Result<Vec<ImageRecord>> {
        let db = self.load_db()?;
        db.images.values().map(|i| self.record(i)).collect()
    }

    /// Removes the images `reference` names and the content no other image uses.
    /// Returns the removed references (empty when nothing matched).
    pub fn remove(&self, reference: &str) -> Result<Vec<String>> {
        let _lock = self.lock()?;
        let mut db = self.load_db()?;
        let names: Vec<String> = find(&db, reference)?
            .into_iter()
            .map(|i| i.reference.clone())
            .collect();
        if names.is_empty() {
            return Ok(names);
        }
        for n in &names {
            db.images.remove(n);
        }
        self.save_db(&db)?;
        self.collect(&db)?;
        Ok(names)
    }

    /// Removes blobs and snapshots no image uses, and staging leftovers of dead processes.
    pub fn prune(&self) -> Result<PruneReport> {
        let _lock = self.lock()?;
        let db = self.load_db()?;
        self.collect(&db)
    }

    fn collect(&self, db: &Db) -> Result<PruneReport> {
        let mut blobs = HashSet::new();
        let mut snaps = HashSet::new();
        for img in db.images.values() {
            for d in [&img.digest, &img.manifest_digest, &img.config_digest] {
                blobs.insert(d.trim_start_matches("sha256:").to_string());
            }
            for l in &img.layers {
                blobs.insert(l.digest.trim_start_matches("sha256:").to_string());
                snaps.insert(l.diff_id.trim_start_matches("sha256:").to_string());
            }
        }
        let mut report = PruneReport::default();
        for (sub, keep, is_dir) in [("blobs/sha256", &blobs, false), ("snapshots", &snaps, true)] {
            let dir = self.root().join(sub);
            for entry in fs::read_dir(&dir).map_err(|e| Error::io("listing", &dir, e))? {
                let entry = entry.map_err(|e| Error::io("listing", &dir, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if keep.contains(&name) {
                    continue;
                }
                let path = entry.path();
                let size = dir_size(&path);
                let res = if is_dir {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                res.map_err(|e| Error::io("removing", &path, e))?;
                report.bytes_freed += size;
                if is_dir {
                    report.snapshots_removed += 1;
                } else {
                    report.blobs_removed += 1;
                }
            }
        }
        // Staging dirs are named <pid>-<n>: remove those whose process is gone.
        let tmp = self.root().join("tmp");
        if let Ok(entries) = fs::read_dir(&tmp) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let pid = name.split('-').next().and_then(|p| p.parse::<i32>().ok());
                let alive = pid.is_some_and(|p| {
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok()
                });
                if !alive {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        Ok(report)
    }

    fn record(&self, img: &StoredImage) -> Result<ImageRecord> {
        Ok(ImageRecord {
            reference: img.reference.clone(),
            digest: img.digest.clone(),
            config: img.config.clone(),
            layers: img
                .layers
                .iter()
                .map(|l| self.snapshot_path(&l.diff_id))
                .collect::<Result<_>>()?,
            id: img.config_digest.clone(),
            size: img.size,
        })
    }

    pub(crate) fn load_db(&self) -> Result<Db> {
        let path = self.root().join("images.json");
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::format(format!("image records {}", path.display()), e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Db::default()),
            Err(e) => Err(Error::io("reading", &path, e)),
        }
    }

    fn save_db(&self, db: &Db) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(db).map_err(|e| Error::format("image records", e))?;
        write_atomic(&self.root().join("images.json"), &bytes)
    }

    /// Exclusive lock on the store (blocks until free).
    pub(crate) fn lock(&self) -> Result<nix::fcntl::Flock<fs::File>> {
        let path = self.root().join("lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("opening", &path, e))?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::io("locking", &path, e.into()))
    }

    /// A fresh staging dir under `tmp/`.
    pub(crate) fn staging(&self) -> Result<Staging> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = self
            .root()
            .join("tmp")
            .join(format!("{}-{n}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        Ok(Staging {
            dir,
            blobs: BTreeMap::new(),
            snapshots: BTreeMap::new(),
        })
    }

    /// Where a blob is: staged by this operation, or already stored.
    pub(crate) fn find_blob(&self, staging: &Staging, digest: &str) -> Result<Option<PathBuf>> {
        if let Some(p) = staging.blobs.get(digest) {
            return Ok(Some(p.clone()));
        }
        let p = self.blob_path(digest)?;
        Ok(p.is_file().then_some(p))
    }

    /// Stages `bytes` (already verified against `digest`) as a blob.
    pub(crate) fn stage_bytes(
        &self,
        staging: &mut Staging,
        digest: &str,
        bytes: &[u8],
    ) -> Result<()> {
        manifest::verify_bytes(digest, bytes)?;
        if self.find_blob(staging, digest)?.is_some() {
            return Ok(());
        }
        let path = staging.file(&format!("blob-{}", manifest::validate_digest(digest)?));
        let mut f = fs::File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io("writing", &path, e))?;
        staging.blobs.insert(digest.to_string(), path);
        Ok(())
    }

    /// Unpacks layers whose snapshots are missing, then commits blobs, snapshots and records.
    pub(crate) fn finish(
        &self,
        staging: &mut Staging,
        img: NewImage,
        progress: &dyn Progress,
    ) -> Result<Vec<ImageRecord>> {
        let cfg = ConfigFile::parse(&img.config_bytes)?;
        let diff_ids = cfg.diff_ids()?;
        if diff_ids.len() != img.layers.len() {
            return Err(Error::format(
                "image",
                format!(
                    "the manifest lists {} layers but the config has {} diff_ids",
                    img.layers.len(),
                    diff_ids.len()
                ),
            ));
        }
        // Unpack missing snapshots, in parallel threads (each layer has its own directory).
        let mut todo = Vec::new();
        for (layer, diff_id) in img.layers.iter().zip(&diff_ids) {
            if self.snapshot_path(diff_id)?.is_dir() || todo.iter().any(|(_, d, _)| d == diff_id) {
                continue;
            }
            let blob = self.find_blob(staging, &layer.digest)?.ok_or_else(|| {
                Error::format("image", format!("layer blob {} is missing", layer.digest))
            })?;
            let hex = manifest::validate_digest(diff_id)?;
            todo.push((blob, diff_id.clone(), staging.file(&format!("snap-{hex}"))));
        }
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = todo
                .iter()
                .map(|(blob, diff_id, dir)| {
                    progress.event(ProgressEvent::Unpacking {
                        diff_id: diff_id.clone(),
                    });
                    s.spawn(move || unpack_verified(blob, diff_id, &dir.join("fs")))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Unsupported("layer unpack panicked".into())))
                })
                .collect()
        });
        for r in results {
            r?;
        }
        for (_, diff_id, dir) in todo {
            staging.snapshots.insert(diff_id, dir);
        }

        let size = img.manifest_size
            + img.config_bytes.len() as u64
            + img.layers.iter().map(|l| l.size).sum::<u64>();
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let stored: Vec<StoredImage> = img
            .references
            .iter()
            .map(|r| StoredImage {
                reference: r.clone(),
                digest: img.digest.clone(),
                manifest_digest: img.manifest_digest.clone(),
                config_digest: img.config_digest.clone(),
                layers: img
                    .layers
                    .iter()
                    .zip(&diff_ids)
                    .map(|(l, d)| StoredLayer {
                        digest: l.digest.clone(),
                        diff_id: d.clone(),
                        size: l.size,
                        media_type: l.media_type.clone(),
                    })
                    .collect(),
                config: cfg.image_config(),
                size,
                created: created.clone(),
            })
            .collect();

        let _lock = self.lock()?;
        for (digest, path) in std::mem::take(&mut staging.blobs) {
            let dest = self.blob_path(&digest)?;
            if !dest.exists() {
                fs::rename(&path, &dest).map_err(|e| Error::io("storing blob", &dest, e))?;
            }
        }
        for (diff_id, dir) in std::mem::take(&mut staging.snapshots) {
            let dest = self
                .root()
                .join("snapshots")
                .join(manifest::validate_digest(&diff_id)?);
            if !dest.exists() {
                fs::rename(&dir, &dest).map_err(|e| Error::io("storing snapshot", &dest, e))?;
            }
        }
        let mut db = self.load_db()?;
        for s in &stored {
            db.images.insert(s.reference.clone(), s.clone());
        }
        self.save_db(&db)?;
        // An image re-tagged away from an old digest may leave content unused.
        self.collect(&db)?;
        stored.iter().map(|s| self.record(s)).collect()
    }
}

/// Unpacks the layer blob at `blob` into `dest`, checking the uncompressed digest.
fn unpack_verified(blob: &Path, diff_id: &str, dest: &Path) -> Result<()> {
    let file = fs::File::open(blob).map_err(|e| Error::io("opening", blob, e))?;
    let reader = manifest::decompressed(file).map_err(|e| Error::io("decompressing", blob, e))?;
    let mut hashing = HashingReader::new(reader);
    crate::unpack::unpack_layer(&mut hashing, dest, diff_id)?;
    let (actual, _) = hashing
        .finish()
        .map_err(|e| Error::io("decompressing", blob, e))?;
    if actual != diff_id {
        return Err(Error::DigestMismatch {
            expected: diff_id.to_string(),
            actual,
        });
    }
    Ok(())
}

/// The records `reference` names: by normalized reference, `name@digest`, or image id/digest.
fn find<'a>(db: &'a Db, reference: &str) -> Result<Vec<&'a StoredImage>> {
    let r = reference.trim();
    let as_digest = if r.len() == 64 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        Some(format!("sha256:{r}"))
    } else if r.starts_with("sha256:") {
        manifest::validate_digest(r)?;
        Some(r.to_string())
    } else {
        None
    };
    if let Some(d) = as_digest {
        return Ok(db
            .images
            .values()
            .filter(|i| i.digest == d || i.config_digest == d || i.manifest_digest == d)
            .collect());
    }
    let parsed = Reference::parse(r)?;
    if let (Some(d), None) = (&parsed.digest, &parsed.tag) {
        let name = parsed.name();
        return Ok(db
            .images
            .values()
            .filter(|i| {
                (i.digest == *d || i.manifest_digest == *d)
                    && Reference::parse(&i.reference).is_ok_and(|x| x.name() == name)
            })
            .collect());
    }
    Ok(db.images.get(&parsed.to_string()).into_iter().collect())
}

/// Writes `path` atomically: temp file, fsync, rename, fsync the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut f = fs::File::create(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io("writing", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io("renaming into", path, e))?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

fn dir_size(path: &Path) -> u64 {
    let Ok(m) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !m.is_dir() {
        return m.len();
    }
    fs::read_dir(path)
        .map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum())
        .unwrap_or(0)
}
