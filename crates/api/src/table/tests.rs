//! Tests of the Table shape, ages and pod rows; per-kind rows are in `tests/kinds.rs`.

mod kinds;
mod workloads;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::{cells, columns, human_duration, to_table};
use crate::registry::Resource;

/// A resource entry with only what the table code looks at filled in.
pub(super) fn res(group: &'static str, kind: &'static str) -> Resource {
    Resource {
        group,
        version: "v1",
        kind,
        plural: "things",
        singular: "thing",
        namespaced: true,
        short_names: &[],
        categories: &[],
        has_status: true,
        has_scale: false,
        verbs: &[],
        storage_version: "v1",
        storage_group: group,
    }
}

pub(super) fn now() -> DateTime<Utc> {
    "2024-05-10T12:00:00Z".parse().expect("fixed test time")
}

/// An RFC 3339 time `secs` seconds before [`now`].
pub(super) fn ago(secs: i64) -> String {
    (now() - TimeDelta::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Cells as display strings (what kubectl prints for each).
pub(super) fn texts(group: &'static str, kind: &'static str, obj: &Value) -> Vec<String> {
    cells(&res(group, kind), obj, now())
        .iter()
        .map(|c| match c {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

pub(super) fn names(group: &'static str, kind: &'static str) -> Vec<&'static str> {
    columns(&res(group, kind)).iter().map(|c| c.name).collect()
}

fn secs(n: i64) -> String {
    human_duration(TimeDelta::seconds(n))
}

#[test]
fn human_duration_follows_upstream_steps() {
    assert_eq!(human_duration(TimeDelta::milliseconds(-2500)), "<invalid>");
    assert_eq!(human_duration(TimeDelta::milliseconds(-1500)), "0s");
    assert_eq!(human_duration(TimeDelta::milliseconds(-500)), "0s");
    assert_eq!(secs(0), "0s");
    assert_eq!(secs(5), "5s");
    assert_eq!(secs(119), "119s");
    assert_eq!(secs(120), "2m");
    assert_eq!(secs(182), "3m2s");
    assert_eq!(secs(599), "9m59s");
    assert_eq!(secs(600), "10m");
    assert_eq!(secs(179 * 60 + 59), "179m");
    assert_eq!(secs(3 * 3600), "3h");
    assert_eq!(secs(3 * 3600 + 25 * 60 + 7), "3h25m");
    assert_eq!(secs(8 * 3600), "8h");
    assert_eq!(secs(47 * 3600 + 3599), "47h");
    assert_eq!(secs(48 * 3600), "2d");
    assert_eq!(secs(51 * 3600), "2d3h");
    assert_eq!(secs(7 * 86400 + 23 * 3600), "7d23h");
    assert_eq!(secs(8 * 86400), "8d");
    assert_eq!(secs(45 * 86400 + 5 * 3600), "45d");
    assert_eq!(secs(729 * 86400), "729d");
    assert_eq!(secs(730 * 86400), "2y");
    assert_eq!(secs(740 * 86400), "2y10d");
    assert_eq!(secs(8 * 365 * 86400 + 40 * 86400), "8y");
}

#[test]
fn table_has_upstream_shape_with_partial_metadata_rows() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
            "creationTimestamp": ago(65)},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        "status": {"phase": "Pending"}
    });
    let t = to_table(
        &res("", "Pod"),
        std::slice::from_ref(&pod),
        "Metadata",
        "meta.k8s.io/v1",
        json!({"resourceVersion": "42", "continue": ""}),
        now(),
    );
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(t["metadata"], json!({"resourceVersion": "42"}));
    let defs = t["columnDefinitions"]
        .as_array()
        .expect("column definitions");
    assert_eq!(defs.len(), 9);
    assert_eq!(
        defs[0],
        json!({"name": "Name", "type": "string", "format": "name",
            "description": defs[0]["description"], "priority": 0})
    );
    assert_eq!(defs[5]["name"], "IP");
    assert_eq!(defs[5]["priority"], 1);
    let rows = t["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0]["cells"],
        json!([
            "web", "0/1", "Pending", "0", "65s", "<none>", "<none>", "<none>", "<none>"
        ])
    );
    assert_eq!(
        rows[0]["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": pod["metadata"]})
    );
    assert!(rows[0].get("conditions").is_none());
}

#[test]
fn include_object_none_and_object() {
    let cm = json!({"metadata": {"name": "cfg", "creationTimestamp": ago(10)}, "data": {"a": "1"}});
    let r = res("", "ConfigMap");
    let none = to_table(
        &r,
        std::slice::from_ref(&cm),
        "None",
        "meta.k8s.io/v1beta1",
        Value::Null,
        now(),
    );
    assert_eq!(none["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(none["metadata"], json!({}));
    assert_eq!(none["rows"][0]["object"], Value::Null);
    assert_eq!(none["rows"][0]["cells"], json!(["cfg", 1, "10s"]));

    let full = to_table(&r, &[cm], "Object", "meta.k8s.io/v1", json!({}), now());
    let obj = &full["rows"][0]["object"];
    assert_eq!(obj["kind"], "ConfigMap");
    assert_eq!(obj["apiVersion"], "v1");
    assert_eq!(obj["data"]["a"], "1");
}

#[test]
fn empty_list_gives_empty_rows() {
    let t = to_table(
        &res("apps", "Deployment"),
        &[],
        "Metadata",
        "meta.k8s.io/v1",
        json!({"resourceVersion": "7", "remainingItemCount": 3}),
        now(),
    );
    assert_eq!(t["rows"], json!([]));
    assert_eq!(
        t["metadata"],
        json!({"resourceVersion": "7", "remainingItemCount": 3})
    );
    assert_eq!(t["columnDefinitions"].as_array().map(Vec::len), Some(8));
}

#[test]
fn finished_pods_carry_completed_row_condition() {
    let pod = json!({"metadata": {"name": "done"}, "status": {"phase": "Succeeded"}});
    let t = to_table(
        &res("", "Pod"),
        &[pod],
        "None",
        "meta.k8s.io/v1",
        json!({}),
        now(),
    );
    assert_eq!(
        t["rows"][0]["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded",
            "message": "The pod has completed successfully."}])
    );
}

fn pod(status: Value) -> Value {
    json!({
        "metadata": {"name": "p", "namespace": "ns", "creationTimestamp": ago(300)},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        "status": status,
    })
}

/// (READY, STATUS, RESTARTS) of a pod.
fn pod_summary(p: &Value) -> (String, String, String) {
    let t = texts("", "Pod", p);
    (t[1].clone(), t[2].clone(), t[3].clone())
}

fn summary(ready: &str, status: &str, restarts: &str) -> (String, String, String) {
    (ready.into(), status.into(), restarts.into())
}

#[test]
fn pod_status_pending_creating_running() {
    assert_eq!(
        pod_summary(&pod(json!({"phase": "Pending"}))),
        summary("0/1", "Pending", "0")
    );
    let creating = pod(json!({"phase": "Pending", "containerStatuses": [
        {"name": "app", "ready": false, "restartCount": 0,
         "state": {"waiting": {"reason": "ContainerCreating"}}}]}));
    assert_eq!(
        pod_summary(&creating),
        summary("0/1", "ContainerCreating", "0")
    );
    let running = pod(json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": true, "restartCount": 0,
         "state": {"running": {"startedAt": ago(200)}}}]}));
    assert_eq!(pod_summary(&running), summary("1/1", "Running", "0"));
    let not_ready = pod(json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": false, "restartCount": 0,
         "state": {"running": {"startedAt": ago(200)}}}]}));
    assert_eq!(pod_summary(&not_ready), summary("0/1", "Running", "0"));
}

#[test]
fn pod_status_completed_and_failures() {
    let completed = pod(json!({"phase": "Succeeded", "containerStatuses": [
        {"name": "app", "ready": false, "restartCount": 0,
         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}));
    assert_eq!(pod_summary(&completed), summary("0/1", "Completed", "0"));
    let exit = pod(json!({"phase": "Failed", "containerStatuses": [
        {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 3}}}]}));
    assert_eq!(pod_summary(&exit).1, "ExitCode:3");
    let signal = pod(json!({"phase": "Failed", "containerStatuses": [
        {"name": "app", "restartCount": 0,
         "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}));
    assert_eq!(pod_summary(&signal).1, "Signal:9");
    let evicted = pod(json!({"phase": "Failed", "reason": "Evicted"}));
    assert_eq!(pod_summary(&evicted).1, "Evicted");
}

#[test]
fn pod_status_crash_loop_shows_restarts_with_age() {
    let crashing = pod(json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": false, "restartCount": 3,
         "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
         "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
             "finishedAt": ago(300)}}}]}));
    assert_eq!(
        pod_summary(&crashing),
        summary("0/1", "CrashLoopBackOff", "3 (5m ago)")
    );
    let no_time = pod(json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": true, "restartCount": 2, "state": {"running": {}}}]}));
    assert_eq!(pod_summary(&no_time), summary("1/1", "Running", "2"));
}

#[test]
fn pod_status_init_containers() {
    let mut p = pod(json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "init", "ready": false, "restartCount": 0,
         "state": {"waiting": {"reason": "PodInitializing"}}}]}));
    p["spec"]["initContainers"] = json!([{"name": "init", "image": "busybox"}]);
    assert_eq!(pod_summary(&p), summary("0/1", "Init:0/1", "0"));

    p["status"]["initContainerStatuses"][0]["state"] =
        json!({"waiting": {"reason": "CrashLoopBackOff"}});
    p["status"]["initContainerStatuses"][0]["restartCount"] = json!(4);
    assert_eq!(
        pod_summary(&p),
        summary("0/1", "Init:CrashLoopBackOff", "4")
    );

    p["status"]["initContainerStatuses"][0]["state"] =
        json!({"terminated": {"exitCode": 1, "reason": "Error"}});
    assert_eq!(pod_summary(&p).1, "Init:Error");
    p["status"]["initContainerStatuses"][0]["state"] = json!({"terminated": {"exitCode": 2}});
    assert_eq!(pod_summary(&p).1, "Init:ExitCode:2");

    // A finished init container lets the app containers decide.
    p["status"]["initContainerStatuses"][0]["state"] =
        json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
    p["status"]["containerStatuses"] = json!([{"name": "app", "ready": false,
        "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]);
    assert_eq!(pod_summary(&p), summary("0/1", "ContainerCreating", "0"));
}

#[test]
fn pod_sidecar_init_containers_count_towards_ready() {
    let mut p = pod(json!({"phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}],
        "initContainerStatuses": [{"name": "proxy", "ready": true, "started": true,
            "restartCount": 1, "state": {"running": {}},
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(120)}}}],
        "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
            "state": {"running": {}}}]}));
    p["spec"]["initContainers"] =
        json!([{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]);
    assert_eq!(pod_summary(&p), summary("2/2", "Running", "1 (2m ago)"));
}

#[test]
fn pod_completed_with_running_container_reads_running_or_not_ready() {
    let mut p = pod(json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}},
        {"name": "job", "ready": false, "restartCount": 0,
         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}));
    p["spec"]["containers"] = json!([{"name": "app"}, {"name": "job"}]);
    assert_eq!(pod_summary(&p), summary("1/2", "NotReady", "0"));
    p["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
    assert_eq!(pod_summary(&p).1, "Running");
}

#[test]
fn pod_terminating_unknown_and_gated() {
    let mut p = pod(json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]}));
    p["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(pod_summary(&p).1, "Terminating");
    p["status"]["reason"] = json!("NodeLost");
    assert_eq!(pod_summary(&p).1, "Unknown");
    p["status"] = json!({"phase": "Succeeded"});
    assert_eq!(pod_summary(&p).1, "Succeeded");

    let gated = pod(json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}));
    assert_eq!(pod_summary(&gated).1, "SchedulingGated");
}

#[test]
fn pod_wide_columns() {
    let mut p = pod(json!({"phase": "Running", "podIP": "10.0.0.5",
        "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}],
        "nominatedNodeName": "n2",
        "conditions": [{"type": "example.com/ready", "status": "True"}],
        "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
            "state": {"running": {}}}]}));
    p["spec"]["nodeName"] = json!("n1");
    p["spec"]["readinessGates"] = json!([{"conditionType": "example.com/ready"},
        {"conditionType": "example.com/other"}]);
    assert_eq!(
        texts("", "Pod", &p),
        [
            "p", "1/1", "Running", "0", "5m", "10.0.0.5", "n1", "n2", "1/2"
        ]
    );
    assert_eq!(
        names("", "Pod"),
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
}
