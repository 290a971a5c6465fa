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
}

impl SkiffServer {
    /// Start on a fresh temporary data dir.
    pub fn start() -> anyhow::Result<SkiffServer> {
        let tmp = tempfile::tempdir().context("creating a temp data dir")?;
        let dir = tmp.path().to_path_buf();
        let mut s = SkiffServer {
            child: None,
            port: crate::free_port()?,
            data_dir: dir,
            _tmp: Some(tmp),
            extra_args: vec![],
        };
        s.spawn()?;
        Ok(s)
    }

    /// Start with extra command-line flags.
    pub fn start_with(args: &[&str]) -> anyhow::Result<SkiffServer> {
        let tmp = tempfile::tempdir().context("creating a temp data dir")?;
        let dir = tmp.path().to_path_buf();
        let extra_args = args.iter().map(|s| s.to_string()).collect();
        let mut s = SkiffServer {
            child: None,
            port: crate::free_port()?,
            data_dir: dir,
            _tmp: Some(tmp),
            extra_args,
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
    }
}
