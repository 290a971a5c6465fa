//! Container verbs of a worker: pull images per policy, start (with postStart), kill (with
//! preStop and the grace period), each with upstream's events.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, LifecycleHandler};
use skiff_runtime::ContainerState;

use super::config;
use super::status::Waiting;
use super::termination;
use super::worker::Worker;
use crate::env;
use crate::events::{NORMAL, Target, WARNING};
use crate::probe::{self, Endpoint, Outcome};
use crate::volume;

/// Upstream never gives a container less than this to stop.
const MIN_GRACE: Duration = Duration::from_secs(2);

/// `1.234s`, `523ms`: durations the way Go prints them (to the millisecond).
pub fn go_duration_fine(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        let s = format!("{:.3}", d.as_secs_f64());
        let s = s.trim_end_matches('0').trim_end_matches('.');
        format!("{s}s")
    }
}

/// `repo@sha256:...` from a reference and a manifest digest.
pub fn image_id(reference: &str, digest: &str) -> String {
    if digest.is_empty() {
        return reference.to_string();
    }
    let repo = match reference.split_once('@') {
        Some((r, _)) => r,
        None => match reference.rfind(':') {
            Some(i) if !reference[i..].contains('/') => &reference[..i],
            _ => reference,
        },
    };
    format!("{repo}@{digest}")
}

fn wait(reason: &str, message: String) -> Waiting {
    Waiting {
        reason: reason.into(),
        message,
    }
}

impl Worker {
    fn spec_of(&self, name: &str) -> Option<Container> {
        let spec = self.pod.spec.as_ref()?;
        spec.containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .find(|c| c.name == name)
            .cloned()
    }

    /// Make the container's image present as its `imagePullPolicy` says.
    async fn ensure_image(&mut self, c: &Container, target: &Target) -> Result<(), Waiting> {
        let image = c.image.clone().unwrap_or_default();
        let policy = c.image_pull_policy.clone().unwrap_or_else(|| {
            let tagged = image.rsplit('/').next().is_some_and(|l| l.contains(':'));
            if image.contains('@') || (tagged && !image.ends_with(":latest")) {
                "IfNotPresent".into()
            } else {
                "Always".into()
            }
        });
        let api = self.ctx.api.clone();
        let images = self.ctx.images.clone();
        let present = images.image_status(&image).await.ok().flatten();
        if let Some(rec) = &present
            && policy != "Always"
        {
            self.image_ids
                .insert(image.clone(), image_id(&rec.reference, &rec.digest));
            api.event(
                target,
                NORMAL,
                "Pulled",
                format!("Container image {image:?} already present on machine"),
            );
            return Ok(());
        }
        if present.is_none() && policy == "Never" {
            let msg = format!("Container image {image:?} is not present with pull policy of Never");
            api.event(target, WARNING, "ErrImageNeverPull", msg.clone());
            return Err(wait("ErrImageNeverPull", msg));
        }
        let key = format!("{}/{image}", self.key().uid);
        let now = chrono::Utc::now();
        {
            let b = self
                .ctx
                .image_backoff
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if b.in_backoff_since_update(&key, now) {
                let msg = format!("Back-off pulling image {image:?}");
                if self.waiting.get(&c.name).map(|w| w.reason.as_str()) != Some("ImagePullBackOff")
                {
                    api.event(target, NORMAL, "BackOff", msg.clone());
                }
                return Err(wait("ImagePullBackOff", msg));
            }
        }
        api.event(
            target,
            NORMAL,
            "Pulling",
            format!("Pulling image {image:?}"),
        );
        let started = Instant::now();
        match images.pull_image(&image).await {
            Ok(rec) => {
                let took = go_duration_fine(started.elapsed());
                api.event(
                    target,
                    NORMAL,
                    "Pulled",
                    format!(
                        "Successfully pulled image {image:?} in {took} ({took} including waiting). Image size: {} bytes.",
                        rec.size
                    ),
                );
                self.image_ids
                    .insert(image.clone(), image_id(&rec.reference, &rec.digest));
                self.ctx
                    .image_backoff
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .reset(&key);
                Ok(())
            }
            Err(e) => {
                let msg = format!("Failed to pull image {image:?}: {e}");
                api.event(target, WARNING, "Failed", msg.clone());
                api.event(target, WARNING, "Failed", "Error: ErrImagePull".into());
                self.ctx
                    .image_backoff
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .next(&key, chrono::Utc::now());
                Err(wait("ErrImagePull", msg))
            }
        }
    }

    /// Create and start the next attempt of container `name`; waits are recorded.
    pub(super) async fn start_container(&mut self, sandbox: &str, name: &str, init: bool) {
        let Some(c) = self.spec_of(name) else { return };
        let target = Target::container(&self.pod, name, init);
        if let Err(w) = self.ensure_image(&c, &target).await {
            self.waiting.insert(name.to_string(), w);
            return;
        }
        let api = self.ctx.api.clone();
        let fail = |this: &mut Worker, reason: &str, msg: String| {
            api.event(&target, WARNING, "Failed", format!("Error: {msg}"));
            this.waiting.insert(name.to_string(), wait(reason, msg));
        };
        if let Err(e) = self.refresh_sources(false).await {
            fail(self, "CreateContainerConfigError", e.to_string());
            return;
        }
        let envs = match env::container_env(&self.pod, &c, &self.sources, &self.runtime_info()) {
            Ok(e) => e,
            Err(e) => {
                fail(self, "CreateContainerConfigError", e.to_string());
                return;
            }
        };
        let mounts = match volume::container_mounts(&c, &self.volumes) {
            Ok(m) => m,
            Err(e) => {
                fail(self, "CreateContainerConfigError", e.to_string());
                return;
            }
        };
        let attempt = self
            .containers
            .iter()
            .filter(|x| x.name == name)
            .map(|x| x.attempt + 1)
            .max()
            .unwrap_or(0);
        let log_file =
            termination::host_path(&self.ctx.config.pod_dir(&self.key().uid), name, attempt);
        let termination_log = match termination::prepare(&log_file) {
            Ok(()) => Some(log_file.as_path()),
            Err(e) => {
                tracing::warn!(pod = %self.key(), container = name, error = %e, "termination-log file");
                None
            }
        };
        let cfg = config::container(config::ContainerInput {
            pod: &self.pod,
            container: &c,
            init,
            attempt,
            env: envs,
            mounts,
            termination_log,
        });
        let rt = self.ctx.runtime.clone();
        let sandbox_cfg = match rt.pod_sandbox_status(sandbox).await {
            Ok(s) => s.config,
            Err(e) => {
                fail(self, "CreateContainerError", e.to_string());
                return;
            }
        };
        let id = match rt.create_container(sandbox, cfg, &sandbox_cfg).await {
            Ok(id) => id,
            Err(e) => {
                fail(self, "CreateContainerError", e.to_string());
                return;
            }
        };
        api.event(
            &target,
            NORMAL,
            "Created",
            format!("Created container: {name}"),
        );
        if let Err(e) = rt.start_container(&id).await {
            fail(self, "RunContainerError", e.to_string());
            return;
        }
        api.event(
            &target,
            NORMAL,
            "Started",
            format!("Started container {name}"),
        );
        self.waiting.remove(name);
        if let Some(h) = c.lifecycle.as_ref().and_then(|l| l.post_start.clone())
            && let Err(msg) = self.run_hook(&id, &c, &h, Duration::from_secs(120)).await
        {
            api.event(&target, WARNING, "FailedPostStartHook", msg.clone());
            let grace = self.grace_period();
            self.kill_container(&id, name, "FailedPostStartHook", grace)
                .await;
        }
    }

    /// Run a lifecycle handler (exec, httpGet, sleep) against a container.
    async fn run_hook(
        &self,
        id: &str,
        c: &Container,
        h: &LifecycleHandler,
        timeout: Duration,
    ) -> Result<(), String> {
        let ep = Endpoint {
            pod_ip: if config::host_network(&self.pod) {
                std::net::IpAddr::from([127, 0, 0, 1])
            } else {
                self.pod_ips
                    .first()
                    .copied()
                    .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
            },
        };
        let outcome = if let Some(e) = &h.exec {
            let cmd = e.command.clone().unwrap_or_default().join(" ");
            match probe::run_exec(self.ctx.runtime.as_ref(), id, e, timeout).await {
                Outcome::Success => Outcome::Success,
                Outcome::Failure(out) => Outcome::Failure(format!(
                    "Exec lifecycle hook ([{cmd}]) for Container {:?} in Pod {:?} failed - error: command '{cmd}' exited with non-zero status, message: {out:?}",
                    c.name,
                    self.key().to_string()
                )),
            }
        } else if let Some(g) = &h.http_get {
            match probe::run_http(g, c, ep, timeout).await {
                Outcome::Success => Outcome::Success,
                Outcome::Failure(m) => Outcome::Failure(format!(
                    "HTTP lifecycle hook ({}) for Container {:?} in Pod {:?} failed - error: {m}",
                    g.path.clone().unwrap_or_default(),
                    c.name,
                    self.key().to_string()
                )),
            }
        } else if let Some(s) = &h.sleep {
            tokio::time::sleep(Duration::from_secs(s.seconds.max(0) as u64).min(timeout)).await;
            Outcome::Success
        } else {
            Outcome::Success
        };
        match outcome {
            Outcome::Success => Ok(()),
            Outcome::Failure(m) => Err(m),
        }
    }

    /// Stop one container: Killing event, preStop, SIGTERM, SIGKILL after the rest of `grace`.
    pub(super) async fn kill_container(
        &self,
        id: &str,
        name: &str,
        message: &str,
        grace: Duration,
    ) {
        let init = self.is_init(name);
        let target = Target::container(&self.pod, name, init);
        self.ctx
            .api
            .event(&target, NORMAL, "Killing", message.to_string());
        let started = Instant::now();
        let running = self
            .ctx
            .runtime
            .container_status(id)
            .await
            .is_ok_and(|s| s.state == ContainerState::Running);
        if running
            && let Some(c) = self.spec_of(name)
            && let Some(h) = c.lifecycle.as_ref().and_then(|l| l.pre_stop.clone())
        {
            let hook = self.run_hook(id, &c, &h, grace.max(MIN_GRACE));
            match tokio::time::timeout(grace.max(MIN_GRACE), hook).await {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => self
                    .ctx
                    .api
                    .event(&target, WARNING, "FailedPreStopHook", msg),
                Err(_) => self.ctx.api.event(
                    &target,
                    WARNING,
                    "FailedPreStopHook",
                    format!("PreStopHook failed: timed out after {}s", grace.as_secs()),
                ),
            }
        }
        let left = grace.saturating_sub(started.elapsed()).max(MIN_GRACE);
        if let Err(e) = self.ctx.runtime.stop_container(id, left).await {
            tracing::warn!(container = id, error = %e, "stopping container");
        }
    }

    /// Stop many containers at once (pod deletion).
    pub(super) async fn kill_all(&self, targets: Vec<(String, String, String)>, grace: Duration) {
        let kills = targets
            .iter()
            .map(|(id, name, msg)| self.kill_container(id, name, msg, grace));
        futures::future::join_all(kills).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ids_and_durations() {
        assert_eq!(
            image_id("127.0.0.1:5000/busybox:latest", "sha256:ab"),
            "127.0.0.1:5000/busybox@sha256:ab"
        );
        assert_eq!(
            image_id("127.0.0.1:5000/busybox", "sha256:ab"),
            "127.0.0.1:5000/busybox@sha256:ab"
        );
        assert_eq!(go_duration_fine(Duration::from_millis(1200)), "1.2s");
        assert_eq!(go_duration_fine(Duration::from_millis(523)), "523ms");
    }
}
