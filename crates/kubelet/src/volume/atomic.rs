//! Atomic writes of a projected file set, as upstream's `..data` symlink swap.
//!
//! Files live in a timestamped directory `..<time>`; `..data` is a symlink to it; each
//! top-level name is a symlink through `..data`. An update writes a new directory and
//! renames a fresh `..data_tmp` symlink over `..data`, so readers see all old or all new.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

const DATA: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

/// One file to project: contents and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProjection {
    pub data: Vec<u8>,
    pub mode: u32,
}

/// Make `dir` hold exactly `files` (relative paths). Returns whether anything changed.
pub fn write(dir: &Path, files: &BTreeMap<String, FileProjection>) -> Result<bool> {
    std::fs::create_dir_all(dir).ctx("mkdir", dir)?;
    let data_link = dir.join(DATA);
    let old_target = std::fs::read_link(&data_link).ok();
    if let Some(old) = &old_target
        && same_contents(&dir.join(old), files)
    {
        return Ok(false);
    }
    let stamp = chrono::Utc::now()
        .format("..%Y_%m_%d_%H_%M_%S.%f")
        .to_string();
    let new_dir = dir.join(&stamp);
    std::fs::create_dir_all(&new_dir).ctx("mkdir", &new_dir)?;
    std::fs::set_permissions(&new_dir, std::fs::Permissions::from_mode(0o755))
        .ctx("chmod", &new_dir)?;
    for (rel, f) in files {
        let path = new_dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).ctx("mkdir", parent)?;
        }
        std::fs::write(&path, &f.data).ctx("write", &path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode & 0o7777))
            .ctx("chmod", &path)?;
    }
    let tmp = dir.join(DATA_TMP);
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&stamp, &tmp).ctx("symlink", &tmp)?;
    std::fs::rename(&tmp, &data_link).ctx("rename", &tmp)?;

    let wanted: BTreeSet<String> = files
        .keys()
        .filter_map(|k| k.split('/').next().map(str::to_string))
        .collect();
    for top in &wanted {
        let link = dir.join(top);
        let target = PathBuf::from(DATA).join(top);
        if std::fs::read_link(&link).ok().as_ref() != Some(&target) {
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&target, &link).ctx("symlink", &link)?;
        }
    }
    for entry in std::fs::read_dir(dir).ctx("read dir", dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("..") {
            continue;
        }
        if !wanted.contains(&name) && entry.file_type().is_ok_and(|t| t.is_symlink()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(old) = old_target {
        let old_dir = dir.join(old);
        if old_dir != new_dir {
            let _ = std::fs::remove_dir_all(old_dir);
        }
    }
    Ok(true)
}

fn same_contents(dir: &Path, files: &BTreeMap<String, FileProjection>) -> bool {
    let mut present = BTreeSet::new();
    collect(dir, dir, &mut present);
    if present.len() != files.len() {
        return false;
    }
    files.iter().all(|(rel, f)| {
        let p = dir.join(rel);
        present.contains(rel)
            && std::fs::read(&p).is_ok_and(|d| d == f.data)
            && std::fs::metadata(&p)
                .is_ok_and(|m| m.permissions().mode() & 0o7777 == f.mode & 0o7777)
    })
}

fn collect(base: &Path, d: &Path, out: &mut BTreeSet<String>) {
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect(base, &p, out);
        } else if let Ok(rel) = p.strip_prefix(base) {
            out.insert(rel.to_string_lossy().to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[(&str, &str)]) -> BTreeMap<String, FileProjection> {
        items
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    FileProjection {
                        data: v.as_bytes().to_vec(),
                        mode: 0o644,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn swaps_data_atomically_and_prunes() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        assert!(write(d, &set(&[("a", "1"), ("sub/b", "2")])).unwrap());
        assert_eq!(std::fs::read_to_string(d.join("a")).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(d.join("sub/b")).unwrap(), "2");
        assert_eq!(
            std::fs::read_link(d.join("a")).unwrap(),
            Path::new("..data/a")
        );
        let first = std::fs::read_link(d.join(DATA)).unwrap();

        assert!(!write(d, &set(&[("a", "1"), ("sub/b", "2")])).unwrap());
        assert_eq!(std::fs::read_link(d.join(DATA)).unwrap(), first);

        assert!(write(d, &set(&[("a", "changed")])).unwrap());
        assert_eq!(std::fs::read_to_string(d.join("a")).unwrap(), "changed");
        assert!(!d.join("sub").exists());
        assert!(!d.join(&first).exists(), "old timestamped dir removed");
        assert!(!d.join(DATA_TMP).exists());
    }

    #[test]
    fn applies_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let mut files = set(&[("key", "v")]);
        files.get_mut("key").unwrap().mode = 0o400;
        write(tmp.path(), &files).unwrap();
        let m = std::fs::metadata(tmp.path().join("key")).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o400);
    }
}
