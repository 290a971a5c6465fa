//! ObjectMeta validation: names, namespace, labels, annotations, finalizers, owners.

use serde_json::Value;

use super::Cause;
use super::names::{self, NameRule};
use crate::Resource;

/// Upstream's total annotation size limit (bytes of keys and values).
pub const TOTAL_ANNOTATION_SIZE: usize = 256 * 1024;

/// The name rule upstream applies to objects of `res`.
pub fn name_rule(res: &Resource) -> NameRule {
    match (res.group, res.kind) {
        ("", "Namespace") => NameRule::Label,
        ("", "Service") => NameRule::Dns1035,
        ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    }
}

/// Validate `metadata` of a new or updated object.
pub fn validate(res: &Resource, obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let empty = Value::Null;
    let meta = obj.get("metadata").unwrap_or(&empty);
    let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    let generate = meta
        .get("generateName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let rule = name_rule(res);
    if !generate.is_empty() {
        for msg in names::check_name(rule, generate, true) {
            errs.push(Cause::invalid(
                "metadata.generateName",
                &Value::from(generate),
                &msg,
            ));
        }
    }
    if name.is_empty() {
        if generate.is_empty() {
            errs.push(Cause::required(
                "metadata.name",
                "name or generateName is required",
            ));
        }
    } else {
        for msg in names::check_name(rule, name, false) {
            errs.push(Cause::invalid("metadata.name", &Value::from(name), &msg));
        }
        if (res.group, res.kind) == ("batch", "CronJob") && name.len() > 52 {
            errs.push(Cause::invalid(
                "metadata.name",
                &Value::from(name),
                "must be no more than 52 characters",
            ));
        }
    }
    let ns = meta.get("namespace").and_then(Value::as_str).unwrap_or("");
    if res.namespaced {
        if ns.is_empty() {
            errs.push(Cause::required("metadata.namespace", ""));
        } else {
            for msg in names::dns1123_label(ns) {
                errs.push(Cause::invalid("metadata.namespace", &Value::from(ns), &msg));
            }
        }
    } else if !ns.is_empty() {
        errs.push(Cause::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    labels(&mut errs, meta.get("labels"), "metadata.labels");
    annotations(&mut errs, meta.get("annotations"), "metadata.annotations");
    for (i, f) in meta
        .get("finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let f = f.as_str().unwrap_or("");
        for msg in names::qualified_name(f) {
            errs.push(Cause::invalid(
                &format!("metadata.finalizers[{i}]"),
                &Value::from(f),
                &msg,
            ));
        }
    }
    for (i, o) in meta
        .get("ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let base = format!("metadata.ownerReferences[{i}]");
        for key in ["apiVersion", "kind", "name", "uid"] {
            if o.get(key).and_then(Value::as_str).unwrap_or("").is_empty() {
                let what = match key {
                    "apiVersion" => "version must not be empty",
                    "kind" => "kind must not be empty",
                    "name" => "name must not be empty",
                    _ => "uid must not be empty",
                };
                errs.push(Cause::invalid(
                    &format!("{base}.{key}"),
                    &Value::from(""),
                    what,
                ));
            }
        }
    }
    errs
}

/// Label keys and values under `path` (also used for selectors and templates).
pub fn labels(errs: &mut Vec<Cause>, labels: Option<&Value>, path: &str) {
    let Some(map) = labels.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in map {
        for msg in names::qualified_name(k) {
            errs.push(Cause::invalid(path, &Value::from(k.as_str()), &msg));
        }
        let v = v.as_str().unwrap_or("");
        for msg in names::label_value(v) {
            errs.push(Cause::invalid(path, &Value::from(v), &msg));
        }
    }
}

fn annotations(errs: &mut Vec<Cause>, anns: Option<&Value>, path: &str) {
    let Some(map) = anns.and_then(Value::as_object) else {
        return;
    };
    let mut total = 0;
    for (k, v) in map {
        for msg in names::qualified_name(&k.to_lowercase()) {
            errs.push(Cause::invalid(path, &Value::from(k.as_str()), &msg));
        }
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE {
        errs.push(Cause::too_long(path, TOTAL_ANNOTATION_SIZE));
    }
}

/// Fields of metadata that never change after creation.
pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    for key in ["name", "namespace", "uid", "creationTimestamp"] {
        let n = new
            .pointer(&format!("/metadata/{key}"))
            .unwrap_or(&Value::Null);
        let o = old
            .pointer(&format!("/metadata/{key}"))
            .unwrap_or(&Value::Null);
        if n != o && !(key != "name" && key != "namespace" && n.is_null()) {
            errs.push(Cause::invalid(
                &format!("metadata.{key}"),
                n,
                "field is immutable",
            ));
        }
    }
    errs
}
