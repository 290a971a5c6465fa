//! Asserted rows of workload kinds: apps, batch, autoscaling, policy.

use serde_json::json;

use super::kinds::meta;
use super::{ago, names, now, res, texts};
use crate::table::cells;

#[test]
fn deployment_row() {
    let d = json!({"metadata": meta("web", 3 * 86400 + 3600),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [
                {"name": "nginx", "image": "nginx:1.25"},
                {"name": "log", "image": "busybox"}]}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
    assert_eq!(
        texts("apps", "Deployment", &d),
        [
            "web",
            "2/3",
            "3",
            "2",
            "3d1h",
            "nginx,log",
            "nginx:1.25,busybox",
            "app=web"
        ]
    );
    assert_eq!(
        names("apps", "Deployment"),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let c = cells(&res("apps", "Deployment"), &d, now());
    assert_eq!(c[2], json!(3), "Up-to-date is an integer cell");
}

#[test]
fn replica_set_daemon_set_stateful_set_rows() {
    let rs = json!({"metadata": meta("web-5d8f", 30),
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d8f"}},
            "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
        "status": {"replicas": 2, "readyReplicas": 1}});
    assert_eq!(
        texts("apps", "ReplicaSet", &rs),
        [
            "web-5d8f",
            "2",
            "2",
            "1",
            "30s",
            "c",
            "i",
            "app=web,pod-template-hash=5d8f"
        ]
    );
    let ds = json!({"metadata": meta("agent", 600),
        "spec": {"selector": {"matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "app", "operator": "Exists"}]},
            "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                "containers": [{"name": "a", "image": "agent:1"}]}}},
        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
            "updatedNumberScheduled": 3, "numberAvailable": 2}});
    assert_eq!(
        texts("apps", "DaemonSet", &ds),
        [
            "agent",
            "3",
            "3",
            "2",
            "3",
            "2",
            "kubernetes.io/os=linux",
            "10m",
            "a",
            "agent:1",
            "app,tier in (a,b)"
        ]
    );
    let sts = json!({"metadata": meta("db", 7200),
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "pg", "image": "postgres"}]}}},
        "status": {"readyReplicas": 3}});
    assert_eq!(
        texts("apps", "StatefulSet", &sts),
        ["db", "3/3", "120m", "pg", "postgres"]
    );
}

#[test]
fn job_rows_and_statuses() {
    let mut job = json!({"metadata": meta("pi", 120),
        "spec": {"completions": 1, "parallelism": 1,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
            "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}},
        "status": {"startTime": ago(120), "completionTime": ago(95), "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True"}]}});
    assert_eq!(
        texts("batch", "Job", &job),
        [
            "pi",
            "Complete",
            "1/1",
            "25s",
            "2m",
            "pi",
            "perl",
            "batch.kubernetes.io/controller-uid=u1"
        ]
    );
    assert_eq!(
        names("batch", "Job")[..5],
        ["Name", "Status", "Completions", "Duration", "Age"]
    );
    job["status"] = json!({"startTime": ago(40), "active": 1});
    let t = texts("batch", "Job", &job);
    assert_eq!(
        (t[1].as_str(), t[2].as_str(), t[3].as_str()),
        ("Running", "0/1", "40s")
    );
    job["status"]["conditions"] = json!([{"type": "Failed", "status": "True"}]);
    assert_eq!(texts("batch", "Job", &job)[1], "Failed");
    job["status"]["conditions"] = json!([{"type": "Suspended", "status": "True"}]);
    assert_eq!(texts("batch", "Job", &job)[1], "Suspended");
    job["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(texts("batch", "Job", &job)[1], "Terminating");
    job["spec"] = json!({"parallelism": 3});
    job["status"] = json!({"succeeded": 2});
    assert_eq!(texts("batch", "Job", &job)[2], "2/1 of 3");
    assert_eq!(texts("batch", "Job", &job)[3], "");
}

#[test]
fn cron_job_row() {
    let cj = json!({"metadata": meta("nightly", 86400),
        "spec": {"schedule": "0 3 * * *", "suspend": false,
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "backup"}]}}}}},
        "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(3600)}});
    assert_eq!(
        texts("batch", "CronJob", &cj),
        [
            "nightly",
            "0 3 * * *",
            "<none>",
            "False",
            "1",
            "60m",
            "24h",
            "b",
            "backup",
            "<none>"
        ]
    );
}

#[test]
fn replication_controller_and_controller_revision_rows() {
    let rc = json!({"metadata": meta("rc", 60),
        "spec": {"replicas": 2, "selector": {"app": "x"},
            "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
        "status": {"replicas": 2, "readyReplicas": 2}});
    assert_eq!(
        texts("", "ReplicationController", &rc),
        ["rc", "2", "2", "2", "60s", "c", "i", "app=x"]
    );
    let cr = json!({"metadata": {"name": "agent-7c9", "creationTimestamp": ago(60),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                "controller": true}]},
        "revision": 2});
    assert_eq!(
        texts("apps", "ControllerRevision", &cr),
        ["agent-7c9", "daemonset.apps/agent", "2", "60s"]
    );
}

#[test]
fn hpa_and_pdb_rows() {
    let hpa = json!({"metadata": meta("web", 60),
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2,
            "maxReplicas": 5, "metrics": [
                {"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Resource", "resource": {"name": "memory",
                    "target": {"type": "AverageValue", "averageValue": "500Mi"}}}]},
        "status": {"currentReplicas": 2, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40}}}]}});
    assert_eq!(
        texts("autoscaling", "HorizontalPodAutoscaler", &hpa),
        [
            "web",
            "Deployment/web",
            "cpu: 40%/80%, memory: <unknown>/500Mi",
            "2",
            "5",
            "2",
            "60s"
        ]
    );
    let v1 = json!({"metadata": meta("old", 60),
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "old"}, "maxReplicas": 3,
            "targetCPUUtilizationPercentage": 50}});
    assert_eq!(
        texts("autoscaling", "HorizontalPodAutoscaler", &v1)[2..4],
        ["cpu: <unknown>/50%", "1"]
    );
    let pdb = json!({"metadata": meta("web", 60), "spec": {"minAvailable": "50%"},
        "status": {"disruptionsAllowed": 1}});
    assert_eq!(
        texts("policy", "PodDisruptionBudget", &pdb),
        ["web", "50%", "N/A", "1", "60s"]
    );
}
