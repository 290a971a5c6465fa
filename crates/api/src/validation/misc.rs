//! Smaller kinds: priority classes, quotas, limit ranges, leases, ingress classes, network
//! policies, controller revisions.

use serde_json::{Value, json};

use super::Cause;
use super::util::{arr, idx, join, non_negative, one_of, s};
use crate::quantity;

const QUANTITY_RE_MSG: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// Highest priority value a user-defined PriorityClass may have.
pub const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;

/// scheduling.k8s.io/v1 PriorityClass.
pub fn priority_class(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let value = obj.get("value").and_then(Value::as_i64).unwrap_or(0);
    if name.starts_with("system-") {
        let known = matches!(
            (name, value),
            ("system-node-critical", 2_000_001_000) | ("system-cluster-critical", 2_000_000_000)
        );
        if !known {
            errs.push(Cause::forbidden(
                "metadata.name",
                &format!(
                    "priority class names with 'system-' prefix are reserved for system use only. error: {name:?} is not a known system priority class"
                ),
            ));
        }
    } else if value > HIGHEST_USER_PRIORITY {
        errs.push(Cause::forbidden(
            "value",
            &format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"),
        ));
    }
    one_of(
        &mut errs,
        obj,
        "preemptionPolicy",
        "",
        &["Never", "PreemptLowerPriority"],
    );
    errs
}

/// Value and preemption policy never change.
pub fn priority_class_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if new.get("value") != old.get("value") {
        errs.push(Cause::forbidden(
            "value",
            "may not be changed in an update.",
        ));
    }
    if new.get("preemptionPolicy") != old.get("preemptionPolicy") {
        errs.push(Cause::invalid(
            "preemptionPolicy",
            new.get("preemptionPolicy").unwrap_or(&Value::Null),
            "field is immutable",
        ));
    }
    errs
}

fn quantity_map(errs: &mut Vec<Cause>, map: Option<&Value>, path: &str) {
    let Some(m) = map.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in m {
        let field = format!("{path}[{k}]");
        match quantity::from_json(v) {
            None => errs.push(Cause::invalid(&field, v, QUANTITY_RE_MSG)),
            Some(q) if q.nanos() < 0 => errs.push(Cause::invalid(
                &field,
                v,
                "must be greater than or equal to 0",
            )),
            Some(_) => {}
        }
    }
}

/// core/v1 ResourceQuota.
pub fn resource_quota(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    quantity_map(&mut errs, obj.pointer("/spec/hard"), "spec.hard");
    for (i, sc) in arr(obj.get("spec").unwrap_or(&Value::Null), "scopes")
        .iter()
        .enumerate()
    {
        const SCOPES: &[&str] = &[
            "BestEffort",
            "CrossNamespacePodAffinity",
            "NotBestEffort",
            "NotTerminating",
            "PriorityClass",
            "Terminating",
            "VolumeAttributesClass",
        ];
        if !sc.as_str().is_some_and(|x| SCOPES.contains(&x)) {
            errs.push(Cause::not_supported(&idx("spec.scopes", i), sc, SCOPES));
        }
    }
    errs
}

/// core/v1 LimitRange.
pub fn limit_range(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let limits = obj
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, l) in limits.iter().enumerate() {
        let base = idx("spec.limits", i);
        match l.get("type").and_then(Value::as_str) {
            None | Some("") => errs.push(Cause::required(&join(&base, "type"), "")),
            Some(_) => {}
        }
        for key in [
            "max",
            "min",
            "default",
            "defaultRequest",
            "maxLimitRequestRatio",
        ] {
            quantity_map(&mut errs, l.get(key), &join(&base, key));
        }
        if s(l, "type") == "Pod"
            && (l.get("default").is_some() || l.get("defaultRequest").is_some())
        {
            errs.push(Cause::forbidden(
                &join(&base, "default"),
                "may not be specified when `type` is 'Pod'",
            ));
        }
    }
    errs
}

/// coordination.k8s.io/v1 Lease.
pub fn lease(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let sp = obj.get("spec").unwrap_or(&Value::Null);
    if let Some(d) = sp.get("leaseDurationSeconds").and_then(Value::as_i64)
        && d <= 0
    {
        errs.push(Cause::invalid(
            "spec.leaseDurationSeconds",
            &json!(d),
            "must be greater than 0",
        ));
    }
    non_negative(&mut errs, sp, "leaseTransitions", "spec");
    errs
}

/// networking.k8s.io/v1 IngressClass.
pub fn ingress_class(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let controller = obj
        .pointer("/spec/controller")
        .and_then(Value::as_str)
        .unwrap_or("");
    if controller.is_empty() {
        errs.push(Cause::required("spec.controller", ""));
    } else if controller.len() > 250 {
        errs.push(Cause::too_long("spec.controller", 250));
    }
    errs
}

/// Controller is immutable.
pub fn ingress_class_update(new: &Value, old: &Value) -> Vec<Cause> {
    let n = new.pointer("/spec/controller").unwrap_or(&Value::Null);
    if Some(n) != old.pointer("/spec/controller") {
        vec![Cause::invalid("spec.controller", n, "field is immutable")]
    } else {
        Vec::new()
    }
}

/// networking.k8s.io/v1 NetworkPolicy.
pub fn network_policy(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let sp = obj.get("spec").unwrap_or(&Value::Null);
    for (i, t) in arr(sp, "policyTypes").iter().enumerate() {
        if !t.as_str().is_some_and(|x| x == "Ingress" || x == "Egress") {
            errs.push(Cause::not_supported(
                &idx("spec.policyTypes", i),
                t,
                &["Ingress", "Egress"],
            ));
        }
    }
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in arr(sp, dir).iter().enumerate() {
            let base = idx(&join("spec", dir), i);
            for (j, p) in arr(rule, "ports").iter().enumerate() {
                one_of(
                    &mut errs,
                    p,
                    "protocol",
                    &idx(&join(&base, "ports"), j),
                    &["SCTP", "TCP", "UDP"],
                );
            }
            for (j, peer) in arr(rule, peers).iter().enumerate() {
                let set = ["podSelector", "namespaceSelector", "ipBlock"]
                    .iter()
                    .filter(|k| peer.get(**k).is_some_and(|v| !v.is_null()))
                    .count();
                let pbase = idx(&join(&base, peers), j);
                if set == 0 {
                    errs.push(Cause::required(&pbase, "must specify a peer"));
                } else if peer.get("ipBlock").is_some_and(|v| !v.is_null()) && set > 1 {
                    errs.push(Cause::forbidden(
                        &pbase,
                        "may not specify both ipBlock and another peer",
                    ));
                }
                if let Some(b) = peer.get("ipBlock").filter(|v| !v.is_null())
                    && s(b, "cidr").is_empty()
                {
                    errs.push(Cause::required(&join(&pbase, "ipBlock.cidr"), ""));
                }
            }
        }
    }
    errs
}

/// apps/v1 ControllerRevision.
pub fn controller_revision(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    non_negative(&mut errs, obj, "revision", "");
    errs
}

/// Data is immutable.
pub fn controller_revision_update(new: &Value, old: &Value) -> Vec<Cause> {
    if new.get("data") != old.get("data") {
        vec![Cause::invalid_repr(
            "data",
            "runtime.RawExtension{...}",
            "field is immutable",
        )]
    } else {
        Vec::new()
    }
}

/// core/v1 Event: the involved object must live in the event's namespace.
pub fn core_event(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let obj_ns = obj
        .pointer("/involvedObject/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !obj_ns.is_empty() && obj_ns != ns {
        errs.push(Cause::invalid(
            "involvedObject.namespace",
            &json!(obj_ns),
            "does not match event.namespace",
        ));
    }
    if !s(obj, "type").is_empty() {
        one_of(&mut errs, obj, "type", "", &["Normal", "Warning"]);
    }
    errs
}

/// events.k8s.io/v1 Event: the fields the new API requires.
pub fn events_event(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if obj.get("eventTime").is_none_or(Value::is_null) {
        errs.push(Cause::required("eventTime", ""));
    }
    for key in [
        "reportingController",
        "reportingInstance",
        "action",
        "reason",
    ] {
        if s(obj, key).is_empty() {
            errs.push(Cause::required(key, ""));
        }
    }
    let controller = s(obj, "reportingController");
    if !controller.is_empty() {
        for msg in super::names::qualified_name(controller) {
            errs.push(Cause::invalid(
                "reportingController",
                &json!(controller),
                &msg,
            ));
        }
    }
    match obj.get("type").and_then(Value::as_str) {
        Some("Normal") | Some("Warning") => {}
        other => errs.push(Cause::not_supported(
            "type",
            &json!(other.unwrap_or("")),
            &["Normal", "Warning"],
        )),
    }
    if s(obj, "note").len() > 1024 {
        errs.push(Cause::too_long("note", 1024));
    }
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let reg_ns = obj
        .pointer("/regarding/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !reg_ns.is_empty() && reg_ns != ns {
        errs.push(Cause::invalid(
            "regarding.namespace",
            &json!(reg_ns),
            "does not match event.namespace",
        ));
    }
    errs
}
