//! The stock test images: busybox, multi-layer, multi-platform.

use std::path::Path;

use anyhow::Context;

use super::*;

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

/// An image index (tag `latest`) with busybox for this machine's architecture (linux) and a
/// tiny image for another architecture; `manifest_digest` is the index's digest and
/// `config_digest`/`layers` describe the busybox entry. Push it with [`push_native`]
/// (skopeo 1.9 replaces the index by the one platform's manifest).
pub fn multi_platform_image(dir: &Path) -> anyhow::Result<OciImage> {
    let native = write_image(
        dir,
        "native",
        &[busybox_layer(Compression::Gzip)?],
        &ImageSpec::default(),
    )?;
    let mut other_layer = LayerBuilder::new();
    other_layer.file("WRONG-PLATFORM", b"this is not for this machine\n", 0o644)?;
    let other_layer = other_layer.build(Compression::Gzip)?;
    let other_arch = if host_arch() == "arm64" {
        "amd64"
    } else {
        "arm64"
    };
    let other_config = serde_json::to_vec(&serde_json::json!({
        "architecture": other_arch, "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [other_layer.diff_id]},
    }))?;
    let other_config_digest = write_blob(dir, &other_config)?;
    write_blob(dir, &other_layer.bytes)?;
    let other_manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": other_config_digest, "size": other_config.len()},
        "layers": [{"mediaType": other_layer.media_type, "digest": other_layer.digest, "size": other_layer.bytes.len()}],
    }))?;
    let other_manifest_digest = write_blob(dir, &other_manifest)?;
    let native_size = std::fs::metadata(
        dir.join("blobs/sha256")
            .join(native.manifest_digest.trim_start_matches("sha256:")),
    )?
    .len();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": other_manifest_digest,
             "size": other_manifest.len(), "platform": {"architecture": other_arch, "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": native.manifest_digest,
             "size": native_size, "platform": {"architecture": host_arch(), "os": "linux"}},
        ],
    }))?;
    let index_digest = write_blob(dir, &index)?;
    let top = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": index_digest,
            "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": "latest"},
        }],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&top)?)?;
    Ok(OciImage {
        tag: "latest".to_string(),
        manifest_digest: index_digest,
        ..native
    })
}
