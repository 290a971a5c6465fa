//! Persistent volumes on a real node: a StatefulSet's pods come up in order, each with its
//! own provisioned `local-path` claim whose data outlives the pod; a static hostPath volume
//! is bound to a claim and used by a pod.

use skiff_testkit::Kubectl;

use crate::eventually;
use crate::node_pods::{node_cluster, wait_ready};

fn statefulset(image: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - port: 8080
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: {image}
        command: ["sh", "-c", "hostname >> /data/starts; httpd -f -p 8080 -h /data"]
        volumeMounts:
        - name: www
          mountPath: /data
        readinessProbe:
          httpGet:
            path: /starts
            port: 8080
          periodSeconds: 1
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Mi
"#
    )
}

fn get(k: &Kubectl, args: &[&str], path: &str) -> String {
    let jp = format!("jsonpath={path}");
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", &jp]);
    let out = k.run(&all);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn ready_since(k: &Kubectl, pod: &str) -> String {
    get(
        k,
        &["pod", pod],
        "{.status.conditions[?(@.type==\"Ready\")].lastTransitionTime}",
    )
}

fn events_of(k: &Kubectl, name: &str) -> String {
    k.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name={name}"),
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
    ])
}

crate::kubectl_test!(
    statefulset_creates_web_0_then_web_1_with_their_claims,
    |v| {
        let c = node_cluster(v);
        let classes = c.k.ok(&["get", "storageclass"]);
        assert!(
            classes.contains("local-path (default)")
                && classes.contains("rancher.io/local-path")
                && classes.contains("WaitForFirstConsumer"),
            "{classes}"
        );
        c.k.ok_stdin(&["apply", "-f", "-"], Some(&statefulset(&c.image)));
        let out = c.k.run(&["rollout", "status", "sts/web", "--timeout=180s"]);
        assert!(
            out.status.success(),
            "{}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            c.k.ok(&["describe", "pods,pvc,pv"]),
            c.k.ok(&[
                "get",
                "events",
                "-A",
                "--sort-by=.metadata.creationTimestamp"
            ])
        );
        // OrderedReady: web-1 was created only once web-0 was Ready.
        let web0_ready = ready_since(&c.k, "web-0");
        let web1_created = get(&c.k, &["pod", "web-1"], "{.metadata.creationTimestamp}");
        assert!(
            !web0_ready.is_empty() && web0_ready <= web1_created,
            "web-0 Ready at {web0_ready}, web-1 created at {web1_created}"
        );
        let node = c
            .server
            .node
            .as_ref()
            .map(|n| n.node_name.clone())
            .unwrap_or_default();
        let storage = c.server.data_dir().join("storage");
        for i in 0..2 {
            let claim = format!("www-web-{i}");
            assert_eq!(get(&c.k, &["pvc", &claim], "{.status.phase}"), "Bound");
            assert_eq!(
                get(&c.k, &["pvc", &claim], "{.spec.storageClassName}"),
                "local-path",
                "the default class was given by admission"
            );
            assert_eq!(
                get(
                    &c.k,
                    &["pvc", &claim],
                    "{.metadata.annotations.volume\\.kubernetes\\.io/selected-node}"
                ),
                node
            );
            let pv = get(&c.k, &["pvc", &claim], "{.spec.volumeName}");
            let uid = get(&c.k, &["pvc", &claim], "{.metadata.uid}");
            assert_eq!(pv, format!("pvc-{uid}"));
            assert_eq!(get(&c.k, &["pv", &pv], "{.status.phase}"), "Bound");
            assert_eq!(get(&c.k, &["pv", &pv], "{.spec.claimRef.name}"), claim);
            let dir = storage.join(format!("{pv}_default_{claim}"));
            assert_eq!(
                get(&c.k, &["pv", &pv], "{.spec.hostPath.path}"),
                dir.display().to_string()
            );
            let starts = std::fs::read_to_string(dir.join("starts")).unwrap_or_default();
            assert_eq!(
                starts.trim(),
                format!("web-{i}"),
                "the pod wrote to its own volume"
            );
        }
        let ev = events_of(&c.k, "www-web-0");
        assert!(
            ev.contains("WaitForFirstConsumer") || ev.contains("ProvisioningSucceeded"),
            "{ev}"
        );
        assert!(ev.contains("Successfully provisioned volume pvc-"), "{ev}");
        // The data outlives the pod: web-0 comes back with the same claim and finds it.
        c.k.ok(&["exec", "web-0", "--", "sh", "-c", "echo kept > /data/note"]);
        let old_uid = get(&c.k, &["pod", "web-0"], "{.metadata.uid}");
        c.k.ok(&["delete", "pod", "web-0", "--wait=false"]);
        eventually(120, || {
            let uid = get(&c.k, &["pod", "web-0"], "{.metadata.uid}");
            (!uid.is_empty() && uid != old_uid).then_some(())
        });
        wait_ready(&c.k, "web-0", 120);
        assert_eq!(
            c.k.ok(&["exec", "web-0", "--", "cat", "/data/note"]).trim(),
            "kept"
        );
        assert_eq!(
            c.k.ok(&["exec", "web-0", "--", "cat", "/data/starts"])
                .trim(),
            "web-0\nweb-0"
        );
        // Claims outlive the set; deleting one deletes its volume and directory (reclaim Delete).
        c.k.ok(&["delete", "sts", "web"]);
        eventually(120, || {
            get(
                &c.k,
                &["pods", "-l", "app=web"],
                "{.items[*].metadata.name}",
            )
            .is_empty()
            .then_some(())
        });
        let pv1 = get(&c.k, &["pvc", "www-web-1"], "{.spec.volumeName}");
        let dir1 = storage.join(format!("{pv1}_default_www-web-1"));
        assert!(dir1.is_dir());
        c.k.ok(&["delete", "pvc", "www-web-1"]);
        eventually(60, || {
            let out = c.k.run(&["get", "pv", &pv1]);
            (!out.status.success() && !dir1.exists()).then_some(())
        });
        assert_eq!(get(&c.k, &["pvc", "www-web-0"], "{.status.phase}"), "Bound");
    }
);

fn static_volume(path: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: PersistentVolume
metadata:
  name: static-pv
  labels:
    disk: static
spec:
  capacity:
    storage: 100Mi
  accessModes: ["ReadWriteOnce"]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath:
    path: {path}
    type: DirectoryOrCreate
"#
    )
}

const CLAIM: &str = r#"apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  storageClassName: ""
  accessModes: ["ReadWriteOnce"]
  selector:
    matchLabels:
      disk: static
  resources:
    requests:
      storage: 10Mi
"#;

const LONELY: &str = r#"apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: lonely
spec:
  storageClassName: ""
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: 10Mi
"#;

fn direct_pod(image: &str, node: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: direct
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {image}
    command: ["sh", "-c", "cat /data/out; sleep 3600"]
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: data
"#
    )
}

fn user_pod(image: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: user
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {image}
    command: ["sh", "-c", "echo written-by-pod > /data/out; sleep 3600"]
    volumeMounts:
    - name: data
      mountPath: /data
  - name: reader
    image: {image}
    command: ["sh", "-c", "sleep 3600"]
    volumeMounts:
    - name: data
      mountPath: /data
      readOnly: true
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: data
"#
    )
}

crate::kubectl_test!(static_hostpath_volume_binds_to_a_claim_a_pod_uses, |v| {
    let c = node_cluster(v);
    // No volume and no class: the claim waits, as upstream says.
    c.k.ok_stdin(&["apply", "-f", "-"], Some(LONELY));
    let ev = eventually(30, || {
        let e = events_of(&c.k, "lonely");
        e.contains("FailedBinding").then_some(e)
    });
    assert!(
        ev.contains("no persistent volumes available for this claim and no storage class is set"),
        "{ev}"
    );
    assert_eq!(get(&c.k, &["pvc", "lonely"], "{.status.phase}"), "Pending");
    c.k.ok(&["delete", "pvc", "lonely"]);
    // A pod whose claim does not exist is not scheduled.
    c.k.ok_stdin(&["apply", "-f", "-"], Some(&user_pod(&c.image)));
    let ev = eventually(30, || {
        let e = events_of(&c.k, "user");
        e.contains("FailedScheduling").then_some(e)
    });
    assert!(
        ev.contains("persistentvolumeclaim \"data\" not found"),
        "{ev}"
    );
    assert_eq!(get(&c.k, &["pod", "user"], "{.spec.nodeName}"), "");
    // A pod put on the node by hand waits in the kubelet, which says why.
    let node = c
        .server
        .node
        .as_ref()
        .map(|n| n.node_name.clone())
        .unwrap_or_default();
    c.k.ok_stdin(&["apply", "-f", "-"], Some(&direct_pod(&c.image, &node)));
    let ev = eventually(30, || {
        let e = events_of(&c.k, "direct");
        e.contains("FailedMount").then_some(e)
    });
    assert!(
        ev.contains("unmounted volumes=[data]: persistentvolumeclaim \"data\" not found"),
        "{ev}"
    );
    let path = c.server.data_dir().join("static-volume");
    c.k.ok_stdin(
        &["apply", "-f", "-"],
        Some(&static_volume(&path.display().to_string())),
    );
    c.k.ok_stdin(&["apply", "-f", "-"], Some(CLAIM));
    eventually(30, || {
        (get(&c.k, &["pvc", "data"], "{.status.phase}") == "Bound").then_some(())
    });
    assert_eq!(
        get(&c.k, &["pvc", "data"], "{.spec.volumeName}"),
        "static-pv"
    );
    assert_eq!(
        get(&c.k, &["pvc", "data"], "{.status.capacity.storage}"),
        "100Mi"
    );
    assert_eq!(
        get(
            &c.k,
            &["pvc", "data"],
            "{.metadata.annotations.pv\\.kubernetes\\.io/bind-completed}"
        ),
        "yes"
    );
    assert_eq!(get(&c.k, &["pv", "static-pv"], "{.status.phase}"), "Bound");
    assert_eq!(
        get(
            &c.k,
            &["pv", "static-pv"],
            "{.metadata.annotations.pv\\.kubernetes\\.io/bound-by-controller}"
        ),
        "yes"
    );
    let table = c.k.ok(&["get", "pv", "static-pv"]);
    assert!(
        table.contains("default/data") && table.contains("Bound"),
        "{table}"
    );
    wait_ready(&c.k, "user", 120);
    wait_ready(&c.k, "direct", 120);
    c.k.ok(&["delete", "pod", "direct", "--grace-period=1"]);
    let out = eventually(30, || {
        std::fs::read_to_string(path.join("out"))
            .ok()
            .filter(|s| !s.is_empty())
    });
    assert_eq!(out.trim(), "written-by-pod");
    let denied = c.k.run(&[
        "exec",
        "user",
        "-c",
        "reader",
        "--",
        "sh",
        "-c",
        "echo x > /data/denied",
    ]);
    assert!(!denied.status.success(), "a readOnly mount refuses writes");
    assert_eq!(
        c.k.ok(&["exec", "user", "-c", "reader", "--", "cat", "/data/out"])
            .trim(),
        "written-by-pod"
    );
    // A claim in use is protected: deleting it waits for the pod to go.
    assert_eq!(
        get(&c.k, &["pvc", "data"], "{.metadata.finalizers}"),
        r#"["kubernetes.io/pvc-protection"]"#
    );
    c.k.ok(&["delete", "pvc", "data", "--wait=false"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(!get(&c.k, &["pvc", "data"], "{.metadata.deletionTimestamp}").is_empty());
    assert_eq!(get(&c.k, &["pv", "static-pv"], "{.status.phase}"), "Bound");
    // Retain: the claim goes with the pod, the volume is Released and its data stays.
    c.k.ok(&["delete", "pod", "user", "--grace-period=1"]);
    eventually(30, || {
        (!c.k.run(&["get", "pvc", "data"]).status.success()).then_some(())
    });
    eventually(30, || {
        (get(&c.k, &["pv", "static-pv"], "{.status.phase}") == "Released").then_some(())
    });
    assert!(path.join("out").exists());
});
