//! cgroup v2 driver: one unified hierarchy, controllers enabled down the tree.

use std::path::PathBuf;

use super::{
    CgroupDriver, CgroupStats, keyed, millis_to_quota, millis_to_shares, read_pids, read_u64,
    shares_to_weight, write,
};
use crate::error::{IoContext, Result};
use crate::types::LinuxResources;

const WANTED: [&str; 3] = ["cpu", "memory", "pids"];

/// The unified hierarchy mounted at `root`.
#[derive(Debug, Clone)]
pub struct V2 {
    root: PathBuf,
}

impl V2 {
    pub fn new(root: PathBuf) -> Self {
        V2 { root }
    }

    fn dir(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// Enable the wanted controllers in `dir/cgroup.subtree_control` (those `dir` offers).
    fn enable_controllers(&self, dir: &std::path::Path) -> Result<()> {
        let offered = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
        let enabled =
            std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
        let missing: Vec<String> = WANTED
            .iter()
            .filter(|c| offered.split_whitespace().any(|o| o == **c))
            .filter(|c| !enabled.split_whitespace().any(|o| o == **c))
            .map(|c| format!("+{c}"))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        write(dir, "cgroup.subtree_control", &missing.join(" "))
    }
}

impl CgroupDriver for V2 {
    fn version(&self) -> &'static str {
        "v2"
    }

    fn create(&self, path: &str, res: Option<&LinuxResources>) -> Result<()> {
        let mut dir = self.root.clone();
        for part in path.trim_matches('/').split('/').filter(|p| !p.is_empty()) {
            self.enable_controllers(&dir)?;
            dir = dir.join(part);
            if !dir.is_dir() {
                std::fs::create_dir(&dir).ctx("mkdir cgroup", &dir)?;
            }
        }
        let Some(res) = res else { return Ok(()) };
        if let Some(limit) = res.memory_limit_bytes {
            write(&dir, "memory.max", &limit.to_string())?;
            if dir.join("memory.swap.max").exists() {
                write(&dir, "memory.swap.max", "0")?;
            }
        }
        if let Some(req) = res.cpu_request_millis {
            write(
                &dir,
                "cpu.weight",
                &shares_to_weight(millis_to_shares(req)).to_string(),
            )?;
        }
        if let Some(lim) = res.cpu_limit_millis {
            write(&dir, "cpu.max", &format!("{} 100000", millis_to_quota(lim)))?;
        }
        if let Some(p) = res.pids_limit {
            let v = if p <= 0 {
                "max".to_string()
            } else {
                p.to_string()
            };
            write(&dir, "pids.max", &v)?;
        }
        Ok(())
    }

    fn procs_files(&self, path: &str) -> Vec<PathBuf> {
        vec![self.dir(path).join("cgroup.procs")]
    }

    fn clone_into(&self, path: &str) -> Option<PathBuf> {
        Some(self.dir(path))
    }

    fn pids(&self, path: &str) -> Vec<i32> {
        read_pids(&self.dir(path))
    }

    fn stats(&self, path: &str) -> Result<CgroupStats> {
        let d = self.dir(path);
        let usage = read_u64(&d.join("memory.current")).unwrap_or(0);
        let inactive = keyed(&d.join("memory.stat"), "inactive_file").unwrap_or(0);
        Ok(CgroupStats {
            cpu_usage_nanos: keyed(&d.join("cpu.stat"), "usage_usec").unwrap_or(0) * 1000,
            cpu_nr_throttled: keyed(&d.join("cpu.stat"), "nr_throttled").unwrap_or(0),
            memory_usage_bytes: usage,
            memory_working_set_bytes: usage.saturating_sub(inactive),
        })
    }

    fn oom_kills(&self, path: &str) -> u64 {
        keyed(&self.dir(path).join("memory.events"), "oom_kill").unwrap_or(0)
    }

    fn kill_whole_on_oom(&self, path: &str) -> Result<()> {
        let dir = self.dir(path);
        if dir.join("memory.oom.group").exists() {
            write(&dir, "memory.oom.group", "1")?;
        }
        Ok(())
    }

    fn dirs(&self, path: &str) -> Vec<PathBuf> {
        vec![self.dir(path)]
    }

    fn destroy(&self, path: &str) -> Result<()> {
        let d = self.dir(path);
        if d.join("cgroup.kill").exists() {
            let _ = std::fs::write(d.join("cgroup.kill"), "1");
        }
        super::kill_and_remove(&[d])
    }
}
