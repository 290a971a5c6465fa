//! Test fixtures that create real network objects and remove them on drop, even when a test fails.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use skiff_net::{Ipv4Net, NetConfig, PodKey, PodNetwork};

/// Runs a command, returning (success, stdout+stderr).
pub fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    match Command::new(cmd).args(args).output() {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, format!("{cmd}: {e}")),
    }
}

pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests create bridges, veths and namespaces: run them as root"
    );
}

/// Everything one test's network creates, named uniquely for that test, destroyed on drop.
pub struct NetFixture {
    pub config: NetConfig,
    pub state: tempfile::TempDir,
    pub veths: Vec<String>,
}

impl NetFixture {
    /// Bridge `sktN`, table `skiff_test_N`, pod CIDR 10.200.N.0/24 — `n` unique per test.
    pub fn new(n: u8) -> Self {
        require_root();
        let state = tempfile::tempdir().expect("temp dir");
        let config = NetConfig {
            bridge: format!("skt{n}"),
            pod_cidr: Ipv4Net::new(Ipv4Addr::new(10, 200, n, 0), 24).expect("cidr"),
            cluster_cidr: Ipv4Net::new(Ipv4Addr::new(10, 200, 0, 0), 16).expect("cidr"),
            service_cidr: Ipv4Net::new(Ipv4Addr::new(10, 96, 0, 0), 16).expect("cidr"),
            state_dir: state.path().join("net"),
            mtu: 1500,
            nft_table: format!("skiff_test_{n}"),
            enable_ip_forward: false,
        };
        // Leftovers of an earlier crashed run of this very test.
        let f = NetFixture {
            config,
            state,
            veths: Vec::new(),
        };
        f.remove_all();
        f
    }

    pub fn track_veth(&mut self, name: String) {
        self.veths.push(name);
    }

    fn remove_all(&self) {
        for v in &self.veths {
            if link_exists(v) {
                let _ = run("ip", &["link", "del", v]);
            }
        }
        if link_exists(&self.config.bridge) {
            let _ = run("ip", &["link", "del", &self.config.bridge]);
        }
        if table_exists(&self.config.nft_table) {
            let _ = run("nft", &["delete", "table", "ip", &self.config.nft_table]);
        }
    }
}

impl Drop for NetFixture {
    fn drop(&mut self) {
        self.remove_all();
    }
}

pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

pub fn table_exists(name: &str) -> bool {
    run("nft", &["list", "table", "ip", name]).0
}

/// A named network namespace (`ip netns add`), deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: &str) -> Self {
        if Path::new("/run/netns").join(name).exists() {
            let _ = run("ip", &["netns", "del", name]);
        }
        let (ok, out) = run("ip", &["netns", "add", name]);
        assert!(ok, "ip netns add {name}: {out}");
        Netns { name: name.into() }
    }

    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> (bool, String) {
        let mut all = vec!["netns", "exec", &self.name];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Starts `busybox httpd` on port 80 in the namespace serving a page that says `body`.
    pub fn httpd(&self, body: &str, root: &Path) -> Proc {
        let dir = root.join(format!("www-{}", self.name));
        std::fs::create_dir_all(&dir).expect("www dir");
        std::fs::write(dir.join("index.html"), body).expect("index.html");
        let dir = dir.to_string_lossy().to_string();
        let child = Command::new("ip")
            .args([
                "netns", "exec", &self.name, "busybox", "httpd", "-f", "-p", "80", "-h", &dir,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn httpd");
        let p = Proc { child };
        // Wait until it listens.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let (_, out) = self.exec(&["busybox", "netstat", "-ltn"]);
            if out.contains(":80 ") {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        p
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

/// A child process killed (by its PID) and reaped on drop.
pub struct Proc {
    pub child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.0 GET from the host; returns the body or an error text.
pub fn http_get(addr: SocketAddr) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        .map_err(|e| format!("write {addr}: {e}"))?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)
        .map_err(|e| format!("read {addr}: {e}"))?;
    Ok(buf.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
}

/// Retries `http_get` briefly (a just-started server may need a moment).
pub fn http_get_retry(addr: SocketAddr) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match http_get(addr) {
            Ok(b) => return Ok(b),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The host's first global IPv4 address that is not one of our test networks.
pub fn host_ip() -> Option<Ipv4Addr> {
    let (ok, out) = run("ip", &["-4", "-o", "addr", "show", "scope", "global"]);
    if !ok {
        return None;
    }
    out.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            it.position(|w| w == "inet")?;
            it.next()?.split('/').next()?.parse::<Ipv4Addr>().ok()
        })
        .find(|ip| ip.octets()[0] != 10 || ip.octets()[1] != 200)
}

/// A pod key unique to this test process.
pub fn pod(name: &str) -> PodKey {
    PodKey::new(
        "default",
        name,
        format!("uid-{name}-{}", std::process::id()),
    )
}

/// Every rule of the table, as nft prints them.
pub fn ruleset(table: &str) -> String {
    let (ok, out) = run("nft", &["list", "table", "ip", table]);
    assert!(ok, "nft list table {table}: {out}");
    out
}

/// A pod network on the fixture's bridge, table, CIDR and state.
pub async fn new_net(f: &NetFixture) -> PodNetwork {
    PodNetwork::new(f.config.clone())
        .await
        .expect("pod network starts")
}
