//! Services on a real node: a Deployment behind a Service keeps answering through its
//! ClusterIP while `kubectl set image` rolls it out one pod at a time and `kubectl rollout
//! undo` brings the old ReplicaSet back; EndpointSlices and Endpoints follow the pods.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skiff_testkit::Kubectl;
use skiff_testkit::oci::{self, Compression, ImageSpec, LayerBuilder};

use crate::eventually;
use crate::node_pods::node_cluster;

/// A busybox httpd image whose page says `version`, pushed as `web:<version>`.
fn push_web_image(registry: &str, version: &str, dir: &std::path::Path) -> String {
    let mut page = LayerBuilder::new();
    page.dir("var", 0o755)
        .and_then(|b| b.dir("var/www", 0o755))
        .and_then(|b| {
            b.file(
                "var/www/index.html",
                format!("{version}\n").as_bytes(),
                0o644,
            )
        })
        .expect("page layer");
    let layers = [
        oci::busybox_layer(Compression::Gzip).expect("busybox layer"),
        page.build(Compression::Gzip).expect("page layer"),
    ];
    let spec = ImageSpec {
        cmd: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
            .map(String::from)
            .to_vec(),
        ..ImageSpec::default()
    };
    let img = oci::write_image(&dir.join(version), version, &layers, &spec).expect("image");
    oci::push(&img, registry, &format!("web:{version}")).expect("push");
    format!("{registry}/web:{version}")
}

/// The Deployment and its Service. The container logs preStop and SIGTERM to a hostPath file
/// per pod, so the order can be checked after the pod is gone.
fn manifests(image: &str, log_dir: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      terminationGracePeriodSeconds: 15
      volumes:
      - name: log
        hostPath: {{path: "{log_dir}", type: DirectoryOrCreate}}
      containers:
      - name: web
        image: {image}
        command: ["sh", "-c", "trap 'echo term >> /log/$(hostname); kill $pid; exit 0' TERM; httpd -f -p 8080 -h /var/www & pid=$!; wait"]
        ports:
        - {{name: http, containerPort: 8080}}
        volumeMounts:
        - {{name: log, mountPath: /log}}
        readinessProbe:
          httpGet: {{path: /index.html, port: http}}
          periodSeconds: 1
        lifecycle:
          preStop:
            exec:
              command: ["sh", "-c", "echo prestop-start >> /log/$(hostname); sleep 5; echo prestop-end >> /log/$(hostname)"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: {{app: web}}
  ports:
  - {{name: web, port: 80, targetPort: http}}
"#
    )
}

/// One request on a new connection, with short timeouts; the page's first line.
fn get(addr: SocketAddr) -> Result<String, String> {
    let t = Duration::from_secs(2);
    let mut s = TcpStream::connect_timeout(&addr, t).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(t)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(t)).map_err(|e| e.to_string())?;
    s.write_all(b"GET /index.html HTTP/1.0\r\nHost: web\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)
        .map_err(|e| format!("read: {e}"))?;
    let body = buf
        .split("\r\n\r\n")
        .nth(1)
        .ok_or(format!("no body in {buf:?}"))?;
    Ok(body.trim().to_string())
}

/// A client hitting the Service until stopped; every answer or error, in order.
struct Client {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Result<String, String>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Client {
    fn start(addr: SocketAddr) -> Client {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (s, l) = (stop.clone(), log.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let r = get(addr);
                if let Ok(mut v) = l.lock() {
                    v.push(r);
                }
                std::thread::sleep(Duration::from_millis(30));
            }
        });
        Client {
            stop,
            log,
            thread: Some(thread),
        }
    }

    fn answers(&self) -> Vec<Result<String, String>> {
        self.log.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn finish(mut self) -> Vec<Result<String, String>> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.answers()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn rollout_status(k: &Kubectl) {
    let out = k.run(&["rollout", "status", "deployment/web", "--timeout=180s"]);
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).contains("successfully rolled out"),
        "rollout status: {}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        k.ok(&["get", "pods,rs,endpointslices", "-o", "wide"])
    );
}

/// The answers switch from `from` to `to` once, with no failure and nothing else between.
fn assert_switch(answers: &[Result<String, String>], from: &str, to: &str) {
    let failed: Vec<&String> = answers.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {failed:?}",
        failed.len(),
        answers.len()
    );
    let bodies: Vec<&str> = answers.iter().filter_map(|r| r.as_deref().ok()).collect();
    assert!(bodies.iter().all(|b| *b == from || *b == to), "{bodies:?}");
    assert_eq!(bodies.first().copied(), Some(from), "starts on {from}");
    assert_eq!(bodies.last().copied(), Some(to), "ends on {to}");
}

/// The pod-template-hash of the ReplicaSet that has the Deployment's pods.
fn active_hash(k: &Kubectl) -> String {
    let out = k.ok(&[
        "get", "rs", "-l", "app=web", "-o",
        "jsonpath={range .items[?(@.spec.replicas>0)]}{.metadata.labels.pod-template-hash}{\"\\n\"}{end}",
    ]);
    let hashes: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(hashes.len(), 1, "one active ReplicaSet: {out}");
    hashes[0].to_string()
}

/// The Deployment's scaling events moved each ReplicaSet one replica at a time: the new one
/// up 1, 2, 3 and the old one down 2, 1, 0.
fn assert_one_pod_at_a_time(k: &Kubectl, old: &str, new: &str) {
    let messages = eventually(30, || {
        let out = k.ok(&[
            "get",
            "events",
            "--field-selector",
            "reason=ScalingReplicaSet",
            "-o",
            "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
        ]);
        out.contains(&format!("web-{old} to 0 from 1"))
            .then_some(out)
    });
    for want in [
        format!("Scaled up replica set web-{new} to 1"),
        format!("Scaled up replica set web-{new} to 2 from 1"),
        format!("Scaled up replica set web-{new} to 3 from 2"),
        format!("Scaled down replica set web-{old} to 2 from 3"),
        format!("Scaled down replica set web-{old} to 1 from 2"),
    ] {
        assert!(
            messages.lines().any(|l| l == want),
            "{want:?} in {messages}"
        );
    }
    for l in messages.lines() {
        let nums: Vec<i64> = l
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        if let [to, from] = nums[..] {
            assert_eq!((to - from).abs(), 1, "one replica per step: {l}");
        }
    }
}

crate::kubectl_test!(rolling_update_behind_a_service_drops_no_request, |v| {
    let c = node_cluster(v);
    let registry = c.image.split('/').next().unwrap_or_default().to_string();
    let images = tempfile::tempdir().expect("tempdir");
    let v1 = push_web_image(&registry, "v1", images.path());
    let v2 = push_web_image(&registry, "v2", images.path());
    let log_dir = c.server.data_dir().join("prestop-log");
    let log_dir_s = log_dir.display().to_string();
    c.k.ok_stdin(&["apply", "-f", "-"], Some(&manifests(&v1, &log_dir_s)));
    rollout_status(&c.k);
    let ip =
        c.k.ok(&["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"]);
    let addr: SocketAddr = format!("{ip}:80").parse().expect("ClusterIP");
    eventually(30, || (get(addr).ok()? == "v1").then_some(()));
    // Every pod is an endpoint: three ready addresses in the Endpoints and the slice.
    let eps = eventually(30, || {
        let e = c.k.ok(&[
            "get",
            "endpoints",
            "web",
            "-o",
            "jsonpath={.subsets[*].addresses[*].ip}",
        ]);
        (e.split_whitespace().count() == 3).then_some(e)
    });
    let slice = c.k.ok(&[
        "get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o",
        "jsonpath={.items[0].metadata.labels.endpointslice\\.kubernetes\\.io/managed-by} {.items[0].ports[0].port} {.items[0].endpoints[*].conditions.ready}",
    ]);
    assert_eq!(
        slice, "endpointslice-controller.k8s.io 8080 true true true",
        "endpoints {eps}"
    );
    // The NodePort answers on the node's address too.
    let np = c.k.ok(&[
        "get",
        "svc",
        "web",
        "-o",
        "jsonpath={.spec.ports[0].nodePort}",
    ]);
    let np_addr: SocketAddr = format!("127.0.0.1:{np}").parse().expect("NodePort");
    assert_eq!(get(np_addr).as_deref(), Ok("v1"));
    let v1_hash = active_hash(&c.k);

    // Roll out v2 while a client keeps asking.
    let client = Client::start(addr);
    std::thread::sleep(Duration::from_millis(500));
    c.k.ok(&["set", "image", "deployment/web", &format!("web={v2}")]);
    rollout_status(&c.k);
    eventually(30, || {
        let a = client.answers();
        (a.len() > 20 && a[a.len() - 20..].iter().all(|r| r.as_deref() == Ok("v2"))).then_some(())
    });
    assert_switch(&client.finish(), "v1", "v2");
    let v2_hash = active_hash(&c.k);
    assert_ne!(v2_hash, v1_hash);
    assert_one_pod_at_a_time(&c.k, &v1_hash, &v2_hash);

    // Back to v1: the old ReplicaSet again, still without a failed request.
    let client = Client::start(addr);
    std::thread::sleep(Duration::from_millis(500));
    c.k.ok(&["rollout", "undo", "deployment/web"]);
    rollout_status(&c.k);
    eventually(30, || {
        let a = client.answers();
        (a.len() > 20 && a[a.len() - 20..].iter().all(|r| r.as_deref() == Ok("v1"))).then_some(())
    });
    assert_switch(&client.finish(), "v2", "v1");
    assert_eq!(
        active_hash(&c.k),
        v1_hash,
        "rollout undo returns to the old ReplicaSet"
    );

    // Every stopped pod ran its preStop to the end before it got SIGTERM.
    eventually(60, || {
        let names = c.k.ok(&["get", "pods", "-l", "app=web", "-o", "name"]);
        (names.lines().count() == 3).then_some(())
    });
    let logs: Vec<String> = std::fs::read_dir(&log_dir)
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    let stopped: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("prestop-start"))
        .collect();
    assert!(stopped.len() >= 6, "six pods were replaced: {logs:?}");
    for l in stopped {
        assert_eq!(
            l.lines().collect::<Vec<_>>(),
            ["prestop-start", "prestop-end", "term"],
            "{l}"
        );
    }
});

crate::kubectl_test!(a_terminating_pod_leaves_the_ready_endpoints_at_once, |v| {
    let c = node_cluster(v);
    let registry = c.image.split('/').next().unwrap_or_default().to_string();
    let images = tempfile::tempdir().expect("tempdir");
    let v1 = push_web_image(&registry, "v1", images.path());
    let log_dir = c.server.data_dir().join("prestop-log");
    c.k.ok_stdin(
        &["apply", "-f", "-"],
        Some(&manifests(&v1, &log_dir.display().to_string())),
    );
    rollout_status(&c.k);
    let pod = c.k.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    let ip =
        c.k.ok(&["get", "pod", &pod, "-o", "jsonpath={.status.podIP}"]);
    eventually(30, || {
        c.k.ok(&[
            "get",
            "endpoints",
            "web",
            "-o",
            "jsonpath={.subsets[*].addresses[*].ip}",
        ])
        .contains(&ip)
        .then_some(())
    });
    c.k.ok(&["delete", "pod", &pod, "--wait=false"]);
    // Within the preStop's 5 seconds: the slice says terminating, Endpoints drop the address.
    let started = std::time::Instant::now();
    let cond = eventually(5, || {
        let out = c.k.ok(&[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=web",
            "-o",
            &format!("jsonpath={{.items[*].endpoints[?(@.addresses[0]==\"{ip}\")].conditions}}"),
        ]);
        out.contains("\"terminating\":true").then_some(out)
    });
    assert!(
        cond.contains("\"ready\":false") && cond.contains("\"serving\":true"),
        "{cond}"
    );
    let eps = c.k.ok(&[
        "get",
        "endpoints",
        "web",
        "-o",
        "jsonpath={.subsets[*].addresses[*].ip}",
    ]);
    assert!(!eps.contains(&ip), "{eps}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A Service without a selector and the Endpoints a user writes for it: mirrored into a
    // slice, so its ClusterIP reaches the address given.
    let other = eventually(30, || {
        let out = c.k.ok(&["get", "pods", "-l", "app=web", "-o",
            "jsonpath={range .items[?(@.status.podIP)]}{.status.podIP} {.metadata.deletionTimestamp}{\"\\n\"}{end}"]);
        out.lines()
            .find(|l| l.trim_end() != ip && !l.trim_end().contains(' '))
            .map(|l| l.trim().to_string())
    });
    let manual = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: manual}}\nspec:\n  ports: [{{name: web, port: 81, targetPort: 8080}}]\n---\n\
         apiVersion: v1\nkind: Endpoints\nmetadata: {{name: manual}}\nsubsets:\n- addresses: [{{ip: {other}}}]\n  ports: [{{name: web, port: 8080}}]\n"
    );
    c.k.ok_stdin(&["apply", "-f", "-"], Some(&manual));
    let manual_ip =
        c.k.ok(&["get", "svc", "manual", "-o", "jsonpath={.spec.clusterIP}"]);
    let manual_addr: SocketAddr = format!("{manual_ip}:81").parse().expect("ClusterIP");
    eventually(30, || (get(manual_addr).ok()? == "v1").then_some(()));
    let managed = c.k.ok(&[
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=manual",
        "-o",
        "jsonpath={.items[*].metadata.labels.endpointslice\\.kubernetes\\.io/managed-by}",
    ]);
    assert_eq!(managed, "endpointslicemirroring-controller.k8s.io");

    // From a pod: the Service by its ClusterIP; the API server by the `kubernetes` Service.
    let pod = c.k.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        &format!("jsonpath={{.items[?(@.status.podIP==\"{other}\")].metadata.name}}"),
    ]);
    let web_ip =
        c.k.ok(&["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"]);
    let page = c.k.ok(&[
        "exec",
        &pod,
        "--",
        "wget",
        "-q",
        "-O",
        "-",
        &format!("http://{web_ip}/index.html"),
    ]);
    assert_eq!(page.trim(), "v1");
    let api_ip = c.k.ok(&[
        "get",
        "svc",
        "kubernetes",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ]);
    // The test server listens on loopback only, which pods may not reach: ask from the host.
    let api: SocketAddr = format!("{api_ip}:443")
        .parse()
        .expect("kubernetes ClusterIP");
    TcpStream::connect_timeout(&api, Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("the API server answers at {api}: {e}"));
});
