//! Probes as a user sees them: a failing liveness probe restarts the container, a readiness
//! probe flips the Ready condition both ways, and HTTPS httpGet probes work.

use crate::eventually;
use crate::node_pods::{
    Killed, apply, describe, node_cluster, pod_events, pod_field, ready_condition, wait_ready,
};

fn restarts(k: &skiff_testkit::Kubectl, pod: &str) -> Option<u32> {
    pod_field(k, pod, "{.status.containerStatuses[0].restartCount}")
        .parse()
        .ok()
}

crate::kubectl_test!(failing_liveness_probe_restarts_the_container, |v| {
    let c = node_cluster(v);
    let pod = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: lively
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {}
    command: ["sh", "-c", "touch /tmp/alive; exec sleep 3600"]
    livenessProbe:
      exec:
        command: ["cat", "/tmp/alive"]
      periodSeconds: 1
      failureThreshold: 2
"#,
        c.image
    );
    apply(&c.k, &pod);
    wait_ready(&c.k, "lively", 90);
    assert_eq!(restarts(&c.k, "lively"), Some(0));
    c.k.ok(&["exec", "lively", "--", "rm", "/tmp/alive"]);
    eventually(30, || (restarts(&c.k, "lively")? >= 1).then_some(()));
    let events = pod_events(&c.k, "lively");
    assert!(
        events.contains("Unhealthy: Liveness probe failed:"),
        "{events}"
    );
    assert!(
        events.contains("Killing: Container c failed liveness probe, will be restarted"),
        "{events}"
    );
    // The new container starts healthy (its command made the file again) and stays.
    wait_ready(&c.k, "lively", 30);
    assert_eq!(
        pod_field(
            &c.k,
            "lively",
            "{.status.containerStatuses[0].lastState.terminated.exitCode}"
        ),
        "137",
        "{}",
        describe(&c.k, "lively")
    );
});

crate::kubectl_test!(readiness_probe_flips_the_ready_condition, |v| {
    let c = node_cluster(v);
    let pod = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: ready
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {}
    command: ["sleep", "3600"]
    readinessProbe:
      exec:
        command: ["cat", "/tmp/ready"]
      periodSeconds: 1
"#,
        c.image
    );
    apply(&c.k, &pod);
    eventually(60, || {
        let started = pod_field(
            &c.k,
            "ready",
            "{.status.containerStatuses[0].state.running.startedAt}",
        );
        (!started.is_empty()).then_some(())
    });
    assert_eq!(ready_condition(&c.k, "ready"), "False");
    let table = c.k.ok(&["get", "pod", "ready"]);
    assert!(
        table.contains("0/1") && table.contains("Running"),
        "{table}"
    );
    c.k.ok(&["exec", "ready", "--", "touch", "/tmp/ready"]);
    eventually(20, || {
        (ready_condition(&c.k, "ready") == "True").then_some(())
    });
    assert_eq!(
        pod_field(&c.k, "ready", "{.status.containerStatuses[0].ready}"),
        "true"
    );
    c.k.ok(&["exec", "ready", "--", "rm", "/tmp/ready"]);
    eventually(20, || {
        (ready_condition(&c.k, "ready") == "False").then_some(())
    });
    let reason = pod_field(
        &c.k,
        "ready",
        "{.status.conditions[?(@.type==\"Ready\")].reason}",
    );
    assert_eq!(reason, "ContainersNotReady");
    assert_eq!(restarts(&c.k, "ready"), Some(0), "readiness never restarts");
    let events = pod_events(&c.k, "ready");
    assert!(
        events.contains("Unhealthy: Readiness probe failed:"),
        "{events}"
    );
});

/// An HTTPS server on the host (openssl s_server with a throwaway self-signed certificate).
fn https_server(dir: &std::path::Path, port: u16) -> Killed {
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=probe-target",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Killed(
        std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server starts"),
    )
}

crate::kubectl_test!(https_probe_skips_certificate_verification, |v| {
    let c = node_cluster(v);
    let dir = tempfile::tempdir().expect("tempdir");
    let port = skiff_testkit::free_port().expect("port");
    let server = https_server(dir.path(), port);
    let pod = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: secure
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {}
    command: ["sleep", "3600"]
    readinessProbe:
      httpGet:
        scheme: HTTPS
        host: 127.0.0.1
        port: {port}
        path: /
      periodSeconds: 1
"#,
        c.image
    );
    apply(&c.k, &pod);
    wait_ready(&c.k, "secure", 90);
    drop(server);
    eventually(20, || {
        (ready_condition(&c.k, "secure") == "False").then_some(())
    });
    let events = pod_events(&c.k, "secure");
    assert!(
        events.contains(&format!(
            "Readiness probe failed: Get \"https://127.0.0.1:{port}/\""
        )),
        "{events}"
    );
});
