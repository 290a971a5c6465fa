//! Pods run for real on the server's embedded node agent: images from a local registry, a
//! shared emptyDir and localhost between containers, logs, exec, cp and port-forward.

use skiff_testkit::{Kubectl, SkiffServer, oci, registry::Registry};

use crate::eventually;

/// A server with its node agent, a registry holding `busybox:latest`, and kubectl.
pub struct NodeCluster {
    pub server: SkiffServer,
    _registry: Registry,
    pub image: String,
    pub k: Kubectl,
    _images: tempfile::TempDir,
}

pub fn node_cluster(version: &str) -> NodeCluster {
    node_cluster_with(version, &[])
}

/// [`node_cluster`] with extra `skiff server` flags.
pub fn node_cluster_with(version: &str, args: &[&str]) -> NodeCluster {
    let registry = Registry::start().expect("registry starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let img = oci::busybox_image(dir.path()).expect("busybox image");
    oci::push(&img, &registry.addr(), "busybox:latest").expect("push");
    let server = SkiffServer::start_with_agent(args).expect("server with agent starts");
    let k = Kubectl::new(version, &server.kubeconfig());
    let node = server
        .node
        .as_ref()
        .map(|n| n.node_name.clone())
        .unwrap_or_default();
    wait_node_ready(&k, &node, 60);
    let image = format!("{}/busybox:latest", registry.addr());
    NodeCluster {
        server,
        _registry: registry,
        image,
        k,
        _images: dir,
    }
}

/// The status of a node's Ready condition (`True`, `False`, `Unknown`), or "" if none.
pub fn node_ready_status(k: &Kubectl, node: &str) -> String {
    let out = k.run(&[
        "get",
        "node",
        node,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Wait until a node is Ready.
pub fn wait_node_ready(k: &Kubectl, node: &str, secs: u64) {
    eventually(secs, || {
        (node_ready_status(k, node) == "True").then_some(())
    });
}

/// Wait until a pod is Running and Ready.
pub fn wait_ready(k: &Kubectl, pod: &str, secs: u64) {
    let out = k.run(&[
        "wait",
        "--for=condition=Ready",
        &format!("pod/{pod}"),
        &format!("--timeout={secs}s"),
    ]);
    assert!(
        out.status.success(),
        "pod {pod} not Ready: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        k.run(&["describe", "pod", pod])
            .stdout
            .iter()
            .map(|b| *b as char)
            .collect::<String>()
    );
}

fn two_containers(image: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: duo
spec:
  volumes:
  - name: shared
    emptyDir: {{}}
  containers:
  - name: web
    image: {image}
    command: ["sh", "-c", "echo hello-from-web > /www/index.html; httpd -f -p 8080 -h /www"]
    volumeMounts:
    - name: shared
      mountPath: /www
  - name: client
    image: {image}
    command: ["sh", "-c", "sleep 1; wget -q -O /data/fetched http://127.0.0.1:8080/index.html; echo fetched; sleep 3600"]
    volumeMounts:
    - name: shared
      mountPath: /data
"#
    )
}

crate::kubectl_test!(pod_with_two_containers_shares_localhost_and_volume, |v| {
    let c = node_cluster(v);
    c.k.ok_stdin(&["apply", "-f", "-"], Some(&two_containers(&c.image)));
    wait_ready(&c.k, "duo", 90);
    let table = c.k.ok(&["get", "pod", "duo"]);
    assert!(
        table.contains("2/2") && table.contains("Running"),
        "{table}"
    );
    let fetched = eventually(30, || {
        let out =
            c.k.run(&["exec", "duo", "-c", "client", "--", "cat", "/data/fetched"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("hello-from-web").then_some(text)
    });
    assert!(fetched.contains("hello-from-web"));
    let logs = eventually(30, || {
        let l = c.k.ok(&["logs", "duo", "-c", "client"]);
        l.contains("fetched").then_some(l)
    });
    assert!(logs.contains("fetched"));
    let ip =
        c.k.ok(&["get", "pod", "duo", "-o", "jsonpath={.status.podIP}"]);
    let prefix = c
        .server
        .node
        .as_ref()
        .map(|n| {
            n.cluster_cidr
                .split('.')
                .take(2)
                .collect::<Vec<_>>()
                .join(".")
        })
        .unwrap_or_default();
    assert!(
        ip.starts_with(&prefix),
        "pod IP {ip} comes from the node's pod CIDR ({prefix}.x.x)"
    );
});

crate::kubectl_test!(exec_returns_exit_codes_and_cp_copies_out, |v| {
    let c = node_cluster(v);
    c.k.ok_stdin(&["apply", "-f", "-"], Some(&two_containers(&c.image)));
    wait_ready(&c.k, "duo", 90);
    let out = c.k.run(&[
        "exec",
        "duo",
        "-c",
        "web",
        "--",
        "sh",
        "-c",
        "echo out; exit 3",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "out");
    let dest = c.server.data_dir().join("copied.html");
    c.k.ok(&[
        "cp",
        "-c",
        "web",
        "duo:/www/index.html",
        &dest.display().to_string(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&dest).unwrap_or_default().trim(),
        "hello-from-web"
    );
});

crate::kubectl_test!(port_forward_serves_a_local_port, |v| {
    let c = node_cluster(v);
    c.k.ok_stdin(&["apply", "-f", "-"], Some(&two_containers(&c.image)));
    wait_ready(&c.k, "duo", 90);
    let port = skiff_testkit::free_port().expect("port");
    let _pf = Killed(
        std::process::Command::new(&c.k.bin)
            .args(["port-forward", "pod/duo", &format!("{port}:8080")])
            .env("KUBECONFIG", &c.k.kubeconfig)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("port-forward starts"),
    );
    let body = eventually(30, || {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "--max-time",
                "2",
                &format!("http://127.0.0.1:{port}/index.html"),
            ])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("hello-from-web").then_some(text)
    });
    assert!(body.contains("hello-from-web"));
});

#[test]
fn imported_tarball_runs_without_a_registry() {
    let server = SkiffServer::start_with_agent(&[]).expect("server with agent starts");
    let k = Kubectl::new("1.33", &server.kubeconfig());
    let dir = tempfile::tempdir().expect("tempdir");
    let img = oci::busybox_image(&dir.path().join("img")).expect("busybox image");
    let tarball = dir.path().join("airgap.tar");
    oci::docker_save_tarball(&img, &tarball, "airgap.local/busybox:1.0")
        .expect("docker-save tarball");
    let out = std::process::Command::new(skiff_testkit::workspace_bin("skiff"))
        .args(["image", "--data-dir"])
        .arg(server.data_dir())
        .arg("import")
        .arg(&tarball)
        .output()
        .expect("skiff image import runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: airgap\nspec:\n  restartPolicy: Never\n  containers:\n  - name: c\n    image: airgap.local/busybox:1.0\n    imagePullPolicy: Never\n    command: [\"sh\", \"-c\", \"echo from-tarball\"]\n";
    k.ok_stdin(&["apply", "-f", "-"], Some(pod));
    let phase = eventually(90, || {
        let p = k.ok(&["get", "pod", "airgap", "-o", "jsonpath={.status.phase}"]);
        (p == "Succeeded" || p == "Failed").then_some(p)
    });
    assert_eq!(
        phase,
        "Succeeded",
        "{}",
        k.ok(&["describe", "pod", "airgap"])
    );
    assert_eq!(k.ok(&["logs", "airgap"]).trim(), "from-tarball");
}

/// `kubectl apply -f -` of a manifest.
pub fn apply(k: &Kubectl, yaml: &str) {
    k.ok_stdin(&["apply", "-f", "-"], Some(yaml));
}

/// One field of a pod, by JSONPath (`{.status.phase}`).
pub fn pod_field(k: &Kubectl, pod: &str, path: &str) -> String {
    let out = k.run(&["get", "pod", pod, "-o", &format!("jsonpath={path}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kubectl describe pod`, for failure messages.
pub fn describe(k: &Kubectl, pod: &str) -> String {
    String::from_utf8_lossy(&k.run(&["describe", "pod", pod]).stdout).into_owned()
}

/// The events about a pod, one `Reason: message` per line, oldest first.
pub fn pod_events(k: &Kubectl, pod: &str) -> String {
    let out = k.run(&[
        "get",
        "events",
        "--sort-by=.metadata.creationTimestamp",
        "-o",
        "jsonpath={range .items[*]}{.involvedObject.kind}/{.involvedObject.name} {.reason}: {.message}{\"\\n\"}{end}",
    ]);
    let prefix = format!("Pod/{pod} ");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The `Ready` condition of a pod (`True`/`False`, empty when absent).
pub fn ready_condition(k: &Kubectl, pod: &str) -> String {
    pod_field(k, pod, "{.status.conditions[?(@.type==\"Ready\")].status}")
}

/// A child process (kubectl logs -f, port-forward, a host-side server) killed when dropped,
/// so a failing test leaves nothing running.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
