//! Unpacking a layer tarball into an overlay-ready directory, refusing anything that escapes.
//!
//! Whiteouts become overlay whiteouts (`.wh.name` -> char device 0:0 named `name`,
//! `.wh..wh..opq` -> xattr `trusted.overlay.opaque=y` on the directory). Ownership, modes,
//! mtimes and xattrs are kept; device nodes are skipped. Absolute paths and `..` components
//! are refused, and no path is ever resolved through a symlink: every parent component is
//! checked with `symlink_metadata` and files are created with `O_NOFOLLOW | O_EXCL`.

use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Counts of what a layer held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnpackStats {
    pub entries: u64,
    pub whiteouts: u64,
    pub skipped_devices: u64,
}

/// Unpacks the (already decompressed) tar stream `reader` into the directory `dest`.
/// `layer` names the layer in errors.
pub fn unpack_layer(reader: impl Read, dest: &Path, layer: &str) -> Result<UnpackStats> {
    fs::create_dir_all(dest).map_err(|e| Error::io("creating", dest, e))?;
    let mut u = Unpacker {
        root: dest.to_path_buf(),
        layer: layer.to_string(),
        is_root: nix::unistd::geteuid().is_root(),
        dir_times: Vec::new(),
        stats: UnpackStats::default(),
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| Error::format(format!("layer {layer}"), e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::format(format!("layer {layer}"), e))?;
        u.entry(&mut entry)?;
    }
    // Directory mtimes last (writing children changes them), deepest first.
    for (path, mtime) in u.dir_times.iter().rev() {
        set_mtime_nofollow(path, *mtime);
    }
    Ok(u.stats)
}

struct Unpacker {
    root: PathBuf,
    layer: String,
    is_root: bool,
    dir_times: Vec<(PathBuf, u64)>,
    stats: UnpackStats,
}

/// Splits a tar path into normal components, refusing absolute paths and `..`.
pub(crate) fn components(raw: &[u8]) -> std::result::Result<Vec<OsString>, String> {
    if raw.first() == Some(&b'/') {
        return Err("is an absolute path".into());
    }
    let mut out = Vec::new();
    for comp in raw.split(|b| *b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err("has a '..' component".into()),
            c if c.contains(&0) => return Err("contains a NUL byte".into()),
            c => out.push(OsStr::from_bytes(c).to_os_string()),
        }
    }
    Ok(out)
}

impl Unpacker {
    fn unsafe_entry(&self, entry: &[u8], reason: impl Into<String>) -> Error {
        Error::UnsafeLayer {
            layer: self.layer.clone(),
            entry: String::from_utf8_lossy(entry).into_owned(),
            reason: reason.into(),
        }
    }

    /// Walks `parents` under the root without following symlinks; creates missing dirs when
    /// `create`. Returns the directory path.
    fn parent_dir(&self, entry: &[u8], parents: &[OsString], create: bool) -> Result<PathBuf> {
        let mut cur = self.root.clone();
        for c in parents {
            cur.push(c);
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(self.unsafe_entry(
                        entry,
                        format!(
                            "goes through the symlink {:?} (writing through symlinks could escape the layer)",
                            c
                        ),
                    ));
                }
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(
                        self.unsafe_entry(entry, format!("has the non-directory {c:?} as parent"))
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                    fs::create_dir(&cur).map_err(|e| Error::io("creating directory", &cur, e))?;
                    fs::set_permissions(&cur, fs::Permissions::from_mode(0o755))
                        .map_err(|e| Error::io("chmod", &cur, e))?;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(self.unsafe_entry(
                        entry,
                        format!("refers to {c:?} which is not in this layer"),
                    ));
                }
                Err(e) => return Err(Error::io("inspecting", &cur, e)),
            }
        }
        Ok(cur)
    }

    /// Removes whatever is at `path` (never following a symlink).
    fn clear(&self, path: &Path, keep_dir: bool) -> Result<()> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => {
                if !keep_dir {
                    fs::remove_dir_all(path).map_err(|e| Error::io("removing", path, e))?;
                }
            }
            Ok(_) => fs::remove_file(path).map_err(|e| Error::io("removing", path, e))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("inspecting", path, e)),
        }
        Ok(())
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        let comps = components(&raw).map_err(|r| self.unsafe_entry(&raw, r))?;
        let Some((name, parents)) = comps.split_last() else {
            return Ok(()); // the root itself
        };
        self.stats.entries += 1;
        let header = entry.header().clone();
        let kind = header.entry_type();
        let name_str = name.to_string_lossy();

        if name_str == OPAQUE_MARKER {
            let dir = self.parent_dir(&raw, parents, true)?;
            set_xattr(&dir, "trusted.overlay.opaque", b"y")
                .map_err(|e| Error::io("marking opaque", &dir, e))?;
            self.stats.whiteouts += 1;
            return Ok(());
        }
        if let Some(hidden) = name_str.strip_prefix(WHITEOUT_PREFIX) {
            if hidden.starts_with(WHITEOUT_PREFIX) {
                return Ok(()); // other AUFS metadata (.wh..wh.plnk etc.): not for overlay
            }
            if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(self.unsafe_entry(&raw, "is a whiteout without a valid name"));
            }
            let dir = self.parent_dir(&raw, parents, true)?;
            let path = dir.join(hidden);
            self.clear(&path, false)?;
            nix::sys::stat::mknod(
                &path,
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::empty(),
                nix::sys::stat::makedev(0, 0),
            )
            .map_err(|e| Error::io("creating whiteout", &path, e.into()))?;
            self.stats.whiteouts += 1;
            return Ok(());
        }

        let dir = self.parent_dir(&raw, parents, true)?;
        let path = dir.join(name);
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let mtime = header.mtime().unwrap_or(0);
        let xattrs = pax_xattrs(entry);

        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                self.clear(&path, false)?;
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&path)
                    .map_err(|e| Error::io("creating", &path, e))?;
                io::copy(entry, &mut file).map_err(|e| Error::io("writing", &path, e))?;
                self.chown(&path, uid, gid)?;
                file.set_permissions(fs::Permissions::from_mode(mode))
                    .map_err(|e| Error::io("chmod", &path, e))?;
                let t = SystemTime::UNIX_EPOCH + Duration::from_secs(mtime);
                let _ = file.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t));
            }
            tar::EntryType::Directory => {
                self.clear(&path, true)?;
                if !path.is_dir() {
                    fs::create_dir(&path).map_err(|e| Error::io("creating directory", &path, e))?;
                }
                self.chown(&path, uid, gid)?;
                fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                    .map_err(|e| Error::io("chmod", &path, e))?;
                self.dir_times.push((path.clone(), mtime));
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| self.unsafe_entry(&raw, "is a symlink without target"))?
                    .into_owned();
                self.clear(&path, false)?;
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path)
                    .map_err(|e| Error::io("creating symlink", &path, e))?;
                self.chown(&path, uid, gid)?;
                set_mtime_nofollow(&path, mtime);
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| self.unsafe_entry(&raw, "is a hard link without target"))?
                    .into_owned();
                let tcomps = components(&target)
                    .map_err(|r| self.unsafe_entry(&raw, format!("links to a target that {r}")))?;
                let Some((tname, tparents)) = tcomps.split_last() else {
                    return Err(self.unsafe_entry(&raw, "links to the layer root"));
                };
                let tdir = self.parent_dir(&raw, tparents, false)?;
                let tpath = tdir.join(tname);
                match fs::symlink_metadata(&tpath) {
                    Ok(m) if m.is_dir() => {
                        return Err(self.unsafe_entry(&raw, "is a hard link to a directory"));
                    }
                    Ok(_) => {}
                    Err(_) => {
                        return Err(self.unsafe_entry(
                            &raw,
                            "is a hard link to a file that is not earlier in this layer",
                        ));
                    }
                }
                if tpath == path {
                    return Ok(());
                }
                self.clear(&path, false)?;
                // linkat without AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
                fs::hard_link(&tpath, &path)
                    .map_err(|e| Error::io("creating hard link", &path, e))?;
                return Ok(()); // shares the target's metadata
            }
            tar::EntryType::Fifo => {
                self.clear(&path, false)?;
                nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
                    .map_err(|e| Error::io("creating fifo", &path, e.into()))?;
                self.chown(&path, uid, gid)?;
                fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                    .map_err(|e| Error::io("chmod", &path, e))?;
                set_mtime_nofollow(&path, mtime);
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                tracing::debug!(layer = %self.layer, entry = %String::from_utf8_lossy(&raw), "skipping device node");
                self.stats.skipped_devices += 1;
                return Ok(());
            }
            tar::EntryType::GNUSparse => {
                return Err(Error::Unsupported(format!(
                    "sparse file {} in layer {}",
                    String::from_utf8_lossy(&raw),
                    self.layer
                )));
            }
            _ => return Ok(()), // extension headers the tar crate did not consume
        }
        for (key, value) in xattrs {
            if key.starts_with("trusted.overlay.") {
                continue;
            }
            if let Err(e) = set_xattr(&path, &key, &value) {
                tracing::debug!(path = %path.display(), xattr = %key, error = %e, "xattr not kept");
            }
        }
        Ok(())
    }

    fn chown(&self, path: &Path, uid: u64, gid: u64) -> Result<()> {
        let (Ok(uid), Ok(gid)) = (u32::try_from(uid), u32::try_from(gid)) else {
            return Err(self.unsafe_entry(path.as_os_str().as_bytes(), "has an out-of-range owner"));
        };
        match std::os::unix::fs::lchown(path, Some(uid), Some(gid)) {
            Ok(()) => Ok(()),
            Err(e) if !self.is_root && e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
            Err(e) => Err(Error::io("chown", path, e)),
        }
    }
}

fn pax_xattrs<R: Read>(entry: &mut tar::Entry<'_, R>) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(Some(exts)) = entry.pax_extensions() {
        for ext in exts.flatten() {
            if let Ok(key) = ext.key() {
                if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                    out.push((name.to_string(), ext.value_bytes().to_vec()));
                }
            }
        }
    }
    out
}

/// lsetxattr: never follows a symlink.
pub(crate) fn set_xattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let p = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let n = CString::new(name).map_err(io::Error::other)?;
    // SAFETY: both strings are NUL-terminated and live across the call; value is a valid slice.
    let rc = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// lgetxattr of a small value (tests and checks).
pub fn get_xattr(path: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    let p = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let n = CString::new(name).map_err(io::Error::other)?;
    let mut buf = vec![0u8; 256];
    // SAFETY: buffer pointer and length describe a live allocation; strings are NUL-terminated.
    let rc = unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::ENODATA) {
            Ok(None)
        } else {
            Err(e)
        };
    }
    buf.truncate(rc as usize);
    Ok(Some(buf))
}

fn set_mtime_nofollow(path: &Path, mtime: u64) {
    let t = nix::sys::time::TimeSpec::new(i64::try_from(mtime).unwrap_or(0), 0);
    let _ = nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    );
}

#[cfg(test)]
mod tests;
