//! create, update, patch (json, merge, strategic, apply) and the scale subresource.

use serde_json::{Value, json};
use skiff_api::{defaults, strategy, validation};

use super::{Api, Ctx, Reply, decode, encode, meta_str, now_rfc3339, object_reply};
use crate::status::{ApiError, ApiResult, Cause};

/// Largest request body accepted, as upstream (3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Parse a JSON, YAML or Kubernetes protobuf request body into an object.
pub fn parse_body(ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<Value> {
    if body.len() > MAX_BODY {
        return Err(ApiError::too_large());
    }
    let ct = ctx.content_type.split(';').next().unwrap_or("").trim();
    let value: Value = match ct {
        "" | "application/json" | "*/*" => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("json: cannot unmarshal request body: {e}"))
        })?,
        "application/yaml"
        | "application/x-yaml"
        | "text/yaml"
        | "application/apply-patch+yaml" => serde_saphyr::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("yaml: unmarshal errors: {e}")))?,
        crate::protobuf::CONTENT_TYPE => crate::protobuf::request_body(body)?,
        other => return Err(ApiError::unsupported_media(other)),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "Object 'Kind' is missing in request body: the body must be a JSON object",
        ));
    }
    Ok(value)
}

/// Check apiVersion/kind in the body against the URL, filling them when absent.
fn check_type(ctx: &Ctx<'_>, obj: &mut Value) -> ApiResult<()> {
    let res = ctx.res();
    let want = res.api_version();
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v != want => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want})"
            )));
        }
        _ => obj["apiVersion"] = json!(want),
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some(k) if k != res.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                res.kind
            )));
        }
        _ => obj["kind"] = json!(res.kind),
    }
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    Ok(())
}

fn strict_fields(ctx: &Ctx<'_>, obj: &Value) -> ApiResult<()> {
    if ctx.query.get("fieldValidation") != Some("Strict") {
        return Ok(());
    }
    let unknown = validation::unknown_fields(ctx.res(), obj);
    match unknown.len() {
        0 => Ok(()),
        1 => Err(ApiError::bad_request(format!(
            "strict decoding error: unknown field \"{}\"",
            unknown[0]
        ))),
        _ => {
            let list: Vec<String> = unknown
                .iter()
                .map(|f| format!("unknown field \"{f}\""))
                .collect();
            Err(ApiError::bad_request(format!(
                "strict decoding error: {}",
                list.join(", ")
            )))
        }
    }
}

fn to_causes(v: Vec<validation::Cause>) -> Vec<Cause> {
    v.into_iter()
        .map(|c| Cause {
            reason: c.reason,
            message: c.message,
            field: c.field,
        })
        .collect()
}

/// Refuse fields of the wrong JSON type (400, worded as upstream's decoder).
fn type_check(res: &skiff_api::Resource, obj: &Value) -> ApiResult<()> {
    validation::decode_check(res, obj).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Refuse new objects in a missing or terminating namespace.
async fn ensure_namespace(api: &Api, ctx: &Ctx<'_>, name: &str) -> ApiResult<()> {
    let Some(ns) = ctx.namespace() else {
        return Ok(());
    };
    let ns_res = skiff_api::registry()
        .find("", "v1", "namespaces")
        .ok_or_else(|| ApiError::internal("no namespaces kind"))?;
    let Some(kv) = api.store.get(&ns_res.key(None, ns)).await? else {
        return Err(ApiError::not_found(ns_res, ns));
    };
    let obj = decode(ns_res, &kv)?;
    if obj["metadata"].get("deletionTimestamp").is_some() {
        return Err(ApiError::forbidden(
            ctx.res(),
            name,
            &format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        ));
    }
    Ok(())
}

const GENERATE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn generated_name(prefix: &str) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| GENERATE_ALPHABET[rng.random_range(0..GENERATE_ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

pub async fn create(api: &Api, ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<Reply> {
    let obj = parse_body(ctx, body)?;
    create_object(api, ctx, obj, true).await
}

/// The create pipeline shared by POST and server-side apply of a new object.
async fn create_object(
    api: &Api,
    ctx: &Ctx<'_>,
    mut obj: Value,
    record_update: bool,
) -> ApiResult<Reply> {
    let res = ctx.res();
    check_type(ctx, &mut obj)?;
    type_check(res, &obj)?;
    strict_fields(ctx, &obj)?;
    let meta = &mut obj["metadata"];
    if let Some(ns) = ctx.namespace() {
        match meta.get("namespace").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => meta["namespace"] = json!(ns),
        }
    } else if let Some(m) = meta.as_object_mut() {
        m.remove("namespace");
    }
    let name = match (
        meta.get("name").and_then(Value::as_str),
        meta.get("generateName").and_then(Value::as_str),
    ) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, Some(g)) if !g.is_empty() => generated_name(g),
        _ => {
            let cause = Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value: name or generateName is required".into(),
                field: "metadata.name".into(),
            };
            return Err(ApiError::invalid(res, "", vec![cause]));
        }
    };
    meta["name"] = json!(name);
    ensure_namespace(api, ctx, &name).await?;
    let meta = obj["metadata"]
        .as_object_mut()
        .ok_or_else(|| ApiError::internal("metadata"))?;
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
    for transient in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.remove(transient);
    }
    defaults::apply(res, &mut obj);
    strategy::prepare_for_create(res, &mut obj);
    strategy::drop_empty_metadata(&mut obj);
    crate::admission::admit_create(res, &mut obj);
    crate::admission::default_storage_class(api, res, &mut obj).await?;
    let causes = validation::validate_create(res, &obj);
    if !causes.is_empty() {
        return Err(ApiError::invalid(res, &name, to_causes(causes)));
    }
    crate::alloc::on_create(api, res, &mut obj).await?;
    if record_update {
        skiff_patch::update_managed_fields(
            None,
            &mut obj,
            &ctx.manager,
            "Update",
            &res.api_version(),
            res.kind,
            &now_rfc3339(),
        );
    }
    if ctx.query.dry_run() {
        return Ok(object_reply(ctx, 201, obj));
    }
    let kv = match api
        .store
        .create(&res.key(ctx.namespace(), &name), encode(res, &obj))
        .await
    {
        Ok(kv) => kv,
        Err(skiff_store::Error::AlreadyExists(_)) => {
            return Err(ApiError::already_exists(res, &name));
        }
        Err(e) => return Err(e.into()),
    };
    super::set_resource_version(&mut obj, kv.mod_revision);
    Ok(object_reply(ctx, 201, obj))
}

pub async fn update(api: &Api, ctx: &Ctx<'_>, name: &str, body: &[u8]) -> ApiResult<Reply> {
    let res = ctx.res();
    let mut new = parse_body(ctx, body)?;
    check_type(ctx, &mut new)?;
    strict_fields(ctx, &new)?;
    if let Some(n) = meta_str(&new, "name").filter(|n| *n != name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    let kv = api
        .store
        .get(&res.key(ctx.namespace(), name))
        .await?
        .ok_or_else(|| ApiError::not_found(res, name))?;
    let old = decode(res, &kv)?;
    if let Some(rv) = meta_str(&new, "resourceVersion").filter(|rv| !rv.is_empty())
        && rv != kv.mod_revision.to_string()
    {
        return Err(ApiError::modified(res, name));
    }
    commit_update(api, ctx, name, &old, kv.mod_revision, new, true).await
}

/// The update pipeline shared by PUT, PATCH and the scale subresource.
async fn commit_update(
    api: &Api,
    ctx: &Ctx<'_>,
    name: &str,
    old: &Value,
    expected: i64,
    mut new: Value,
    record_update: bool,
) -> ApiResult<Reply> {
    let res = ctx.res();
    type_check(res, &new)?;
    // Identity and server-owned metadata survive every update.
    for key in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "name",
        "namespace",
    ] {
        match old["metadata"].get(key) {
            Some(v) => new["metadata"][key] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove(key);
                }
            }
        }
    }
    match ctx.req.subresource.as_deref() {
        Some("status") => strategy::prepare_for_status_update(res, &mut new, old),
        Some("finalize") => {
            let finalizers = new["spec"]["finalizers"].clone();
            new = old.clone();
            new["spec"]["finalizers"] = finalizers;
        }
        _ => strategy::prepare_for_update(res, &mut new, old),
    }
    strategy::drop_empty_metadata(&mut new);
    defaults::apply(res, &mut new);
    let causes = validation::validate_update(res, &new, old);
    if !causes.is_empty() {
        return Err(ApiError::invalid(res, name, to_causes(causes)));
    }
    if record_update {
        skiff_patch::update_managed_fields(
            Some(old),
            &mut new,
            &ctx.manager,
            "Update",
            &res.api_version(),
            res.kind,
            &now_rfc3339(),
        );
    }
    super::set_resource_version(&mut new, expected);
    if &new == old {
        return Ok(object_reply(ctx, 200, new));
    }
    if ctx.query.dry_run() {
        return Ok(object_reply(ctx, 200, new));
    }
    let key = res.key(ctx.namespace(), name);
    if super::delete::finalized(&new) {
        return match api.store.delete(&key, Some(expected)).await {
            Ok(_) => Ok(object_reply(ctx, 200, new)),
            Err(skiff_store::Error::Conflict { .. }) => Err(ApiError::modified(res, name)),
            Err(skiff_store::Error::NotFound(_)) => Err(ApiError::not_found(res, name)),
            Err(e) => Err(e.into()),
        };
    }
    match api.store.update(&key, encode(res, &new), expected).await {
        Ok(kv) => {
            super::set_resource_version(&mut new, kv.mod_revision);
            Ok(object_reply(ctx, 200, new))
        }
        Err(skiff_store::Error::Conflict { .. }) => Err(ApiError::modified(res, name)),
        Err(skiff_store::Error::NotFound(_)) => Err(ApiError::not_found(res, name)),
        Err(e) => Err(e.into()),
    }
}

/// Which patch a PATCH body is, from its content type.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

fn patch_type(content_type: &str) -> ApiResult<PatchType> {
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
        "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
        other => Err(ApiError::unsupported_media(other)),
    }
}

fn apply_patch(
    ctx: &Ctx<'_>,
    kind: PatchType,
    doc: &Value,
    body: &[u8],
    api_version: &str,
    type_kind: &str,
) -> ApiResult<Value> {
    let err = |e: skiff_patch::Error| match e.status_code() {
        422 => ApiError::new(422, "Invalid", e.to_string()),
        _ => ApiError::bad_request(e.to_string()),
    };
    match kind {
        PatchType::Json => skiff_patch::json_patch(doc, body).map_err(err),
        PatchType::Merge => skiff_patch::merge_patch(doc, body).map_err(err),
        PatchType::Strategic => {
            skiff_patch::strategic_merge_patch(doc, body, api_version, type_kind).map_err(err)
        }
        PatchType::Apply => {
            let force = ctx.query.flag("force");
            skiff_patch::server_side_apply(
                Some(doc),
                body,
                &ctx.manager,
                force,
                api_version,
                type_kind,
                &now_rfc3339(),
            )
            .map_err(apply_error)
        }
    }
}

fn apply_error(e: skiff_patch::ApplyError) -> ApiError {
    match e {
        skiff_patch::ApplyError::Conflicts(conflicts) => {
            let message = skiff_patch::conflicts_message(&conflicts);
            let causes: Vec<Value> = conflicts
                .iter()
                .map(|c| json!({ "reason": "FieldManagerConflict", "message": c.cause_message(), "field": c.field }))
                .collect();
            ApiError {
                details: Some(json!({ "causes": causes })),
                ..ApiError::new(409, "Conflict", message)
            }
        }
        other => ApiError::bad_request(other.to_string()),
    }
}

pub async fn patch(api: &Api, ctx: &Ctx<'_>, name: &str, body: &[u8]) -> ApiResult<Reply> {
    let res = ctx.res();
    if body.len() > MAX_BODY {
        return Err(ApiError::too_large());
    }
    let kind = patch_type(ctx.content_type)?;
    let key = res.key(ctx.namespace(), name);
    let mut last_err = None;
    for _attempt in 0..8 {
        let Some(kv) = api.store.get(&key).await? else {
            if kind == PatchType::Apply && ctx.req.subresource.is_none() {
                let obj = skiff_patch::server_side_apply(
                    None,
                    body,
                    &ctx.manager,
                    true,
                    &res.api_version(),
                    res.kind,
                    &now_rfc3339(),
                )
                .map_err(apply_error)?;
                return create_object(api, ctx, obj, false).await;
            }
            return Err(ApiError::not_found(res, name));
        };
        let old = decode(res, &kv)?;
        let patched = apply_patch(ctx, kind, &old, body, &res.api_version(), res.kind)?;
        if let Some(rv) = meta_str(&patched, "resourceVersion").filter(|rv| !rv.is_empty())
            && rv != kv.mod_revision.to_string()
        {
            return Err(ApiError::modified(res, name));
        }
        match commit_update(
            api,
            ctx,
            name,
            &old,
            kv.mod_revision,
            patched,
            kind != PatchType::Apply,
        )
        .await
        {
            Err(e)
                if e.code == 409
                    && e.reason == "Conflict"
                    && e.details
                        .as_ref()
                        .is_some_and(|d| d.get("causes").is_none()) =>
            {
                last_err = Some(e);
                continue;
            }
            other => return other,
        }
    }
    Err(last_err.unwrap_or_else(|| ApiError::modified(res, name)))
}

/// GET/PUT/PATCH on `/scale`: the object seen as an autoscaling/v1 Scale.
pub async fn scale(
    api: &Api,
    ctx: &Ctx<'_>,
    name: &str,
    method: &http::Method,
    body: &[u8],
) -> ApiResult<Reply> {
    let res = ctx.res();
    let key = res.key(ctx.namespace(), name);
    for _attempt in 0..8 {
        let kv = api
            .store
            .get(&key)
            .await?
            .ok_or_else(|| ApiError::not_found(res, name))?;
        let old = decode(res, &kv)?;
        let current = strategy::scale_of(res, &old).ok_or_else(ApiError::not_found_path)?;
        let wanted = match *method {
            http::Method::GET => return Ok(Reply::Object(200, current)),
            http::Method::PUT => parse_body(ctx, body)?,
            http::Method::PATCH => {
                let kind = patch_type(ctx.content_type)?;
                apply_patch(ctx, kind, &current, body, "autoscaling/v1", "Scale")?
            }
            ref m => return Err(ApiError::method_not_allowed(m.as_str())),
        };
        if let Some(rv) = meta_str(&wanted, "resourceVersion").filter(|rv| !rv.is_empty())
            && rv != kv.mod_revision.to_string()
        {
            return Err(ApiError::modified(res, name));
        }
        let mut new = old.clone();
        strategy::apply_scale(res, &mut new, &wanted)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        match commit_update(api, ctx, name, &old, kv.mod_revision, new, true).await {
            Ok(Reply::Object(code, obj)) => {
                let scale = strategy::scale_of(res, &obj).unwrap_or(obj);
                return Ok(Reply::Object(code, scale));
            }
            Err(e) if e.code == 409 => continue,
            other => return other,
        }
    }
    Err(ApiError::modified(res, name))
}

/// POST `pods/NAME/binding`: assign a pending pod to a node (what a scheduler does).
pub async fn bind(api: &Api, ctx: &Ctx<'_>, name: &str, body: &[u8]) -> ApiResult<Reply> {
    let res = ctx.res();
    let binding = parse_body(ctx, body)?;
    let node = binding["target"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            let cause = Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: "target.name".into(),
            };
            ApiError::invalid(res, name, vec![cause])
        })?;
    let key = res.key(ctx.namespace(), name);
    for _attempt in 0..8 {
        let kv = api
            .store
            .get(&key)
            .await?
            .ok_or_else(|| ApiError::not_found(res, name))?;
        let mut pod = decode(res, &kv)?;
        if pod["metadata"].get("deletionTimestamp").is_some() {
            return Err(ApiError::conflict(
                res,
                name,
                "pod is being deleted, cannot be assigned to a host",
            ));
        }
        if let Some(current) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            return Err(ApiError::conflict(
                res,
                name,
                &format!("pod {name} is already assigned to node \"{current}\""),
            ));
        }
        pod["spec"]["nodeName"] = json!(node);
        let condition = json!({ "type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339() });
        let conditions = pod["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut conditions: Vec<Value> = conditions
            .into_iter()
            .filter(|c| c["type"] != "PodScheduled")
            .collect();
        conditions.push(condition);
        pod["status"]["conditions"] = Value::Array(conditions);
        if ctx.query.dry_run() {
            break;
        }
        match api
            .store
            .update(&key, encode(res, &pod), kv.mod_revision)
            .await
        {
            Ok(_) => break,
            Err(skiff_store::Error::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let status = json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 });
    Ok(Reply::Object(201, status))
}
