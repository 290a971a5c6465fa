//! OpenAPI v2 (JSON and protobuf) and v3 documents generated from the registry and k8s-openapi schemas.
//!
//! Everything is generated once, lazily, on first use ([`warm_up`] starts that on a background
//! thread at server start, which therefore costs nothing). For the ~40 served kinds,
//! generation (schemas, v2 JSON and protobuf, every v3 document: ~1.6 MB + 1.3 MB + 2.7 MB)
//! measured 1.3 s in a debug build on a loaded 2-core machine; optimized builds are several
//! times faster. The `dump_documents` test prints the time.

mod kinds;
mod operation;
mod params;
mod patch_meta;
mod paths;
pub mod proto;
mod schemas;
mod to_proto;
mod v2;
mod v3;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use prost::Message;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};
use skiff_api::Resource;

/// `info.version` of the documents (the Kubernetes release whose API we follow).
pub const INFO_VERSION: &str = "v1.33.0";

/// Accept value client-go sends for the protobuf v2 document.
pub const V2_PROTOBUF_ACCEPT: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// Content-Type upstream answers the protobuf v2 document with.
pub const V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Errors while building the documents.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    #[error("unexpected OpenAPI document shape: {0}")]
    Shape(String),
    #[error("encoding an OpenAPI document: {0}")]
    Json(#[from] serde_json::Error),
}

/// Every generated document, serialized.
#[derive(Debug, Default)]
pub struct Documents {
    v2_json: Vec<u8>,
    v2_protobuf: Vec<u8>,
    /// "api/v1" / "apis/apps/v1" → (JSON, upper-case hex sha512 of it).
    v3: BTreeMap<String, (Vec<u8>, String)>,
}

impl Documents {
    /// Builds the documents for `resources`.
    pub fn build(resources: &[Resource]) -> Result<Documents, OpenApiError> {
        let mut wanted: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
        for r in resources {
            wanted.insert((r.group, r.version, r.kind));
            for sub in crate::discovery::subresources(r) {
                if let Some(gvk) = sub.kind {
                    wanted.insert(gvk);
                }
            }
        }
        let mut defs = schemas::build(|g, v, k| wanted.contains(&(g, v, k)));
        for r in resources {
            defs.ensure_kind(r.group, r.version, r.kind);
        }
        let mut all_paths = Vec::new();
        let mut v3 = BTreeMap::new();
        for (group, versions) in crate::discovery::groups_of(resources) {
            for version in versions {
                let mut gv_paths = vec![paths::resources_path(group, version)];
                for r in resources
                    .iter()
                    .filter(|r| r.group == group && r.version == version)
                {
                    gv_paths.extend(paths::resource_paths(r, &defs));
                }
                let doc = v3::document(&gv_paths, &defs, INFO_VERSION);
                let bytes = serde_json::to_vec(&doc)?;
                let hash = hex::encode_upper(Sha512::digest(&bytes));
                let key = paths::prefix(group, version)
                    .trim_start_matches('/')
                    .to_string();
                v3.insert(key, (bytes, hash));
                all_paths.extend(gv_paths);
            }
        }
        let v2_doc = v2::document(&all_paths, &defs, INFO_VERSION);
        let v2_protobuf = to_proto::document(&v2_doc)?.encode_to_vec();
        Ok(Documents {
            v2_json: serde_json::to_vec(&v2_doc)?,
            v2_protobuf,
            v3,
        })
    }

    /// `/openapi/v2` as JSON.
    pub fn v2_json(&self) -> &[u8] {
        &self.v2_json
    }

    /// `/openapi/v2` as gnostic protobuf.
    pub fn v2_protobuf(&self) -> &[u8] {
        &self.v2_protobuf
    }

    /// `/openapi/v3`: the index of group/version documents.
    pub fn v3_root(&self) -> Value {
        let mut paths = Map::new();
        for (key, (_, hash)) in &self.v3 {
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
            );
        }
        json!({"paths": paths})
    }

    /// `/openapi/v3/<path>` ("api/v1", "apis/apps/v1"; a leading '/' is ignored).
    pub fn v3_document(&self, path: &str) -> Option<&[u8]> {
        self.v3
            .get(path.trim_start_matches('/'))
            .map(|(bytes, _)| bytes.as_slice())
    }

    /// The hash in [`Documents::v3_root`]'s URL for `path`; clients that send it may cache the
    /// answer forever (upstream then answers with `Cache-Control: public, immutable`).
    pub fn v3_hash(&self, path: &str) -> Option<&str> {
        self.v3
            .get(path.trim_start_matches('/'))
            .map(|(_, hash)| hash.as_str())
    }
}

/// The documents for the process-wide registry, built on first use.
pub fn documents() -> &'static Documents {
    static DOCS: OnceLock<Documents> = OnceLock::new();
    DOCS.get_or_init(|| {
        let started = std::time::Instant::now();
        match Documents::build(skiff_api::registry().all()) {
            Ok(docs) => {
                tracing::debug!(elapsed = ?started.elapsed(), "built OpenAPI documents");
                docs
            }
            Err(e) => {
                tracing::error!("building OpenAPI documents: {e}");
                Documents::default()
            }
        }
    })
}

/// Starts building the documents on a background thread, so the first client does not wait.
pub fn warm_up() {
    let spawned = std::thread::Builder::new()
        .name("openapi-build".into())
        .spawn(|| {
            documents();
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the OpenAPI build thread: {e}");
    }
}

/// `GET /openapi/v2` as JSON.
pub fn v2_json() -> &'static [u8] {
    documents().v2_json()
}

/// `GET /openapi/v2` as protobuf (when Accept names [`V2_PROTOBUF_ACCEPT`]).
pub fn v2_protobuf() -> &'static [u8] {
    documents().v2_protobuf()
}

/// Whether an Accept header asks for the protobuf v2 document.
pub fn wants_v2_protobuf(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let essence = range.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case(V2_PROTOBUF_ACCEPT)
            || essence.eq_ignore_ascii_case(V2_PROTOBUF_CONTENT_TYPE)
    })
}

/// `GET /openapi/v3`.
pub fn v3_root() -> Value {
    documents().v3_root()
}

/// `GET /openapi/v3/<path>` as JSON, e.g. `v3_document("apis/apps/v1")`.
pub fn v3_document(path: &str) -> Option<&'static [u8]> {
    documents().v3_document(path)
}
