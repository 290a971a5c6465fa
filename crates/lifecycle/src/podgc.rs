//! Pod garbage collector: pods bound to nodes that no longer exist, terminating pods never
//! scheduled, and terminated pods past the threshold are deleted.

use std::collections::HashSet;
use std::sync::Arc;

use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::Config;
use crate::error::{Result, is_not_found};
use crate::informer::Obj;
use crate::informer::{Informer, api, resource};

/// Why a pod is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Bound to a node that does not exist.
    Orphaned,
    /// Being deleted but never scheduled.
    UnscheduledTerminating,
    /// Terminated, and more terminated pods exist than the threshold.
    Terminated,
    /// Being deleted on a node that is not ready and tainted out-of-service.
    OutOfService,
}

/// Taint an administrator puts on a node known to be shut down.
pub const OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

fn out_of_service(node: &Value) -> bool {
    let tainted = node["spec"]["taints"].as_array().is_some_and(|t| {
        t.iter()
            .any(|t| t["key"] == OUT_OF_SERVICE && t["effect"] == "NoExecute")
    });
    tainted && crate::taints::condition(node, "Ready") != Some("True")
}

/// (namespace, name, reason) of every pod to force-delete.
pub fn collect(pods: &[Obj], nodes: &[Obj], threshold: usize) -> Vec<(String, String, Reason)> {
    let node_names: HashSet<&str> = nodes
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str())
        .collect();
    let out_of_service: HashSet<&str> = nodes
        .iter()
        .filter(|n| out_of_service(n))
        .filter_map(|n| n["metadata"]["name"].as_str())
        .collect();
    let id = |p: &Value| {
        (
            p["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    };
    let mut out = Vec::new();
    let mut terminated: Vec<&Value> = Vec::new();
    for pod in pods {
        let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
        let deleting = pod["metadata"]
            .get("deletionTimestamp")
            .is_some_and(|t| !t.is_null());
        if !node.is_empty() && !node_names.contains(node) {
            let (ns, name) = id(pod);
            out.push((ns, name, Reason::Orphaned));
        } else if node.is_empty() && deleting {
            let (ns, name) = id(pod);
            out.push((ns, name, Reason::UnscheduledTerminating));
        } else if deleting && out_of_service.contains(node) {
            let (ns, name) = id(pod);
            out.push((ns, name, Reason::OutOfService));
        } else if matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        ) && !deleting
        {
            terminated.push(pod);
        }
    }
    if terminated.len() > threshold {
        terminated.sort_by(|a, b| {
            let t = |p: &Value| {
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            };
            t(a).cmp(&t(b))
        });
        let extra = terminated.len() - threshold;
        for pod in terminated.into_iter().take(extra) {
            let (ns, name) = id(pod);
            out.push((ns, name, Reason::Terminated));
        }
    }
    out
}

/// Run the pod garbage collector until the process ends.
pub async fn run(client: kube::Client, config: Config) -> Result<()> {
    let pods_res = resource("", "v1", "pods")?;
    let nodes_res = resource("", "v1", "nodes")?;
    let pods = Informer::start(&client, pods_res, Arc::new(Notify::new()));
    let nodes = Informer::start(&client, nodes_res, Arc::new(Notify::new()));
    pods.ready().await;
    nodes.ready().await;
    loop {
        tokio::time::sleep(config.pod_gc_period).await;
        for (ns, name, reason) in collect(
            &pods.values(),
            &nodes.values(),
            config.terminated_pod_gc_threshold,
        ) {
            if let Err(e) = remove(&client, &ns, &name, reason).await {
                tracing::debug!(pod = %name, "pod GC: {e}");
            }
        }
    }
}

async fn remove(client: &kube::Client, ns: &str, name: &str, reason: Reason) -> Result<()> {
    let pods = api(client, resource("", "v1", "pods")?, Some(ns));
    if reason == Reason::Orphaned {
        // Re-check the node against the API, not the cache.
        let Some(pod) = pods.get_opt(name).await? else {
            return Ok(());
        };
        let node = pod.data["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if api(client, resource("", "v1", "nodes")?, None)
            .get_opt(&node)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let condition = json!({
            "type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
            "message": "PodGC: node no longer exists",
            "lastTransitionTime": crate::time::format(chrono::Utc::now()),
        });
        let _ = pods
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Strategic(json!({"status": {"conditions": [condition]}})),
            )
            .await;
    }
    tracing::info!(pod = name, namespace = ns, ?reason, "pod GC deletes");
    match pods
        .delete(name, &DeleteParams::default().grace_period(0))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(pods: &[Value], nodes: &[Value], threshold: usize) -> Vec<(String, String, Reason)> {
        let shared = |v: &[Value]| v.iter().cloned().map(Arc::new).collect::<Vec<_>>();
        super::collect(&shared(pods), &shared(nodes), threshold)
    }

    fn pod(name: &str, node: &str, phase: &str, created: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns", "creationTimestamp": created},
               "spec": {"nodeName": node}, "status": {"phase": phase}})
    }

    #[test]
    fn pods_on_missing_nodes_are_orphans() {
        let nodes = vec![json!({"metadata": {"name": "here"}})];
        let pods = vec![
            pod("a", "here", "Running", "1"),
            pod("b", "gone", "Running", "1"),
        ];
        assert_eq!(
            collect(&pods, &nodes, 10),
            vec![("ns".into(), "b".into(), Reason::Orphaned)]
        );
    }

    #[test]
    fn oldest_terminated_pods_past_the_threshold_go() {
        let nodes = vec![json!({"metadata": {"name": "n"}})];
        let pods = vec![
            pod("new", "n", "Succeeded", "2024-01-03T00:00:00Z"),
            pod("old", "n", "Failed", "2024-01-01T00:00:00Z"),
            pod("mid", "n", "Succeeded", "2024-01-02T00:00:00Z"),
            pod("run", "n", "Running", "2024-01-01T00:00:00Z"),
        ];
        let got: Vec<String> = collect(&pods, &nodes, 1)
            .into_iter()
            .map(|(_, n, _)| n)
            .collect();
        assert_eq!(got, vec!["old".to_string(), "mid".to_string()]);
    }

    #[test]
    fn terminating_pods_on_out_of_service_nodes_go() {
        let node = json!({"metadata": {"name": "n"},
            "spec": {"taints": [{"key": OUT_OF_SERVICE, "value": "nodeshutdown", "effect": "NoExecute"}]},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        let mut p = pod("t", "n", "Running", "1");
        assert!(collect(std::slice::from_ref(&p), std::slice::from_ref(&node), 10).is_empty());
        p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(
            collect(std::slice::from_ref(&p), std::slice::from_ref(&node), 10)[0].2,
            Reason::OutOfService
        );
        let mut ready = node.clone();
        ready["status"]["conditions"][0]["status"] = json!("True");
        assert!(collect(&[p], &[ready], 10).is_empty());
    }

    #[test]
    fn unscheduled_terminating_pods_go() {
        let mut p = pod("t", "", "Pending", "1");
        p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(collect(&[p], &[], 10)[0].2, Reason::UnscheduledTerminating);
    }
}
