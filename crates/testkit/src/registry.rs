//! A real OCI registry for tests: Debian's `docker-registry` on 127.0.0.1 and a free port.
//!
//! ```no_run
//! let reg = skiff_testkit::registry::Registry::start()?;
//! println!("push to {}", reg.addr()); // 127.0.0.1:PORT, plain HTTP
//! # anyhow::Ok(())
//! ```
//! The process is killed (by PID) and its storage removed when the value drops.

mod http;
mod token;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub use http::{HttpResponse, http_get};
pub use token::TokenServer;

const BINARY: &str = "docker-registry";

/// A running `docker-registry` process.
pub struct Registry {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts an anonymous registry (plain HTTP) on a free port and waits until `/v2/` answers.
    pub fn start() -> anyhow::Result<Registry> {
        Self::start_inner(None)
    }

    /// Starts a registry that requires HTTP basic auth with `user`/`pass` (htpasswd, bcrypt).
    pub fn start_with_basic_auth(user: &str, pass: &str) -> anyhow::Result<Registry> {
        Self::start_inner(Some((user, pass)))
    }

    fn start_inner(auth: Option<(&str, &str)>) -> anyhow::Result<Registry> {
        let mut last_err = None;
        for _ in 0..5 {
            match Self::try_start(auth) {
                Ok(r) => return Ok(r),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("registry did not start")))
    }

    fn try_start(auth: Option<(&str, &str)>) -> anyhow::Result<Registry> {
        let dir = tempfile::Builder::new()
            .prefix("skiff-registry-")
            .tempdir()
            .context("creating registry temp dir")?;
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage)?;
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {addr}\n",
            storage.display()
        );
        if let Some((user, pass)) = auth {
            let hash = bcrypt::hash_with_result(pass, 5)
                .context("hashing password")?
                .format_for_version(bcrypt::Version::TwoY);
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n"))?;
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: testkit-realm\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config)?;
        let log = std::fs::File::create(dir.path().join("registry.log"))?;
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {BINARY} (apt-get install docker-registry)"))?;
        let mut reg = Registry { child, addr, dir };
        reg.wait_ready()?;
        Ok(reg)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "docker-registry exited with {status}: {}",
                    std::fs::read_to_string(self.dir.path().join("registry.log"))
                        .unwrap_or_default()
                );
            }
            if let Ok(resp) = http_get(&self.addr, "/v2/", &[]) {
                if resp.status == 200 || resp.status == 401 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "docker-registry on {} did not answer /v2/ within 15s",
            self.addr
        )
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.clone()
    }

    /// The registry's storage root (filesystem driver).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Where the registry keeps the content of blob `digest` (`sha256:<hex>`), e.g. to corrupt it.
    pub fn blob_data_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        let prefix = hex.get(..2).unwrap_or(hex);
        self.storage_dir()
            .join("docker/registry/v2/blobs/sha256")
            .join(prefix)
            .join(hex)
            .join("data")
    }

    /// The registry's log file.
    pub fn log_path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.wait();
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(l.local_addr()?.port())
}
