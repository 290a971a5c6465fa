//! Restart policy, CrashLoopBackOff, probes and OOM kills with the real runtime.
//! Needs root and `cargo build -p skiff`.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crashes_probes_and_oom_kills() {
    let c = Cluster::start("restart").await;
    c.apply(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  nodeName: NODE
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: IMAGE, imagePullPolicy: IfNotPresent, command: [sh, -c, "echo boom; exit 3"]}
---
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  nodeName: NODE
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: IMAGE
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600"]
    livenessProbe:
      exec: {command: [cat, /tmp/healthy]}
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  nodeName: NODE
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: IMAGE
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "exec sleep 3600"]
    readinessProbe:
      exec: {command: [cat, /tmp/ready]}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  nodeName: NODE
  hostNetwork: true
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: IMAGE
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "tail /dev/zero"]
    resources: {limits: {memory: 32Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: nopull}
spec:
  nodeName: NODE
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: IMAGE-does-not-exist, imagePullPolicy: IfNotPresent}
---
apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  nodeName: NODE
  hostNetwork: true
  restartPolicy: OnFailure
  containers:
  - {name: c, image: IMAGE, imagePullPolicy: IfNotPresent, command: [sh, -c, "exit 0"]}
"#,
    );

    // A missing image: ErrImagePull, then ImagePullBackOff.
    let waiting_reason = |p: &k8s_openapi::api::core::v1::Pod| {
        cstatus(p, "c")
            .and_then(|s| s.state)
            .and_then(|s| s.waiting)
            .and_then(|w| w.reason)
            .unwrap_or_default()
    };
    c.wait_pod("nopull", 30, "ImagePullBackOff", |p| {
        waiting_reason(p) == "ImagePullBackOff"
    })
    .await;
    let ev = c.events("nopull");
    assert!(ev.contains("Failed to pull image"), "{ev}");
    assert!(ev.contains("Error: ErrImagePull"), "{ev}");
    assert!(ev.contains("Back-off pulling image"), "{ev}");

    // Readiness follows the probe.
    let p = c
        .wait_pod("ready", 30, "Running", |p| phase(p) == "Running")
        .await;
    assert_eq!(condition(&p, "Ready").as_deref(), Some("False"));
    let cs = cstatus(&p, "c").unwrap();
    assert!(!cs.ready && cs.started == Some(true));
    c.exec("ready", "c", &["touch", "/tmp/ready"]).await;
    c.wait_pod("ready", 20, "Ready", |p| {
        condition(p, "Ready").as_deref() == Some("True")
    })
    .await;
    c.exec("ready", "c", &["rm", "/tmp/ready"]).await;
    let p = c
        .wait_pod("ready", 20, "not Ready", |p| {
            condition(p, "Ready").as_deref() == Some("False")
        })
        .await;
    assert_eq!(cstatus(&p, "c").unwrap().restart_count, 0);

    // A failing liveness probe restarts the container.
    let p = c
        .wait_pod("live", 40, "restarted once", |p| {
            cstatus(p, "c").is_some_and(|s| s.restart_count >= 1)
        })
        .await;
    let last = cstatus(&p, "c")
        .unwrap()
        .last_state
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(last.exit_code, 137, "{last:?}");
    let ev = c.events("live");
    assert!(ev.contains("Liveness probe failed"), "{ev}");
    assert!(
        ev.contains("failed liveness probe, will be restarted"),
        "{ev}"
    );

    // The memory hog is OOMKilled and, with restartPolicy Never, the pod fails.
    let p = c
        .wait_pod("hog", 60, "Failed", |p| phase(p) == "Failed")
        .await;
    let t = cstatus(&p, "c").unwrap().state.unwrap().terminated.unwrap();
    assert_eq!((t.reason.as_deref(), t.exit_code), (Some("OOMKilled"), 137));

    // OnFailure with exit 0: Succeeded, never restarted.
    let p = c
        .wait_pod("once", 30, "Succeeded", |p| phase(p) == "Succeeded")
        .await;
    assert_eq!(cstatus(&p, "c").unwrap().restart_count, 0);
    assert_eq!(
        p.status
            .unwrap()
            .conditions
            .unwrap()
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap()
            .reason
            .as_deref(),
        Some("PodCompleted")
    );

    // The crashing container backs off with a rising restart count.
    let p = c
        .wait_pod("crash", 60, "restartCount 2", |p| {
            cstatus(p, "c").is_some_and(|s| s.restart_count >= 2)
        })
        .await;
    let cs = cstatus(&p, "c").unwrap();
    let last = cs.last_state.unwrap().terminated.unwrap();
    assert_eq!((last.exit_code, last.reason.as_deref()), (3, Some("Error")));
    let p = c
        .wait_pod("crash", 20, "CrashLoopBackOff", |p| {
            cstatus(p, "c")
                .and_then(|s| s.state)
                .and_then(|s| s.waiting)
                .is_some_and(|w| w.reason.as_deref() == Some("CrashLoopBackOff"))
        })
        .await;
    let w = cstatus(&p, "c").unwrap().state.unwrap().waiting.unwrap();
    assert!(
        w.message
            .unwrap()
            .starts_with("back-off 20s restarting failed container=c pod=crash_default("),
    );
    let out = c.kubectl.ok(&["get", "pod", "crash"]);
    assert!(out.contains("CrashLoopBackOff"), "{out}");
    let ev = c.events("crash");
    assert!(
        ev.contains("Back-off restarting failed container c in pod crash_default"),
        "{ev}"
    );

    c.kubectl
        .ok(&["delete", "pods", "--all", "--wait=true", "--timeout=60s"]);
}
