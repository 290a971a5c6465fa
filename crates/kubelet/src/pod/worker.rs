//! One pod's worker: `enum State` + `step()`, driven by pod updates, probe results and time.
//!
//! Preparing (volumes, waits for ConfigMaps/Secrets) → Sandbox (create or adopt, network) →
//! Running (containers reconciled each step) → Finished (terminal phase). Deletion from any
//! state goes through Terminating (preStop, SIGTERM, grace period, kill, tear-down, delete the
//! API object) to Terminated.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::core::v1::{Pod, PodStatus};
use skiff_runtime::{
    ContainerFilter, ContainerState, ContainerStatus, ImageService, RuntimeService, SandboxState,
};
use tokio::sync::{Notify, watch};

use super::api::PodApi;
use super::backoff::Backoff;
use super::config;
use super::plan::{self, Action};
use super::status::{self, ProbeFlags, Waiting};
use crate::env::{self, Sources};
use crate::error::{Error, Result};
use crate::events::{NORMAL, Target, WARNING};
use crate::probe::{Endpoint, PodProbes, ProbeCtx};
use crate::volume::{self, VolumePaths};
use crate::{KubeletConfig, PodKey, PodNetwork, labels};

/// What every worker shares.
pub struct Ctx {
    pub config: KubeletConfig,
    pub runtime: Arc<dyn RuntimeService>,
    pub images: Arc<dyn ImageService>,
    pub network: Arc<dyn PodNetwork>,
    pub api: Arc<dyn PodApi>,
    /// Node allocatable, for `resourceFieldRef` limits left unset.
    pub allocatable: BTreeMap<String, String>,
    pub restart_backoff: Mutex<Backoff>,
    pub image_backoff: Mutex<Backoff>,
}

/// Where a pod is in its life on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Setting up volumes; waits (FailedMount) for missing ConfigMaps and Secrets.
    Preparing,
    /// Creating (or adopting) the sandbox and its network.
    Sandbox,
    /// The sandbox is up; containers are started, probed and restarted each step.
    Running { sandbox: String },
    /// A terminal phase was reached: nothing runs again until the pod is deleted.
    Finished,
    /// Deletion was asked for: stop everything within the grace period, then tear down.
    Terminating,
    /// Everything is gone (and the API object deleted).
    Terminated,
}

/// When to step again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Now,
    After(Duration),
    Done,
}

/// The worker of one pod.
pub struct Worker {
    pub(super) ctx: Arc<Ctx>,
    pub(super) pod: Pod,
    /// The pod is gone from the API (force deletion).
    pub(super) gone: bool,
    pub state: State,
    pub(super) volumes: VolumePaths,
    pub(super) sources: Sources,
    sources_at: Option<Instant>,
    /// Image and config waits by container name.
    pub(super) waiting: BTreeMap<String, Waiting>,
    pub(super) pod_ips: Vec<IpAddr>,
    pub(super) probes: PodProbes,
    pub(super) notify: Arc<Notify>,
    pub(super) image_ids: BTreeMap<String, String>,
    last_status: Option<PodStatus>,
    phase_override: Option<&'static str>,
    pub(super) containers: Vec<ContainerStatus>,
    pub(super) sandbox_id: Option<String>,
    sandbox_ready: bool,
    /// This worker saw the pod finish (a Finished pod found at start-up keeps its status).
    finished_here: bool,
}

fn terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

impl Worker {
    pub fn new(ctx: Arc<Ctx>, pod: Pod) -> Worker {
        let state = if terminal(&pod) {
            State::Finished
        } else {
            State::Preparing
        };
        Worker {
            ctx,
            pod,
            gone: false,
            state,
            volumes: VolumePaths::new(),
            sources: Sources::default(),
            sources_at: None,
            waiting: BTreeMap::new(),
            pod_ips: Vec::new(),
            probes: PodProbes::default(),
            notify: Arc::new(Notify::new()),
            image_ids: BTreeMap::new(),
            last_status: None,
            phase_override: None,
            containers: Vec::new(),
            sandbox_id: None,
            sandbox_ready: false,
            finished_here: false,
        }
    }

    pub fn key(&self) -> PodKey {
        let m = &self.pod.metadata;
        PodKey {
            namespace: m.namespace.clone().unwrap_or_default(),
            name: m.name.clone().unwrap_or_default(),
            uid: m.uid.clone().unwrap_or_default(),
        }
    }

    /// A newer version of the pod (`None`: gone from the API).
    pub fn update(&mut self, pod: Option<Pod>) {
        match pod {
            Some(p) => {
                // Keep what we posted last if the watch has not caught up with it.
                let status = self.pod.status.take();
                self.pod = p;
                if self.pod.status.is_none() {
                    self.pod.status = status;
                }
            }
            None => self.gone = true,
        }
    }

    /// Drive the worker until it is done.
    pub async fn run(mut self, mut rx: watch::Receiver<Option<Pod>>) {
        loop {
            if rx.has_changed().unwrap_or(false) {
                let p = rx.borrow_and_update().clone();
                self.update(p);
            }
            match self.step().await {
                Next::Done => return,
                Next::Now => continue,
                Next::After(d) => {
                    let notify = self.notify.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        r = rx.changed() => {
                            if r.is_err() {
                                self.gone = true;
                            } else {
                                let p = rx.borrow_and_update().clone();
                                self.update(p);
                            }
                        }
                        _ = notify.notified() => {}
                    }
                }
            }
        }
    }

    fn deleting(&self) -> bool {
        self.gone || self.pod.metadata.deletion_timestamp.is_some()
    }

    /// One step of the state machine.
    pub async fn step(&mut self) -> Next {
        if self.deleting() && !matches!(self.state, State::Terminating | State::Terminated) {
            self.state = State::Terminating;
        }
        let (state, next) = match self.state.clone() {
            State::Preparing => self.prepare().await,
            State::Sandbox => self.sandbox().await,
            State::Running { sandbox } => self.running(sandbox).await,
            State::Finished => (State::Finished, Next::After(Duration::from_secs(10))),
            State::Terminating => self.terminate().await,
            State::Terminated => (State::Terminated, Next::Done),
        };
        self.state = state;
        let keep = matches!(self.state, State::Terminated)
            || (self.state == State::Finished && !self.finished_here);
        if !keep && !self.gone {
            self.post_status().await;
        }
        next
    }

    pub(super) fn target(&self) -> Target {
        Target::pod(&self.pod)
    }

    pub(super) fn runtime_info(&self) -> env::Runtime {
        env::Runtime {
            pod_ips: self.pod_ips.clone(),
            host_ip: Some(self.ctx.config.node_ip),
        }
    }

    /// Fetch the ConfigMaps, Secrets and Services the pod reads (at most once a second).
    pub(super) async fn refresh_sources(&mut self, force: bool) -> Result<()> {
        if !force
            && self
                .sources_at
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return Ok(());
        }
        let ns = self.key().namespace;
        let (mut cms, mut secrets) = volume::referenced(&self.pod);
        let spec = self.pod.spec.clone().unwrap_or_default();
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            let (a, b) = env::referenced(c);
            cms.extend(a);
            secrets.extend(b);
        }
        cms.sort();
        cms.dedup();
        secrets.sort();
        secrets.dedup();
        let mut src = Sources {
            node_allocatable: self.ctx.allocatable.clone(),
            ..Default::default()
        };
        for n in cms {
            if let Some(cm) = self.ctx.api.configmap(&ns, &n).await? {
                src.configmaps.insert(n, cm);
            }
        }
        for n in secrets {
            if let Some(s) = self.ctx.api.secret(&ns, &n).await? {
                src.secrets.insert(n, s);
            }
        }
        if spec.enable_service_links.unwrap_or(true) {
            src.services = self.ctx.api.services(&ns).await.unwrap_or_default();
        }
        self.sources = src;
        self.sources_at = Some(Instant::now());
        Ok(())
    }

    async fn setup_volumes(&mut self) -> Result<()> {
        self.refresh_sources(false).await?;
        let dir = self.ctx.config.pod_dir(&self.key().uid);
        self.volumes = volume::setup(&self.pod, &dir, &self.sources, &self.runtime_info())?;
        Ok(())
    }

    async fn prepare(&mut self) -> (State, Next) {
        match self.setup_volumes().await {
            Ok(()) => (State::Sandbox, Next::Now),
            Err(Error::Mount(msg)) => {
                self.ctx
                    .api
                    .event(&self.target(), WARNING, "FailedMount", msg);
                (State::Preparing, Next::After(Duration::from_secs(2)))
            }
            Err(e) => {
                tracing::warn!(pod = %self.key(), error = %e, "preparing pod");
                (State::Preparing, Next::After(Duration::from_secs(2)))
            }
        }
    }

    fn ip_file(&self) -> std::path::PathBuf {
        self.ctx.config.pod_dir(&self.key().uid).join("pod-ip")
    }

    async fn sandbox(&mut self) -> (State, Next) {
        match self.ensure_sandbox().await {
            Ok(id) => {
                self.sandbox_id = Some(id.clone());
                self.sandbox_ready = true;
                (State::Running { sandbox: id }, Next::Now)
            }
            Err(e) => {
                self.ctx.api.event(
                    &self.target(),
                    WARNING,
                    "FailedCreatePodSandBox",
                    format!("Failed to create pod sandbox: {e}"),
                );
                (State::Sandbox, Next::After(Duration::from_secs(5)))
            }
        }
    }

    async fn ensure_sandbox(&mut self) -> Result<String> {
        let key = self.key();
        let rt = self.ctx.runtime.clone();
        let found = rt
            .list_pod_sandboxes(BTreeMap::from([(
                labels::POD_UID.to_string(),
                key.uid.clone(),
            )]))
            .await?;
        let host_net = config::host_network(&self.pod);
        let mut attempt = 0;
        for sb in &found {
            attempt = attempt.max(sb.config.attempt + 1);
            if sb.state == SandboxState::Ready {
                // Adopt: the sandbox (and its containers) survived an agent restart.
                self.pod_ips = if host_net {
                    vec![self.ctx.config.node_ip]
                } else if let Some(ip) = std::fs::read_to_string(self.ip_file())
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                {
                    vec![ip]
                } else {
                    let netns = sb.netns_path.clone().unwrap_or_default();
                    vec![
                        self.ctx
                            .network
                            .setup(&key, &netns, &host_ports(&self.pod))
                            .await?,
                    ]
                };
                return Ok(sb.id.clone());
            }
        }
        for sb in found {
            let _ = rt.stop_pod_sandbox(&sb.id).await;
            let _ = rt.remove_pod_sandbox(&sb.id).await;
        }
        let cfg = config::sandbox(&self.pod, &self.ctx.config, attempt);
        let id = rt.run_pod_sandbox(cfg).await?;
        if host_net {
            self.pod_ips = vec![self.ctx.config.node_ip];
            return Ok(id);
        }
        let st = rt.pod_sandbox_status(&id).await?;
        let netns = st.netns_path.unwrap_or_default();
        match self
            .ctx
            .network
            .setup(&key, &netns, &host_ports(&self.pod))
            .await
        {
            Ok(ip) => {
                self.pod_ips = vec![ip];
                let _ = std::fs::write(self.ip_file(), ip.to_string());
                Ok(id)
            }
            Err(e) => {
                let _ = rt.stop_pod_sandbox(&id).await;
                let _ = rt.remove_pod_sandbox(&id).await;
                Err(e)
            }
        }
    }

    pub(super) async fn list_containers(&mut self, sandbox: &str) -> Result<()> {
        self.containers = self
            .ctx
            .runtime
            .list_containers(ContainerFilter {
                sandbox_id: Some(sandbox.to_string()),
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    async fn running(&mut self, sandbox: String) -> (State, Next) {
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

    pub(super) fn is_init(&self, name: &str) -> bool {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.init_containers.as_ref())
            .is_some_and(|v| v.iter().any(|c| c.name == name))
    }

    pub(super) fn grace_period(&self) -> Duration {
        let secs = self
            .pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| {
                self.pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds)
            })
            .unwrap_or(30);
        Duration::from_secs(secs.max(0) as u64)
    }

    fn sync_probes(&mut self) {
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
    async fn gc_attempts(&mut self) {
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

    /// A terminal phase: stop what still runs (sidecars), stop the sandbox, free the network.
    async fn finish(&mut self, sandbox: &str) {
        let grace = self.grace_period();
        for c in self.containers.clone() {
            if c.state == ContainerState::Running {
                let msg = format!("Stopping container {}", c.name);
                self.kill_container(&c.id, &c.name, &msg, grace).await;
            }
        }
        let _ = self.list_containers(sandbox).await;
        let _ = self.ctx.runtime.stop_pod_sandbox(sandbox).await;
        if !config::host_network(&self.pod) {
            let _ = self.ctx.network.teardown(&self.key()).await;
        }
        self.sandbox_ready = false;
        self.finished_here = true;
        self.probes.retain(&[]);
    }

    async fn terminate(&mut self) -> (State, Next) {
        let key = self.key();
        let rt = self.ctx.runtime.clone();
        let grace = self.grace_period();
        let sandboxes = rt
            .list_pod_sandboxes(BTreeMap::from([(
                labels::POD_UID.to_string(),
                key.uid.clone(),
            )]))
            .await
            .unwrap_or_default();
        let mut all = Vec::new();
        for sb in &sandboxes {
            let _ = self.list_containers(&sb.id).await;
            all.extend(self.containers.clone());
        }
        self.containers = all.clone();
        let kills = all
            .iter()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| {
                let msg = format!("Stopping container {}", c.name);
                let (id, name) = (c.id.clone(), c.name.clone());
                async move { (id, name, msg) }
            });
        let targets: Vec<(String, String, String)> = futures::future::join_all(kills).await;
        self.kill_all(targets, grace).await;
        self.probes.retain(&[]);
        let mut all = Vec::new();
        for sb in &sandboxes {
            let _ = self.list_containers(&sb.id).await;
            all.extend(self.containers.clone());
        }
        self.containers = all;
        self.sandbox_ready = false;
        if !self.gone {
            self.post_status().await;
        }
        for sb in &sandboxes {
            let _ = rt.stop_pod_sandbox(&sb.id).await;
        }
        if !config::host_network(&self.pod) {
            let _ = self.ctx.network.teardown(&key).await;
        }
        for c in &self.containers {
            let _ = rt.remove_container(&c.id).await;
        }
        for sb in &sandboxes {
            if let Err(e) = rt.remove_pod_sandbox(&sb.id).await {
                tracing::warn!(pod = %key, error = %e, "removing sandbox");
            }
        }
        if let Err(e) = volume::teardown(&self.ctx.config.pod_dir(&key.uid)) {
            tracing::warn!(pod = %key, error = %e, "removing pod volumes");
        }
        if !self.gone
            && let Err(e) = self
                .ctx
                .api
                .delete_pod(&key.namespace, &key.name, &key.uid)
                .await
        {
            tracing::warn!(pod = %key, error = %e, "deleting pod");
            return (State::Terminating, Next::After(Duration::from_secs(2)));
        }
        (State::Terminated, Next::Done)
    }

    /// Compute the status and patch it when it changed.
    pub(super) async fn post_status(&mut self) {
        let probes: BTreeMap<String, ProbeFlags> = self
            .probes
            .snapshot()
            .into_iter()
            .map(|(id, r)| {
                (
                    id,
                    ProbeFlags {
                        ready: r.is_ready(),
                        started: r.is_started(),
                    },
                )
            })
            .collect();
        let running: Vec<&str> = self
            .containers
            .iter()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| c.name.as_str())
            .collect();
        let waiting: BTreeMap<String, Waiting> = self
            .waiting
            .iter()
            .filter(|(n, _)| !running.contains(&n.as_str()))
            .map(|(n, w)| (n.clone(), w.clone()))
            .collect();
        let phase_override = if self.state == State::Finished && terminal(&self.pod) {
            // Never leave a terminal phase.
            self.pod
                .status
                .as_ref()
                .and_then(|s| match s.phase.as_deref() {
                    Some("Succeeded") => Some("Succeeded"),
                    Some("Failed") => Some("Failed"),
                    _ => None,
                })
        } else {
            self.phase_override
        };
        let input = status::Input {
            pod: &self.pod,
            containers: &self.containers,
            sandbox_ready: self.sandbox_ready,
            waiting: &waiting,
            probes: &probes,
            image_ids: &self.image_ids,
            pod_ips: &self.pod_ips,
            host_ip: self.ctx.config.node_ip,
            phase_override,
            now: Utc::now(),
        };
        let st = status::compute(&input);
        if self.last_status.as_ref() == Some(&st) {
            return;
        }
        let key = self.key();
        match self
            .ctx
            .api
            .patch_status(&key.namespace, &key.name, &st)
            .await
        {
            Ok(()) => {
                self.pod.status = Some(st.clone());
                self.last_status = Some(st);
            }
            Err(e) => tracing::debug!(pod = %key, error = %e, "patching pod status"),
        }
    }
}

/// Host ports the pod's containers ask for.
pub fn host_ports(pod: &Pod) -> Vec<crate::HostPort> {
    let mut out = Vec::new();
    for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
        for p in c.ports.iter().flatten() {
            if let Some(hp) = p.host_port.filter(|h| *h > 0) {
                out.push(crate::HostPort {
                    host_port: hp as u16,
                    container_port: p.container_port as u16,
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    host_ip: p.host_ip.as_deref().and_then(|i| i.parse().ok()),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
