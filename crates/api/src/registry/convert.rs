//! Conversion between served versions that share storage (HPA v1/v2, core/events.k8s.io Events).

use serde_json::{Map, Value, json};

/// Annotations upstream uses to carry v2-only HPA data through autoscaling/v1.
const ANN_METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
const ANN_CURRENT_METRICS: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
const ANN_CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";
const ANN_BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";

/// Convert `obj` to `to_api_version` (e.g. "autoscaling/v1", "events.k8s.io/v1", "v1").
/// Kinds without several versions are returned unchanged apart from `apiVersion`.
pub fn convert(obj: &Value, to_api_version: &str) -> Value {
    let from = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut out = match (kind, from, to_api_version) {
        (_, f, t) if f == t => obj.clone(),
        ("HorizontalPodAutoscaler", "autoscaling/v1", "autoscaling/v2") => hpa_v1_to_v2(obj),
        ("HorizontalPodAutoscaler", "autoscaling/v2", "autoscaling/v1") => hpa_v2_to_v1(obj),
        ("Event", "v1", "events.k8s.io/v1") => event_core_to_events(obj),
        ("Event", "events.k8s.io/v1", "v1") => event_events_to_core(obj),
        _ => obj.clone(),
    };
    if let Some(m) = out.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(to_api_version.into()));
    }
    out
}

fn take_annotation(meta: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let anns = meta.get_mut("annotations")?.as_object_mut()?;
    let raw = anns.remove(key)?;
    if anns.is_empty() {
        meta.remove("annotations");
    }
    raw.as_str().and_then(|s| serde_json::from_str(s).ok())
}

fn put_annotation(meta: &mut Map<String, Value>, key: &str, value: &Value) {
    let anns = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(anns) = anns.as_object_mut() {
        anns.insert(key.into(), Value::String(value.to_string()));
    }
}

fn is_cpu_utilization(metric: &Value) -> bool {
    metric.get("type").and_then(Value::as_str) == Some("Resource")
        && metric.pointer("/resource/name").and_then(Value::as_str) == Some("cpu")
        && metric
            .pointer("/resource/target/type")
            .and_then(Value::as_str)
            == Some("Utilization")
}

fn is_cpu_current(metric: &Value) -> bool {
    metric.get("type").and_then(Value::as_str) == Some("Resource")
        && metric.pointer("/resource/name").and_then(Value::as_str) == Some("cpu")
        && metric
            .pointer("/resource/current/averageUtilization")
            .is_some()
}

fn hpa_v2_to_v1(obj: &Value) -> Value {
    let mut out = obj.clone();
    let Some(root) = out.as_object_mut() else {
        return out;
    };
    let mut meta = root
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(spec) = root.get_mut("spec").and_then(Value::as_object_mut) {
        let metrics = spec
            .remove("metrics")
            .and_then(|m| m.as_array().cloned())
            .unwrap_or_default();
        let (cpu, other): (Vec<Value>, Vec<Value>) =
            metrics.into_iter().partition(is_cpu_utilization);
        if let Some(pct) = cpu
            .first()
            .and_then(|m| m.pointer("/resource/target/averageUtilization"))
        {
            spec.insert("targetCPUUtilizationPercentage".into(), pct.clone());
        }
        if !other.is_empty() {
            put_annotation(&mut meta, ANN_METRICS, &Value::Array(other));
        }
        if let Some(behavior) = spec.remove("behavior") {
            put_annotation(&mut meta, ANN_BEHAVIOR, &behavior);
        }
    }
    if let Some(status) = root.get_mut("status").and_then(Value::as_object_mut) {
        let current = status
            .remove("currentMetrics")
            .and_then(|m| m.as_array().cloned())
            .unwrap_or_default();
        let (cpu, other): (Vec<Value>, Vec<Value>) = current.into_iter().partition(is_cpu_current);
        if let Some(pct) = cpu
            .first()
            .and_then(|m| m.pointer("/resource/current/averageUtilization"))
        {
            status.insert("currentCPUUtilizationPercentage".into(), pct.clone());
        }
        if !other.is_empty() {
            put_annotation(&mut meta, ANN_CURRENT_METRICS, &Value::Array(other));
        }
        if let Some(conds) = status.remove("conditions")
            && conds.as_array().is_some_and(|c| !c.is_empty())
        {
            put_annotation(&mut meta, ANN_CONDITIONS, &conds);
        }
    }
    root.insert("metadata".into(), Value::Object(meta));
    out
}

fn hpa_v1_to_v2(obj: &Value) -> Value {
    let mut out = obj.clone();
    let Some(root) = out.as_object_mut() else {
        return out;
    };
    let mut meta = root
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let other_metrics = take_annotation(&mut meta, ANN_METRICS);
    let current_metrics = take_annotation(&mut meta, ANN_CURRENT_METRICS);
    let conditions = take_annotation(&mut meta, ANN_CONDITIONS);
    let behavior = take_annotation(&mut meta, ANN_BEHAVIOR);
    if let Some(spec) = root.get_mut("spec").and_then(Value::as_object_mut) {
        let mut metrics = Vec::new();
        if let Some(pct) = spec.remove("targetCPUUtilizationPercentage")
            && !pct.is_null()
        {
            metrics.push(json!({
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": pct}}
                }));
        }
        if let Some(Value::Array(other)) = other_metrics {
            metrics.extend(other);
        }
        if !metrics.is_empty() {
            spec.insert("metrics".into(), Value::Array(metrics));
        }
        if let Some(b) = behavior {
            spec.insert("behavior".into(), b);
        }
    }
    if let Some(status) = root.get_mut("status").and_then(Value::as_object_mut) {
        let mut current = Vec::new();
        if let Some(pct) = status.remove("currentCPUUtilizationPercentage")
            && !pct.is_null()
        {
            current.push(json!({
                "type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": pct}}
            }));
        }
        if let Some(Value::Array(other)) = current_metrics {
            current.extend(other);
        }
        if !current.is_empty() {
            status.insert("currentMetrics".into(), Value::Array(current));
        }
        if let Some(c) = conditions {
            status.insert("conditions".into(), c);
        }
    }
    root.insert("metadata".into(), Value::Object(meta));
    out
}

/// core/v1 Event field ↔ events.k8s.io/v1 Event field.
const EVENT_RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn rename_fields(obj: &Value, forward: bool) -> Value {
    let mut out = obj.clone();
    if let Some(m) = out.as_object_mut() {
        for (core, events) in EVENT_RENAMES {
            let (from, to) = if forward {
                (*core, *events)
            } else {
                (*events, *core)
            };
            if let Some(v) = m.remove(from) {
                m.insert(to.into(), v);
            }
        }
    }
    out
}

fn event_core_to_events(obj: &Value) -> Value {
    let mut out = rename_fields(obj, true);
    if let Some(m) = out.as_object_mut() {
        // Upstream drops an empty reportingController/source rather than serving "".
        if m.get("reportingController").and_then(Value::as_str) == Some("") {
            m.remove("reportingController");
        }
        if m.get("reportingInstance").and_then(Value::as_str) == Some("") {
            m.remove("reportingInstance");
        }
        if m.get("deprecatedSource")
            .is_some_and(|s| s.as_object().is_some_and(Map::is_empty))
        {
            m.remove("deprecatedSource");
        }
    }
    out
}

fn event_events_to_core(obj: &Value) -> Value {
    let mut out = rename_fields(obj, false);
    if let Some(m) = out.as_object_mut() {
        // The core type always serializes its (possibly empty) source.
        m.entry("source")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    out
}

#[cfg(test)]
mod tests;
