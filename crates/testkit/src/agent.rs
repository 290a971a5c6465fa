//! A real `skiff agent` process joined to a test server: a second node on the same machine.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::server::{NodeIdentity, SkiffServer, remove_node};

/// A running `skiff agent` with its own node name, data dir, bridge, nftables table, kubelet
/// port and cgroup parent (`skiff-<node>`). Dropping it kills the process and removes its
/// containers, cgroups, bridge and table, as [`SkiffServer`]'s drop does for its node.
pub struct SkiffAgent {
    child: Option<Child>,
    pub node: NodeIdentity,
    pub data_dir: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

impl SkiffAgent {
    /// Start `skiff agent` joined to `server` (as root). Returns once it has joined; the Node
    /// turns Ready shortly after.
    pub fn join(server: &SkiffServer) -> anyhow::Result<SkiffAgent> {
        let port = crate::free_port()?;
        let cluster_cidr = server
            .node
            .as_ref()
            .map(|n| n.cluster_cidr.clone())
            .unwrap_or_else(|| "10.42.0.0/16".into());
        let node = NodeIdentity {
            node_name: format!("agent-{port}"),
            bridge: format!("sk{port}"),
            nft_table: format!("skiff_{port}"),
            kubelet_port: port,
            cluster_cidr,
        };
        let tmp = tempfile::tempdir().context("creating the agent's data dir")?;
        let mut agent = SkiffAgent {
            child: None,
            node,
            data_dir: tmp.path().to_path_buf(),
            _tmp: tmp,
        };
        agent.spawn(server)?;
        Ok(agent)
    }

    fn spawn(&mut self, server: &SkiffServer) -> anyhow::Result<()> {
        let token_file = server.data_dir().join("token");
        let token = std::fs::read_to_string(&token_file)
            .with_context(|| format!("reading {}", token_file.display()))?;
        let bin = crate::workspace_bin("skiff");
        let n = &self.node;
        let mut cmd = Command::new(&bin);
        cmd.arg("agent")
            .args(["--server", &format!("https://127.0.0.1:{}", server.port)])
            .args(["--node-name", &n.node_name])
            .args(["--node-ip", "127.0.0.1"])
            .args(["--kubelet-port", &n.kubelet_port.to_string()])
            .args(["--bridge", &n.bridge])
            .args(["--nft-table", &n.nft_table])
            .args(["--cluster-cidr", &n.cluster_cidr])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("SKIFF_TOKEN", token.trim())
            .env(
                "SKIFF_LOG",
                std::env::var("SKIFF_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        self.child = Some(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Skiff agent") && line.contains("joined") {
                    let _ = tx.send(());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if rx.recv_timeout(Duration::from_millis(50)).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!("skiff agent exited early with {status}");
            }
            if Instant::now() > deadline {
                bail!("skiff agent did not join in 30s");
            }
        }
    }

    pub fn node_name(&self) -> &str {
        &self.node.node_name
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kill -9 the agent (a node that dies): its heartbeats stop, its containers keep running
    /// until the value drops.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for SkiffAgent {
    fn drop(&mut self) {
        self.kill();
        remove_node(&self.node);
    }
}
