//! get and list (label/field selectors, limit/continue pagination at a consistent revision).

use base64::Engine;
use serde_json::{Value, json};
use skiff_api::selector::{FieldSelector, LabelSelector};

use super::{Api, Ctx, Reply, decode, object_reply};
use crate::status::{ApiError, ApiResult};

pub async fn get(api: &Api, ctx: &Ctx<'_>, name: &str) -> ApiResult<Reply> {
    let res = ctx.res();
    let kv = api.store.get(&res.key(ctx.namespace(), name)).await?;
    let kv = kv.ok_or_else(|| ApiError::not_found(res, name))?;
    Ok(object_reply(ctx, 200, decode(res, &kv)?))
}

/// Parsed list filters.
pub struct Filter {
    labels: Option<LabelSelector>,
    fields: Option<FieldSelector>,
}

impl Filter {
    pub fn from_ctx(ctx: &Ctx<'_>) -> ApiResult<Filter> {
        let labels =
            match ctx.query.get("labelSelector").filter(|s| !s.is_empty()) {
                Some(s) => Some(LabelSelector::parse(s).map_err(|e| {
                    ApiError::bad_request(format!("unable to parse requirement: {e}"))
                })?),
                None => None,
            };
        let fields = match ctx.query.get("fieldSelector").filter(|s| !s.is_empty()) {
            Some(s) => {
                let sel =
                    FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?;
                sel.check_supported(ctx.res())
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                Some(sel)
            }
            None => None,
        };
        Ok(Filter { labels, fields })
    }

    pub fn matches(&self, ctx: &Ctx<'_>, obj: &Value) -> bool {
        self.matches_res(ctx.res(), obj)
    }

    pub fn matches_res(&self, res: &skiff_api::Resource, obj: &Value) -> bool {
        let labels_ok = self.labels.as_ref().is_none_or(|l| l.matches_object(obj));
        labels_ok && self.fields.as_ref().is_none_or(|f| f.matches(res, obj))
    }
}

/// Store prefix of the collection the request addresses.
pub fn collection_prefix(ctx: &Ctx<'_>) -> String {
    match ctx.namespace() {
        Some(ns) => format!("{}{ns}/", ctx.res().key_prefix()),
        None => ctx.res().key_prefix(),
    }
}

const CONTINUE_TOO_OLD: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

fn encode_continue(rev: i64, start_after: &str) -> String {
    let token = json!({ "v": "meta.k8s.io/v1", "rv": rev, "start": start_after });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> ApiResult<(i64, String)> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rev = v.get("rv").and_then(Value::as_i64).ok_or_else(bad)?;
    let start = v.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    Ok((rev, start.to_string()))
}

/// Matching objects, one page: (items, revision, continue token).
pub async fn list_items(api: &Api, ctx: &Ctx<'_>) -> ApiResult<(Vec<Value>, i64, Option<String>)> {
    let res = ctx.res();
    let filter = Filter::from_ctx(ctx)?;
    let prefix = collection_prefix(ctx);
    let limit: usize = match ctx.query.get("limit") {
        Some(l) => l
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
        None => 0,
    };
    let (mut revision, mut start) = match ctx.query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let (rev, start) = decode_continue(token)?;
            (Some(rev), Some(start))
        }
        None => (None, None),
    };
    let mut items = Vec::new();
    loop {
        let batch = if limit == 0 {
            0
        } else {
            (limit - items.len()).max(1)
        };
        let page = match api
            .store
            .range(&prefix, start.as_deref(), batch, revision)
            .await
        {
            Ok(p) => p,
            Err(skiff_store::Error::Compacted { .. }) => {
                return Err(ApiError::gone(CONTINUE_TOO_OLD));
            }
            Err(e) => return Err(e.into()),
        };
        revision = Some(page.revision);
        for kv in &page.kvs {
            let obj = decode(res, kv)?;
            if filter.matches(ctx, &obj) {
                items.push(obj);
            }
        }
        start = page.kvs.last().map(|kv| kv.key.clone()).or(start);
        if !page.more {
            return Ok((items, page.revision, None));
        }
        if limit > 0 && items.len() >= limit {
            let token = start.as_deref().map(|s| encode_continue(page.revision, s));
            return Ok((items, page.revision, token));
        }
    }
}

pub async fn list(api: &Api, ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let res = ctx.res();
    let (items, revision, token) = list_items(api, ctx).await?;
    let mut meta = json!({ "resourceVersion": revision.to_string() });
    if let Some(t) = token {
        meta["continue"] = json!(t);
    }
    if let Some(v) = ctx.table_version() {
        let table = skiff_api::table::to_table(
            res,
            &items,
            super::include_object(ctx),
            v,
            meta,
            chrono::Utc::now(),
        );
        return Ok(Reply::Object(200, table));
    }
    let list = json!({
        "kind": format!("{}List", res.kind),
        "apiVersion": res.api_version(),
        "metadata": meta,
        "items": items,
    });
    Ok(Reply::Object(200, list))
}
