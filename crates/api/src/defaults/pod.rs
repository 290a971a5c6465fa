//! Pod and pod template defaults (upstream SetDefaults_Pod / _PodSpec / _Container ...).

use serde_json::{Value, json};

use super::util::{child, existing, items, missing, set};

/// Defaults for a PodSpec, shared by pods and every pod template.
pub fn pod_spec(spec: &mut Value) {
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    set(spec, "restartPolicy", json!("Always"));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "securityContext", json!({}));
    set(spec, "schedulerName", json!("default-scheduler"));
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for key in ["containers", "initContainers"] {
        for c in items(spec, key) {
            container(c, host_network);
        }
    }
    for c in items(spec, "ephemeralContainers") {
        set(c, "terminationMessagePath", json!("/dev/termination-log"));
        set(c, "terminationMessagePolicy", json!("File"));
        image_pull_policy(c);
    }
    for v in items(spec, "volumes") {
        volume(v);
    }
}

/// Defaults only real Pods get (not templates): SetDefaults_Pod plus the priority admission.
pub fn pod(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    pod_spec(spec);
    set(spec, "enableServiceLinks", json!(true));
    if missing(spec, "priorityClassName") {
        set(spec, "priority", json!(0));
    }
    set(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    for key in ["containers", "initContainers"] {
        for c in items(spec, key) {
            requests_from_limits(c);
        }
    }
}

/// A pod template at `obj[key]` (`spec.template`).
pub fn template(spec: &mut Value) {
    if let Some(t) = existing(spec, "template")
        && let Some(s) = child(t, "spec")
    {
        pod_spec(s);
    }
}

fn container(c: &mut Value, host_network: bool) {
    set(c, "terminationMessagePath", json!("/dev/termination-log"));
    set(c, "terminationMessagePolicy", json!("File"));
    set(c, "resources", json!({}));
    image_pull_policy(c);
    for p in items(c, "ports") {
        set(p, "protocol", json!("TCP"));
        if host_network && let Some(cp) = p.get("containerPort").cloned() {
            set(p, "hostPort", cp);
        }
    }
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = existing(c, key) {
            set(probe, "periodSeconds", json!(10));
            set(probe, "timeoutSeconds", json!(1));
            set(probe, "successThreshold", json!(1));
            set(probe, "failureThreshold", json!(3));
            handler(probe);
        }
    }
    if let Some(lc) = existing(c, "lifecycle") {
        for key in ["postStart", "preStop"] {
            if let Some(h) = existing(lc, key) {
                handler(h);
            }
        }
    }
    for e in items(c, "env") {
        if let Some(vf) = existing(e, "valueFrom")
            && let Some(fr) = existing(vf, "fieldRef")
        {
            set(fr, "apiVersion", json!("v1"));
        }
    }
}

fn handler(h: &mut Value) {
    if let Some(g) = existing(h, "httpGet") {
        set(g, "scheme", json!("HTTP"));
        set(g, "path", json!("/"));
    }
}

/// `Always` for `:latest` or untagged images, else `IfNotPresent`.
fn image_pull_policy(c: &mut Value) {
    if !missing(c, "imagePullPolicy") {
        return;
    }
    let Some(image) = c.get("image").and_then(Value::as_str) else {
        return;
    };
    let policy = if image_is_latest(image) {
        "Always"
    } else {
        "IfNotPresent"
    };
    set(c, "imagePullPolicy", json!(policy));
}

/// True when the reference has no digest and its tag is absent or `latest`.
pub fn image_is_latest(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

fn volume(v: &mut Value) {
    const SOURCES: &[&str] = &[
        "hostPath",
        "emptyDir",
        "gcePersistentDisk",
        "awsElasticBlockStore",
        "gitRepo",
        "secret",
        "nfs",
        "iscsi",
        "glusterfs",
        "persistentVolumeClaim",
        "rbd",
        "flexVolume",
        "cinder",
        "cephfs",
        "flocker",
        "downwardAPI",
        "fc",
        "azureFile",
        "configMap",
        "vsphereVolume",
        "quobyte",
        "azureDisk",
        "photonPersistentDisk",
        "projected",
        "portworxVolume",
        "scaleIO",
        "storageos",
        "csi",
        "ephemeral",
        "image",
    ];
    if !SOURCES.iter().any(|s| !missing(v, s)) {
        set(v, "emptyDir", json!({}));
    }
    for key in ["configMap", "secret", "downwardAPI", "projected"] {
        if let Some(src) = existing(v, key) {
            set(src, "defaultMode", json!(420));
        }
    }
    if let Some(hp) = existing(v, "hostPath") {
        set(hp, "type", json!(""));
    }
    if let Some(d) = existing(v, "downwardAPI") {
        for item in items(d, "items") {
            if let Some(fr) = existing(item, "fieldRef") {
                set(fr, "apiVersion", json!("v1"));
            }
        }
    }
}

/// Requests default to limits for every resource that has a limit but no request.
fn requests_from_limits(c: &mut Value) {
    let Some(limits) = c
        .pointer("/resources/limits")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let Some(res) = child(c, "resources") else {
        return;
    };
    let Some(req) = child(res, "requests") else {
        return;
    };
    for (k, v) in limits {
        set(req, &k, v);
    }
}
