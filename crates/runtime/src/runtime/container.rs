//! Container verbs: create, start, stop, remove, status refresh, wait, stats.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use skiff_images::ImageConfig;

use super::{Runtime, new_id, remove_dir_all_if_exists};
use crate::error::{Error, IoContext, Result};
use crate::helper::{ExitRecord, ShimSpec};
use crate::spec;
use crate::state::{ContainerRecord, RootfsSource, read_json, write_json_atomic};
use crate::sys;
use crate::types::{
    ContainerConfig, ContainerState, ContainerStats, ContainerStatus, SandboxState,
};

impl Runtime {
    pub(crate) fn container_record(&self, id: &str) -> Result<ContainerRecord> {
        self.lock()
            .containers
            .get(id)
            .cloned()
            .ok_or_else(|| Error::ContainerNotFound(id.to_string()))
    }

    fn save_container(&self, rec: &ContainerRecord) -> Result<()> {
        write_json_atomic(&self.container_dir(&rec.id).join("container.json"), rec)?;
        self.lock().containers.insert(rec.id.clone(), rec.clone());
        Ok(())
    }

    /// Create a container from explicit layers and image config (no image store involved).
    pub fn create_container_from(
        &self,
        sandbox_id: &str,
        config: ContainerConfig,
        rootfs: RootfsSource,
        image_config: ImageConfig,
    ) -> Result<String> {
        let sb = self.sandbox_record(sandbox_id)?;
        if sb.state != SandboxState::Ready {
            return Err(Error::FailedPrecondition(format!(
                "pod sandbox {sandbox_id} is not ready"
            )));
        }
        if config.name.is_empty() {
            return Err(Error::InvalidArgument(
                "container config needs a name".into(),
            ));
        }
        let hostname = std::fs::read_to_string(self.sandbox_dir(sandbox_id).join("hostname"))
            .unwrap_or_default();
        let process =
            spec::container_process(&config, &image_config, &rootfs.lower_dirs, hostname.trim())?;
        let id = new_id();
        let dir = self.container_dir(&id);
        let cgroup_path = format!("{}/{}", sb.cgroup_path, id);
        let log_path = match (&sb.config.log_directory, config.log_path.is_empty()) {
            (Some(d), false) => d.join(&config.log_path),
            _ => dir.join("container.log"),
        };
        let rec = ContainerRecord {
            id: id.clone(),
            sandbox_id: sandbox_id.to_string(),
            config,
            image_config,
            rootfs,
            process,
            state: ContainerState::Created,
            created_at: chrono::Utc::now(),
            started_at: None,
            finished_at: None,
            exit_code: None,
            reason: String::new(),
            message: String::new(),
            pid: None,
            pid_start: None,
            shim_pid: None,
            shim_start: None,
            cgroup_path,
            log_path,
        };
        let res = self.prepare_container(&dir, &rec);
        if let Err(e) = res {
            let _ = self.cgroups.destroy(&rec.cgroup_path);
            let _ = remove_dir_all_if_exists(&dir);
            return Err(e);
        }
        Ok(id)
    }

    fn prepare_container(&self, dir: &Path, rec: &ContainerRecord) -> Result<()> {
        for sub in ["upper", "work", "rootfs"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).ctx("mkdir", &d)?;
        }
        if let Some(parent) = rec.log_path.parent() {
            std::fs::create_dir_all(parent).ctx("mkdir log dir", parent)?;
        }
        self.cgroups
            .create(&rec.cgroup_path, Some(&rec.config.resources))?;
        self.cgroups.kill_whole_on_oom(&rec.cgroup_path)?;
        let sb = self.sandbox_record(&rec.sandbox_id)?;
        let shim = ShimSpec {
            id: rec.id.clone(),
            sandbox_pid: sb.init_pid.unwrap_or(0),
            share_pid: sb.config.share_process_namespace,
            cgroup_procs: self.cgroups.procs_files(&rec.cgroup_path),
            clone_into_cgroup: self.cgroups.clone_into(&rec.cgroup_path),
            lower_dirs: rec.rootfs.lower_dirs.clone(),
            upper_dir: dir.join("upper"),
            work_dir: dir.join("work"),
            rootfs: dir.join("rootfs"),
            etc_files: self.etc_files(&rec.sandbox_id),
            mounts: rec.config.mounts.clone(),
            privileged: rec.config.security.privileged,
            readonly_rootfs: rec.config.security.readonly_rootfs,
            process: rec.process.clone(),
            log_path: rec.log_path.clone(),
            rotation: self.cfg.log_rotation,
            exit_file: dir.join("exit.json"),
            stdin_fifo: (rec.config.stdin || rec.config.tty).then(|| dir.join("stdin")),
        };
        write_json_atomic(&dir.join("shim.json"), &shim)?;
        self.save_container(rec)
    }

    pub(crate) async fn do_start_container(&self, id: &str) -> Result<()> {
        let mut rec = self.container_record(id)?;
        if rec.state != ContainerState::Created {
            return Err(Error::FailedPrecondition(format!(
                "container {id} is in state {:?}, not Created",
                rec.state
            )));
        }
        let sb = self.sandbox_record(&rec.sandbox_id)?;
        if !sb
            .init_pid
            .is_some_and(|p| sys::proc_alive(p, sb.init_start))
        {
            return Err(Error::FailedPrecondition(format!(
                "pod sandbox {} is not running",
                sb.id
            )));
        }
        let dir = self.container_dir(id);
        // The start time is taken before the shim runs: a quick container may exit (and its
        // shim record the finish) before the shim's answer arrives here.
        let now = chrono::Utc::now();
        let out = self.run_helper("shim", &dir.to_string_lossy()).await;
        match out {
            Ok(line) => {
                let mut parts = line
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok());
                let pid = parts.next();
                rec.pid = pid;
                rec.pid_start = pid.and_then(sys::proc_start_time);
                rec.shim_pid = parts.next();
                rec.shim_start = rec.shim_pid.and_then(sys::proc_start_time);
                rec.started_at = Some(now);
                rec.state = ContainerState::Running;
                self.save_container(&rec)
            }
            Err(e) => {
                rec.state = ContainerState::Exited;
                rec.started_at = Some(now);
                rec.finished_at = Some(now);
                rec.exit_code = Some(128);
                rec.reason = "StartError".into();
                rec.message = e.to_string();
                self.save_container(&rec)?;
                Err(e)
            }
        }
    }

    /// Pick up an exit recorded by the shim (or notice a shim that died without one).
    pub(crate) fn refresh_container(&self, id: &str) -> Result<ContainerRecord> {
        let mut rec = self.container_record(id)?;
        if rec.state != ContainerState::Running {
            return Ok(rec);
        }
        let exit_file = self.container_dir(id).join("exit.json");
        let read_exit = || -> Result<Option<ExitRecord>> {
            if exit_file.exists() {
                Ok(Some(read_json(&exit_file)?))
            } else {
                Ok(None)
            }
        };
        let mut exit = read_exit()?;
        if exit.is_none() {
            if rec
                .shim_pid
                .is_some_and(|p| sys::proc_alive(p, rec.shim_start))
            {
                return Ok(rec);
            }
            // The shim may have written its file just before it went away.
            exit = read_exit()?;
        }
        let Some(exit) = exit else {
            rec.state = ContainerState::Exited;
            rec.exit_code = Some(255);
            rec.finished_at = Some(chrono::Utc::now());
            rec.reason = "Error".into();
            rec.message = "container shim exited without recording an exit status".into();
            self.save_container(&rec)?;
            return Ok(rec);
        };
        rec.state = ContainerState::Exited;
        rec.exit_code = Some(exit.exit_code);
        rec.finished_at = Some(exit.finished_at);
        rec.reason = if self.cgroups.oom_kills(&rec.cgroup_path) > 0 {
            "OOMKilled".into()
        } else if exit.exit_code == 0 {
            "Completed".into()
        } else {
            "Error".into()
        };
        self.save_container(&rec)?;
        Ok(rec)
    }

    pub(crate) fn status_of(&self, rec: &ContainerRecord) -> ContainerStatus {
        ContainerStatus {
            id: rec.id.clone(),
            sandbox_id: rec.sandbox_id.clone(),
            name: rec.config.name.clone(),
            attempt: rec.config.attempt,
            image: rec.config.image.clone(),
            state: rec.state,
            created_at: rec.created_at,
            started_at: rec.started_at,
            finished_at: rec.finished_at,
            exit_code: rec.exit_code,
            reason: rec.reason.clone(),
            message: rec.message.clone(),
            pid: rec.pid.filter(|_| rec.state == ContainerState::Running),
            log_path: rec.log_path.clone(),
            cgroup_path: rec.cgroup_path.clone(),
            labels: rec.config.labels.clone(),
            annotations: rec.config.annotations.clone(),
        }
    }

    /// Wait until the container has exited (or `deadline` passes) and return its record.
    pub(crate) async fn wait_exit(
        &self,
        id: &str,
        deadline: Option<Instant>,
    ) -> Result<ContainerRecord> {
        let rec = self.refresh_container(id)?;
        if rec.state != ContainerState::Running {
            return Ok(rec);
        }
        let pidfd = rec
            .shim_pid
            .filter(|p| sys::proc_alive(*p, rec.shim_start))
            .and_then(|p| pidfd_open(p).ok());
        if let Some(fd) = pidfd
            // SAFETY: the OwnedFd is moved into the AsyncFd and stays open for its lifetime.
            && let Ok(afd) = unsafe { tokio::io::unix::AsyncFd::register(fd) }
        {
            let wait = afd.readable();
            match deadline {
                Some(d) => {
                    let _ = tokio::time::timeout_at(d.into(), wait).await;
                }
                None => {
                    let _ = wait.await;
                }
            }
        }
        let mut sleep = Duration::from_micros(500);
        loop {
            let rec = self.refresh_container(id)?;
            if rec.state != ContainerState::Running || deadline.is_some_and(|d| Instant::now() >= d)
            {
                return Ok(rec);
            }
            tokio::time::sleep(sleep).await;
            sleep = (sleep * 2).min(Duration::from_millis(50));
        }
    }

    fn signal(&self, rec: &ContainerRecord, sig: i32) {
        if let Some(pid) = rec.pid
            && sys::proc_alive(pid, rec.pid_start)
        {
            // SAFETY: signalling the verified container process.
            unsafe { libc::kill(pid, sig) };
        }
    }

    pub(crate) async fn do_stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        let rec = self.refresh_container(id)?;
        if rec.state != ContainerState::Running {
            return Ok(());
        }
        if !timeout.is_zero() {
            self.signal(&rec, libc::SIGTERM);
            let rec = self.wait_exit(id, Some(Instant::now() + timeout)).await?;
            if rec.state != ContainerState::Running {
                return Ok(());
            }
        }
        self.signal(&rec, libc::SIGKILL);
        let rec = self
            .wait_exit(id, Some(Instant::now() + Duration::from_secs(10)))
            .await?;
        if rec.state == ContainerState::Running {
            return Err(Error::FailedPrecondition(format!(
                "container {id} did not exit after SIGKILL"
            )));
        }
        Ok(())
    }

    pub(crate) async fn do_remove_container(&self, id: &str) -> Result<()> {
        let rec = match self.container_record(id) {
            Ok(r) => r,
            Err(Error::ContainerNotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.do_stop_container(id, Duration::ZERO).await?;
        self.cgroups.destroy(&rec.cgroup_path)?;
        let dir = self.container_dir(id);
        if !rec.log_path.starts_with(&dir) {
            let _ = std::fs::remove_file(&rec.log_path);
        }
        remove_dir_all_if_exists(&dir)?;
        self.lock().containers.remove(id);
        Ok(())
    }

    pub(crate) fn stats_of(&self, id: &str) -> Result<ContainerStats> {
        let rec = self.container_record(id)?;
        let s = self.cgroups.stats(&rec.cgroup_path)?;
        Ok(ContainerStats {
            timestamp_nanos: chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
            cpu_usage_nanos: s.cpu_usage_nanos,
            memory_working_set_bytes: s.memory_working_set_bytes,
            memory_usage_bytes: s.memory_usage_bytes,
            cpu_nr_throttled: s.cpu_nr_throttled,
        })
    }

    pub(crate) fn reopen_log(&self, id: &str) -> Result<()> {
        let rec = self.refresh_container(id)?;
        if rec.state != ContainerState::Running {
            return Err(Error::FailedPrecondition(format!(
                "container {id} is not running"
            )));
        }
        if let Some(pid) = rec.shim_pid
            && sys::proc_alive(pid, rec.shim_start)
        {
            // SAFETY: signalling the verified shim.
            unsafe { libc::kill(pid, libc::SIGUSR1) };
        }
        Ok(())
    }

    /// The container's directory (upper, work, rootfs, records).
    pub fn container_path(&self, id: &str) -> PathBuf {
        self.container_dir(id)
    }
}

pub(crate) fn pidfd_open(pid: i32) -> Result<std::os::fd::OwnedFd> {
    // SAFETY: pidfd_open returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(Error::last_sys(format!("pidfd_open({pid})")));
    }
    use std::os::fd::FromRawFd;
    // SAFETY: fd is a fresh descriptor we own.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Wait until `pid` (verified by its start time) is gone: pidfd readiness, then a short poll.
pub(crate) async fn wait_gone(
    pid: i32,
    start: Option<u64>,
    pidfd: Option<std::os::fd::OwnedFd>,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    if let Some(fd) = pidfd
        // SAFETY: the OwnedFd is moved into the AsyncFd and stays open for its lifetime.
        && let Ok(afd) = unsafe { tokio::io::unix::AsyncFd::register(fd) }
    {
        let _ = tokio::time::timeout_at(deadline.into(), afd.readable()).await;
    }
    let mut sleep = Duration::from_micros(200);
    while sys::proc_alive(pid, start) {
        if Instant::now() > deadline {
            return Err(Error::Timeout(timeout));
        }
        tokio::time::sleep(sleep).await;
        sleep = (sleep * 2).min(Duration::from_millis(20));
    }
    Ok(())
}
