//! The Running state of a worker: reconcile containers with the plan, probes, clean-up of
//! old attempts.

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use skiff_runtime::{ContainerState, SandboxState};

use super::config;
use super::plan::{self, Action};
use super::status;
use super::worker::{Next, State, Worker};
use crate::error::Error;
use crate::events::{NORMAL, Target, WARNING};
use crate::probe::{Endpoint, ProbeCtx};

/// `status.reason` of a pod that outlived its `activeDeadlineSeconds`.
pub const DEADLINE_REASON: &str = "DeadlineExceeded";
/// `status.message` (and event message) of such a pod, as upstream words it.
pub const DEADLINE_MESSAGE: &str = "Pod was active on the node longer than the specified deadline";

impl Worker {
    /// Whether the pod has run longer than its `activeDeadlineSeconds` (from `status.startTime`).
    pub(super) fn deadline_exceeded(&self, now: chrono::DateTime<Utc>) -> bool {
        let Some(deadline) = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.active_deadline_seconds)
        else {
            return false;
        };
        let Some(start) = self.pod.status.as_ref().and_then(|s| s.start_time.as_ref()) else {
            return false;
        };
        let started = start.0.as_second();
        now.timestamp() - started >= deadline
    }

    pub(super) async fn running(&mut self, sandbox: String) -> (State, Next) {
        if self.deadline_exceeded(Utc::now()) {
            self.ctx.api.event(
                &self.target(),
                WARNING,
                DEADLINE_REASON,
                DEADLINE_MESSAGE.into(),
            );
            self.phase_override = Some("Failed");
            self.status_reason = Some((DEADLINE_REASON, DEADLINE_MESSAGE));
            let _ = self.list_containers(&sandbox).await;
            self.finish(&sandbox).await;
            return (State::Finished, Next::After(Duration::from_secs(1)));
        }
        let rt = self.ctx.runtime.clone();
        match rt.pod_sandbox_status(&sandbox).await {
            Ok(st) if st.state == SandboxState::Ready => {}
            _ => {
                self.ctx.api.event(
                    &self.target(),
                    NORMAL,
                    "SandboxChanged",
                    "Pod sandbox changed, it will be killed and re-created.".into(),
                );
                let _ = self.list_containers(&sandbox).await;
                for c in self.containers.clone() {
                    let _ = rt.stop_container(&c.id, Duration::ZERO).await;
                }
                let _ = rt.stop_pod_sandbox(&sandbox).await;
                self.sandbox_ready = false;
                return (State::Sandbox, Next::Now);
            }
        }
        // ConfigMap and Secret volumes follow their sources.
        if self
            .sources_at
            .is_none_or(|t| t.elapsed() > Duration::from_secs(5))
        {
            match self.setup_volumes().await {
                Err(Error::Mount(msg)) => {
                    self.ctx
                        .api
                        .event(&self.target(), WARNING, "FailedMount", msg)
                }
                Err(e) => tracing::debug!(pod = %self.key(), error = %e, "refreshing volumes"),
                Ok(()) => {}
            }
        }
        if let Err(e) = self.list_containers(&sandbox).await {
            tracing::warn!(pod = %self.key(), error = %e, "listing containers");
            return (
                State::Running { sandbox },
                Next::After(Duration::from_secs(1)),
            );
        }
        self.sync_probes();
        let now = Utc::now();
        let plan = {
            let backoff = self
                .ctx
                .restart_backoff
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            plan::plan(
                &self.pod,
                &self.containers,
                &self.probes.snapshot(),
                &backoff,
                now,
            )
        };
        for (name, w) in &plan.waiting {
            if self.waiting.get(name) == Some(w) {
                continue;
            }
            let init = self.is_init(name);
            let pod_ref = self.key().to_string();
            self.ctx.api.event(
                &Target::container(&self.pod, name, init),
                WARNING,
                "BackOff",
                format!("Back-off restarting failed container {name} in pod {pod_ref}"),
            );
            self.waiting.insert(name.clone(), w.clone());
        }
        let mut done = false;
        for action in plan.actions {
            match action {
                Action::Kill { id, name, message } => {
                    let grace = self.grace_period();
                    self.kill_container(&id, &name, &message, grace).await;
                }
                Action::Start {
                    name,
                    init,
                    restart_of,
                } => {
                    if let Some(t) = restart_of {
                        let key = plan::backoff_key(&self.key().uid, &name);
                        self.ctx
                            .restart_backoff
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .next(&key, t);
                    }
                    self.start_container(&sandbox, &name, init).await;
                }
                Action::Done => done = true,
            }
        }
        if plan.phase_override.is_some() {
            self.phase_override = plan.phase_override;
        }
        let _ = self.list_containers(&sandbox).await;
        self.gc_attempts().await;
        self.sync_probes();
        if done {
            self.finish(&sandbox).await;
            return (State::Finished, Next::After(Duration::from_secs(1)));
        }
        (
            State::Running { sandbox },
            Next::After(Duration::from_secs(1)),
        )
    }

    pub(super) fn sync_probes(&mut self) {
        let running: Vec<String> = self
            .containers
            .iter()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| c.id.clone())
            .collect();
        self.probes.retain(&running);
        let endpoint = Endpoint {
            pod_ip: if config::host_network(&self.pod) {
                IpAddr::from([127, 0, 0, 1])
            } else {
                self.pod_ips
                    .first()
                    .copied()
                    .unwrap_or(IpAddr::from([127, 0, 0, 1]))
            },
        };
        let spec = self.pod.spec.clone().unwrap_or_default();
        for c in self.containers.clone() {
            if c.state != ContainerState::Running {
                continue;
            }
            let init = self.is_init(&c.name);
            let Some(s) = spec
                .containers
                .iter()
                .chain(spec.init_containers.iter().flatten())
                .find(|s| s.name == c.name)
            else {
                continue;
            };
            let ctx = ProbeCtx {
                runtime: self.ctx.runtime.clone(),
                api: self.ctx.api.clone(),
                target: Target::container(&self.pod, &c.name, init),
                notify: self.notify.clone(),
                endpoint,
            };
            self.probes
                .ensure(&ctx, &c.id, s, c.started_at.unwrap_or_else(Utc::now));
        }
    }

    /// Keep the current and the previous attempt of each container; remove older ones.
    pub(super) async fn gc_attempts(&mut self) {
        let names: Vec<String> = self.containers.iter().map(|c| c.name.clone()).collect();
        let mut removed = Vec::new();
        for name in names {
            for old in status::attempts(&self.containers, &name).iter().skip(2) {
                if old.state == ContainerState::Exited && !removed.contains(&old.id) {
                    removed.push(old.id.clone());
                }
            }
        }
        for id in &removed {
            let _ = self.ctx.runtime.remove_container(id).await;
        }
        self.containers.retain(|c| !removed.contains(&c.id));
    }
}
