//! The `/scale` subresource: an autoscaling/v1 Scale view of replicated kinds.

use serde_json::{Map, Value, json};

use super::{Result, StrategyError};
use crate::Resource;
use crate::selector::LabelSelector;

/// The `status.selector` string of a Scale: the kind's pod selector in query form.
fn scale_selector(res: &Resource, obj: &Value) -> String {
    let sel = obj.pointer("/spec/selector").unwrap_or(&Value::Null);
    let parsed = if res.kind == "ReplicationController" {
        LabelSelector::from_map(sel)
    } else {
        LabelSelector::from_label_selector(sel)
    };
    parsed.map(|s| s.to_string()).unwrap_or_default()
}

/// The autoscaling/v1 Scale of `obj`, or `None` when `res` has no scale subresource.
pub fn scale_of(res: &Resource, obj: &Value) -> Option<Value> {
    if !res.has_scale {
        return None;
    }
    let mut meta = Map::new();
    for key in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = obj.pointer(&format!("/metadata/{key}")) {
            meta.insert(key.into(), v.clone());
        }
    }
    let replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let current = obj
        .pointer("/status/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut status = json!({"replicas": current});
    let selector = scale_selector(res, obj);
    if !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    Some(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {"replicas": replicas},
        "status": status,
    }))
}

/// Apply a Scale's `spec.replicas` to `obj`.
pub fn apply_scale(res: &Resource, obj: &mut Value, scale: &Value) -> Result<()> {
    if !res.has_scale {
        return Err(StrategyError::NoScale);
    }
    let replicas = match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().ok_or_else(|| StrategyError::InvalidScale {
            field: "spec.replicas".into(),
            message: format!("Invalid value: {v}: must be an integer"),
        })?,
    };
    if replicas < 0 {
        return Err(StrategyError::InvalidScale {
            field: "spec.replicas".into(),
            message: format!("Invalid value: {replicas}: must be greater than or equal to 0"),
        });
    }
    if replicas > i64::from(i32::MAX) {
        return Err(StrategyError::InvalidScale {
            field: "spec.replicas".into(),
            message: format!("Invalid value: {replicas}: must be less than or equal to 2147483647"),
        });
    }
    let Some(root) = obj.as_object_mut() else {
        return Ok(());
    };
    if !root.get("spec").is_some_and(Value::is_object) {
        root.insert("spec".into(), json!({}));
    }
    obj["spec"]["replicas"] = json!(replicas);
    Ok(())
}
