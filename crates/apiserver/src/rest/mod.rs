//! The one generic REST handler: every kind in the registry is served by this code.
//!
//! Verbs live one per file (read, watch, write, delete); kind-specific behaviour comes only
//! from `skiff_api` hooks (defaulting, strategy, validation, tables, field selectors).

mod delete;
mod eviction;
mod read;
mod watch;
mod write;

pub use delete::finalized as delete_finalized;
pub use watch::WatchStream;
pub use write::MAX_BODY;

use std::sync::Arc;

use serde_json::{Value, json};
use skiff_api::Resource;
use skiff_store::{KeyValue, Store};

use crate::alloc::ServiceAllocator;
use crate::request::{Query, ResourceRequest};
use crate::status::{ApiError, ApiResult};

/// Shared state of the API server.
pub struct Api {
    pub store: Arc<dyn Store>,
    pub services: ServiceAllocator,
}

/// What a handler answers: a JSON object with a code, or a watch stream.
pub enum Reply {
    Object(u16, Value),
    Watch(WatchStream),
}

/// Everything a verb needs to know about the request besides its body.
pub struct Ctx<'a> {
    pub req: &'a ResourceRequest,
    pub query: &'a Query,
    /// Accept header: `as=Table` asks for Table conversion.
    pub accept: &'a str,
    pub content_type: &'a str,
    /// Field manager for managedFields: the fieldManager parameter or the user agent's name.
    pub manager: String,
}

impl Ctx<'_> {
    pub fn res(&self) -> &'static Resource {
        self.req.res
    }
    pub fn namespace(&self) -> Option<&str> {
        if self.req.res.namespaced {
            self.req.namespace.as_deref()
        } else {
            None
        }
    }
    /// The meta.k8s.io version of Table the client asked for, if any.
    pub fn table_version(&self) -> Option<&'static str> {
        for part in self.accept.split(',') {
            if part.contains("as=Table") {
                return Some(if part.contains("v=v1beta1") {
                    "meta.k8s.io/v1beta1"
                } else {
                    "meta.k8s.io/v1"
                });
            }
            if part.trim().starts_with("application/json") && !part.contains("as=") {
                return None;
            }
        }
        None
    }
}

/// Dispatch a resource request to its verb.
pub async fn handle(
    api: &Api,
    ctx: &Ctx<'_>,
    method: &http::Method,
    body: &[u8],
) -> ApiResult<Reply> {
    use http::Method;
    let req = ctx.req;
    if req.res.namespaced && req.namespace.is_none() && req.name.is_some() {
        return Err(ApiError::not_found_path());
    }
    match (req.name.as_deref(), req.subresource.as_deref(), method) {
        (None, None, &Method::GET) if ctx.query.flag("watch") => {
            watch::watch(api, ctx).await.map(Reply::Watch)
        }
        (None, None, &Method::GET) => read::list(api, ctx).await,
        (None, None, &Method::POST) => write::create(api, ctx, body).await,
        (None, None, &Method::DELETE) => delete::delete_collection(api, ctx, body).await,
        (Some(name), None, &Method::GET) => read::get(api, ctx, name).await,
        (Some(name), None | Some("status"), &Method::PUT) => {
            write::update(api, ctx, name, body).await
        }
        (Some(name), None | Some("status"), &Method::PATCH) => {
            write::patch(api, ctx, name, body).await
        }
        (Some(name), None, &Method::DELETE) => delete::delete(api, ctx, name, body).await,
        (Some(name), Some("status"), &Method::GET) if req.res.has_status => {
            read::get(api, ctx, name).await
        }
        (Some(name), Some("scale"), m) if req.res.has_scale => {
            write::scale(api, ctx, name, m, body).await
        }
        (Some(name), Some("binding"), &Method::POST) if req.res.kind == "Pod" => {
            write::bind(api, ctx, name, body).await
        }
        (Some(name), Some("eviction"), &Method::POST) if req.res.kind == "Pod" => {
            eviction::evict(api, ctx, name, body).await
        }
        (Some(name), Some("finalize"), &Method::PUT) if req.res.kind == "Namespace" => {
            write::update(api, ctx, name, body).await
        }
        (_, Some(_), _) => Err(ApiError::not_found_path()),
        (_, _, m) => Err(ApiError::method_not_allowed(m.as_str())),
    }
}

/// Decode a stored value into the API form, with `resourceVersion` set from the store.
pub fn decode(res: &Resource, kv: &KeyValue) -> ApiResult<Value> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object {} is not JSON: {e}", kv.key)))?;
    set_resource_version(&mut obj, kv.mod_revision);
    Ok(skiff_api::registry::convert_from_storage(res, obj))
}

/// Encode an object for the store (in its storage version, without resourceVersion).
pub fn encode(res: &Resource, obj: &Value) -> Vec<u8> {
    let mut stored = skiff_api::registry::convert_for_storage(res, obj.clone());
    if let Some(meta) = stored.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    serde_json::to_vec(&stored).unwrap_or_default()
}

pub fn set_resource_version(obj: &mut Value, rev: i64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), json!(rev.to_string()));
    }
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// The answer for one object: the object itself, or a one-row Table when asked.
pub fn object_reply(ctx: &Ctx<'_>, code: u16, obj: Value) -> Reply {
    match ctx.table_version() {
        Some(v) => {
            let table = skiff_api::table::to_table(
                ctx.res(),
                &[obj],
                include_object(ctx),
                v,
                json!({}),
                chrono::Utc::now(),
            );
            Reply::Object(code, table)
        }
        None => Reply::Object(code, obj),
    }
}

pub fn include_object<'a>(ctx: &'a Ctx<'_>) -> &'a str {
    ctx.query.get("includeObject").unwrap_or("Metadata")
}

/// Current UTC time as upstream formats metadata times (seconds precision).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
