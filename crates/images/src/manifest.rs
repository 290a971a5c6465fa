//! OCI and Docker schema 2 manifests, indexes and image configs; digest helpers.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::ImageConfig;
use crate::error::{Error, Result};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// The Accept header for manifest requests: all four manifest and index types.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

/// A content descriptor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A platform of an index entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest (OCI or Docker schema 2; same shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// An image index or Docker manifest list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
}

/// What a manifest document turned out to be.
pub enum Parsed {
    Manifest(Manifest),
    Index(Index),
}

/// Parses a manifest document, using `content_type` (from HTTP) or the document's own
/// `mediaType`, or its shape when neither says.
pub fn parse_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "schemaVersion", default)]
        schema_version: u32,
        #[serde(rename = "mediaType", default)]
        media_type: String,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| Error::format("manifest", e))?;
    if probe.schema_version == 1 {
        return Err(Error::Unsupported(
            "Docker schema 1 manifest: re-push the image with a current client".into(),
        ));
    }
    let declared = if probe.media_type.is_empty() {
        content_type
            .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
            .unwrap_or_default()
    } else {
        probe.media_type.clone()
    };
    let is_index = match declared.as_str() {
        OCI_INDEX | DOCKER_LIST => true,
        OCI_MANIFEST | DOCKER_MANIFEST => false,
        _ => probe.manifests.is_some(),
    };
    if is_index {
        serde_json::from_slice(bytes)
            .map(Parsed::Index)
            .map_err(|e| Error::format("image index", e))
    } else {
        serde_json::from_slice(bytes)
            .map(Parsed::Manifest)
            .map_err(|e| Error::format("image manifest", e))
    }
}

/// The architecture name OCI uses for this machine.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// Picks the linux manifest for this machine's architecture from an index.
pub fn choose_platform(index: &Index) -> Result<&Descriptor> {
    let arch = host_arch();
    let candidates: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == arch)
        })
        .collect();
    // Prefer an entry without variant or with the baseline variant.
    if let Some(d) = candidates.iter().find(|d| {
        d.platform
            .as_ref()
            .is_none_or(|p| matches!(p.variant.as_deref(), None | Some("v1") | Some("v8")))
    }) {
        return Ok(d);
    }
    if let Some(d) = candidates.first() {
        return Ok(d);
    }
    // An index without platforms (e.g. an OCI layout with one image) : take its only entry.
    if index.manifests.len() == 1 && index.manifests[0].platform.is_none() {
        return Ok(&index.manifests[0]);
    }
    let available: Vec<String> = index
        .manifests
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .map(|p| match &p.variant {
            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        })
        .collect();
    Err(Error::Unsupported(format!(
        "platform: the image has no linux/{arch} variant (it has: {})",
        if available.is_empty() {
            "none".to_string()
        } else {
            available.join(", ")
        }
    )))
}

/// The image config JSON, only the parts we use.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigFile {
    #[serde(default)]
    pub config: Option<ContainerConfig>,
    #[serde(default)]
    pub rootfs: Option<RootFs>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerConfig {
    #[serde(rename = "Env", default)]
    pub env: Option<Vec<String>>,
    #[serde(rename = "Entrypoint", default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default)]
    pub working_dir: Option<String>,
    #[serde(rename = "User", default)]
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

impl ConfigFile {
    pub fn parse(bytes: &[u8]) -> Result<ConfigFile> {
        serde_json::from_slice(bytes).map_err(|e| Error::format("image config", e))
    }

    pub fn image_config(&self) -> ImageConfig {
        let c = self.config.clone().unwrap_or_default();
        ImageConfig {
            env: c.env.unwrap_or_default(),
            entrypoint: c.entrypoint.unwrap_or_default(),
            cmd: c.cmd.unwrap_or_default(),
            working_dir: c.working_dir.unwrap_or_default(),
            user: c.user.unwrap_or_default(),
        }
    }

    /// The layers' diffIDs, validated.
    pub fn diff_ids(&self) -> Result<Vec<String>> {
        let ids = self
            .rootfs
            .as_ref()
            .map(|r| r.diff_ids.clone())
            .unwrap_or_default();
        for d in &ids {
            validate_digest(d)?;
        }
        Ok(ids)
    }
}

/// Checks a `sha256:<64 lowercase hex>` digest and returns its hex part.
pub fn validate_digest(d: &str) -> Result<&str> {
    match d.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(hex)
        }
        _ => Err(Error::InvalidDigest(d.to_string())),
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Fails with [`Error::DigestMismatch`] unless `bytes` hash to `expected`.
pub fn verify_bytes(expected: &str, bytes: &[u8]) -> Result<()> {
    validate_digest(expected)?;
    let actual = digest_of(bytes);
    if actual != expected {
        return Err(Error::DigestMismatch {
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}

/// A reader that hashes what passes through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Reads the rest of the stream, then returns (`sha256:<hex>`, bytes read).
    pub fn finish(mut self) -> std::io::Result<(String, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok((
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.count,
        ))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Layer compression, sniffed from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn oci_media_type(self) -> &'static str {
        match self {
            Compression::None => OCI_LAYER_TAR,
            Compression::Gzip => OCI_LAYER_GZIP,
            Compression::Zstd => OCI_LAYER_ZSTD,
        }
    }
}

/// Opens `file` decompressed according to its magic bytes.
pub fn decompressed(mut file: std::fs::File) -> std::io::Result<Box<dyn Read + Send>> {
    use std::io::{Seek, SeekFrom};
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        let k = file.read(&mut head[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    file.seek(SeekFrom::Start(0))?;
    let reader = std::io::BufReader::new(file);
    Ok(match Compression::sniff(&head[..n]) {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
        Compression::None => Box::new(reader),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index_and_picks_platform() {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let json = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST,
            "manifests": [
                {"mediaType": DOCKER_MANIFEST, "digest": d('a'), "size": 1,
                 "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
                {"mediaType": DOCKER_MANIFEST, "digest": d('b'), "size": 1,
                 "platform": {"architecture": host_arch(), "os": "linux"}},
            ]
        });
        let bytes = serde_json::to_vec(&json).unwrap();
        let Ok(Parsed::Index(index)) = parse_manifest(&bytes, None) else {
            panic!("expected an index")
        };
        assert_eq!(choose_platform(&index).unwrap().digest, d('b'));
        let only_other = Index {
            schema_version: 2,
            media_type: OCI_INDEX.into(),
            manifests: vec![Descriptor {
                platform: Some(Platform {
                    architecture: "s390x-nope".into(),
                    os: "linux".into(),
                    variant: None,
                }),
                ..index.manifests[0].clone()
            }],
        };
        let err = choose_platform(&only_other).unwrap_err().to_string();
        assert!(err.contains("linux/s390x-nope"), "{err}");
    }

    #[test]
    fn rejects_schema1_and_bad_digests() {
        assert!(matches!(
            parse_manifest(br#"{"schemaVersion":1}"#, None),
            Err(Error::Unsupported(_))
        ));
        assert!(validate_digest("sha256:ABC").is_err());
        assert!(validate_digest(&format!("sha512:{}", "a".repeat(64))).is_err());
        assert!(verify_bytes(&digest_of(b"x"), b"y").is_err());
        verify_bytes(&digest_of(b"x"), b"x").unwrap();
    }

    #[test]
    fn sniffs_compression() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(b"etc/"), Compression::None);
    }
}
