//! Pod sandbox verbs: run (namespaces held by a reaping init), stop, remove, status.

use std::path::PathBuf;
use std::time::Duration;

use super::{Runtime, files, new_id, remove_dir_all_if_exists};
use crate::error::{Error, IoContext, Result};
use crate::helper::SandboxInitSpec;
use crate::state::{SandboxRecord, write_json_atomic};
use crate::sys;
use crate::types::{PodSandboxConfig, PodSandboxStatus, SandboxState};

impl Runtime {
    /// Run `<verb> <arg>` in a helper (forked by the zygote), return the rest of its `ok` line.
    pub(crate) async fn run_helper(&self, verb: &str, arg: &str) -> Result<String> {
        let line = self.zygote.request(verb, arg).await?;
        let status = "zygote child";
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("ok") {
            return Ok(rest.trim().to_string());
        }
        if let Some(msg) = line.strip_prefix("err ") {
            return Err(Error::Setup(format!("{verb}: {msg}")));
        }
        Err(Error::Setup(format!(
            "{verb}: helper ({status}) did not report (output {line:?})"
        )))
    }

    pub(crate) fn sandbox_record(&self, id: &str) -> Result<SandboxRecord> {
        self.lock()
            .sandboxes
            .get(id)
            .cloned()
            .ok_or_else(|| Error::SandboxNotFound(id.to_string()))
    }

    fn save_sandbox(&self, rec: &SandboxRecord) -> Result<()> {
        write_json_atomic(&self.sandbox_dir(&rec.id).join("sandbox.json"), rec)?;
        self.lock().sandboxes.insert(rec.id.clone(), rec.clone());
        Ok(())
    }

    /// Paths of the per-pod /etc files, as (host file, name under /etc).
    pub(crate) fn etc_files(&self, id: &str) -> Vec<(PathBuf, String)> {
        let d = self.sandbox_dir(id);
        ["hosts", "hostname", "resolv.conf"]
            .iter()
            .map(|n| (d.join(n), n.to_string()))
            .collect()
    }

    pub(crate) async fn do_run_sandbox(&self, config: PodSandboxConfig) -> Result<String> {
        if config.uid.is_empty() || config.name.is_empty() {
            return Err(Error::InvalidArgument(
                "pod sandbox config needs a name and a uid".into(),
            ));
        }
        let id = new_id();
        let dir = self.sandbox_dir(&id);
        let cgroup_path = if config.cgroup_parent.is_empty() {
            format!("{}/pod-{}", self.cfg.cgroup_parent, config.uid)
        } else {
            config.cgroup_parent.trim_matches('/').to_string()
        };
        let result = self.setup_sandbox(&id, &dir, &cgroup_path, &config).await;
        match result {
            Ok(rec) => {
                self.save_sandbox(&rec)?;
                Ok(id)
            }
            Err(e) => {
                if let Err(c) = self.cgroups.destroy(&cgroup_path) {
                    tracing::warn!(error = %c, "cleanup of failed sandbox cgroup");
                }
                let _ = remove_dir_all_if_exists(&dir);
                Err(e)
            }
        }
    }

    async fn setup_sandbox(
        &self,
        id: &str,
        dir: &std::path::Path,
        cgroup_path: &str,
        config: &PodSandboxConfig,
    ) -> Result<SandboxRecord> {
        std::fs::create_dir_all(dir).ctx("mkdir", dir)?;
        let write = |name: &str, data: &str| {
            let p = dir.join(name);
            std::fs::write(&p, data).ctx("write", p)
        };
        write("hosts", &files::hosts(config, None))?;
        let hostname = if config.hostname.is_empty() {
            config.name.clone()
        } else {
            config.hostname.clone()
        };
        write("hostname", &format!("{hostname}\n"))?;
        let resolv = match files::resolv_conf(&config.dns) {
            Some(s) => s,
            None => std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        };
        write("resolv.conf", &resolv)?;
        self.cgroups
            .create(cgroup_path, config.resources.as_ref())?;
        let spec = SandboxInitSpec {
            hostname,
            host_network: config.host_network,
            share_pid: config.share_process_namespace,
        };
        let arg = serde_json::to_string(&spec)
            .map_err(|e| Error::Setup(format!("encode sandbox spec: {e}")))?;
        let out = self.run_helper("sandbox-init", &arg).await?;
        let pid: i32 = out
            .parse()
            .map_err(|_| Error::Setup(format!("sandbox-init printed {out:?}")))?;
        // The sandbox's init lives in the pod cgroup, like its containers: it is accounted to
        // the pod, and whoever clears the pod's cgroups also ends it.
        for file in self.cgroups.procs_files(cgroup_path) {
            if let Err(e) = std::fs::write(&file, pid.to_string()) {
                tracing::warn!(file = %file.display(), error = %e, "moving the sandbox init into the pod cgroup");
            }
        }
        Ok(SandboxRecord {
            id: id.to_string(),
            config: config.clone(),
            state: SandboxState::Ready,
            created_at: chrono::Utc::now(),
            init_pid: Some(pid),
            init_start: sys::proc_start_time(pid),
            cgroup_path: cgroup_path.to_string(),
        })
    }

    pub(crate) async fn do_stop_sandbox(&self, id: &str) -> Result<()> {
        let mut rec = self.sandbox_record(id)?;
        let ctrs: Vec<String> = self
            .lock()
            .containers
            .values()
            .filter(|c| c.sandbox_id == id)
            .map(|c| c.id.clone())
            .collect();
        for c in ctrs {
            self.do_stop_container(&c, Duration::ZERO).await?;
        }
        if let Some(pid) = rec.init_pid
            && sys::proc_alive(pid, rec.init_start)
        {
            let pidfd = super::container::pidfd_open(pid).ok();
            // SAFETY: signalling the verified sandbox init.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            super::container::wait_gone(pid, rec.init_start, pidfd, Duration::from_secs(5))
                .await
                .map_err(|_| {
                    Error::FailedPrecondition(format!(
                        "sandbox init {pid} did not die after SIGKILL"
                    ))
                })?;
        }
        rec.state = SandboxState::NotReady;
        rec.init_pid = None;
        rec.init_start = None;
        self.save_sandbox(&rec)
    }

    pub(crate) async fn do_remove_sandbox(&self, id: &str) -> Result<()> {
        let rec = match self.sandbox_record(id) {
            Ok(r) => r,
            Err(Error::SandboxNotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.do_stop_sandbox(id).await?;
        let ctrs: Vec<String> = self
            .lock()
            .containers
            .values()
            .filter(|c| c.sandbox_id == id)
            .map(|c| c.id.clone())
            .collect();
        for c in ctrs {
            self.do_remove_container(&c).await?;
        }
        self.cgroups.destroy(&rec.cgroup_path)?;
        remove_dir_all_if_exists(&self.sandbox_dir(id))?;
        self.lock().sandboxes.remove(id);
        Ok(())
    }

    pub(crate) fn sandbox_status(&self, id: &str) -> Result<PodSandboxStatus> {
        let mut rec = self.sandbox_record(id)?;
        if rec.state == SandboxState::Ready
            && !rec
                .init_pid
                .is_some_and(|p| sys::proc_alive(p, rec.init_start))
        {
            rec.state = SandboxState::NotReady;
        }
        let netns = match (rec.state, rec.init_pid) {
            (SandboxState::Ready, Some(pid)) if !rec.config.host_network => {
                Some(PathBuf::from(format!("/proc/{pid}/ns/net")))
            }
            _ => None,
        };
        Ok(PodSandboxStatus {
            id: rec.id,
            config: rec.config,
            state: rec.state,
            created_at: rec.created_at,
            netns_path: netns,
            init_pid: rec.init_pid,
            cgroup_path: rec.cgroup_path,
        })
    }

    /// Rewrite the pod's /etc/hosts with its IP (in place: containers see the same file).
    pub fn set_pod_ip(&self, id: &str, ip: &str) -> Result<()> {
        let rec = self.sandbox_record(id)?;
        let p = self.sandbox_dir(id).join("hosts");
        std::fs::write(&p, files::hosts(&rec.config, Some(ip))).ctx("write", p)
    }
}
