//! The pod's `fsGroup` on its volumes, as upstream's volume ownership: every file and
//! directory gets the group, group read (and write, for writable volumes) permission, and
//! directories the set-group-ID bit so new files inherit the group.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::error::{IoContext, Result};

const RW: u32 = 0o660;
const RO: u32 = 0o440;
const DIR_EXEC: u32 = 0o110;
const SETGID: u32 = 0o2000;

/// Apply `gid` to everything under `root`. Writable volumes (emptyDir) are walked only while
/// their root lacks the group, so a large volume is walked once.
pub fn apply(root: &Path, gid: u32, readonly: bool) -> Result<()> {
    if !readonly && std::fs::metadata(root).ctx("stat", root)?.gid() == gid {
        return Ok(());
    }
    walk(root, gid, if readonly { RO } else { RW })
}

fn walk(path: &Path, gid: u32, mask: u32) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).ctx("stat", path)?;
    std::os::unix::fs::lchown(path, None, Some(gid)).ctx("chown", path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mut mode = meta.permissions().mode() & 0o7777;
    mode |= mask;
    if meta.is_dir() {
        mode |= SETGID | DIR_EXEC;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).ctx("chmod", path)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).ctx("readdir", path)? {
            let entry = entry.ctx("readdir", path)?;
            walk(&entry.path(), gid, mask)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_get_the_group_and_group_permissions() {
        if !nix::unistd::geteuid().is_root() {
            return; // chown to another group needs root
        }
        let dir = tempfile::tempdir().unwrap();
        let ro = dir.path().join("ro");
        std::fs::create_dir_all(ro.join("..data_dir")).unwrap();
        std::fs::write(ro.join("..data_dir/key"), "v").unwrap();
        std::fs::set_permissions(ro.join("..data_dir/key"), PermissionsExt::from_mode(0o400))
            .unwrap();
        std::os::unix::fs::symlink("..data_dir/key", ro.join("key")).unwrap();
        apply(&ro, 4321, true).unwrap();
        let key = std::fs::metadata(ro.join("..data_dir/key")).unwrap();
        assert_eq!((key.gid(), key.mode() & 0o7777), (4321, 0o440));
        let sub = std::fs::metadata(ro.join("..data_dir")).unwrap();
        assert_eq!(sub.mode() & 0o2000, 0o2000, "set-group-ID directories");
        let link = std::fs::symlink_metadata(ro.join("key")).unwrap();
        assert_eq!(link.gid(), 4321, "links change group, not mode");

        let rw = dir.path().join("rw");
        std::fs::create_dir_all(&rw).unwrap();
        std::fs::write(rw.join("f"), "").unwrap();
        std::fs::set_permissions(rw.join("f"), PermissionsExt::from_mode(0o600)).unwrap();
        apply(&rw, 4321, false).unwrap();
        let f = std::fs::metadata(rw.join("f")).unwrap();
        assert_eq!((f.gid(), f.mode() & 0o7777), (4321, 0o660));
        // Once the root has the group, a writable volume is not walked again.
        std::fs::write(rw.join("later"), "").unwrap();
        apply(&rw, 4321, false).unwrap();
        let later = std::fs::metadata(rw.join("later")).unwrap();
        assert_ne!(later.mode() & 0o060, 0o060, "not walked again");
    }
}
