//! Defaulting as upstream (pod restartPolicy, deployment strategy, ...).
//!
//! [`apply`] runs on every object the API decodes (create, update, patch results), so every
//! default only fills fields that are absent or null and never overwrites a set value.

mod pod;
mod util;

use serde_json::{Value, json};

use crate::Resource;
pub use pod::image_is_latest;
use util::{child, existing, items, missing, set};

/// Fill upstream's defaults into `obj`, an object of kind `res` (any served version;
/// HPAs are defaulted according to the object's own `apiVersion`). Quantities are rewritten
/// to their canonical form, as upstream's serializer does.
pub fn apply(res: &Resource, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    crate::validation::schema::canonicalize_quantities(res.group, res.version, res.kind, obj);
    match (res.group, res.kind) {
        ("", "Pod") => pod::pod(obj),
        ("", "PodTemplate") => {
            if let Some(t) = existing(obj, "template")
                && let Some(s) = child(t, "spec")
            {
                pod::pod_spec(s);
            }
        }
        ("", "ReplicationController") => replication_controller(obj),
        ("apps", "Deployment") => deployment(obj),
        ("apps", "ReplicaSet") => with_spec(obj, |s| {
            set(s, "replicas", json!(1));
            pod::template(s);
        }),
        ("apps", "DaemonSet") => daemon_set(obj),
        ("apps", "StatefulSet") => stateful_set(obj),
        ("batch", "Job") => with_spec(obj, job_spec),
        ("batch", "CronJob") => cron_job(obj),
        ("", "Service") => with_spec(obj, service_spec),
        ("", "Secret") => secret(obj),
        ("", "Namespace") => namespace(obj),
        ("", "PersistentVolumeClaim") => {
            with_spec(obj, |s| set(s, "volumeMode", json!("Filesystem")));
            if let Some(st) = child(obj, "status") {
                set(st, "phase", json!("Pending"));
            }
        }
        ("", "PersistentVolume") => {
            with_spec(obj, |s| {
                set(s, "persistentVolumeReclaimPolicy", json!("Retain"));
                set(s, "volumeMode", json!("Filesystem"));
            });
            if let Some(st) = child(obj, "status") {
                set(st, "phase", json!("Pending"));
            }
        }
        ("", "Endpoints") => {
            for subset in items(obj, "subsets") {
                for p in items(subset, "ports") {
                    set(p, "protocol", json!("TCP"));
                }
            }
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            for p in items(obj, "ports") {
                set(p, "protocol", json!("TCP"));
            }
        }
        ("networking.k8s.io", "NetworkPolicy") => with_spec(obj, network_policy_spec),
        ("autoscaling", "HorizontalPodAutoscaler") => hpa(obj),
        ("storage.k8s.io", "StorageClass") => {
            set(obj, "reclaimPolicy", json!("Delete"));
            set(obj, "volumeBindingMode", json!("Immediate"));
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            set(obj, "preemptionPolicy", json!("PreemptLowerPriority"));
        }
        _ => {}
    }
}

fn with_spec(obj: &mut Value, f: impl FnOnce(&mut Value)) {
    if let Some(spec) = child(obj, "spec") {
        f(spec);
    }
}

fn replication_controller(obj: &mut Value) {
    let template_labels = obj.pointer("/spec/template/metadata/labels").cloned();
    if let Some(labels) = template_labels.filter(|l| l.as_object().is_some_and(|m| !m.is_empty())) {
        if let Some(spec) = child(obj, "spec")
            && spec
                .get("selector")
                .and_then(Value::as_object)
                .is_none_or(|m| m.is_empty())
        {
            spec["selector"] = labels.clone();
        }
        if let Some(meta) = child(obj, "metadata")
            && meta
                .get("labels")
                .and_then(Value::as_object)
                .is_none_or(|m| m.is_empty())
        {
            meta["labels"] = labels;
        }
    }
    with_spec(obj, |s| {
        set(s, "replicas", json!(1));
        pod::template(s);
    });
}

fn deployment(obj: &mut Value) {
    with_spec(obj, |s| {
        set(s, "replicas", json!(1));
        if let Some(strategy) = child(s, "strategy") {
            set(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                && let Some(ru) = child(strategy, "rollingUpdate")
            {
                set(ru, "maxUnavailable", json!("25%"));
                set(ru, "maxSurge", json!("25%"));
            }
        }
        set(s, "revisionHistoryLimit", json!(10));
        set(s, "progressDeadlineSeconds", json!(600));
        pod::template(s);
    });
}

fn daemon_set(obj: &mut Value) {
    with_spec(obj, |s| {
        if let Some(us) = child(s, "updateStrategy") {
            set(us, "type", json!("RollingUpdate"));
            if us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                && let Some(ru) = child(us, "rollingUpdate")
            {
                set(ru, "maxUnavailable", json!(1));
                set(ru, "maxSurge", json!(0));
            }
        }
        set(s, "revisionHistoryLimit", json!(10));
        pod::template(s);
    });
}

fn stateful_set(obj: &mut Value) {
    with_spec(obj, |s| {
        set(s, "replicas", json!(1));
        set(s, "podManagementPolicy", json!("OrderedReady"));
        if let Some(us) = child(s, "updateStrategy") {
            set(us, "type", json!("RollingUpdate"));
            if us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                && let Some(ru) = child(us, "rollingUpdate")
            {
                set(ru, "partition", json!(0));
            }
        }
        set(s, "revisionHistoryLimit", json!(10));
        if let Some(p) = child(s, "persistentVolumeClaimRetentionPolicy") {
            set(p, "whenDeleted", json!("Retain"));
            set(p, "whenScaled", json!("Retain"));
        }
        for pvc in items(s, "volumeClaimTemplates") {
            set(pvc, "apiVersion", json!("v1"));
            set(pvc, "kind", json!("PersistentVolumeClaim"));
            if let Some(ps) = child(pvc, "spec") {
                set(ps, "volumeMode", json!("Filesystem"));
            }
            if let Some(st) = child(pvc, "status") {
                set(st, "phase", json!("Pending"));
            }
        }
        pod::template(s);
    });
}

fn job_spec(s: &mut Value) {
    if missing(s, "completions") && missing(s, "parallelism") {
        set(s, "completions", json!(1));
    }
    set(s, "parallelism", json!(1));
    let backoff = if missing(s, "backoffLimitPerIndex") {
        json!(6)
    } else {
        json!(i32::MAX)
    };
    set(s, "backoffLimit", backoff);
    set(s, "completionMode", json!("NonIndexed"));
    set(s, "suspend", json!(false));
    let replacement = if missing(s, "podFailurePolicy") {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    set(s, "podReplacementPolicy", json!(replacement));
    pod::template(s);
}

fn cron_job(obj: &mut Value) {
    with_spec(obj, |s| {
        set(s, "concurrencyPolicy", json!("Allow"));
        set(s, "suspend", json!(false));
        set(s, "successfulJobsHistoryLimit", json!(3));
        set(s, "failedJobsHistoryLimit", json!(1));
        if let Some(jt) = existing(s, "jobTemplate")
            && let Some(js) = existing(jt, "spec")
        {
            pod::template(js);
        }
    });
}

fn service_spec(s: &mut Value) {
    set(s, "type", json!("ClusterIP"));
    set(s, "sessionAffinity", json!("None"));
    let ty = s
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    if s.get("sessionAffinity").and_then(Value::as_str) == Some("ClientIP")
        && let Some(cfg) = child(s, "sessionAffinityConfig")
        && let Some(ip) = child(cfg, "clientIP")
    {
        set(ip, "timeoutSeconds", json!(10800));
    }
    for p in items(s, "ports") {
        set(p, "protocol", json!("TCP"));
        if let Some(port) = p.get("port").cloned() {
            let empty_target = matches!(p.get("targetPort"), None | Some(Value::Null))
                || p.get("targetPort") == Some(&json!(0))
                || p.get("targetPort") == Some(&json!(""));
            if empty_target {
                p["targetPort"] = port;
            }
        }
    }
    if ty != "ExternalName" {
        set(s, "internalTrafficPolicy", json!("Cluster"));
        set(s, "ipFamilyPolicy", json!("SingleStack"));
        set(s, "ipFamilies", json!(["IPv4"]));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        set(s, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set(s, "allocateLoadBalancerNodePorts", json!(true));
    }
}

/// `type: Opaque`, and `stringData` folded into `data` (base64), as upstream's conversion does
/// on every write: stringData is write-only and never stored or served.
fn secret(obj: &mut Value) {
    use base64::Engine;
    set(obj, "type", json!("Opaque"));
    let Some(m) = obj.as_object_mut() else {
        return;
    };
    let Some(string_data) = m.remove("stringData") else {
        return;
    };
    let Some(sd) = string_data.as_object().filter(|sd| !sd.is_empty()) else {
        return;
    };
    let data = m.entry("data").or_insert_with(|| json!({}));
    if !data.is_object() {
        *data = json!({});
    }
    if let Some(d) = data.as_object_mut() {
        for (k, v) in sd {
            let text = v.as_str().unwrap_or_default();
            let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            d.insert(k.clone(), json!(encoded));
        }
    }
}

fn namespace(obj: &mut Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let (Some(name), Some(meta)) = (name, child(obj, "metadata"))
        && let Some(labels) = child(meta, "labels")
    {
        // Upstream always (re)sets this label to the name.
        labels["kubernetes.io/metadata.name"] = json!(name);
    }
    if let Some(st) = child(obj, "status") {
        set(st, "phase", json!("Active"));
    }
}

fn network_policy_spec(s: &mut Value) {
    for key in ["ingress", "egress"] {
        for rule in items(s, key) {
            for p in items(rule, "ports") {
                set(p, "protocol", json!("TCP"));
            }
        }
    }
    if s.get("policyTypes")
        .and_then(Value::as_array)
        .is_none_or(|a| a.is_empty())
    {
        let mut types = vec![json!("Ingress")];
        if s.get("egress")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            types.push(json!("Egress"));
        }
        s["policyTypes"] = Value::Array(types);
    }
}

fn hpa(obj: &mut Value) {
    let v2 = obj.get("apiVersion").and_then(Value::as_str) != Some("autoscaling/v1");
    with_spec(obj, |s| {
        set(s, "minReplicas", json!(1));
        if !v2 {
            return;
        }
        if s.get("metrics")
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty())
        {
            s["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}]);
        }
        if let Some(b) = existing(s, "behavior") {
            if let Some(up) = child(b, "scaleUp") {
                set(up, "stabilizationWindowSeconds", json!(0));
                set(up, "selectPolicy", json!("Max"));
                set(
                    up,
                    "policies",
                    json!([
                        {"type": "Pods", "value": 4, "periodSeconds": 15},
                        {"type": "Percent", "value": 100, "periodSeconds": 15}
                    ]),
                );
            }
            if let Some(down) = child(b, "scaleDown") {
                set(down, "selectPolicy", json!("Max"));
                set(
                    down,
                    "policies",
                    json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
                );
            }
        }
    });
}

#[cfg(test)]
mod tests;
