//! Test images built without Docker: OCI layouts with busybox, multi-layer images,
//! gzip/zstd/uncompressed layers, pushing with skopeo, docker-save and OCI archives.
//!
//! Layers are deterministic (fixed mtimes and owners), so the same layer built twice has
//! the same digest: images built from [`busybox_layer`] share it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

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
const MTIME: u64 = 1_700_000_000;

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

fn write_blob(dir: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    let digest = sha256(bytes);
    let path = dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(digest)
}

fn host_arch() -> &'static str {
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

/// The busybox root filesystem layer: /bin/busybox + applet symlinks, /etc/passwd and
/// /etc/group with root, nobody (65534) and app (1000), /tmp, /root, /home/app.
pub fn busybox_layer(compression: Compression) -> anyhow::Result<Layer> {
    let busybox = std::fs::read(BUSYBOX)
        .with_context(|| format!("reading {BUSYBOX} (apt-get install busybox-static)"))?;
    let mut b = LayerBuilder::new();
    b.dir("bin", 0o755)?;
    b.file("bin/busybox", &busybox, 0o755)?;
    let mut seen = std::collections::BTreeSet::new();
    for applet in APPLETS {
        if seen.insert(*applet) {
            b.symlink(&format!("bin/{applet}"), "busybox")?;
        }
    }
    b.dir("dev", 0o755)?;
    b.dir("etc", 0o755)?;
    b.file(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\n\
          app:x:1000:1000:app:/home/app:/bin/sh\n\
          nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        0o644,
    )?;
    b.file(
        "etc/group",
        b"root:x:0:\napp:x:1000:\nnobody:x:65534:\n",
        0o644,
    )?;
    b.file("etc/hosts", b"127.0.0.1 localhost\n", 0o644)?;
    b.dir("home", 0o755)?;
    b.dir_owned("home/app", 0o755, 1000, 1000)?;
    b.dir("proc", 0o555)?;
    b.dir("root", 0o700)?;
    b.dir("sys", 0o555)?;
    b.dir("tmp", 0o1777)?;
    b.dir("usr", 0o755)?;
    b.dir("usr/bin", 0o755)?;
    b.dir("var", 0o755)?;
    b.dir("var/www", 0o755)?;
    b.build(compression)
}

/// A busybox image (gzip layer, Env PATH, Cmd ["sh"]) as an OCI layout in `dir`, tag `latest`.
pub fn busybox_image(dir: &Path) -> anyhow::Result<OciImage> {
    write_image(
        dir,
        "latest",
        &[busybox_layer(Compression::Gzip)?],
        &ImageSpec::default(),
    )
}

/// Four layers on top of each other, tag `latest`:
/// 1. busybox (gzip, the same blob as [`busybox_image`]'s);
/// 2. gzip: `/etc/keep`, `/etc/remove-me`, `/data/a`, `/data/b`, `/data/sub/c`;
/// 3. zstd: whiteout of `/etc/remove-me`, new `/etc/added`;
/// 4. uncompressed: `/data` made opaque, with only `/data/new`.
///
/// Merged: `/etc/keep`, `/etc/added`, no `/etc/remove-me`, and `/data` holding only `new`.
pub fn multi_layer_image(dir: &Path) -> anyhow::Result<OciImage> {
    let base = busybox_layer(Compression::Gzip)?;
    let mut l2 = LayerBuilder::new();
    l2.dir("etc", 0o755)?
        .file("etc/keep", b"keep\n", 0o644)?
        .file("etc/remove-me", b"remove me\n", 0o644)?
        .dir("data", 0o755)?
        .file("data/a", b"a\n", 0o644)?
        .file("data/b", b"b\n", 0o644)?
        .dir("data/sub", 0o755)?
        .file("data/sub/c", b"c\n", 0o644)?;
    let mut l3 = LayerBuilder::new();
    l3.dir("etc", 0o755)?
        .whiteout("etc/remove-me")?
        .file("etc/added", b"added\n", 0o644)?;
    let mut l4 = LayerBuilder::new();
    l4.dir("data", 0o755)?
        .opaque("data")?
        .file("data/new", b"new\n", 0o644)?;
    let layers = [
        base,
        l2.build(Compression::Gzip)?,
        l3.build(Compression::Zstd)?,
        l4.build(Compression::None)?,
    ];
    write_image(dir, "latest", &layers, &ImageSpec::default())
}

fn skopeo(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .output()
        .context("running skopeo (apt-get install skopeo)")?;
    if !out.status.success() {
        bail!(
            "skopeo {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Pushes `img` to `registry_addr` (plain HTTP) as `name_tag` (e.g. `busybox:latest`).
pub fn push(img: &OciImage, registry_addr: &str, name_tag: &str) -> anyhow::Result<()> {
    push_inner(img, registry_addr, name_tag, None)
}

/// Like [`push`] with basic-auth credentials.
pub fn push_with_creds(
    img: &OciImage,
    registry_addr: &str,
    name_tag: &str,
    user: &str,
    pass: &str,
) -> anyhow::Result<()> {
    push_inner(img, registry_addr, name_tag, Some((user, pass)))
}

fn push_inner(
    img: &OciImage,
    registry_addr: &str,
    name_tag: &str,
    creds: Option<(&str, &str)>,
) -> anyhow::Result<()> {
    let src = format!("oci:{}:{}", img.dir.display(), img.tag);
    let dst = format!("docker://{registry_addr}/{name_tag}");
    let creds_arg = creds.map(|(u, p)| format!("{u}:{p}"));
    let mut args = vec![
        "copy",
        "--quiet",
        "--preserve-digests",
        "--dest-tls-verify=false",
    ];
    if let Some(c) = &creds_arg {
        args.push("--dest-creds");
        args.push(c);
    }
    args.push(&src);
    args.push(&dst);
    skopeo(&args)
}

/// Writes a `docker save`-format tarball of `img` at `out`, tagged `reference`
/// (e.g. `busybox:latest`).
pub fn docker_save_tarball(img: &OciImage, out: &Path, reference: &str) -> anyhow::Result<()> {
    let src = format!("oci:{}:{}", img.dir.display(), img.tag);
    let dst = format!("docker-archive:{}:{reference}", out.display());
    skopeo(&["copy", "--quiet", &src, &dst])
}

/// Writes `img`'s OCI layout as a tar archive (`oci-layout`, `index.json`, `blobs/`) at `out`.
pub fn oci_archive(img: &OciImage, out: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut tar = tar::Builder::new(file);
    tar.mode(tar::HeaderMode::Deterministic);
    tar.append_path_with_name(img.dir.join("oci-layout"), "oci-layout")?;
    tar.append_path_with_name(img.dir.join("index.json"), "index.json")?;
    tar.append_dir_all("blobs", img.dir.join("blobs"))?;
    tar.into_inner()?.sync_all()?;
    Ok(())
}
