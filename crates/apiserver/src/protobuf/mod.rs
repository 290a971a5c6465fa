//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) decoded to JSON.
//!
//! A body is the magic `k8s\0` followed by a `runtime.Unknown` envelope
//! `{typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3, contentType=4}` whose `raw`
//! is the object's message. The generated [`table`] gives every message's fields (tag, JSON
//! name, wire kind, Go pointer/omitempty/inline); [`walk`] turns the wire into the JSON Go's
//! encoding/json would write for the same object.

#[rustfmt::skip]
pub mod table;
pub mod walk;
pub mod wire;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use crate::status::{ApiError, ApiResult};

/// The content type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

/// Why a protobuf body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    #[error(
        "provided object is not a Kubernetes protobuf object: the body lacks the \"k8s\\x00\" prefix"
    )]
    MissingMagic,
    #[error("unexpected end of the protobuf data")]
    Truncated,
    #[error("malformed protobuf: {0}")]
    Malformed(String),
    #[error("field {field:?}: {why}")]
    Field { field: String, why: String },
    #[error("no kind {kind:?} is registered for version {api_version:?}")]
    UnknownKind { api_version: String, kind: String },
    #[error("no protobuf layout for message {0}")]
    UnknownMessage(String),
    #[error("unsupported content encoding {0:?} in the protobuf envelope")]
    Encoding(String),
    #[error("objects nested deeper than {0} levels")]
    TooDeep(usize),
}

impl ProtobufError {
    /// True when the body is well formed but names a kind with no protobuf form here
    /// (upstream answers 415 for those, e.g. custom resources).
    pub fn is_unknown_kind(&self) -> bool {
        matches!(self, Self::UnknownKind { .. })
    }
}

/// The envelope of a protobuf body.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_type: String,
}

fn envelope(body: &[u8]) -> Result<Envelope<'_>, ProtobufError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or(ProtobufError::MissingMagic)?;
    let mut env = Envelope {
        api_version: String::new(),
        kind: String::new(),
        raw: &[],
        content_type: String::new(),
    };
    let text = |v: wire::Value<'_>, what: &str| match v {
        wire::Value::Bytes(b) => String::from_utf8(b.to_vec()).map_err(|_| ProtobufError::Field {
            field: what.into(),
            why: "invalid UTF-8".into(),
        }),
        _ => Err(ProtobufError::Malformed(format!(
            "envelope {what} has the wrong wire type"
        ))),
    };
    for (tag, v) in wire::fields(rest)? {
        match (tag, v) {
            (1, wire::Value::Bytes(tm)) => {
                for (t, v) in wire::fields(tm)? {
                    match t {
                        1 => env.api_version = text(v, "apiVersion")?,
                        2 => env.kind = text(v, "kind")?,
                        _ => {}
                    }
                }
            }
            (2, wire::Value::Bytes(raw)) => env.raw = raw,
            (3, v) => {
                let enc = text(v, "contentEncoding")?;
                if !enc.is_empty() {
                    return Err(ProtobufError::Encoding(enc));
                }
            }
            (4, v) => env.content_type = text(v, "contentType")?,
            (1 | 2, _) => {
                return Err(ProtobufError::Malformed(format!(
                    "envelope field {tag} has the wrong wire type"
                )));
            }
            _ => {}
        }
    }
    Ok(env)
}

/// Kinds of meta/v1 that every group version accepts.
const META_KINDS: &[&str] = &[
    "DeleteOptions",
    "CreateOptions",
    "UpdateOptions",
    "PatchOptions",
    "GetOptions",
    "ListOptions",
    "Status",
];

/// The message (full table name) of `kind` in `api_version`.
pub fn message_for(api_version: &str, kind: &str) -> Option<&'static str> {
    let module = table::GROUPS
        .binary_search_by(|(gv, _)| (*gv).cmp(api_version))
        .ok()
        .and_then(|i| table::GROUPS.get(i))
        .map(|(_, m)| *m);
    if let Some(m) = module.and_then(|m| walk::find(&format!("{m}/{kind}"))) {
        return Some(m.name);
    }
    let is_meta = api_version == "meta.k8s.io/v1" || module.is_some() || api_version.is_empty();
    if is_meta && META_KINDS.contains(&kind) {
        return walk::find(&format!("apimachinery/pkg/apis/meta/v1/{kind}")).map(|m| m.name);
    }
    None
}

/// Decode a Kubernetes protobuf body (the "k8s\0" magic + runtime.Unknown envelope
/// {typeMeta{apiVersion,kind}, raw, contentEncoding, contentType}) into the object's JSON
/// form, exactly as the JSON the same object would have (field names, omitted empty/nil
/// fields, base64 for bytes, RFC3339 for Time, "2006-01-02T15:04:05.000000Z" for MicroTime,
/// Quantity strings, IntOrString as int or string, Duration strings, RawExtension as
/// embedded JSON).
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let env = envelope(body)?;
    let fields = if env.content_type.is_empty() || env.content_type == CONTENT_TYPE {
        let name =
            message_for(&env.api_version, &env.kind).ok_or_else(|| ProtobufError::UnknownKind {
                api_version: env.api_version.clone(),
                kind: env.kind.clone(),
            })?;
        walk::message(name, env.raw, 0)?
    } else if env.content_type == "application/json" {
        serde_json::from_slice(env.raw).map_err(|e| ProtobufError::Field {
            field: "raw".into(),
            why: format!("invalid JSON: {e}"),
        })?
    } else {
        return Err(ProtobufError::Malformed(format!(
            "unsupported content type {:?} in the envelope",
            env.content_type
        )));
    };
    let Value::Object(fields) = fields else {
        return Err(ProtobufError::Malformed(
            "the object is not a message".into(),
        ));
    };
    let mut out = Map::new();
    if !env.api_version.is_empty() {
        out.insert("apiVersion".into(), Value::String(env.api_version));
    }
    if !env.kind.is_empty() {
        out.insert("kind".into(), Value::String(env.kind));
    }
    for (k, v) in fields {
        if !out.contains_key(&k) {
            out.insert(k, v);
        }
    }
    Ok(Value::Object(out))
}

/// [`decode`] for a request: malformed input is a 400 BadRequest, a kind without a protobuf
/// form (e.g. a custom resource) the 415 upstream gives for an unsupported body.
pub fn request_body(body: &[u8]) -> ApiResult<Value> {
    decode(body).map_err(|e| {
        if e.is_unknown_kind() {
            ApiError::unsupported_media(CONTENT_TYPE)
        } else {
            ApiError::bad_request(format!("unable to decode the protobuf request body: {e}"))
        }
    })
}
