//! delete and deletecollection: preconditions, graceful deletion, finalizers.

use serde_json::{Value, json};

use super::{Api, Ctx, Reply, decode, object_reply};
use crate::status::{ApiError, ApiResult};

/// True when an object marked for deletion has no finalizers left and can go.
pub fn finalized(obj: &Value) -> bool {
    let meta = &obj["metadata"];
    let pending = meta["finalizers"].as_array().is_some_and(|f| !f.is_empty())
        || (obj["kind"] == "Namespace"
            && obj["spec"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty()));
    meta.get("deletionTimestamp").is_some_and(|t| !t.is_null()) && !pending
}

/// DeleteOptions from the body and the query string.
struct Options {
    grace: Option<i64>,
    uid: Option<String>,
    resource_version: Option<String>,
}

fn options(ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<Options> {
    let ct = ctx.content_type.split(';').next().unwrap_or("").trim();
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else if ct == crate::protobuf::CONTENT_TYPE {
        crate::protobuf::request_body(body)?
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    let grace = match ctx.query.get("gracePeriodSeconds") {
        Some(g) => Some(
            g.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds {g:?}")))?,
        ),
        None => body["gracePeriodSeconds"].as_i64(),
    };
    let pre = &body["preconditions"];
    Ok(Options {
        grace,
        uid: pre["uid"].as_str().map(str::to_string),
        resource_version: pre["resourceVersion"].as_str().map(str::to_string),
    })
}

pub async fn delete(api: &Api, ctx: &Ctx<'_>, name: &str, body: &[u8]) -> ApiResult<Reply> {
    let opts = options(ctx, body)?;
    delete_one(api, ctx, name, &opts).await
}

async fn delete_one(api: &Api, ctx: &Ctx<'_>, name: &str, opts: &Options) -> ApiResult<Reply> {
    let res = ctx.res();
    let key = res.key(ctx.namespace(), name);
    for _attempt in 0..8 {
        let kv = api
            .store
            .get(&key)
            .await?
            .ok_or_else(|| ApiError::not_found(res, name))?;
        let mut obj = decode(res, &kv)?;
        if let Some(uid) = &opts.uid
            && obj["metadata"]["uid"].as_str() != Some(uid)
        {
            let why = format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                obj["metadata"]["uid"].as_str().unwrap_or("")
            );
            return Err(ApiError::conflict(res, name, &why));
        }
        if let Some(rv) = &opts.resource_version
            && *rv != kv.mod_revision.to_string()
        {
            let why = format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                kv.mod_revision
            );
            return Err(ApiError::conflict(res, name, &why));
        }
        let deferred = deferral(ctx, &obj, opts);
        if let Some(grace) = deferred {
            if obj["metadata"].get("deletionTimestamp").is_some() && grace.is_none() {
                // Already being deleted: nothing more to do.
                return Ok(object_reply(ctx, 202, obj));
            }
            let meta = &mut obj["metadata"];
            if meta.get("deletionTimestamp").is_none() || grace.is_some() {
                let grace = grace.unwrap_or(0);
                let at = chrono::Utc::now() + chrono::Duration::seconds(grace);
                meta["deletionTimestamp"] =
                    json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                meta["deletionGracePeriodSeconds"] = json!(grace);
            }
            if res.kind == "Namespace" {
                obj["status"]["phase"] = json!("Terminating");
            }
            if ctx.query.dry_run() {
                return Ok(object_reply(ctx, 202, obj));
            }
            match api
                .store
                .update(&key, super::encode(res, &obj), kv.mod_revision)
                .await
            {
                Ok(kv) => {
                    super::set_resource_version(&mut obj, kv.mod_revision);
                    return Ok(object_reply(ctx, 202, obj));
                }
                Err(skiff_store::Error::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if ctx.query.dry_run() {
            return Ok(object_reply(ctx, 200, obj));
        }
        match api.store.delete(&key, Some(kv.mod_revision)).await {
            Ok(_) => return Ok(object_reply(ctx, 200, obj)),
            Err(skiff_store::Error::Conflict { .. }) => continue,
            Err(skiff_store::Error::NotFound(_)) => return Err(ApiError::not_found(res, name)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::modified(res, name))
}

/// Whether deletion waits (finalizers, a namespace's content, a running pod's grace period).
/// `Some(grace)` defers: `grace` is the new grace period to set, if any.
fn deferral(ctx: &Ctx<'_>, obj: &Value, opts: &Options) -> Option<Option<i64>> {
    let res = ctx.res();
    let has_finalizers = obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if res.kind == "Namespace" {
        return Some(None);
    }
    if res.kind == "Pod" && res.group.is_empty() {
        let scheduled = obj["spec"]["nodeName"]
            .as_str()
            .is_some_and(|n| !n.is_empty());
        let finished = matches!(
            obj["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        );
        let grace = opts
            .grace
            .or_else(|| obj["spec"]["terminationGracePeriodSeconds"].as_i64())
            .unwrap_or(30);
        if scheduled && !finished && grace > 0 {
            return Some(Some(grace));
        }
    }
    has_finalizers.then_some(None)
}

pub async fn delete_collection(api: &Api, ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<Reply> {
    let opts = options(ctx, body)?;
    let (items, _, _) = super::read::list_items(api, ctx).await?;
    let mut deleted = Vec::new();
    for item in items {
        let Some(name) = item["metadata"]["name"].as_str() else {
            continue;
        };
        let ns = item["metadata"]["namespace"].as_str().map(str::to_string);
        let req = crate::request::ResourceRequest {
            namespace: ns,
            name: Some(name.to_string()),
            ..ctx.req.clone()
        };
        let item_ctx = Ctx {
            req: &req,
            query: ctx.query,
            accept: "application/json",
            content_type: ctx.content_type,
            manager: ctx.manager.clone(),
        };
        match delete_one(api, &item_ctx, name, &opts).await {
            Ok(Reply::Object(_, obj)) => deleted.push(obj),
            Ok(Reply::Watch(_)) => {}
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let res = ctx.res();
    let list = json!({
        "kind": format!("{}List", res.kind),
        "apiVersion": res.api_version(),
        "metadata": { "resourceVersion": "" },
        "items": deleted,
    });
    Ok(Reply::Object(200, list))
}
