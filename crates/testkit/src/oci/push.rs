//! Getting test images into registries and archives: skopeo, our own push, tarballs.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use super::OciImage;

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

/// Pushes `img` to `registry_addr` (plain HTTP, or HTTPS without verification) as `name_tag`
/// (e.g. `busybox:latest`) with skopeo, keeping digests.
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

/// Pushes `img` with our own Distribution API client (plain HTTP, anonymous): every blob,
/// nested manifests of an index, then the top manifest as `repo:tag`. Unlike skopeo this
/// keeps image indexes as they are.
pub fn push_native(
    img: &OciImage,
    registry_addr: &str,
    repo: &str,
    tag: &str,
) -> anyhow::Result<()> {
    push_manifest(&img.dir, registry_addr, repo, &img.manifest_digest, tag)
}

fn push_manifest(
    dir: &Path,
    addr: &str,
    repo: &str,
    digest: &str,
    reference: &str,
) -> anyhow::Result<()> {
    use crate::registry::http_request;
    let read = |d: &str| {
        let p = dir
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"));
        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
    };
    let bytes = read(digest)?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes)?;
    let media = doc["mediaType"]
        .as_str()
        .unwrap_or("application/vnd.oci.image.manifest.v1+json")
        .to_string();
    if let Some(children) = doc["manifests"].as_array() {
        for c in children {
            let d = c["digest"].as_str().context("index entry without digest")?;
            push_manifest(dir, addr, repo, d, d)?;
        }
    } else {
        let mut blobs = vec![
            doc["config"]["digest"]
                .as_str()
                .context("manifest without config")?
                .to_string(),
        ];
        for l in doc["layers"].as_array().into_iter().flatten() {
            blobs.push(
                l["digest"]
                    .as_str()
                    .context("layer without digest")?
                    .to_string(),
            );
        }
        for b in blobs {
            let head = http_request(addr, "HEAD", &format!("/v2/{repo}/blobs/{b}"), &[], &[])?;
            if head.status == 200 {
                continue;
            }
            let start = http_request(
                addr,
                "POST",
                &format!("/v2/{repo}/blobs/uploads/"),
                &[],
                &[],
            )?;
            if start.status != 202 {
                bail!(
                    "starting upload of {b}: {} {}",
                    start.status,
                    String::from_utf8_lossy(&start.body)
                );
            }
            let loc = start
                .header("location")
                .context("upload without Location")?;
            let loc = loc
                .split_once("://")
                .map_or(loc, |(_, rest)| rest.find('/').map_or(rest, |i| &rest[i..]));
            let sep = if loc.contains('?') { '&' } else { '?' };
            let put = http_request(
                addr,
                "PUT",
                &format!("{loc}{sep}digest={b}"),
                &[("Content-Type", "application/octet-stream")],
                &read(&b)?,
            )?;
            if put.status != 201 {
                bail!(
                    "uploading {b}: {} {}",
                    put.status,
                    String::from_utf8_lossy(&put.body)
                );
            }
        }
    }
    let put = http_request(
        addr,
        "PUT",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Content-Type", &media)],
        &bytes,
    )?;
    if put.status != 201 {
        bail!(
            "pushing manifest {digest}: {} {}",
            put.status,
            String::from_utf8_lossy(&put.body)
        );
    }
    Ok(())
}

/// Pushes `img` converted to Docker v2 schema 2 media types (gzip layers only).
pub fn push_as_docker(img: &OciImage, registry_addr: &str, name_tag: &str) -> anyhow::Result<()> {
    let src = format!("oci:{}:{}", img.dir.display(), img.tag);
    let dst = format!("docker://{registry_addr}/{name_tag}");
    skopeo(&[
        "copy",
        "--quiet",
        "--format",
        "v2s2",
        "--dest-tls-verify=false",
        &src,
        &dst,
    ])
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
