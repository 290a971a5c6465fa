//! The runtime object: configuration, on-disk state, and the service implementation.

mod container;
mod exec;
mod files;
mod sandbox;
mod service_impl;
mod zygote;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::cgroups::{self, CgroupDriver};
use crate::error::{Error, IoContext, Result};
use crate::log::Rotation;
use crate::service::ImageService;
use crate::state::{ContainerRecord, SandboxRecord, read_json};

/// How a [`Runtime`] is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// State root: `sandboxes/<id>/`, `containers/<id>/`.
    pub root: PathBuf,
    /// Executable re-executed for helpers (`<exe> __runtime <verb> <arg>`).
    pub helper_exe: PathBuf,
    /// Where the cgroup hierarchies are mounted.
    pub cgroup_mount: PathBuf,
    /// Parent cgroup of every pod (relative), e.g. `skiff`.
    pub cgroup_parent: String,
    /// Log rotation of container logs.
    pub log_rotation: Rotation,
}

impl RuntimeConfig {
    /// Defaults: helper = this executable, cgroups at /sys/fs/cgroup, pods under `skiff`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RuntimeConfig {
            root: root.into(),
            helper_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe")),
            cgroup_mount: PathBuf::from("/sys/fs/cgroup"),
            cgroup_parent: "skiff".into(),
            log_rotation: Rotation::default(),
        }
    }
}

#[derive(Default)]
struct Records {
    sandboxes: HashMap<String, SandboxRecord>,
    containers: HashMap<String, ContainerRecord>,
}

/// Skiff's container runtime. Cheap to share behind an `Arc`.
pub struct Runtime {
    cfg: RuntimeConfig,
    cgroups: Box<dyn CgroupDriver>,
    images: Arc<dyn ImageService>,
    records: Mutex<Records>,
    zygote: zygote::Zygote,
    /// Held (flock) while this runtime is open: one runtime per root.
    _lock: std::fs::File,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cfg", &self.cfg)
            .field("cgroups", &self.cgroups)
            .finish()
    }
}

impl Runtime {
    /// Open the runtime on `cfg.root`, finding the sandboxes and containers recorded there.
    /// Running containers are adopted, never restarted; exits that happened meanwhile are
    /// picked up from the shims' exit files.
    pub fn open(cfg: RuntimeConfig, images: Arc<dyn ImageService>) -> Result<Self> {
        for sub in ["sandboxes", "containers"] {
            let d = cfg.root.join(sub);
            std::fs::create_dir_all(&d).ctx("mkdir", &d)?;
        }
        let lock_path = cfg.root.join("runtime.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .ctx("open", &lock_path)?;
        // SAFETY: flock on a file we just opened.
        if unsafe {
            libc::flock(
                std::os::fd::AsRawFd::as_raw_fd(&lock),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        } != 0
        {
            return Err(Error::FailedPrecondition(format!(
                "runtime root {} is in use by another process (flock {}: {})",
                cfg.root.display(),
                lock_path.display(),
                std::io::Error::last_os_error()
            )));
        }
        let cgroups = cgroups::detect(&cfg.cgroup_mount);
        let zygote = zygote::Zygote::new(cfg.helper_exe.clone());
        let rt = Runtime {
            cfg,
            cgroups,
            images,
            records: Mutex::new(Records::default()),
            zygote,
            _lock: lock,
        };
        rt.load()?;
        Ok(rt)
    }

    /// The configuration this runtime was opened with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.cfg
    }

    /// `v1` or `v2`.
    pub fn cgroup_version(&self) -> &'static str {
        self.cgroups.version()
    }

    /// The cgroup driver in use.
    pub fn cgroups(&self) -> &dyn CgroupDriver {
        self.cgroups.as_ref()
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sandbox_dir(&self, id: &str) -> PathBuf {
        self.cfg.root.join("sandboxes").join(id)
    }

    fn container_dir(&self, id: &str) -> PathBuf {
        self.cfg.root.join("containers").join(id)
    }

    fn load(&self) -> Result<()> {
        let mut recs = Records::default();
        for (sub, file) in [
            ("sandboxes", "sandbox.json"),
            ("containers", "container.json"),
        ] {
            let dir = self.cfg.root.join(sub);
            for entry in std::fs::read_dir(&dir).ctx("read dir", &dir)? {
                let entry = entry.ctx("read dir", &dir)?;
                let p = entry.path().join(file);
                if !p.exists() {
                    tracing::warn!(path = %entry.path().display(), "no record; leftover of a failed create");
                    continue;
                }
                if sub == "sandboxes" {
                    let r: SandboxRecord = read_json(&p)?;
                    recs.sandboxes.insert(r.id.clone(), r);
                } else {
                    let r: ContainerRecord = read_json(&p)?;
                    recs.containers.insert(r.id.clone(), r);
                }
            }
        }
        *self.lock() = recs;
        let ids: Vec<String> = self.lock().containers.keys().cloned().collect();
        for id in ids {
            self.refresh_container(&id)?;
        }
        Ok(())
    }
}

/// A fresh 64-hex-digit id.
pub(crate) fn new_id() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

pub(crate) fn remove_dir_all_if_exists(p: &Path) -> Result<()> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", p, e)),
    }
}
