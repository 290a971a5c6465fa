//! Hollow nodes and pods for logic tests: plain objects, no API server.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use crate::algorithm::{Algorithm, Decision, Failure, schedule_one};
use crate::cache::Cache;
use crate::config::SchedulerConfig;
use crate::framework::Framework;
use crate::podinfo::PodInfo;

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

/// A Ready node with allocatable cpu/memory/pods; `extra` is merged into the object.
pub fn node(name: &str, cpu: &str, mem: &str, extra: Value) -> Node {
    let mut v = json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "allocatable": {"cpu": cpu, "memory": mem, "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    });
    merge(&mut v, extra);
    serde_json::from_value(v).expect("node json")
}

/// A pending pod in `default` with one container requesting `cpu`/`mem`; `extra` merged.
pub fn pod(name: &str, cpu: &str, mem: &str, extra: Value) -> PodInfo {
    let mut v = json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
        "spec": {"schedulerName": "default-scheduler", "containers": [
            {"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu, "memory": mem}}}
        ]}
    });
    merge(&mut v, extra);
    let p: Pod = serde_json::from_value(v).expect("pod json");
    PodInfo::new(p, &HashMap::new())
}

pub fn framework() -> Framework {
    SchedulerConfig::default()
        .framework()
        .expect("default profile")
}

pub fn cache(nodes: Vec<Node>) -> Cache {
    let mut c = Cache::default();
    for n in nodes {
        c.upsert_node(n);
    }
    c
}

/// Put a pod on a node as if bound.
pub fn bind(c: &mut Cache, p: PodInfo, node: &str) -> Arc<PodInfo> {
    let mut p = p;
    if let Some(s) = p.pod.spec.as_mut() {
        s.node_name = Some(node.into());
    }
    let p = Arc::new(p);
    c.add_or_update_pod(p.clone());
    p
}

pub fn schedule(c: &Cache, p: &PodInfo) -> Result<Decision, Box<Failure>> {
    schedule_one(&framework(), &mut Algorithm::new(None, 7), c, p)
}

/// The FailedScheduling message for a pod that must not fit.
pub fn failure(c: &Cache, p: &PodInfo) -> String {
    match schedule(c, p) {
        Ok(d) => panic!("expected no fit, got {}", d.node),
        Err(f) => f.fit.to_string(),
    }
}
