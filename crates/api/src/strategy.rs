//! Write strategies: what create/update/status-update may change; generation bumps.

mod qos;
mod scale;

use serde_json::{Map, Value, json};

use crate::Resource;
pub use qos::pod_qos_class;
pub use scale::{apply_scale, scale_of};

/// Errors from strategy hooks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategyError {
    /// The resource has no /scale subresource.
    #[error("the server could not find the requested resource")]
    NoScale,
    /// The Scale object is invalid; the field and message as upstream
    /// (`spec.replicas: Invalid value: -1: must be greater than or equal to 0`).
    #[error("{field}: {message}")]
    InvalidScale { field: String, message: String },
}

/// Local result type.
pub type Result<T> = std::result::Result<T, StrategyError>;

impl StrategyError {
    /// The field error for a 422 Invalid response (upstream answers a bad Scale with
    /// `Scale.autoscaling "web" is invalid: spec.replicas: ...`); `None` for other errors.
    pub fn cause(&self) -> Option<crate::validation::Cause> {
        match self {
            StrategyError::InvalidScale { field, message } => Some(crate::validation::Cause {
                field: field.clone(),
                reason: "FieldValueInvalid".into(),
                message: message.clone(),
            }),
            StrategyError::NoScale => None,
        }
    }
}

/// Kinds whose `metadata.generation` tracks spec changes.
pub fn tracks_generation(res: &Resource) -> bool {
    matches!(
        (res.group, res.kind),
        ("", "Pod")
            | ("", "ReplicationController")
            | ("apps", "Deployment")
            | ("apps", "ReplicaSet")
            | ("apps", "DaemonSet")
            | ("apps", "StatefulSet")
            | ("batch", "Job")
            | ("batch", "CronJob")
            | ("autoscaling", "HorizontalPodAutoscaler")
            | ("policy", "PodDisruptionBudget")
            | ("networking.k8s.io", "Ingress")
            | ("networking.k8s.io", "IngressClass")
            | ("networking.k8s.io", "NetworkPolicy")
            | ("discovery.k8s.io", "EndpointSlice")
    )
}

/// The status a freshly created object starts with (what upstream's zero status serializes
/// to), or `None` when the client-supplied status is kept (nodes, events, ...).
fn initial_status(res: &Resource, obj: &Value) -> Option<Value> {
    Some(match (res.group, res.kind) {
        ("", "Pod") => json!({"phase": "Pending", "qosClass": pod_qos_class(obj)}),
        ("", "Namespace") => json!({"phase": "Active"}),
        ("", "Service") | ("networking.k8s.io", "Ingress") => json!({"loadBalancer": {}}),
        ("", "PersistentVolumeClaim") | ("", "PersistentVolume") => json!({"phase": "Pending"}),
        ("", "ReplicationController") | ("apps", "ReplicaSet") => json!({"replicas": 0}),
        ("apps", "StatefulSet") => json!({"replicas": 0, "availableReplicas": 0}),
        ("apps", "DaemonSet") => json!({
            "currentNumberScheduled": 0, "numberMisscheduled": 0,
            "desiredNumberScheduled": 0, "numberReady": 0
        }),
        ("policy", "PodDisruptionBudget") => json!({
            "disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0
        }),
        ("autoscaling", "HorizontalPodAutoscaler") => json!({"desiredReplicas": 0}),
        ("apps", "Deployment")
        | ("batch", "Job")
        | ("batch", "CronJob")
        | ("", "ResourceQuota") => {
            json!({})
        }
        _ => return None,
    })
}

fn meta_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let root = obj.as_object_mut()?;
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if meta.is_null() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut()
}

/// Drop empty metadata lists and maps (`finalizers: []`, `labels: {}`, ...): upstream's
/// types omit them when empty, so clients never see them stored.
pub fn drop_empty_metadata(obj: &mut Value) {
    if let Some(meta) = meta_mut(obj) {
        for key in ["finalizers", "labels", "annotations", "ownerReferences"] {
            let empty = match meta.get(key) {
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(m)) => m.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if empty {
                meta.remove(key);
            }
        }
    }
}

/// Prepare a new object for storage: reset status the user may not set, set generation 1,
/// fill create-time fields (pod QoS, job selector, default tolerations).
///
/// Call after defaulting and after `metadata.uid` is set: jobs take their generated selector
/// from the uid (one is generated here when absent).
pub fn prepare_for_create(res: &Resource, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    if let Some(meta) = meta_mut(obj) {
        meta.remove("deletionTimestamp");
        meta.remove("deletionGracePeriodSeconds");
        if tracks_generation(res) {
            meta.insert("generation".into(), json!(1));
        }
    }
    match (res.group, res.kind) {
        ("", "Pod") => default_tolerations(obj),
        ("batch", "Job") => job_selector(obj),
        ("", "Namespace") => namespace_finalizer(obj),
        _ => {}
    }
    if let Some(status) = initial_status(res, obj) {
        obj["status"] = status;
    }
}

/// Every new namespace carries the `kubernetes` finalizer in `spec.finalizers`.
fn namespace_finalizer(ns: &mut Value) {
    if !ns.get("spec").is_some_and(Value::is_object) {
        ns["spec"] = json!({});
    }
    let list = &mut ns["spec"]["finalizers"];
    if !list.is_array() {
        *list = json!([]);
    }
    if let Some(l) = list.as_array_mut()
        && !l.iter().any(|f| f == "kubernetes")
    {
        l.push(json!("kubernetes"));
    }
}

/// Upstream's DefaultTolerationSeconds admission: tolerate not-ready/unreachable for 300s.
fn default_tolerations(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let tolerations = spec
        .entry("tolerations")
        .or_insert_with(|| Value::Array(Vec::new()));
    if tolerations.is_null() {
        *tolerations = Value::Array(Vec::new());
    }
    let Some(list) = tolerations.as_array_mut() else {
        return;
    };
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let covered = list.iter().any(|t| {
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            let tkey = t.get("key").and_then(Value::as_str).unwrap_or("");
            let op = t.get("operator").and_then(Value::as_str).unwrap_or("Equal");
            (effect.is_empty() || effect == "NoExecute")
                && (tkey == key || (tkey.is_empty() && op == "Exists"))
        });
        if !covered {
            list.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
}

/// Jobs without `manualSelector: true` get a selector on their uid and matching labels.
fn job_selector(job: &mut Value) {
    if job.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let name = job
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let uid = match job.pointer("/metadata/uid").and_then(Value::as_str) {
        Some(u) if !u.is_empty() => u.to_string(),
        _ => {
            let u = uuid::Uuid::new_v4().to_string();
            if let Some(meta) = meta_mut(job) {
                meta.insert("uid".into(), json!(u));
            }
            u
        }
    };
    let Some(spec) = job.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    let selector = &mut spec["selector"];
    if !selector.is_object() {
        *selector = json!({});
    }
    let match_labels = &mut selector["matchLabels"];
    if !match_labels.is_object() {
        *match_labels = json!({});
    }
    if let Some(ml) = match_labels.as_object_mut() {
        ml.entry("batch.kubernetes.io/controller-uid")
            .or_insert_with(|| json!(uid));
    }
    let template = &mut spec["template"];
    if !template.is_object() {
        *template = json!({});
    }
    let meta = &mut template["metadata"];
    if !meta.is_object() {
        *meta = json!({});
    }
    let labels = &mut meta["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    if let Some(l) = labels.as_object_mut() {
        l.entry("batch.kubernetes.io/controller-uid")
            .or_insert_with(|| json!(uid));
        l.entry("controller-uid").or_insert_with(|| json!(uid));
        if !name.is_empty() && name.len() <= 63 {
            l.entry("batch.kubernetes.io/job-name")
                .or_insert_with(|| json!(name));
            l.entry("job-name").or_insert_with(|| json!(name));
        }
    }
}

/// Everything but metadata and status: what a generation bump compares.
fn spec_part(obj: &Value) -> Map<String, Value> {
    obj.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Prepare an update through the main endpoint: defaults are applied to `new`, status is kept
/// from `old` for kinds with a status subresource, system metadata is kept, and generation
/// is bumped when the spec (anything outside metadata/status) changed.
pub fn prepare_for_update(res: &Resource, new: &mut Value, old: &Value) {
    if !new.is_object() {
        return;
    }
    // Compare like with like: the stored object is defaulted, so default the new one first
    // (defaulting only fills absent fields, so doing it again later is harmless).
    crate::defaults::apply(res, new);
    if (res.group, res.kind) == ("", "Pod") {
        // Upstream's DefaultTolerationSeconds admission runs on update as well.
        default_tolerations(new);
    }
    if res.has_status {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    if (res.group, res.kind) == ("", "Namespace") {
        // Finalizers in spec change only through /finalize.
        match old.pointer("/spec/finalizers") {
            Some(f) => {
                if let Some(spec) = new.get_mut("spec").filter(|s| s.is_object()) {
                    spec["finalizers"] = f.clone();
                } else {
                    new["spec"] = json!({"finalizers": f});
                }
            }
            None => {
                if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.remove("finalizers");
                }
            }
        }
    }
    if (res.group, res.kind) == ("", "Service") {
        keep_allocated_service_values(new, old);
    }
    let old_meta = old.get("metadata").cloned().unwrap_or(Value::Null);
    let mut changed = spec_part(new) != spec_part(old);
    if (res.group, res.kind) == ("apps", "Deployment") {
        changed |= new.pointer("/metadata/annotations") != old.pointer("/metadata/annotations");
    }
    let Some(meta) = meta_mut(new) else {
        return;
    };
    for key in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        match old_meta.get(key) {
            Some(v) => {
                meta.insert(key.into(), v.clone());
            }
            None => {
                meta.remove(key);
            }
        }
    }
    let old_gen = old_meta.get("generation").and_then(Value::as_i64);
    if tracks_generation(res) {
        let base = old_gen.unwrap_or(1);
        meta.insert(
            "generation".into(),
            json!(if changed { base + 1 } else { base }),
        );
    } else {
        match old_gen {
            Some(g) => {
                meta.insert("generation".into(), json!(g));
            }
            None => {
                meta.remove("generation");
            }
        }
    }
}

/// An update that omits allocated values (clusterIP, clusterIPs, nodePorts,
/// healthCheckNodePort) keeps the old ones, as upstream does for `kubectl apply`/`replace`.
fn keep_allocated_service_values(new: &mut Value, old: &Value) {
    let Some(old_spec) = old.get("spec") else {
        return;
    };
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let ty = |m: Option<&str>| m.unwrap_or("ClusterIP").to_string();
    let new_type = ty(spec.get("type").and_then(Value::as_str));
    let old_type = ty(old_spec.get("type").and_then(Value::as_str));
    if new_type == "ExternalName" || old_type == "ExternalName" {
        return;
    }
    let empty = |v: Option<&Value>| v.is_none_or(|v| v.is_null() || v.as_str() == Some(""));
    if empty(spec.get("clusterIP"))
        && let Some(ip) = old_spec.get("clusterIP")
    {
        spec.insert("clusterIP".into(), ip.clone());
    }
    let empty_list = |v: Option<&Value>| v.is_none_or(|v| v.as_array().is_none_or(Vec::is_empty));
    if empty_list(spec.get("clusterIPs"))
        && spec.get("clusterIP") == old_spec.get("clusterIP")
        && let Some(ips) = old_spec.get("clusterIPs")
    {
        spec.insert("clusterIPs".into(), ips.clone());
    }
    let node_ports = |t: &str| t == "NodePort" || t == "LoadBalancer";
    if node_ports(&new_type) && node_ports(&old_type) {
        let old_ports = old_spec
            .get("ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for p in ports.iter_mut() {
                if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                    continue;
                }
                let proto = |x: &Value| {
                    x.get("protocol")
                        .and_then(Value::as_str)
                        .unwrap_or("TCP")
                        .to_string()
                };
                let found = old_ports
                    .iter()
                    .find(|o| o.get("port") == p.get("port") && proto(o) == proto(p));
                if let (Some(np), Some(m)) =
                    (found.and_then(|o| o.get("nodePort")), p.as_object_mut())
                {
                    m.insert("nodePort".into(), np.clone());
                }
            }
        }
        if spec
            .get("healthCheckNodePort")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            == 0
            && let Some(h) = old_spec.get("healthCheckNodePort")
        {
            spec.insert("healthCheckNodePort".into(), h.clone());
        }
    }
}

/// Prepare an update through `/status`: only `status` changes; spec and metadata (labels,
/// annotations, finalizers, owners, generation ...) are kept from `old`. The new object's
/// `resourceVersion` (the precondition) and `managedFields` are carried over.
pub fn prepare_for_status_update(_res: &Resource, new: &mut Value, old: &Value) {
    let mut out = old.clone();
    if !out.is_object() {
        return;
    }
    match new.get("status") {
        Some(s) => out["status"] = s.clone(),
        None => {
            if let Some(m) = out.as_object_mut() {
                m.remove("status");
            }
        }
    }
    let carried: Vec<(&str, Value)> = ["resourceVersion", "managedFields"]
        .into_iter()
        .filter_map(|k| {
            new.pointer(&format!("/metadata/{k}"))
                .map(|v| (k, v.clone()))
        })
        .collect();
    if let Some(meta) = meta_mut(&mut out) {
        for (k, v) in carried {
            meta.insert(k.into(), v);
        }
    }
    *new = out;
}

#[cfg(test)]
mod tests;
