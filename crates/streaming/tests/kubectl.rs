//! Real kubectl 1.27 and 1.33 → real API server → this crate's kubelet API over a fake node:
//! logs (tail, timestamps, previous, follow, label selector), exec (exit codes, stdin,
//! stderr), attach, cp and port-forward.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use skiff_apiserver::pki::Pki;
use skiff_streaming::server::serve_on;
use skiff_streaming::{default_authz, router, server_tls_config};
use skiff_testkit::{Kubectl, SkiffServer, free_port};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use support::FakeBackend;

const LOG: &str = "2024-01-01T00:00:01.000000001Z stdout F line one\n\
2024-01-01T00:00:02Z stderr F line two\n\
2024-01-01T00:00:03.5Z stdout P line \n\
2024-01-01T00:00:03.6Z stdout F three\n";

struct Env {
    server: SkiffServer,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    log: PathBuf,
    echo_port: u16,
}

fn setup() -> anyhow::Result<Env> {
    let server = SkiffServer::start()?;
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("app.log");
    let previous_log = dir.path().join("app-previous.log");
    std::fs::write(&log, LOG)?;
    std::fs::write(&previous_log, "2023-12-31T23:59:59Z stdout F old run\n")?;

    let pki = Pki::load_or_create(server.data_dir(), &[])?;
    let (cert, key) = pki.issue_serving_cert("kubelet", &["127.0.0.1".to_string()])?;
    let tls = server_tls_config(&cert, &key, pki.ca_pem())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let kubelet_port = listener.local_addr()?.port();
    let backend = Arc::new(FakeBackend {
        log: log.clone(),
        previous_log,
        running: Arc::new(AtomicBool::new(true)),
    });
    rt.spawn(serve_on(listener, tls, router(backend), default_authz));

    let echo = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let echo_port = echo.local_addr()?.port();
    rt.spawn(async move {
        while let Ok((mut s, _)) = echo.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });

    let k = Kubectl::new("1.33", &server.kubeconfig());
    let node = serde_json::json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}
    });
    k.ok_stdin(&["create", "-f", "-"], Some(&node.to_string()));
    let status = serde_json::json!({"status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}}
    }});
    k.ok(&[
        "patch",
        "node",
        "n1",
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ]);
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default", "labels": {"app": "x"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "busybox"}]}
    });
    k.ok_stdin(&["create", "-f", "-"], Some(&pod.to_string()));
    // kubectl port-forward insists on a running pod.
    k.ok(&[
        "patch",
        "pod",
        "p",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Running"}}"#,
    ]);
    Ok(Env {
        server,
        rt,
        dir,
        log,
        echo_port,
    })
}

/// A background kubectl whose stdout lines arrive on a channel.
struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Background {
    fn start(k: &Kubectl, args: &[&str]) -> anyhow::Result<Background> {
        let mut child = Command::new(&k.bin)
            .args(args)
            .env("KUBECONFIG", &k.kubeconfig)
            .env("HOME", k.kubeconfig.parent().unwrap_or(Path::new("/tmp")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting kubectl")?;
        let out = child.stdout.take().context("stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Background { child, lines })
    }

    fn expect(&self, want: &str) -> anyhow::Result<()> {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains(want) => return Ok(()),
                Ok(_) => continue,
                Err(_) => bail!("no line containing {want:?} within 20s"),
            }
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
        let k = Kubectl::new(v, &env.server.kubeconfig());
        logs(&env, &k).with_context(|| format!("logs with kubectl {v}"))?;
        exec(&env, &k).with_context(|| format!("exec with kubectl {v}"))?;
        port_forward(&env, &k).with_context(|| format!("port-forward with kubectl {v}"))?;
    }
    drop(env.rt);
    Ok(())
}
