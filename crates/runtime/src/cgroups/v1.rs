//! cgroup v1 driver: one directory per controller (memory, cpu, cpuacct, pids).

use std::path::{Path, PathBuf};

use super::{
    CgroupDriver, CgroupStats, keyed, millis_to_quota, millis_to_shares, read_pids, read_u64, write,
};
use crate::error::{IoContext, Result};
use crate::types::LinuxResources;

const CONTROLLERS: [&str; 4] = ["memory", "cpu", "cpuacct", "pids"];

/// cgroup v1 hierarchies mounted under `root/<controller>`.
#[derive(Debug, Clone)]
pub struct V1 {
    root: PathBuf,
}

impl V1 {
    pub fn new(root: PathBuf) -> Self {
        V1 { root }
    }

    fn dir(&self, controller: &str, path: &str) -> PathBuf {
        self.root
            .join(controller)
            .join(path.trim_start_matches('/'))
    }

    fn present(&self) -> impl Iterator<Item = &'static str> + '_ {
        CONTROLLERS
            .into_iter()
            .filter(|c| self.root.join(c).is_dir())
    }
}

impl CgroupDriver for V1 {
    fn version(&self) -> &'static str {
        "v1"
    }

    fn create(&self, path: &str, res: Option<&LinuxResources>) -> Result<()> {
        for c in self.present() {
            let d = self.dir(c, path);
            std::fs::create_dir_all(&d).ctx("mkdir cgroup", &d)?;
        }
        let Some(res) = res else { return Ok(()) };
        if let Some(limit) = res.memory_limit_bytes {
            let d = self.dir("memory", path);
            write(&d, "memory.limit_in_bytes", &limit.to_string())?;
            if d.join("memory.memsw.limit_in_bytes").exists() {
                write(&d, "memory.memsw.limit_in_bytes", &limit.to_string())?;
            }
        }
        if let Some(req) = res.cpu_request_millis {
            write(
                &self.dir("cpu", path),
                "cpu.shares",
                &millis_to_shares(req).to_string(),
            )?;
        }
        if let Some(lim) = res.cpu_limit_millis {
            let d = self.dir("cpu", path);
            write(&d, "cpu.cfs_period_us", "100000")?;
            write(&d, "cpu.cfs_quota_us", &millis_to_quota(lim).to_string())?;
        }
        if let Some(p) = res.pids_limit {
            let v = if p <= 0 {
                "max".to_string()
            } else {
                p.to_string()
            };
            write(&self.dir("pids", path), "pids.max", &v)?;
        }
        Ok(())
    }

    /// The per-thread `tasks` files: moving one thread skips the global threadgroup lock
    /// (and its RCU grace period, 5-20 ms on a loaded host) that a `cgroup.procs` write
    /// takes; our helpers are single-threaded, so the thread is the whole process.
    fn procs_files(&self, path: &str) -> Vec<PathBuf> {
        self.present()
            .map(|c| self.dir(c, path).join("tasks"))
            .collect()
    }

    fn pids(&self, path: &str) -> Vec<i32> {
        let mut all: Vec<i32> = self
            .present()
            .flat_map(|c| read_pids(&self.dir(c, path)))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    fn stats(&self, path: &str) -> Result<CgroupStats> {
        let mem = self.dir("memory", path);
        let usage_file = mem.join("memory.usage_in_bytes");
        let usage = read_u64(&usage_file).unwrap_or(0);
        let inactive = keyed(&mem.join("memory.stat"), "total_inactive_file").unwrap_or(0);
        let cpuacct: &Path = &self.dir("cpuacct", path);
        Ok(CgroupStats {
            cpu_usage_nanos: read_u64(&cpuacct.join("cpuacct.usage")).unwrap_or(0),
            cpu_nr_throttled: keyed(&self.dir("cpu", path).join("cpu.stat"), "nr_throttled")
                .unwrap_or(0),
            memory_usage_bytes: usage,
            memory_working_set_bytes: usage.saturating_sub(inactive),
        })
    }

    fn oom_kills(&self, path: &str) -> u64 {
        keyed(
            &self.dir("memory", path).join("memory.oom_control"),
            "oom_kill",
        )
        .unwrap_or(0)
    }

    fn dirs(&self, path: &str) -> Vec<PathBuf> {
        self.present().map(|c| self.dir(c, path)).collect()
    }
}
