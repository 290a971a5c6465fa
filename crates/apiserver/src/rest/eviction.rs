//! POST `pods/NAME/eviction`: delete a pod unless a PodDisruptionBudget forbids it.

use serde_json::{Value, json};
use skiff_api::Resource;
use skiff_api::selector::LabelSelector;

use super::delete::{delete_one, options_from};
use super::{Api, Ctx, Reply, decode, encode, now_rfc3339};
use crate::status::{ApiError, ApiResult};

/// Upstream's answer when a budget has no disruption left.
pub const VIOLATION: &str = "Cannot evict pod as it would violate the pod's disruption budget.";
/// Past this many disrupted pods not yet seen by the disruption controller, evictions stop.
const MAX_DISRUPTED_PODS: usize = 2000;

fn pdb_resource() -> ApiResult<&'static Resource> {
    skiff_api::registry()
        .find("policy", "v1", "poddisruptionbudgets")
        .ok_or_else(|| ApiError::internal("no poddisruptionbudgets kind"))
}

/// A pod whose eviction needs no budget: finished, never started, or already going.
pub fn can_ignore_budget(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed" | "Pending")
    ) || pod["metadata"]
        .get("deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

/// The pod's Ready condition is True.
pub fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// What a budget says about evicting one pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Evict without touching the budget (the pod is not healthy and the budget allows it).
    Skip,
    /// Evict and record the disruption: the budget's status after the decrement.
    Decrement(Value),
    /// Refuse.
    Refuse(ApiError),
}

/// Decide on evicting `pod` (named `pod_name`) under `pdb`, as upstream's eviction REST does.
pub fn decide(pdb: &Value, pod: &Value, pod_name: &str, now: &str) -> Decision {
    let name = pdb["metadata"]["name"].as_str().unwrap_or_default();
    let status = &pdb["status"];
    let current = status["currentHealthy"].as_i64().unwrap_or(0);
    let desired = status["desiredHealthy"].as_i64().unwrap_or(0);
    if !pod_ready(pod) {
        let policy = pdb["spec"]["unhealthyPodEvictionPolicy"].as_str();
        if policy == Some("AlwaysAllow") || (current >= desired && desired > 0) {
            return Decision::Skip;
        }
    }
    let observed = status["observedGeneration"].as_i64().unwrap_or(0);
    let generation = pdb["metadata"]["generation"].as_i64().unwrap_or(0);
    if observed < generation {
        let cause = format!("The disruption budget {name} is still being processed by the server.");
        return Decision::Refuse(too_many_requests(&cause));
    }
    let allowed = status["disruptionsAllowed"].as_i64().unwrap_or(0);
    if allowed < 0 {
        return Decision::Refuse(budget_forbidden(
            name,
            "pdb disruptions allowed is negative",
        ));
    }
    let disrupted = status["disruptedPods"]
        .as_object()
        .map_or(0, serde_json::Map::len);
    if disrupted > MAX_DISRUPTED_PODS {
        return Decision::Refuse(budget_forbidden(
            name,
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        let cause = format!(
            "The disruption budget {name} needs {desired} healthy pods and has {current} currently"
        );
        return Decision::Refuse(too_many_requests(&cause));
    }
    let mut status = status.clone();
    status["disruptionsAllowed"] = json!(allowed - 1);
    if allowed - 1 == 0 {
        set_insufficient_pods(&mut status, now);
    }
    if !status["disruptedPods"].is_object() {
        status["disruptedPods"] = json!({});
    }
    status["disruptedPods"][pod_name] = json!(now);
    Decision::Decrement(status)
}

/// The DisruptionAllowed condition turned False, as the budget has no disruption left.
fn set_insufficient_pods(status: &mut Value, now: &str) {
    let mut conditions: Vec<Value> = status["conditions"].as_array().cloned().unwrap_or_default();
    let new = json!({
        "type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods",
        "message": "", "observedGeneration": status["observedGeneration"].clone(),
        "lastTransitionTime": now,
    });
    match conditions
        .iter_mut()
        .find(|c| c["type"] == "DisruptionAllowed")
    {
        Some(c) if c["status"] == "False" => {
            c["reason"] = json!("InsufficientPods");
        }
        Some(c) => *c = new,
        None => conditions.push(new),
    }
    status["conditions"] = Value::Array(conditions);
}

fn too_many_requests(cause: &str) -> ApiError {
    ApiError {
        details: Some(json!({
            "causes": [{ "reason": "DisruptionBudget", "message": cause }],
        })),
        ..ApiError::new(429, "TooManyRequests", VIOLATION)
    }
}

fn budget_forbidden(name: &str, why: &str) -> ApiError {
    ApiError {
        details: Some(json!({ "name": name, "group": "policy", "kind": "poddisruptionbudget" })),
        ..ApiError::new(
            403,
            "Forbidden",
            format!("poddisruptionbudget.policy \"{name}\" is forbidden: {why}"),
        )
    }
}

/// The budgets in the pod's namespace whose selector matches it.
async fn budgets_of(api: &Api, pod: &Value) -> ApiResult<Vec<(Value, i64)>> {
    let res = pdb_resource()?;
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let prefix = format!("{}{ns}/", res.key_prefix());
    let page = api.store.range(&prefix, None, 0, None).await?;
    let mut out = Vec::new();
    for kv in &page.kvs {
        let pdb = decode(res, kv)?;
        let Ok(selector) = LabelSelector::from_label_selector(&pdb["spec"]["selector"]) else {
            continue;
        };
        if selector.matches_object(pod) {
            out.push((pdb, kv.mod_revision));
        }
    }
    Ok(out)
}

/// Handle the POST: check the budget, mark the pod DisruptionTarget, delete it.
pub async fn evict(api: &Api, ctx: &Ctx<'_>, name: &str, body: &[u8]) -> ApiResult<Reply> {
    let pods = ctx.res();
    let eviction = super::write::parse_body(ctx, body)?;
    if let Some(n) = eviction["metadata"]["name"].as_str()
        && n != name
    {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let delete_options = match eviction.get("deleteOptions") {
        Some(v) if v.is_object() => v.clone(),
        _ => json!({}),
    };
    let opts = options_from(ctx, &delete_options)?;
    let key = pods.key(ctx.namespace(), name);
    let mut checked = false;
    for _attempt in 0..8 {
        let kv = api
            .store
            .get(&key)
            .await?
            .ok_or_else(|| ApiError::not_found(pods, name))?;
        let pod = decode(pods, &kv)?;
        if !checked && !can_ignore_budget(&pod) {
            let budgets = budgets_of(api, &pod).await?;
            if budgets.len() > 1 {
                return Err(ApiError::internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ));
            }
            if let Some((pdb, rev)) = budgets.into_iter().next() {
                match decide(&pdb, &pod, name, &now_rfc3339()) {
                    Decision::Refuse(e) => return Err(e),
                    Decision::Skip => {}
                    Decision::Decrement(status) => {
                        if !ctx.query.dry_run() {
                            let mut pdb = pdb;
                            pdb["status"] = status;
                            let res = pdb_resource()?;
                            let pdb_name = pdb["metadata"]["name"].as_str().unwrap_or_default();
                            let pdb_key = res.key(ctx.namespace(), pdb_name);
                            match api.store.update(&pdb_key, encode(res, &pdb), rev).await {
                                Ok(_) => {}
                                Err(skiff_store::Error::Conflict { .. }) => continue,
                                Err(e) => return Err(e.into()),
                            }
                        }
                    }
                }
            }
            checked = true;
        }
        if ctx.query.dry_run() {
            break;
        }
        let mut marked = pod.clone();
        mark_disruption_target(&mut marked, &now_rfc3339());
        if marked != pod {
            match api
                .store
                .update(&key, encode(pods, &marked), kv.mod_revision)
                .await
            {
                Ok(_) => {}
                Err(skiff_store::Error::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        match delete_one(api, ctx, name, &opts).await {
            Ok(_) => break,
            Err(e) if e.code == 404 => break,
            Err(e) => return Err(e),
        }
    }
    let status = json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 });
    Ok(Reply::Object(201, status))
}

/// Add (or refresh) the DisruptionTarget condition upstream sets before evicting.
pub fn mark_disruption_target(pod: &mut Value, now: &str) {
    if pod["metadata"]
        .get("deletionTimestamp")
        .is_some_and(|t| !t.is_null())
    {
        return;
    }
    let mut conditions: Vec<Value> = pod["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if conditions
        .iter()
        .any(|c| c["type"] == "DisruptionTarget" && c["status"] == "True")
    {
        return;
    }
    conditions.retain(|c| c["type"] != "DisruptionTarget");
    conditions.push(json!({
        "type": "DisruptionTarget", "status": "True", "lastProbeTime": null,
        "lastTransitionTime": now, "reason": "EvictionByEvictionAPI",
        "message": "Eviction API: evicting",
    }));
    pod["status"]["conditions"] = Value::Array(conditions);
}

#[cfg(test)]
mod tests;
