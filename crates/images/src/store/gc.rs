//! Garbage collection: content no image record references, staging of dead processes.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use super::{Db, ImageStore, PruneReport};
use crate::error::{Error, Result};

impl ImageStore {
    /// Deletes unreferenced blobs and snapshots; the caller holds the store lock.
    pub(super) fn collect(&self, db: &Db) -> Result<PruneReport> {
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
