//! Field selectors: which fields each kind supports and their values.

use serde_json::Value;

use crate::Resource;

/// Fields every kind supports.
const META_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

/// Per-kind fields as upstream's field label conversion functions accept them.
fn kind_fields(res: &Resource) -> &'static [&'static str] {
    match (res.group, res.kind) {
        ("", "Pod") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        ("", "Event") | ("events.k8s.io", "Event") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "Secret") => &["type"],
        ("", "Node") => &["spec.unschedulable"],
        ("", "Namespace") => &["status.phase"],
        ("", "ReplicationController") | ("apps", "ReplicaSet") => &["status.replicas"],
        ("batch", "Job") => &["status.successful"],
        ("", "Service") => &["spec.clusterIP", "spec.type"],
        _ => &[],
    }
}

/// Does `res` support selecting on `field`?
pub fn supported(res: &Resource, field: &str) -> bool {
    META_FIELDS.contains(&field) || kind_fields(res).contains(&field)
}

/// Every field `res` supports, metadata first.
pub fn supported_fields(res: &Resource) -> Vec<&'static str> {
    META_FIELDS
        .iter()
        .chain(kind_fields(res).iter())
        .copied()
        .collect()
}

/// The value of `field` on `obj` as a field selector compares it; `None` when unsupported.
/// Missing values read as "" (booleans as "false", counts as "0") like upstream's zero values.
pub fn field_value(res: &Resource, obj: &Value, field: &str) -> Option<String> {
    if !supported(res, field) {
        return None;
    }
    let is_events_group = obj.get("apiVersion").and_then(Value::as_str) == Some("events.k8s.io/v1");
    let path = if is_events_group {
        events_group_path(field)
    } else {
        field.to_string()
    };
    let v = lookup(obj, &path);
    Some(match field {
        "spec.hostNetwork" | "spec.unschedulable" => {
            v.and_then(Value::as_bool).unwrap_or(false).to_string()
        }
        "status.replicas" | "status.successful" => {
            v.and_then(Value::as_i64).unwrap_or(0).to_string()
        }
        "source" => {
            // Upstream selects on source.component.
            let src = if is_events_group {
                "deprecatedSource"
            } else {
                "source"
            };
            lookup(obj, &format!("{src}.component"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        }
        "status.podIPs" => v
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|ip| ip.get("ip"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        _ => match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        },
    })
}

/// events.k8s.io objects keep core field names for selection (storage is core Events).
fn events_group_path(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("involvedObject.") {
        return format!("regarding.{rest}");
    }
    match field {
        "reportingComponent" => "reportingController".into(),
        other => other.into(),
    }
}

fn lookup<'a>(obj: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(obj, |v, k| v.get(k))
}

#[cfg(test)]
mod tests;
