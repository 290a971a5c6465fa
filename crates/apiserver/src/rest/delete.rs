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
pub(super) struct Options {
    pub(super) grace: Option<i64>,
    pub(super) uid: Option<String>,
    pub(super) resource_version: Option<String>,
    /// propagationPolicy, or the deprecated orphanDependents as a policy.
    pub(super) propagation: Option<Propagation>,
}

/// How dependents of a deleted object are treated (`DeleteOptions.propagationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Propagation {
    Orphan,
    Background,
    Foreground,
}

const ORPHAN_FINALIZER: &str = "orphan";
const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// The propagation asked for: `propagationPolicy` or `orphanDependents` (not both).
fn propagation(ctx: &Ctx<'_>, body: &Value) -> ApiResult<Option<Propagation>> {
    let policy = ctx
        .query
        .get("propagationPolicy")
        .map(str::to_string)
        .or_else(|| body["propagationPolicy"].as_str().map(str::to_string));
    let orphan = match ctx.query.get("orphanDependents") {
        Some(v) => Some(v == "true"),
        None => body["orphanDependents"].as_bool(),
    };
    let invalid = |message: String| {
        ApiError::new(
            422,
            "Invalid",
            format!("DeleteOptions.meta.k8s.io \"\" is invalid: {message}"),
        )
    };
    let policy = match policy.as_deref() {
        None => None,
        Some("Orphan") => Some(Propagation::Orphan),
        Some("Background") => Some(Propagation::Background),
        Some("Foreground") => Some(Propagation::Foreground),
        Some(other) => {
            return Err(invalid(format!(
                "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
    };
    match (policy, orphan) {
        (Some(_), Some(o)) => Err(invalid(format!(
            "orphanDependents: Invalid value: {o}: PropagationPolicy and OrphanDependents cannot be both set"
        ))),
        (Some(p), None) => Ok(Some(p)),
        (None, Some(true)) => Ok(Some(Propagation::Orphan)),
        (None, Some(false)) => Ok(Some(Propagation::Background)),
        (None, None) => Ok(None),
    }
}

/// The finalizers an object gets for garbage collection when deleted with `asked`, as
/// upstream: an explicit policy wins, then a GC finalizer already present, then the kind's
/// default (orphan for core/v1 ReplicationControllers and batch/v1 Jobs, background
/// otherwise). `None` when the finalizers do not change.
pub(super) fn gc_finalizers(
    group: &str,
    kind: &str,
    finalizers: &[String],
    asked: Option<Propagation>,
) -> Option<Vec<String>> {
    if kind == "Namespace" && group.is_empty() {
        return None;
    }
    let has = |f: &str| finalizers.iter().any(|x| x == f);
    let policy = asked.unwrap_or_else(|| {
        if has(FOREGROUND_FINALIZER) {
            Propagation::Foreground
        } else if has(ORPHAN_FINALIZER)
            || matches!(
                (group, kind),
                ("", "ReplicationController") | ("batch", "Job")
            )
        {
            Propagation::Orphan
        } else {
            Propagation::Background
        }
    });
    let mut out: Vec<String> = finalizers
        .iter()
        .filter(|f| *f != ORPHAN_FINALIZER && *f != FOREGROUND_FINALIZER)
        .cloned()
        .collect();
    match policy {
        Propagation::Orphan => out.push(ORPHAN_FINALIZER.into()),
        Propagation::Foreground => out.push(FOREGROUND_FINALIZER.into()),
        Propagation::Background => {}
    }
    let same = out.len() == finalizers.len() && out.iter().all(|f| finalizers.contains(f));
    (!same).then_some(out)
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
    options_from(ctx, &body)
}

/// DeleteOptions from a decoded body (`{}` when absent) and the query string.
pub(super) fn options_from(ctx: &Ctx<'_>, body: &Value) -> ApiResult<Options> {
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
        propagation: propagation(ctx, body)?,
    })
}

pub async fn delete(api: &Api, ctx: &Ctx<'_>, name: &str, body: &[u8]) -> ApiResult<Reply> {
    let opts = options(ctx, body)?;
    delete_one(api, ctx, name, &opts).await
}

pub(super) async fn delete_one(
    api: &Api,
    ctx: &Ctx<'_>,
    name: &str,
    opts: &Options,
) -> ApiResult<Reply> {
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
        let current: Vec<String> = obj["metadata"]["finalizers"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let new_finalizers = gc_finalizers(res.group, res.kind, &current, opts.propagation);
        if let Some(f) = &new_finalizers {
            obj["metadata"]["finalizers"] = json!(f);
            if f.is_empty()
                && let Some(m) = obj["metadata"].as_object_mut()
            {
                m.remove("finalizers");
            }
        }
        let deferred = deferral(ctx, &obj, opts);
        if let Some(grace) = deferred {
            if obj["metadata"].get("deletionTimestamp").is_some()
                && grace.is_none()
                && new_finalizers.is_none()
            {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn explicit_policy_sets_its_finalizer() {
        let got = gc_finalizers("apps", "ReplicaSet", &[], Some(Propagation::Foreground));
        assert_eq!(got, Some(names(&["foregroundDeletion"])));
        let got = gc_finalizers("", "ConfigMap", &names(&["x"]), Some(Propagation::Orphan));
        assert_eq!(got, Some(names(&["x", "orphan"])));
    }

    #[test]
    fn background_removes_gc_finalizers_and_keeps_others() {
        let current = names(&["x", "orphan"]);
        let got = gc_finalizers("", "ConfigMap", &current, Some(Propagation::Background));
        assert_eq!(got, Some(names(&["x"])));
        assert_eq!(gc_finalizers("", "ConfigMap", &[], None), None);
    }

    #[test]
    fn defaults_are_orphan_for_v1_replication_controllers_and_jobs_only() {
        assert_eq!(
            gc_finalizers("", "ReplicationController", &[], None),
            Some(names(&["orphan"]))
        );
        assert_eq!(
            gc_finalizers("batch", "Job", &[], None),
            Some(names(&["orphan"]))
        );
        assert_eq!(gc_finalizers("apps", "Deployment", &[], None), None);
    }

    #[test]
    fn existing_gc_finalizer_is_kept_without_a_policy() {
        let current = names(&["foregroundDeletion"]);
        assert_eq!(gc_finalizers("apps", "ReplicaSet", &current, None), None);
    }

    #[test]
    fn namespaces_are_left_to_namespace_finalization() {
        assert_eq!(
            gc_finalizers("", "Namespace", &[], Some(Propagation::Foreground)),
            None
        );
    }
}
