//! Disruption controller: keeps every PodDisruptionBudget's status (healthy counts,
//! disruptions allowed, the DisruptionAllowed condition) current with its pods.

pub mod budget;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use skiff_api::selector::LabelSelector;
use tokio::sync::Notify;

use crate::Config;
use crate::error::{Result, is_not_found};
use crate::events::{self, Type};
use crate::informer::Obj;
use crate::informer::{Informer, api, resource, resource_of, wait};

/// Source of the disruption controller's events, as upstream names it.
const COMPONENT: &str = "controllermanager";

/// Run the controller until the process ends.
pub async fn run(client: kube::Client, config: Config) -> Result<()> {
    let notify = Arc::new(Notify::new());
    let pdb_res = resource("policy", "v1", "poddisruptionbudgets")?;
    let budgets = Informer::start(&client, pdb_res, notify.clone());
    let pods = Informer::start(&client, resource("", "v1", "pods")?, notify.clone());
    budgets.ready().await;
    pods.ready().await;
    loop {
        let all_pods = pods.values();
        let mut failed = false;
        for pdb in budgets.values() {
            if let Err(e) = sync(&client, &pdb, &all_pods).await {
                tracing::debug!("disruption controller: {e}");
                failed = true;
            }
        }
        let period = if failed {
            std::time::Duration::from_secs(1)
        } else {
            config.resync_period
        };
        wait(&notify, period).await;
    }
}

/// The budget's pods: same namespace, matching its selector (none for a null selector).
pub fn pods_of<'a>(pdb: &Value, pods: &'a [Obj]) -> Vec<&'a Value> {
    let Ok(selector) = LabelSelector::from_label_selector(&pdb["spec"]["selector"]) else {
        return Vec::new();
    };
    pods.iter()
        .map(|p| &**p)
        .filter(|p| p["metadata"]["namespace"] == pdb["metadata"]["namespace"])
        .filter(|p| selector.matches_object(p))
        .collect()
}

async fn sync(client: &kube::Client, pdb: &Value, all_pods: &[Obj]) -> Result<()> {
    let pods = pods_of(pdb, all_pods);
    let scale = if budget::needs_scale(pdb) {
        expected_scale(client, &pods).await.map(Some)
    } else {
        Ok(None)
    };
    let new = budget::status(pdb, &pods, scale.clone(), Utc::now());
    let old = &pdb["status"];
    if same_status(old, &new) {
        return Ok(());
    }
    let mut patch_status = new.clone();
    // A merge patch merges maps: drop entries no longer pending explicitly.
    if let Some(old_map) = old["disruptedPods"].as_object() {
        let mut map = new["disruptedPods"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for k in old_map.keys() {
            map.entry(k.clone()).or_insert(Value::Null);
        }
        patch_status["disruptedPods"] = Value::Object(map);
    }
    let pdb_res = resource("policy", "v1", "poddisruptionbudgets")?;
    if let Err(e) = &scale {
        let message = format!("Failed to calculate the number of expected pods: {e}");
        events::record(
            client,
            pdb,
            pdb_res,
            Type::Warning,
            "CalculateExpectedPodCountFailed",
            &message,
            COMPONENT,
        )
        .await;
    } else if pods.is_empty() {
        events::record(
            client,
            pdb,
            pdb_res,
            Type::Normal,
            "NoPods",
            "No matching pods found",
            COMPONENT,
        )
        .await;
    }
    let name = pdb["metadata"]["name"].as_str().unwrap_or_default();
    let ns = pdb["metadata"]["namespace"].as_str();
    let patch = json!({
        "metadata": { "resourceVersion": pdb["metadata"]["resourceVersion"] },
        "status": patch_status,
    });
    let pdbs = api(client, pdb_res, ns);
    match pdbs
        .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn same_status(old: &Value, new: &Value) -> bool {
    let fields = [
        "observedGeneration",
        "disruptionsAllowed",
        "currentHealthy",
        "desiredHealthy",
        "expectedPods",
        "disruptedPods",
        "conditions",
    ];
    fields.iter().all(|f| {
        let o = old.get(*f).unwrap_or(&Value::Null);
        let n = new.get(*f).unwrap_or(&Value::Null);
        o == n || (o.is_null() && n.as_object().is_some_and(serde_json::Map::is_empty))
    })
}

/// Summed replicas of the controllers of `pods` (a ReplicaSet owned by a Deployment counts
/// as the Deployment), as upstream's disruption controller finds them.
async fn expected_scale(client: &kube::Client, pods: &[&Value]) -> Result<i64, String> {
    let mut seen: HashMap<String, i64> = HashMap::new();
    for pod in pods {
        let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let ns = pod["metadata"]["namespace"].as_str();
        let Some(owner) = controller_ref(pod) else {
            return Err(format!("found no controller ref for pod {pod_name:?}"));
        };
        let no_controller = || format!("found no controllers for pod {pod_name:?}");
        let mut target = fetch(client, &owner, ns).await.ok_or_else(no_controller)?;
        if target["kind"] == "ReplicaSet"
            && let Some(dep) = controller_ref(&target)
            && dep["kind"] == "Deployment"
        {
            target = fetch(client, &dep, ns).await.ok_or_else(no_controller)?;
        }
        if !matches!(
            target["kind"].as_str(),
            Some("ReplicaSet" | "ReplicationController" | "StatefulSet" | "Deployment")
        ) {
            return Err(no_controller());
        }
        let uid = target["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let replicas = target["spec"]["replicas"].as_i64().unwrap_or(1);
        seen.insert(uid, replicas);
    }
    Ok(seen.values().sum())
}

fn controller_ref(obj: &Value) -> Option<Value> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))
        .cloned()
}

async fn fetch(client: &kube::Client, owner: &Value, ns: Option<&str>) -> Option<Value> {
    let res = resource_of(owner["apiVersion"].as_str()?, owner["kind"].as_str()?)?;
    let obj = api(client, res, ns)
        .get_opt(owner["name"].as_str()?)
        .await
        .ok()??;
    if obj.metadata.uid.as_deref() != owner["uid"].as_str() {
        return None;
    }
    let mut v = serde_json::to_value(obj).ok()?;
    v["kind"] = json!(res.kind);
    Some(v)
}
