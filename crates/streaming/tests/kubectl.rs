//! Real kubectl 1.27 and 1.33 → real API server → this crate's kubelet API over a fake node:
//! logs (tail, timestamps, previous, follow, label selector), exec (exit codes, stdin,
//! stderr), attach, cp and port-forward.

mod support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use skiff_testkit::{Kubectl, free_port};

use support::fake::FakeBackend;
use support::{Background, Cluster};

const LOG: &str = "2024-01-01T00:00:01.000000001Z stdout F line one\n\
2024-01-01T00:00:02Z stderr F line two\n\
2024-01-01T00:00:03.5Z stdout P line \n\
2024-01-01T00:00:03.6Z stdout F three\n";

struct Env {
    cluster: Cluster,
    dir: tempfile::TempDir,
    log: PathBuf,
    echo_port: u16,
}

fn setup() -> anyhow::Result<Env> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("app.log");
    let previous_log = dir.path().join("app-previous.log");
    std::fs::write(&log, LOG)?;
    std::fs::write(&previous_log, "2023-12-31T23:59:59Z stdout F old run\n")?;
    let backend = Arc::new(FakeBackend {
        log: log.clone(),
        previous_log,
        running: Arc::new(AtomicBool::new(true)),
    });
    let cluster = Cluster::start(backend)?;
    let echo_port = cluster.echo_server()?;
    let unbound = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "unbound", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]}
    });
    Kubectl::new("1.33", &cluster.server.kubeconfig())
        .ok_stdin(&["create", "-f", "-"], Some(&unbound.to_string()));
    Ok(Env {
        cluster,
        dir,
        log,
        echo_port,
    })
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn logs(env: &Env, k: &Kubectl) -> anyhow::Result<()> {
    std::fs::write(&env.log, LOG)?;
    assert_eq!(k.ok(&["logs", "p"]), "line one\nline two\nline three\n");
    assert_eq!(
        k.ok(&["logs", "p", "-c", "app", "--tail=1"]),
        "line three\n"
    );
    assert_eq!(
        k.ok(&["logs", "pod/p", "--timestamps", "--tail=2"]),
        "2024-01-01T00:00:02Z line two\n2024-01-01T00:00:03.5Z line three\n"
    );
    assert_eq!(
        k.ok(&["logs", "p", "--since-time=2024-01-01T00:00:02Z"]),
        "line two\nline three\n"
    );
    assert_eq!(k.ok(&["logs", "p", "--previous"]), "old run\n");
    assert_eq!(
        k.ok(&["logs", "-l", "app=x"]),
        "line one\nline two\nline three\n"
    );
    assert_eq!(k.ok(&["logs", "p", "--limit-bytes=4"]), "line");
    // Not on a node yet: an empty log, as upstream.
    assert_eq!(k.ok(&["logs", "unbound"]), "");
    let err = k.fails(&["logs", "p", "-c", "nope"]);
    assert!(
        err.contains("container nope is not valid for pod p"),
        "unexpected error: {err}"
    );

    let follow = Background::start(k, &["logs", "-f", "p"])?;
    follow.expect("line three")?;
    let mut f = std::fs::OpenOptions::new().append(true).open(&env.log)?;
    writeln!(f, "2024-01-01T00:00:04Z stdout F followed {}", k.version)?;
    follow.expect(&format!("followed {}", k.version))?;
    Ok(())
}

fn exec(env: &Env, k: &Kubectl) -> anyhow::Result<()> {
    let out = k.run(&[
        "exec",
        "p",
        "--",
        "sh",
        "-c",
        "echo hi; echo oops >&2; exit 3",
    ]);
    assert_eq!(stdout_of(&out), "hi\n");
    assert_eq!(
        out.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("oops"));

    assert_eq!(
        k.ok(&["exec", "p", "-c", "app", "--", "echo", "fine"]),
        "fine\n"
    );
    assert_eq!(
        k.ok_stdin(&["exec", "-i", "p", "--", "cat"], Some("hello\nworld\n")),
        "hello\nworld\n"
    );

    let err = k.fails(&["exec", "p", "-c", "nope", "--", "true"]);
    assert!(
        err.contains("container nope is not valid for pod p"),
        "{err}"
    );
    let err = k.fails(&["exec", "nosuchpod", "--", "true"]);
    assert!(err.contains("pods \"nosuchpod\" not found"), "{err}");

    let out = k.run(&["attach", "p"]);
    assert!(
        out.status.success(),
        "kubectl attach failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout_of(&out).contains("attached"), "{}", stdout_of(&out));

    // cp out of the "container": tar runs through exec.
    let src = env.dir.path().join(format!("src-{}.txt", k.version));
    let payload: String = (0..20000).map(|i| format!("row {i}\n")).collect();
    std::fs::write(&src, &payload)?;
    let dst = env.dir.path().join(format!("dst-{}.txt", k.version));
    let from = format!("p:{}", src.display());
    let out = k.run(&["cp", &from, &dst.display().to_string()]);
    assert!(
        out.status.success(),
        "kubectl cp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&dst)?, payload);
    Ok(())
}

fn port_forward(env: &Env, k: &Kubectl) -> anyhow::Result<()> {
    let local = free_port()?;
    let mapping = format!("{local}:{}", env.echo_port);
    let pf = Background::start(k, &["port-forward", "pod/p", &mapping])?;
    pf.expect("Forwarding from")?;
    for round in 0..2 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", local))?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        let msg = format!("ping {round} via {}\n", k.version);
        s.write_all(msg.as_bytes())?;
        let mut got = vec![0u8; msg.len()];
        s.read_exact(&mut got)?;
        assert_eq!(String::from_utf8_lossy(&got), msg);
    }
    Ok(())
}

#[test]
fn kubectl_streams_through_skiff() -> anyhow::Result<()> {
    let env = setup()?;
    for v in skiff_testkit::kubectl::VERSIONS {
        let k = Kubectl::new(v, &env.cluster.server.kubeconfig());
        logs(&env, &k).with_context(|| format!("logs with kubectl {v}"))?;
        exec(&env, &k).with_context(|| format!("exec with kubectl {v}"))?;
        port_forward(&env, &k).with_context(|| format!("port-forward with kubectl {v}"))?;
    }
    Ok(())
}
