//! Cgroups v1 and v2 behind one trait; the driver is picked by inspecting the mount root.

mod v1;
mod v2;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use v1::V1;
pub use v2::V2;

use crate::error::{Error, IoContext, Result};
use crate::types::LinuxResources;

/// Usage numbers read from a cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupStats {
    pub cpu_usage_nanos: u64,
    pub cpu_nr_throttled: u64,
    pub memory_usage_bytes: u64,
    pub memory_working_set_bytes: u64,
}

/// A cgroup hierarchy driver. `path` is relative to the hierarchy root(s), e.g. `skiff/pod-x/c`.
pub trait CgroupDriver: Send + Sync + std::fmt::Debug {
    /// `v1` or `v2`.
    fn version(&self) -> &'static str;
    /// Create the cgroup (and missing ancestors) and apply `res`.
    fn create(&self, path: &str, res: Option<&LinuxResources>) -> Result<()>;
    /// The files a single-threaded process writes `0` into to join the cgroup.
    fn procs_files(&self, path: &str) -> Vec<PathBuf>;
    /// Directory a child can be cloned straight into (`CLONE_INTO_CGROUP`, v2 only).
    fn clone_into(&self, _path: &str) -> Option<PathBuf> {
        None
    }
    /// PIDs currently in the cgroup.
    fn pids(&self, path: &str) -> Vec<i32>;
    /// CPU and memory usage.
    fn stats(&self, path: &str) -> Result<CgroupStats>;
    /// How many times the OOM killer killed a task in this cgroup.
    fn oom_kills(&self, path: &str) -> u64;
    /// Have the OOM killer take every task of the cgroup at once (v2 `memory.oom.group`), as
    /// upstream does for containers since 1.28; v1 has no such setting.
    fn kill_whole_on_oom(&self, _path: &str) -> Result<()> {
        Ok(())
    }
    /// Every directory backing this cgroup (one per v1 controller).
    fn dirs(&self, path: &str) -> Vec<PathBuf>;
    /// Kill what is left inside and remove the cgroup directories (missing is fine).
    fn destroy(&self, path: &str) -> Result<()> {
        kill_and_remove(&self.dirs(path))
    }
}

/// Pick the driver for the hierarchy mounted at `root` (normally `/sys/fs/cgroup`).
pub fn detect(root: &Path) -> Box<dyn CgroupDriver> {
    if root.join("cgroup.controllers").exists() {
        Box::new(V2::new(root.to_path_buf()))
    } else {
        Box::new(V1::new(root.to_path_buf()))
    }
}

/// kubelet's MilliCPUToShares.
pub fn millis_to_shares(millis: u64) -> u64 {
    (millis * 1024 / 1000).clamp(2, 262_144)
}

/// CFS quota in microseconds for a 100 ms period.
pub fn millis_to_quota(millis: u64) -> u64 {
    (millis * 100_000 / 1000).max(1000)
}

/// cgroup v2 weight from v1 shares (the OCI/runc conversion).
pub fn shares_to_weight(shares: u64) -> u64 {
    1 + (shares.saturating_sub(2) * 9999) / 262_142
}

pub(crate) fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let p = dir.join(file);
    std::fs::write(&p, value).ctx("write cgroup file", &p)
}

pub(crate) fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// Value of `key` in a flat-keyed file (`memory.stat`, `cpu.stat`, `memory.events`).
pub(crate) fn keyed(p: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(p).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        if k == key {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

pub(crate) fn read_pids(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// SIGKILL whatever is in `dirs`, wait for them to go, then rmdir every dir.
pub(crate) fn kill_and_remove(dirs: &[PathBuf]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    for dir in dirs {
        if !dir.exists() {
            continue;
        }
        loop {
            let pids = read_pids(dir);
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                // SAFETY: kill with a pid read from cgroup.procs.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            if Instant::now() > deadline {
                return Err(Error::FailedPrecondition(format!(
                    "processes still in cgroup {} after SIGKILL",
                    dir.display()
                )));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let mut pause = Duration::from_micros(100);
        loop {
            match std::fs::remove_dir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(10));
                }
                Err(e) => return Err(Error::io("rmdir cgroup", dir, e)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
