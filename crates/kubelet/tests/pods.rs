//! The kubelet runs pods for real: a `skiff server`, the real runtime, kubectl reading back.
//! Needs root and `cargo build -p skiff` (the runtime helper is the skiff binary).

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pods_run_with_volumes_env_and_init_containers() {
    let c = Cluster::start("run").await;

    // The node registers, Ready, with a lease.
    let nodes: Api<Node> = Api::all(c.client.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(n) = nodes.get_opt(&c.node).await.unwrap()
            && n.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|x| x.type_ == "Ready" && x.status == "True"))
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "node not Ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = c.kubectl.ok(&["get", "node", &c.node]);
    assert!(
        out.contains("Ready") && out.contains("control-plane"),
        "{out}"
    );
    let leases: Api<Lease> = Api::namespaced(c.client.clone(), "kube-node-lease");
    let lease = leases.get(&c.node).await.unwrap();
    assert_eq!(lease.spec.unwrap().lease_duration_seconds, Some(40));

    c.apply(
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {color: blue, greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {password: hunter2}
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: NODE
  hostNetwork: true
  terminationGracePeriodSeconds: 2
  initContainers:
  - name: init
    image: IMAGE
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "echo from-init > /shared/init.txt"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: writer
    image: IMAGE
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "echo $(CFG_greeting)-$COLOR-$PASSWORD-$POD_NAME > /shared/out.txt; exec sleep 3600"]
    env:
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: cfg, key: color}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: sec, key: password}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}]
    volumeMounts:
    - {name: shared, mountPath: /shared}
    - {name: cfgvol, mountPath: /etc/cfg}
    - {name: secvol, mountPath: /etc/sec}
  - name: reader
    image: IMAGE
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "exec sleep 3600"]
    env: [{name: GREETING, value: "$(MISSING)"}]
    volumeMounts: [{name: shared, mountPath: /data}, {name: mem, mountPath: /mem}]
  volumes:
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
  - {name: shared, emptyDir: {}}
  - {name: cfgvol, configMap: {name: cfg}}
  - {name: secvol, secret: {secretName: sec}}
"#,
    );
    let p = c
        .wait_pod("web", 60, "Running and Ready", |p| {
            phase(p) == "Running" && condition(p, "Ready").as_deref() == Some("True")
        })
        .await;
    let st = p.status.clone().unwrap();
    assert_eq!(st.pod_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(st.host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(st.qos_class.as_deref(), Some("BestEffort"));
    let init = cstatus(&p, "init").unwrap();
    let t = init.state.unwrap().terminated.unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (0, Some("Completed")));
    let w = cstatus(&p, "writer").unwrap();
    assert!(w.ready && w.started == Some(true) && w.restart_count == 0);
    assert!(w.container_id.unwrap().starts_with("skiff://"));
    assert!(w.image_id.contains("@sha256:"), "{}", w.image_id);
    let out = c.kubectl.ok(&["get", "pods", "web"]);
    assert!(out.contains("2/2") && out.contains("Running"), "{out}");

    // The init container ran first; two containers share the emptyDir.
    let (_, text) = c
        .exec("web", "reader", &["cat", "/data/init.txt", "/data/out.txt"])
        .await;
    assert_eq!(text, "from-init\nhello-blue-hunter2-web\n");
    let (_, env) = c
        .exec(
            "web",
            "writer",
            &["sh", "-c", "echo $CFG_color $CFG_greeting"],
        )
        .await;
    assert_eq!(env.trim(), "blue hello");
    let (_, env) = c
        .exec("web", "reader", &["sh", "-c", "echo $GREETING"])
        .await;
    assert_eq!(env.trim(), "$(MISSING)");
    let (_, files) = c
        .exec(
            "web",
            "writer",
            &["cat", "/etc/cfg/color", "/etc/sec/password"],
        )
        .await;
    assert_eq!(files, "bluehunter2");
    let (code, _) = c
        .exec("web", "writer", &["sh", "-c", "echo x > /etc/cfg/new"])
        .await;
    assert_ne!(code, 0, "configMap volumes are read-only");

    // Updating the ConfigMap updates the file in place.
    c.kubectl.ok(&[
        "patch",
        "configmap",
        "cfg",
        "-p",
        r#"{"data":{"color":"green"}}"#,
    ]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = c.exec("web", "writer", &["cat", "/etc/cfg/color"]).await;
        if v == "green" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "configmap update not seen: {v}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let events = c.events("web");
    for want in ["Created", "Started", "Pulled", "kubelet"] {
        assert!(events.contains(want), "{want} missing in\n{events}");
    }
    let describe = c.kubectl.ok(&["describe", "pod", "web"]);
    assert!(describe.contains("Started container writer"), "{describe}");

    // A pod waiting for a missing ConfigMap gets FailedMount, then starts when it appears.
    c.apply(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: waits}
spec:
  nodeName: NODE
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: IMAGE, imagePullPolicy: IfNotPresent, command: [sleep, "3600"], volumeMounts: [{name: v, mountPath: /v}]}
  volumes: [{name: v, configMap: {name: later}}]
"#,
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ev = c.events("waits");
        if ev.contains("MountVolume.SetUp failed for volume \"v\" : configmap \"later\" not found")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no FailedMount:\n{ev}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(phase(&c.pod("waits").await), "Pending");
    c.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later}\ndata: {k: v}\n");
    c.wait_pod("waits", 30, "Running", |p| phase(p) == "Running")
        .await;

    c.kubectl.ok(&[
        "delete",
        "pod",
        "web",
        "waits",
        "--wait=true",
        "--timeout=60s",
    ]);
}
