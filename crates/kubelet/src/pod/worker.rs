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

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use skiff_runtime::{ContainerFilter, ContainerStatus, ImageService, RuntimeService, SandboxState};
use tokio::sync::{Notify, watch};

use super::api::{PodApi, TokenFor};
use super::backoff::Backoff;
use super::config;
use super::status::Waiting;
use crate::env::{self, Sources};
use crate::error::{Error, Result};
use crate::events::{Target, WARNING};
use crate::probe::PodProbes;
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
    pub(super) sources_at: Option<Instant>,
    /// Service account tokens by audience, with when they were issued and their lifetime.
    tokens: BTreeMap<String, (String, Instant, Duration)>,
    /// Image and config waits by container name.
    pub(super) waiting: BTreeMap<String, Waiting>,
    pub(super) pod_ips: Vec<IpAddr>,
    pub(super) probes: PodProbes,
    pub(super) notify: Arc<Notify>,
    pub(super) image_ids: BTreeMap<String, String>,
    pub(super) last_status: Option<PodStatus>,
    pub(super) phase_override: Option<&'static str>,
    /// `status.reason` and `status.message` the worker decided (DeadlineExceeded).
    pub(super) status_reason: Option<(&'static str, &'static str)>,
    pub(super) containers: Vec<ContainerStatus>,
    pub(super) sandbox_id: Option<String>,
    pub(super) sandbox_ready: bool,
    /// This worker saw the pod finish (a Finished pod found at start-up keeps its status).
    pub(super) finished_here: bool,
}

pub(super) fn terminal(pod: &Pod) -> bool {
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
            tokens: BTreeMap::new(),
            waiting: BTreeMap::new(),
            pod_ips: Vec::new(),
            probes: PodProbes::default(),
            notify: Arc::new(Notify::new()),
            image_ids: BTreeMap::new(),
            last_status: None,
            phase_override: None,
            status_reason: None,
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

    pub(super) fn deleting(&self) -> bool {
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
        src.claims =
            volume::claim::resolve(self.ctx.api.as_ref(), &ns, &self.pod, &self.sources.claims)
                .await?;
        if spec.enable_service_links.unwrap_or(true) {
            src.services = self.ctx.api.services(&ns).await.unwrap_or_default();
        }
        // Tokens are renewed at 80% of their lifetime, as upstream does.
        let spec_sa = spec
            .service_account_name
            .clone()
            .unwrap_or_else(|| "default".into());
        for (aud, exp) in volume::token_requests(&self.pod) {
            let fresh = self
                .tokens
                .get(&aud)
                .is_some_and(|(_, at, ttl)| at.elapsed() < ttl.mul_f64(0.8));
            if !fresh {
                let key = self.key();
                let req = TokenFor {
                    namespace: key.namespace.clone(),
                    service_account: spec_sa.clone(),
                    audience: (!aud.is_empty()).then(|| aud.clone()),
                    expiration_seconds: exp,
                    pod_name: key.name.clone(),
                    pod_uid: key.uid.clone(),
                };
                if let Some(t) = self.ctx.api.service_account_token(&req).await? {
                    let ttl = Duration::from_secs(exp.max(600) as u64);
                    self.tokens.insert(aud.clone(), (t, Instant::now(), ttl));
                }
            }
            if let Some((t, _, _)) = self.tokens.get(&aud) {
                src.tokens.insert(aud, t.clone());
            }
        }
        self.sources = src;
        self.sources_at = Some(Instant::now());
        Ok(())
    }

    pub(super) async fn setup_volumes(&mut self) -> Result<()> {
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
                if let Err(e) = rt.set_pod_sandbox_ip(&id, ip).await {
                    tracing::warn!(pod = %key, error = %e, "writing the pod's /etc/hosts entry");
                }
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
