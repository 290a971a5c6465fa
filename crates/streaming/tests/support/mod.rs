//! Shared by the streaming end-to-end tests: a real API server, this crate's kubelet API in
//! front of some backend, a Node and a Pod bound to it, and background kubectl processes.

#![allow(dead_code)]

pub mod fake;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use skiff_apiserver::pki::Pki;
use skiff_streaming::server::serve_on;
use skiff_streaming::{StreamingBackend, default_authz, router, server_tls_config};
use skiff_testkit::{Kubectl, SkiffServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A `skiff server`, a kubelet API on 127.0.0.1, Node `n1` pointing at it and a running
/// Pod `default/p` (container `app`, label `app=x`) bound to `n1`.
pub struct Cluster {
    pub server: SkiffServer,
    pub rt: tokio::runtime::Runtime,
    pub kubelet_port: u16,
}

impl Cluster {
    pub fn start(backend: Arc<dyn StreamingBackend>) -> anyhow::Result<Cluster> {
        let server = SkiffServer::start()?;
        let pki = Pki::load_or_create(server.data_dir(), &[])?;
        let (cert, key) = pki.issue_serving_cert("kubelet", &["127.0.0.1".to_string()])?;
        let tls = server_tls_config(&cert, &key, pki.ca_pem())?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let kubelet_port = listener.local_addr()?.port();
        rt.spawn(serve_on(listener, tls, router(backend), default_authz));

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
        Ok(Cluster {
            server,
            rt,
            kubelet_port,
        })
    }

    /// A TCP echo server on 127.0.0.1; its port.
    pub fn echo_server(&self) -> anyhow::Result<u16> {
        let echo = self.rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let port = echo.local_addr()?.port();
        self.rt.spawn(async move {
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
        Ok(port)
    }
}

/// A background kubectl whose stdout lines arrive on a channel.
pub struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Background {
    pub fn start(k: &Kubectl, args: &[&str]) -> anyhow::Result<Background> {
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

    pub fn expect(&self, want: &str) -> anyhow::Result<()> {
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
