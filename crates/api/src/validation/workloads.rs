//! Workload validation: deployments, replica sets, daemon sets, stateful sets, RCs, jobs,
//! cron jobs, HPAs, PDBs.

use serde_json::{Value, json};

use super::Cause;
use super::cron::check_schedule;
use super::pod;
use super::util::{arr, immutable, join, non_negative, one_of, s};
use crate::selector::LabelSelector;

/// Go's `%#v` of a metav1.LabelSelector, as upstream prints it in field errors.
pub fn selector_repr(sel: &Value) -> String {
    let ml = match sel.get("matchLabels") {
        Some(m @ Value::Object(_)) => super::go_repr(m),
        _ => "map[string]string(nil)".into(),
    };
    let exprs = arr(sel, "matchExpressions");
    let me = if exprs.is_empty() {
        "[]v1.LabelSelectorRequirement(nil)".to_string()
    } else {
        let items: Vec<String> = exprs
            .iter()
            .map(|e| {
                let values = match e.get("values") {
                    Some(v @ Value::Array(_)) => super::go_repr(v),
                    _ => "[]string(nil)".into(),
                };
                format!(
                    "v1.LabelSelectorRequirement{{Key:{:?}, Operator:{:?}, Values:{values}}}",
                    s(e, "key"),
                    s(e, "operator")
                )
            })
            .collect();
        format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
    };
    format!("v1.LabelSelector{{MatchLabels:{ml}, MatchExpressions:{me}}}")
}

/// Selector present, non-empty, well formed, and matching the template's labels.
fn selector_and_template(errs: &mut Vec<Cause>, spec: &Value, what: &str, restart: &[&str]) {
    let selector = spec.get("selector").filter(|v| !v.is_null());
    let template = spec.get("template").filter(|v| !v.is_null());
    match selector {
        None => errs.push(Cause::required("spec.selector", "")),
        Some(sel) => {
            let empty = arr(sel, "matchExpressions").is_empty()
                && sel
                    .get("matchLabels")
                    .and_then(Value::as_object)
                    .is_none_or(|m| m.is_empty());
            if empty {
                errs.push(Cause::invalid_repr(
                    "spec.selector",
                    &selector_repr(sel),
                    &format!("empty selector is invalid for {what}"),
                ));
            } else {
                match LabelSelector::from_label_selector(sel) {
                    Err(e) => errs.push(Cause::invalid_repr(
                        "spec.selector",
                        &selector_repr(sel),
                        &e.to_string(),
                    )),
                    Ok(parsed) => {
                        let labels = template
                            .and_then(|t| t.pointer("/metadata/labels"))
                            .unwrap_or(&Value::Null);
                        if template.is_some() && !parsed.matches_value(labels) {
                            errs.push(Cause::invalid(
                                "spec.template.metadata.labels",
                                &labels_or_empty(labels),
                                "`selector` does not match template `labels`",
                            ));
                        }
                    }
                }
            }
        }
    }
    pod::template(errs, template, "spec.template");
    if let Some(t) = template {
        restart_policy(errs, t, "spec.template.spec.restartPolicy", restart);
    }
}

fn labels_or_empty(labels: &Value) -> Value {
    if labels.is_object() {
        labels.clone()
    } else {
        json!({})
    }
}

fn restart_policy(errs: &mut Vec<Cause>, template: &Value, field: &str, allowed: &[&str]) {
    let rp = template
        .pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !allowed.contains(&rp) {
        errs.push(Cause::not_supported(field, &json!(rp), allowed));
    }
}

fn spec(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// apps/v1 Deployment.
pub fn deployment(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    non_negative(&mut errs, sp, "replicas", "spec");
    selector_and_template(&mut errs, sp, "deployment", &["Always"]);
    if let Some(st) = sp.get("strategy") {
        one_of(
            &mut errs,
            st,
            "type",
            "spec.strategy",
            &["Recreate", "RollingUpdate"],
        );
        let ru = st.get("rollingUpdate").filter(|v| !v.is_null());
        if s(st, "type") == "Recreate" && ru.is_some() {
            errs.push(Cause::forbidden(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            ));
        }
        if let Some(ru) = ru {
            let zero = |v: Option<&Value>| {
                matches!(v, Some(Value::Number(n)) if n.as_i64() == Some(0))
                    || matches!(v, Some(Value::String(x)) if x == "0%" || x == "0")
            };
            if zero(ru.get("maxUnavailable")) && zero(ru.get("maxSurge")) {
                errs.push(Cause::invalid(
                    "spec.strategy.rollingUpdate.maxUnavailable",
                    ru.get("maxUnavailable").unwrap_or(&Value::Null),
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
        }
    }
    non_negative(&mut errs, sp, "revisionHistoryLimit", "spec");
    non_negative(&mut errs, sp, "minReadySeconds", "spec");
    if let (Some(pd), Some(mr)) = (
        sp.get("progressDeadlineSeconds").and_then(Value::as_i64),
        sp.get("minReadySeconds").and_then(Value::as_i64),
    ) && pd <= mr
    {
        errs.push(Cause::invalid(
            "spec.progressDeadlineSeconds",
            &json!(pd),
            "must be greater than minReadySeconds",
        ));
    }
    errs
}

/// apps/v1 ReplicaSet.
pub fn replica_set(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    non_negative(&mut errs, sp, "replicas", "spec");
    non_negative(&mut errs, sp, "minReadySeconds", "spec");
    selector_and_template(&mut errs, sp, "deployment", &["Always"]);
    errs
}

/// apps/v1 DaemonSet.
pub fn daemon_set(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    selector_and_template(&mut errs, sp, "daemonset", &["Always"]);
    if let Some(us) = sp.get("updateStrategy") {
        one_of(
            &mut errs,
            us,
            "type",
            "spec.updateStrategy",
            &["OnDelete", "RollingUpdate"],
        );
    }
    non_negative(&mut errs, sp, "revisionHistoryLimit", "spec");
    errs
}

/// apps/v1 StatefulSet.
pub fn stateful_set(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    non_negative(&mut errs, sp, "replicas", "spec");
    one_of(
        &mut errs,
        sp,
        "podManagementPolicy",
        "spec",
        &["OrderedReady", "Parallel"],
    );
    if let Some(us) = sp.get("updateStrategy") {
        one_of(
            &mut errs,
            us,
            "type",
            "spec.updateStrategy",
            &["OnDelete", "RollingUpdate"],
        );
    }
    selector_and_template(
        &mut errs,
        &with_claim_volumes(sp),
        "statefulset",
        &["Always"],
    );
    non_negative(&mut errs, sp, "revisionHistoryLimit", "spec");
    errs
}

/// A StatefulSet spec whose template also has a volume per volumeClaimTemplate (as every pod
/// of the set gets), so containers may mount the claims.
fn with_claim_volumes(sp: &Value) -> Value {
    let mut out = sp.clone();
    let claims: Vec<String> = arr(sp, "volumeClaimTemplates")
        .iter()
        .filter_map(|c| c.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    if claims.is_empty() {
        return out;
    }
    let Some(pod) = out
        .pointer_mut("/template/spec")
        .and_then(Value::as_object_mut)
    else {
        return out;
    };
    let volumes = pod.entry("volumes").or_insert_with(|| json!([]));
    if volumes.is_null() {
        *volumes = json!([]);
    }
    if let Some(list) = volumes.as_array_mut() {
        for name in claims {
            if !list.iter().any(|v| v["name"] == name.as_str()) {
                list.push(json!({"name": name, "persistentVolumeClaim": {"claimName": name}}));
            }
        }
    }
    out
}

/// Selector immutability for apps/v1 kinds.
pub fn selector_immutable(new: &Value, old: &Value) -> Vec<Cause> {
    let n = new.pointer("/spec/selector").unwrap_or(&Value::Null);
    let o = old.pointer("/spec/selector").unwrap_or(&Value::Null);
    if n != o {
        vec![Cause::invalid_repr(
            "spec.selector",
            &selector_repr(n),
            "field is immutable",
        )]
    } else {
        Vec::new()
    }
}

/// Only replicas, ordinals, template, updateStrategy, PVC retention and minReadySeconds
/// may change on a StatefulSet.
pub fn stateful_set_update(new: &Value, old: &Value) -> Vec<Cause> {
    let strip = |v: &Value| {
        let mut m = v
            .get("spec")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for k in [
            "replicas",
            "ordinals",
            "template",
            "updateStrategy",
            "persistentVolumeClaimRetentionPolicy",
            "minReadySeconds",
        ] {
            m.remove(k);
        }
        m
    };
    if strip(new) != strip(old) {
        vec![Cause::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        )]
    } else {
        Vec::new()
    }
}

/// core/v1 ReplicationController (map selector).
pub fn replication_controller(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    non_negative(&mut errs, sp, "replicas", "spec");
    let selector = sp.get("selector").and_then(Value::as_object);
    if selector.is_none_or(|m| m.is_empty()) {
        errs.push(Cause::required("spec.selector", ""));
    }
    let template = sp.get("template").filter(|v| !v.is_null());
    if let (Some(sel), Some(t)) = (selector, template) {
        let labels = t.pointer("/metadata/labels").unwrap_or(&Value::Null);
        let matches = LabelSelector::from_map(&Value::Object(sel.clone()))
            .is_ok_and(|s| s.matches_value(labels));
        if !sel.is_empty() && !matches {
            errs.push(Cause::invalid(
                "spec.template.metadata.labels",
                &labels_or_empty(labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    pod::template(&mut errs, template, "spec.template");
    if let Some(t) = template {
        restart_policy(
            &mut errs,
            t,
            "spec.template.spec.restartPolicy",
            &["Always"],
        );
    }
    errs
}

/// batch/v1 Job (after the strategy generated its selector).
pub fn job(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    for key in [
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ] {
        non_negative(&mut errs, sp, key, "spec");
    }
    one_of(
        &mut errs,
        sp,
        "completionMode",
        "spec",
        &["NonIndexed", "Indexed"],
    );
    if s(sp, "completionMode") == "Indexed" && sp.get("completions").is_none_or(Value::is_null) {
        errs.push(Cause::required(
            "spec.completions",
            "when completion mode is Indexed",
        ));
    }
    let template = sp.get("template").filter(|v| !v.is_null());
    match sp.get("selector").filter(|v| !v.is_null()) {
        None => errs.push(Cause::required("spec.selector", "")),
        Some(sel) => {
            if let Ok(parsed) = LabelSelector::from_label_selector(sel) {
                let labels = template
                    .and_then(|t| t.pointer("/metadata/labels"))
                    .unwrap_or(&Value::Null);
                if !parsed.matches_value(labels) {
                    errs.push(Cause::invalid(
                        "spec.template.metadata.labels",
                        &labels_or_empty(labels),
                        "`selector` does not match template `labels`",
                    ));
                }
            }
        }
    }
    pod::template(&mut errs, template, "spec.template");
    if let Some(t) = template {
        restart_policy(
            &mut errs,
            t,
            "spec.template.spec.restartPolicy",
            &["OnFailure", "Never"],
        );
    }
    errs
}

/// Job template, selector, completionMode are immutable.
pub fn job_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let (n, o) = (spec(new), spec(old));
    if n.get("selector") != o.get("selector") {
        errs.push(Cause::invalid_repr(
            "spec.selector",
            &selector_repr(n.get("selector").unwrap_or(&Value::Null)),
            "field is immutable",
        ));
    }
    if n.get("template") != o.get("template") {
        errs.push(Cause::invalid_repr(
            "spec.template",
            "core.PodTemplateSpec{...}",
            "field is immutable",
        ));
    }
    immutable(&mut errs, n, o, "completionMode", "spec");
    errs
}

/// batch/v1 CronJob.
pub fn cron_job(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    let schedule = s(sp, "schedule");
    if schedule.is_empty() {
        errs.push(Cause::required("spec.schedule", ""));
    } else if let Err(msg) = check_schedule(schedule) {
        errs.push(Cause::invalid("spec.schedule", &json!(schedule), &msg));
    }
    one_of(
        &mut errs,
        sp,
        "concurrencyPolicy",
        "spec",
        &["Allow", "Forbid", "Replace"],
    );
    for key in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        non_negative(&mut errs, sp, key, "spec");
    }
    let template = sp
        .pointer("/jobTemplate/spec/template")
        .filter(|v| !v.is_null());
    pod::template(&mut errs, template, "spec.jobTemplate.spec.template");
    if let Some(t) = template {
        restart_policy(
            &mut errs,
            t,
            "spec.jobTemplate.spec.template.spec.restartPolicy",
            &["OnFailure", "Never"],
        );
    }
    errs
}

/// autoscaling HorizontalPodAutoscaler (v1 or v2 form).
pub fn hpa(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    let min = sp.get("minReplicas").and_then(Value::as_i64);
    let max = sp.get("maxReplicas").and_then(Value::as_i64).unwrap_or(0);
    if let Some(m) = min
        && m < 1
    {
        errs.push(Cause::invalid(
            "spec.minReplicas",
            &json!(m),
            "must be greater than or equal to 1",
        ));
    }
    if max < 1 {
        errs.push(Cause::invalid(
            "spec.maxReplicas",
            &json!(max),
            "must be greater than or equal to 1",
        ));
    }
    if let Some(m) = min
        && max < m
    {
        errs.push(Cause::invalid(
            "spec.maxReplicas",
            &json!(max),
            "must be greater than or equal to `minReplicas`",
        ));
    }
    let target = sp.get("scaleTargetRef").unwrap_or(&Value::Null);
    if s(target, "kind").is_empty() {
        errs.push(Cause::required("spec.scaleTargetRef.kind", ""));
    }
    if s(target, "name").is_empty() {
        errs.push(Cause::required("spec.scaleTargetRef.name", ""));
    }
    if let Some(p) = sp
        .get("targetCPUUtilizationPercentage")
        .and_then(Value::as_i64)
        && p < 1
    {
        errs.push(Cause::invalid(
            "spec.targetCPUUtilizationPercentage",
            &json!(p),
            "must be greater than or equal to 1",
        ));
    }
    errs
}

/// policy/v1 PodDisruptionBudget.
pub fn pdb(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    let set = |k: &str| sp.get(k).is_some_and(|v| !v.is_null());
    if set("minAvailable") && set("maxUnavailable") {
        errs.push(Cause::invalid_repr(
            "spec",
            "policy.PodDisruptionBudgetSpec{...}",
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for key in ["minAvailable", "maxUnavailable"] {
        match sp.get(key) {
            Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n < 0) => {
                errs.push(Cause::invalid(
                    &join("spec", key),
                    &Value::Number(n.clone()),
                    "must be greater than or equal to 0",
                ))
            }
            Some(Value::String(p)) => {
                let pct = p.strip_suffix('%').and_then(|n| n.parse::<i64>().ok());
                match pct {
                    Some(v) if (0..=100).contains(&v) => {}
                    Some(_) => errs.push(Cause::invalid(
                        &join("spec", key),
                        &json!(p),
                        "must be no more than 100%",
                    )),
                    None => errs.push(Cause::invalid(
                        &join("spec", key),
                        &json!(p),
                        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                    )),
                }
            }
            _ => {}
        }
    }
    errs
}
