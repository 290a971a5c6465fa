//! Graceful deletion with preStop, force deletion, and agent restarts that keep containers.
//! Needs root and `cargo build -p skiff`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use skiff_runtime::{ContainerFilter, RuntimeService};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_restart_and_force_delete() {
    let mut c = Cluster::start("life").await;
    let marker = c.config.data_dir.join("prestop-ran");
    std::fs::create_dir_all(&c.config.data_dir).unwrap();
    c.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: graceful}}
spec:
  nodeName: NODE
  hostNetwork: true
  terminationGracePeriodSeconds: 5
  containers:
  - name: c
    image: IMAGE
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "trap 'echo term >> /host/log; exit 0' TERM; while true; do sleep 0.1; done"]
    lifecycle:
      postStart:
        exec: {{command: [sh, -c, "echo poststart >> /host/log"]}}
      preStop:
        exec: {{command: [sh, -c, "echo prestop >> /host/log"]}}
    volumeMounts: [{{name: host, mountPath: /host}}]
  volumes: [{{name: host, hostPath: {{path: {dir}, type: Directory}}}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: keep}}
spec:
  nodeName: NODE
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  initContainers:
  - {{name: init, image: IMAGE, imagePullPolicy: IfNotPresent, command: ["true"]}}
  containers:
  - {{name: a, image: IMAGE, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}}
  - {{name: b, image: IMAGE, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}}
"#,
        dir = c.config.data_dir.display()
    ));
    let _ = marker;
    c.wait_pod("graceful", 30, "Running", |p| phase(p) == "Running")
        .await;
    let keep = c
        .wait_pod("keep", 30, "Ready", |p| {
            condition(p, "Ready").as_deref() == Some("True")
        })
        .await;
    let ids: Vec<Option<String>> = ["init", "a", "b"]
        .iter()
        .map(|n| container_id(&keep, n))
        .collect();

    // Restarting the agent re-adopts the running containers: same IDs, no restarts.
    c.restart_kubelet().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let keep = c
        .wait_pod("keep", 30, "Ready", |p| {
            condition(p, "Ready").as_deref() == Some("True")
        })
        .await;
    let after: Vec<Option<String>> = ["init", "a", "b"]
        .iter()
        .map(|n| container_id(&keep, n))
        .collect();
    assert_eq!(ids, after);
    for n in ["a", "b"] {
        assert_eq!(cstatus(&keep, n).unwrap().restart_count, 0);
    }

    // Graceful deletion: preStop, then SIGTERM, within the grace period; the object goes.
    let t0 = Instant::now();
    c.kubectl
        .ok(&["delete", "pod", "graceful", "--wait=true", "--timeout=30s"]);
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let log = std::fs::read_to_string(c.config.data_dir.join("log")).unwrap_or_default();
    assert_eq!(log, "poststart\nprestop\nterm\n");
    let ev = c.events("graceful");
    assert!(ev.contains("Stopping container c"), "{ev}");

    // Force deletion: the object is gone at once; the node cleans up its containers.
    let keep_uid = keep.metadata.uid.clone().unwrap();
    c.kubectl
        .ok(&["delete", "pod", "keep", "--grace-period=0", "--force"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = c
            .rt()
            .list_containers(ContainerFilter::default())
            .await
            .unwrap()
            .into_iter()
            .filter(|x| x.labels.get("io.kubernetes.pod.uid") == Some(&keep_uid))
            .count();
        let sandboxes = c
            .rt()
            .list_pod_sandboxes(Default::default())
            .await
            .unwrap()
            .len();
        if left == 0 && sandboxes == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} containers, {sandboxes} sandboxes left"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(!c.config.pod_dir(&keep_uid).exists());
}
