//! A container's life on the node as a user sees it: crash loops with back-off, the OOM
//! killer, preStop hooks and the grace period on deletion, and host ports.

use std::time::{Duration, Instant};

use crate::node_pods::{apply, describe, node_cluster, pod_events, pod_field, wait_ready};
use crate::{eventually, eventually_or};

fn pod(name: &str, image: &str, body: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {image}
{body}"#
    )
}

crate::kubectl_test!(crashing_container_goes_into_crash_loop_back_off, |v| {
    let c = node_cluster(v);
    apply(
        &c.k,
        &pod(
            "crasher",
            &c.image,
            "    command: [\"sh\", \"-c\", \"echo crashing; exit 2\"]\n",
        ),
    );
    let first = eventually(60, || {
        let reason = pod_field(
            &c.k,
            "crasher",
            "{.status.containerStatuses[0].state.waiting.reason}",
        );
        let count: u32 = pod_field(
            &c.k,
            "crasher",
            "{.status.containerStatuses[0].restartCount}",
        )
        .parse()
        .ok()?;
        (reason == "CrashLoopBackOff" && count >= 1).then_some(count)
    });
    let table = c.k.ok(&["get", "pod", "crasher"]);
    assert!(table.contains("CrashLoopBackOff"), "{table}");
    let last = |f: &str| {
        pod_field(
            &c.k,
            "crasher",
            &format!("{{.status.containerStatuses[0].lastState.terminated.{f}}}"),
        )
    };
    assert_eq!(last("exitCode"), "2");
    assert_eq!(last("reason"), "Error");
    eventually(45, || {
        let count: u32 = pod_field(
            &c.k,
            "crasher",
            "{.status.containerStatuses[0].restartCount}",
        )
        .parse()
        .ok()?;
        (count > first).then_some(())
    });
    let events = pod_events(&c.k, "crasher");
    assert!(
        events.contains("BackOff: Back-off restarting failed container"),
        "{events}"
    );
    assert_eq!(pod_field(&c.k, "crasher", "{.status.phase}"), "Running");
});

crate::kubectl_test!(memory_hog_is_oom_killed, |v| {
    let c = node_cluster(v);
    apply(
        &c.k,
        &pod(
            "hog",
            &c.image,
            r#"    command: ["sh", "-c", "echo allocating; exec dd if=/dev/zero of=/dev/null bs=200M count=1"]
    resources:
      limits:
        memory: 32Mi
"#,
        ),
    );
    eventually_or(
        60,
        || {
            let reason = pod_field(
                &c.k,
                "hog",
                "{.status.containerStatuses[0].lastState.terminated.reason}",
            );
            (reason == "OOMKilled").then_some(())
        },
        || describe(&c.k, "hog"),
    );
    assert_eq!(
        pod_field(
            &c.k,
            "hog",
            "{.status.containerStatuses[0].lastState.terminated.exitCode}"
        ),
        "137",
        "{}",
        describe(&c.k, "hog")
    );
    let d = describe(&c.k, "hog");
    assert!(d.contains("OOMKilled"), "{d}");
});

/// A host directory for one test, removed when the test ends however it ends.
struct HostDir(tempfile::TempDir);

impl HostDir {
    fn new() -> Self {
        HostDir(
            tempfile::Builder::new()
                .prefix("skiff-e2e-")
                .tempdir()
                .expect("tempdir"),
        )
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.path().join(name)).unwrap_or_default()
    }
}

fn stopping_pod(image: &str, host_dir: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: stopping
spec:
  terminationGracePeriodSeconds: 4
  volumes:
  - name: host
    hostPath:
      path: {host_dir}
      type: Directory
  containers:
  - name: polite
    image: {image}
    command: ["sh", "-c", "trap 'echo got-term > /host/polite-term; exit 0' TERM; while true; do sleep 0.2; done"]
    lifecycle:
      preStop:
        exec:
          command: ["sh", "-c", "echo prestop-ran > /host/prestop"]
    volumeMounts:
    - name: host
      mountPath: /host
  - name: stubborn
    image: {image}
    command: ["sh", "-c", "trap '' TERM; echo ignoring-term; while true; do sleep 0.2; done"]
    volumeMounts:
    - name: host
      mountPath: /host
"#
    )
}

crate::kubectl_test!(
    delete_runs_pre_stop_then_kills_within_the_grace_period,
    |v| {
        let c = node_cluster(v);
        let dir = HostDir::new();
        apply(
            &c.k,
            &stopping_pod(&c.image, &dir.0.path().display().to_string()),
        );
        wait_ready(&c.k, "stopping", 90);
        let start = Instant::now();
        c.k.ok(&["delete", "pod", "stopping", "--wait=true", "--timeout=60s"]);
        let took = start.elapsed();
        assert_eq!(dir.read("prestop").trim(), "prestop-ran", "preStop ran");
        assert_eq!(
            dir.read("polite-term").trim(),
            "got-term",
            "the container got SIGTERM after its preStop hook"
        );
        assert!(
            took >= Duration::from_millis(3500),
            "a container ignoring SIGTERM lives until the grace period (4s) ends; gone after {took:?}"
        );
        assert!(
            took <= Duration::from_secs(4 + 8),
            "the pod is gone soon after its grace period (4s); took {took:?}"
        );
        let left = c.k.run(&["get", "pod", "stopping"]);
        assert!(!left.status.success(), "the pod object is gone");
    }
);

fn web_pod(name: &str, image: &str, host_port: u16) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: {image}
    command: ["sh", "-c", "mkdir /www; echo page-of-{name} > /www/index.html; httpd -f -p 80 -h /www"]
    ports:
    - containerPort: 80
      hostPort: {host_port}
    readinessProbe:
      tcpSocket:
        port: 80
      periodSeconds: 1
"#
    )
}

/// Host ports 80 and 8080 are the machine's: one holder at a time, across test processes.
/// The lock is taken on the test binary itself, so nothing is left behind on the host.
fn host_ports_lock() -> std::fs::File {
    let exe = std::env::current_exe().expect("test binary path");
    let f = std::fs::File::open(&exe).expect("open the test binary");
    f.lock().expect("lock host ports");
    f
}

fn curl(url: &str) -> Option<String> {
    let out = std::process::Command::new("curl")
        .args(["-s", "--max-time", "2", url])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The host's first global IPv4 address, if it has one.
fn global_ipv4() -> Option<String> {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let cidr = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    cidr.split('/').next().map(str::to_string)
}

crate::kubectl_test!(host_ports_reach_each_pods_own_server, |v| {
    let _lock = host_ports_lock();
    let c = node_cluster(v);
    apply(&c.k, &web_pod("web-a", &c.image, 80));
    apply(&c.k, &web_pod("web-b", &c.image, 8080));
    wait_ready(&c.k, "web-a", 90);
    wait_ready(&c.k, "web-b", 90);
    let a = eventually(30, || curl("http://127.0.0.1:80/"));
    let b = eventually(30, || curl("http://127.0.0.1:8080/"));
    assert_eq!(a, "page-of-web-a");
    assert_eq!(b, "page-of-web-b");
    assert_eq!(pod_field(&c.k, "web-b", "{.status.hostIP}"), "127.0.0.1");
    // Any local address of the host publishes the ports, not only the node IP.
    if let Some(ip) = global_ipv4() {
        assert_eq!(
            eventually(30, || curl(&format!("http://{ip}:8080/"))),
            "page-of-web-b"
        );
        assert_eq!(
            eventually(30, || curl(&format!("http://{ip}/"))),
            "page-of-web-a"
        );
    }
    c.k.ok(&["delete", "pod", "web-a", "web-b", "--wait=true"]);
    assert_eq!(curl("http://127.0.0.1:8080/"), None, "port freed");
});

crate::kubectl_test!(termination_messages_come_from_the_file_or_the_log, |v| {
    let c = node_cluster(v);
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: farewell
spec:
  restartPolicy: Never
  securityContext:
    runAsUser: 1000
  containers:
  - name: file
    image: {img}
    command: ["sh", "-c", "echo -n goodbye-from-file > /dev/termination-log; exit 4"]
  - name: custom
    image: {img}
    terminationMessagePath: /tmp/my-message
    command: ["sh", "-c", "echo -n custom-path > /tmp/my-message"]
  - name: logs
    image: {img}
    terminationMessagePolicy: FallbackToLogsOnError
    command: ["sh", "-c", "echo first; echo last-words; exit 5"]
"#,
        img = c.image
    );
    apply(&c.k, &yaml);
    eventually_or(
        60,
        || (pod_field(&c.k, "farewell", "{.status.phase}") == "Failed").then_some(()),
        || describe(&c.k, "farewell"),
    );
    let msg = |name: &str| {
        pod_field(
            &c.k,
            "farewell",
            &format!(
                "{{.status.containerStatuses[?(@.name==\"{name}\")].state.terminated.message}}"
            ),
        )
    };
    assert_eq!(
        msg("file"),
        "goodbye-from-file",
        "{}",
        describe(&c.k, "farewell")
    );
    assert_eq!(msg("custom"), "custom-path");
    assert_eq!(msg("logs"), "first\nlast-words\n");
});

crate::kubectl_test!(active_deadline_fails_the_pod, |v| {
    let c = node_cluster(v);
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: deadline
spec:
  activeDeadlineSeconds: 3
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {}
    command: ["sleep", "3600"]
"#,
        c.image
    );
    apply(&c.k, &yaml);
    eventually_or(
        60,
        || (pod_field(&c.k, "deadline", "{.status.phase}") == "Failed").then_some(()),
        || describe(&c.k, "deadline"),
    );
    assert_eq!(
        pod_field(&c.k, "deadline", "{.status.reason}"),
        "DeadlineExceeded"
    );
    assert_eq!(
        pod_field(&c.k, "deadline", "{.status.message}"),
        "Pod was active on the node longer than the specified deadline"
    );
    let stopped = pod_field(
        &c.k,
        "deadline",
        "{.status.containerStatuses[0].state.terminated.exitCode}",
    );
    assert_eq!(stopped, "137", "{}", describe(&c.k, "deadline"));
    let events = pod_events(&c.k, "deadline");
    assert!(
        events.contains(
            "DeadlineExceeded: Pod was active on the node longer than the specified deadline"
        ),
        "{events}"
    );
});
