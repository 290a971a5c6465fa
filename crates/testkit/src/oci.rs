//! Test images built without Docker: OCI layouts with busybox, multi-layer images,
//! gzip/zstd/uncompressed layers, pushing with skopeo, docker-save and OCI archives.
//!
//! Layers are deterministic (fixed mtimes and owners), so the same layer built twice has
//! the same digest: images built from [`busybox_layer`] share it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest as _, Sha256};

/// Where the static busybox comes from (Debian's busybox-static).
pub const BUSYBOX: &str = "/bin/busybox";
/// Applets linked in `/bin` of [`busybox_image`].
pub const APPLETS: &[&str] = &[
    "sh",
    "ash",
    "echo",
    "cat",
    "ls",
    "sleep",
    "wget",
    "tar",
    "httpd",
    "nc",
    "true",
    "false",
    "env",
    "id",
    "ps",
    "mkdir",
    "yes",
    "head",
    "tail",
    "dd",
    "grep",
    "sed",
    "awk",
    "cp",
    "mv",
    "rm",
    "touch",
    "chmod",
    "chown",
    "ln",
    "pwd",
    "hostname",
    "whoami",
    "date",
    "test",
    "[",
    "kill",
    "wc",
    "sort",
    "uname",
    "printf",
    "stat",
    "find",
    "xargs",
    "tee",
    "ip",
    "ping",
    "nslookup",
    "vi",
    "mount",
    "umount",
    "df",
    "du",
    "seq",
    "basename",
    "dirname",
    "readlink",
    "which",
    "timeout",
    "base64",
    "md5sum",
    "sha256sum",
    "tr",
    "cut",
    "uniq",
    "expr",
    "sync",
    "free",
    "top",
    "netstat",
    "ifconfig",
    "route",
    "telnet",
    "ln",
];
/// PATH in the images' config.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
pub(crate) const MTIME: u64 = 1_700_000_000;

/// Layer compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// A built layer blob.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The blob as stored (compressed).
    pub bytes: Vec<u8>,
    /// `sha256:` of `bytes`.
    pub digest: String,
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    pub media_type: String,
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Builds a layer tarball entry by entry.
pub struct LayerBuilder {
    tar: tar::Builder<Vec<u8>>,
}

impl Default for LayerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerBuilder {
    pub fn new() -> Self {
        let mut tar = tar::Builder::new(Vec::new());
        tar.mode(tar::HeaderMode::Deterministic);
        LayerBuilder { tar }
    }

    fn header(kind: tar::EntryType, mode: u32, uid: u64, gid: u64, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(MTIME);
        h.set_size(size);
        h
    }

    /// A directory (root-owned).
    pub fn dir(&mut self, path: &str, mode: u32) -> anyhow::Result<&mut Self> {
        self.dir_owned(path, mode, 0, 0)
    }

    pub fn dir_owned(
        &mut self,
        path: &str,
        mode: u32,
        uid: u64,
        gid: u64,
    ) -> anyhow::Result<&mut Self> {
        let mut h = Self::header(tar::EntryType::Directory, mode, uid, gid, 0);
        self.tar
            .append_data(
                &mut h,
                format!("{}/", path.trim_end_matches('/')),
                std::io::empty(),
            )
            .with_context(|| format!("layer entry {path}"))?;
        Ok(self)
    }

    /// A regular file (root-owned).
    pub fn file(&mut self, path: &str, data: &[u8], mode: u32) -> anyhow::Result<&mut Self> {
        self.file_owned(path, data, mode, 0, 0)
    }

    pub fn file_owned(
        &mut self,
        path: &str,
        data: &[u8],
        mode: u32,
        uid: u64,
        gid: u64,
    ) -> anyhow::Result<&mut Self> {
        let mut h = Self::header(tar::EntryType::Regular, mode, uid, gid, data.len() as u64);
        self.tar
            .append_data(&mut h, path, data)
            .with_context(|| format!("layer entry {path}"))?;
        Ok(self)
    }

    /// A symlink `path -> target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> anyhow::Result<&mut Self> {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0, 0, 0);
        self.tar
            .append_link(&mut h, path, target)
            .with_context(|| format!("layer entry {path}"))?;
        Ok(self)
    }

    /// A hard link `path` to the earlier entry `target`.
    pub fn hardlink(&mut self, path: &str, target: &str) -> anyhow::Result<&mut Self> {
        let mut h = Self::header(tar::EntryType::Link, 0o644, 0, 0, 0);
        self.tar
            .append_link(&mut h, path, target)
            .with_context(|| format!("layer entry {path}"))?;
        Ok(self)
    }

    /// Deletes `path` of lower layers (`dir/.wh.name`).
    pub fn whiteout(&mut self, path: &str) -> anyhow::Result<&mut Self> {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let wh = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        self.file(&wh, b"", 0o644)
    }

    /// Hides everything lower layers have in `dir` (`dir/.wh..wh..opq`).
    pub fn opaque(&mut self, dir: &str) -> anyhow::Result<&mut Self> {
        self.file(
            &format!("{}/.wh..wh..opq", dir.trim_end_matches('/')),
            b"",
            0o644,
        )
    }

    /// An entry with an unchecked name and link name (for malicious layers: `../x`, `/abs`).
    pub fn raw(
        &mut self,
        kind: tar::EntryType,
        name: &str,
        link: Option<&str>,
        data: &[u8],
    ) -> anyhow::Result<&mut Self> {
        if name.len() > 99 || link.is_some_and(|l| l.len() > 99) {
            bail!("raw entry names must be shorter than 100 bytes");
        }
        let mut h = Self::header(kind, 0o644, 0, 0, data.len() as u64);
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            old.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_cksum();
        self.tar.append(&h, data)?;
        Ok(self)
    }

    /// Finishes the tar and compresses it.
    pub fn build(self, compression: Compression) -> anyhow::Result<Layer> {
        let tar = self.tar.into_inner().context("finishing layer tar")?;
        layer_from_tar(tar, compression)
    }
}

/// Compresses an uncompressed layer tar.
pub fn layer_from_tar(tar: Vec<u8>, compression: Compression) -> anyhow::Result<Layer> {
    let diff_id = sha256(&tar);
    let bytes = match compression {
        Compression::None => tar,
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&tar)?;
            e.finish()?
        }
        Compression::Zstd => zstd::stream::encode_all(&tar[..], 3)?,
    };
    Ok(Layer {
        digest: sha256(&bytes),
        diff_id,
        bytes,
        media_type: compression.media_type().to_string(),
    })
}

/// What the image config says about running it.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub user: String,
    pub working_dir: String,
}

impl Default for ImageSpec {
    fn default() -> Self {
        ImageSpec {
            env: vec![DEFAULT_PATH.to_string()],
            entrypoint: Vec::new(),
            cmd: vec!["sh".to_string()],
            user: String::new(),
            working_dir: String::new(),
        }
    }
}

/// An image written as an OCI layout directory.
#[derive(Debug, Clone)]
pub struct OciImage {
    /// The layout directory (oci-layout, index.json, blobs/).
    pub dir: PathBuf,
    /// The tag in index.json (`org.opencontainers.image.ref.name`).
    pub tag: String,
    pub manifest_digest: String,
    pub config_digest: String,
    /// Layers, lowest first: (digest, diff_id, media type).
    pub layers: Vec<(String, String, String)>,
}

pub(crate) fn write_blob(dir: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    let digest = sha256(bytes);
    let path = dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(digest)
}

pub(crate) fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Writes an OCI layout at `dir` holding one image of `layers` tagged `tag`.
pub fn write_image(
    dir: &Path,
    tag: &str,
    layers: &[Layer],
    spec: &ImageSpec,
) -> anyhow::Result<OciImage> {
    std::fs::create_dir_all(dir.join("blobs/sha256"))?;
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut config = serde_json::json!({
        "created": "2023-11-14T22:13:20Z",
        "architecture": host_arch(),
        "os": "linux",
        "config": {"Env": spec.env, "Cmd": spec.cmd},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
        "history": layers.iter().map(|_| serde_json::json!({"created_by": "skiff-testkit"})).collect::<Vec<_>>(),
    });
    if !spec.entrypoint.is_empty() {
        config["config"]["Entrypoint"] = serde_json::json!(spec.entrypoint);
    }
    if !spec.user.is_empty() {
        config["config"]["User"] = serde_json::json!(spec.user);
    }
    if !spec.working_dir.is_empty() {
        config["config"]["WorkingDir"] = serde_json::json!(spec.working_dir);
    }
    let config_bytes = serde_json::to_vec(&config)?;
    let config_digest = write_blob(dir, &config_bytes)?;
    for l in layers {
        write_blob(dir, &l.bytes)?;
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_bytes.len()},
        "layers": layers.iter().map(|l| serde_json::json!({"mediaType": l.media_type, "digest": l.digest, "size": l.bytes.len()})).collect::<Vec<_>>(),
    });
    let manifest_bytes = serde_json::to_vec(&manifest)?;
    let manifest_digest = write_blob(dir, &manifest_bytes)?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)?;
    Ok(OciImage {
        dir: dir.to_path_buf(),
        tag: tag.to_string(),
        manifest_digest,
        config_digest,
        layers: layers
            .iter()
            .map(|l| (l.digest.clone(), l.diff_id.clone(), l.media_type.clone()))
            .collect(),
    })
}

mod images;
mod push;

pub use images::*;
pub use push::*;
