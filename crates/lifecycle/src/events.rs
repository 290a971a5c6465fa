//! Events about objects, as upstream's controllers record them (core/v1 Event).

use chrono::Utc;
use kube::api::{DynamicObject, PostParams};
use serde_json::{Value, json};
use skiff_api::Resource;

use crate::informer::{api, resource};

/// Normal or Warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Normal,
    Warning,
}

/// The Event upstream's recorder writes for `obj` of kind `res` at `now`. Cluster-scoped objects have their events in `default`.
pub fn event(
    obj: &Value,
    res: &Resource,
    ty: Type,
    reason: &str,
    message: &str,
    component: &str,
    now: chrono::DateTime<Utc>,
) -> Value {
    let meta = &obj["metadata"];
    let name = meta["name"].as_str().unwrap_or_default();
    let ns = meta["namespace"].as_str().unwrap_or("default");
    let nanos = now.timestamp_nanos_opt().unwrap_or_default();
    let stamp = crate::time::format(now);
    let mut involved = json!({
        "kind": res.kind, "name": name, "uid": meta["uid"],
        "apiVersion": res.api_version(), "resourceVersion": meta["resourceVersion"],
    });
    if let Some(n) = meta["namespace"].as_str() {
        involved["namespace"] = json!(n);
    }
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": { "name": format!("{name}.{nanos:x}"), "namespace": ns },
        "involvedObject": involved,
        "reason": reason, "message": message,
        "source": { "component": component },
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        "type": match ty { Type::Normal => "Normal", Type::Warning => "Warning" },
        "eventTime": null, "reportingComponent": component, "reportingInstance": "",
    })
}

/// Record an event; failures are logged, never fatal.
pub async fn record(
    client: &kube::Client,
    obj: &Value,
    res: &Resource,
    ty: Type,
    reason: &str,
    message: &str,
    component: &str,
) {
    let ev = event(obj, res, ty, reason, message, component, Utc::now());
    let Ok(events) = resource("", "v1", "events") else {
        return;
    };
    let ns = ev["metadata"]["namespace"].as_str().map(str::to_string);
    let Ok(ev) = serde_json::from_value::<DynamicObject>(ev) else {
        return;
    };
    if let Err(e) = api(client, events, ns.as_deref())
        .create(&PostParams::default(), &ev)
        .await
    {
        tracing::debug!(reason, "recording an event: {e}");
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn events_name_the_object_and_land_in_its_namespace_or_default() {
        let now = Utc
            .timestamp_opt(1_700_000_000, 5)
            .single()
            .unwrap_or_else(|| panic!("time"));
        let find =
            |p: &str| crate::informer::resource("", "v1", p).unwrap_or_else(|e| panic!("{e}"));
        let pod = json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u"}});
        let ev = event(
            &pod,
            find("pods"),
            Type::Normal,
            "TaintManagerEviction",
            "Marking for deletion Pod ns/p",
            "taint-eviction-controller",
            now,
        );
        assert_eq!(ev["metadata"]["namespace"], "ns");
        assert_eq!(ev["metadata"]["name"], "p.17979cfe362a0005");
        assert_eq!(ev["involvedObject"]["kind"], "Pod");
        assert_eq!(ev["involvedObject"]["apiVersion"], "v1");
        assert_eq!(ev["involvedObject"]["namespace"], "ns");
        assert_eq!(ev["type"], "Normal");
        assert_eq!(ev["source"]["component"], "taint-eviction-controller");
        let node = json!({"metadata": {"name": "n", "uid": "u"}});
        let ev = event(
            &node,
            find("nodes"),
            Type::Normal,
            "NodeNotReady",
            "Node n status is now: NodeNotReady",
            "node-controller",
            now,
        );
        assert_eq!(ev["metadata"]["namespace"], "default");
        assert!(ev["involvedObject"].get("namespace").is_none());
    }
}
