//! A real `skiff server` process on a temporary data dir and a free port.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running `skiff server`; killed (by PID) when dropped.
pub struct SkiffServer {
    child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub extra_args: Vec<String>,
    /// The embedded node agent's identity, when it runs (see [`SkiffServer::start_with_agent`]).
    pub node: Option<NodeIdentity>,
}

/// Names a test server's node agent uses on this machine, unique per server so that servers
/// with agents can run side by side, and everything they create can be removed by name.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    pub node_name: String,
    pub bridge: String,
    pub nft_table: String,
    pub kubelet_port: u16,
    pub cluster_cidr: String,
}

impl SkiffServer {
    /// Start on a fresh temporary data dir, without a node agent.
    pub fn start() -> anyhow::Result<SkiffServer> {
        Self::launch(&[], None)
    }

    /// Start with extra command-line flags, without a node agent.
    pub fn start_with(args: &[&str]) -> anyhow::Result<SkiffServer> {
        Self::launch(args, None)
    }

    /// Start with the embedded node agent (as root): pods really run on this machine. The
    /// agent gets its own node name, bridge, nftables table, kubelet port and pod CIDR; all of
    /// it (and its containers and cgroups) is removed when the server is dropped.
    pub fn start_with_agent(args: &[&str]) -> anyhow::Result<SkiffServer> {
        let port = crate::free_port()?;
        let node = NodeIdentity {
            node_name: format!("node-{port}"),
            bridge: format!("sk{port}"),
            nft_table: format!("skiff_{port}"),
            kubelet_port: crate::free_port()?,
            cluster_cidr: format!("10.{}.0.0/16", 100 + port % 100),
        };
        Self::launch(args, Some(node))
    }

    fn launch(args: &[&str], node: Option<NodeIdentity>) -> anyhow::Result<SkiffServer> {
        let tmp = tempfile::tempdir().context("creating a temp data dir")?;
        let mut extra_args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match &node {
            None if extra_args.iter().any(|a| a == "--disable-agent") => {}
            None => extra_args.push("--disable-agent".into()),
            Some(n) => extra_args.extend([
                "--node-name".into(),
                n.node_name.clone(),
                "--node-ip".into(),
                "127.0.0.1".into(),
                "--bridge".into(),
                n.bridge.clone(),
                "--nft-table".into(),
                n.nft_table.clone(),
                "--kubelet-port".into(),
                n.kubelet_port.to_string(),
                "--cluster-cidr".into(),
                n.cluster_cidr.clone(),
            ]),
        }
        let mut s = SkiffServer {
            child: None,
            port: crate::free_port()?,
            data_dir: tmp.path().to_path_buf(),
            _tmp: Some(tmp),
            extra_args,
            node,
        };
        s.spawn()?;
        Ok(s)
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir.join("kubeconfig.yaml")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let bin = crate::workspace_bin("skiff");
        let mut cmd = Command::new(&bin);
        cmd.arg("server")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--https-port")
            .arg(self.port.to_string())
            .arg("--bind-address")
            .arg("127.0.0.1")
            .args(&self.extra_args)
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
                if line.contains("Skiff is running") {
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
                bail!("skiff server exited early with {status}");
            }
            if Instant::now() > deadline {
                bail!("skiff server did not become ready in 30s");
            }
        }
    }

    /// Kill -9 the process (no clean shutdown) and wait for it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stop with SIGTERM, then start again on the same data dir and port.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(c) = self.child.take() {
            terminate(c);
        }
        self.spawn()
    }

    /// Kill -9 and start again on the same data dir and port.
    pub fn kill_and_restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

fn terminate(mut c: Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    let _ = c.wait();
}

impl Drop for SkiffServer {
    fn drop(&mut self) {
        self.kill();
        if let Some(node) = &self.node {
            remove_node(node);
        }
    }
}

/// Remove what a test node agent left on the machine: its containers (by cgroup), cgroups,
/// bridge and nftables table. Pod network namespaces go with their last process.
pub fn remove_node(node: &NodeIdentity) {
    let parent = format!("skiff-{}", node.node_name);
    let roots: Vec<std::path::PathBuf> = std::fs::read_dir("/sys/fs/cgroup")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join(&parent))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    for _round in 0..20 {
        let mut alive = false;
        for root in &roots {
            for dir in walk_dirs(root) {
                for pid in std::fs::read_to_string(dir.join("cgroup.procs"))
                    .unwrap_or_default()
                    .lines()
                {
                    if let Ok(pid) = pid.trim().parse::<i32>() {
                        alive = true;
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            }
        }
        if !alive {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for root in &roots {
        let mut dirs = walk_dirs(root);
        dirs.reverse();
        for d in dirs {
            let _ = std::fs::remove_dir(&d);
        }
    }
    let _ = Command::new("ip")
        .args(["link", "del", &node.bridge])
        .output();
    let _ = Command::new("nft")
        .args(["delete", "table", "ip", &node.nft_table])
        .output();
}

/// `root` and every directory below it, parents first.
fn walk_dirs(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if let Ok(rd) = std::fs::read_dir(&out[i]) {
            for e in rd.filter_map(Result::ok) {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(e.path());
                }
            }
        }
        i += 1;
    }
    out
}
