//! Liveness, readiness and startup probes (exec, httpGet, tcpSocket) with upstream's timing
//! and thresholds, and the handlers lifecycle hooks share with them.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Probe};
use skiff_runtime::RuntimeService;
use tokio::sync::Notify;

use crate::events::{Target, WARNING};
use crate::pod::api::PodApi;
use crate::pod::plan::ProbeResults;

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Liveness,
    Readiness,
    Startup,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
            Kind::Startup => "Startup",
        }
    }
}

/// Outcome of one probe run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure(String),
}

mod handlers;
mod http;
pub use handlers::{run_exec, run_probe, run_tcp};
pub use http::run_http;

/// Where httpGet and tcpSocket handlers connect by default.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub pod_ip: IpAddr,
}

/// Consecutive-result thresholds, as upstream's prober worker applies them.
#[derive(Debug, Clone)]
pub struct Thresholds {
    last: Option<bool>,
    run: i32,
    success: i32,
    failure: i32,
}

impl Thresholds {
    pub fn new(probe: &Probe) -> Self {
        Thresholds {
            last: None,
            run: 0,
            success: probe.success_threshold.unwrap_or(1).max(1),
            failure: probe.failure_threshold.unwrap_or(3).max(1),
        }
    }

    /// Feed one result; returns the new settled result when it changes the outcome.
    pub fn observe(&mut self, ok: bool) -> Option<bool> {
        if self.last == Some(ok) {
            self.run += 1;
        } else {
            self.last = Some(ok);
            self.run = 1;
        }
        let needed = if ok { self.success } else { self.failure };
        (self.run >= needed).then_some(ok)
    }
}

/// Probe results of a pod's running containers, by container ID.
pub type Shared = Arc<Mutex<BTreeMap<String, ProbeResults>>>;

/// The probe tasks of one pod.
#[derive(Default)]
pub struct PodProbes {
    pub results: Shared,
    tasks: BTreeMap<(String, Kind), tokio::task::JoinHandle<()>>,
}

impl Drop for PodProbes {
    fn drop(&mut self) {
        for t in self.tasks.values() {
            t.abort();
        }
    }
}

/// What a probe task needs.
#[derive(Clone)]
pub struct ProbeCtx {
    pub runtime: Arc<dyn RuntimeService>,
    pub api: Arc<dyn PodApi>,
    pub target: Target,
    pub notify: Arc<Notify>,
    pub endpoint: Endpoint,
}

impl PodProbes {
    /// Start the probe tasks of a running container (once per container ID).
    pub fn ensure(&mut self, ctx: &ProbeCtx, id: &str, c: &Container, started_at: DateTime<Utc>) {
        let initial = ProbeResults {
            ready: c.readiness_probe.as_ref().map(|_| false),
            started: c.startup_probe.as_ref().map(|_| false),
            liveness_failed: false,
            startup_failed: false,
        };
        {
            let mut r = self.results.lock().unwrap_or_else(|p| p.into_inner());
            r.entry(id.to_string()).or_insert(initial);
        }
        for (kind, probe) in [
            (Kind::Startup, &c.startup_probe),
            (Kind::Liveness, &c.liveness_probe),
            (Kind::Readiness, &c.readiness_probe),
        ] {
            let Some(probe) = probe.clone() else { continue };
            let key = (id.to_string(), kind);
            if self.tasks.contains_key(&key) {
                continue;
            }
            let task = tokio::spawn(probe_loop(
                ctx.clone(),
                self.results.clone(),
                id.to_string(),
                c.clone(),
                kind,
                probe,
                started_at,
            ));
            self.tasks.insert(key, task);
        }
    }

    /// Stop the probes of containers not in `running`.
    pub fn retain(&mut self, running: &[String]) {
        self.tasks.retain(|(id, _), t| {
            let keep = running.contains(id);
            if !keep {
                t.abort();
            }
            keep
        });
        let mut r = self.results.lock().unwrap_or_else(|p| p.into_inner());
        r.retain(|id, _| running.contains(id));
    }

    /// A snapshot of the results.
    pub fn snapshot(&self) -> BTreeMap<String, ProbeResults> {
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

async fn probe_loop(
    ctx: ProbeCtx,
    results: Shared,
    id: String,
    c: Container,
    kind: Kind,
    probe: Probe,
    started_at: DateTime<Utc>,
) {
    let period = Duration::from_secs(probe.period_seconds.unwrap_or(10).max(1) as u64);
    let delay = probe.initial_delay_seconds.unwrap_or(0).max(0) as i64;
    let mut th = Thresholds::new(&probe);
    let target = Target {
        field_path: ctx.target.field_path.clone(),
        ..ctx.target.clone()
    };
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let snapshot = results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied();
        let Some(current) = snapshot else { return };
        if current.liveness_failed || current.startup_failed {
            return;
        }
        match kind {
            Kind::Startup if current.started == Some(true) => return,
            Kind::Liveness | Kind::Readiness if !current.is_started() => continue,
            _ => {}
        }
        if (Utc::now() - started_at).num_seconds() < delay {
            continue;
        }
        let outcome = run_probe(ctx.runtime.as_ref(), &id, &probe, &c, ctx.endpoint).await;
        let ok = outcome == Outcome::Success;
        if let Outcome::Failure(msg) = &outcome {
            ctx.api.event(
                &target,
                WARNING,
                "Unhealthy",
                format!("{} probe failed: {msg}", kind.label()),
            );
        }
        let Some(settled) = th.observe(ok) else {
            continue;
        };
        let changed = {
            let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
            let Some(e) = r.get_mut(&id) else { return };
            let before = *e;
            match kind {
                Kind::Readiness => e.ready = Some(settled),
                Kind::Liveness => e.liveness_failed = !settled,
                Kind::Startup => {
                    if settled {
                        e.started = Some(true);
                    } else {
                        e.startup_failed = true;
                    }
                }
            }
            before != *e
        };
        if changed {
            ctx.notify.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_settle_after_consecutive_results() {
        let p = Probe {
            success_threshold: Some(2),
            failure_threshold: Some(3),
            ..Default::default()
        };
        let mut t = Thresholds::new(&p);
        assert_eq!(t.observe(false), None);
        assert_eq!(t.observe(false), None);
        assert_eq!(t.observe(false), Some(false));
        assert_eq!(t.observe(false), Some(false));
        assert_eq!(t.observe(true), None);
        assert_eq!(t.observe(false), None, "a success resets the failure run");
        assert_eq!(t.observe(true), None);
        assert_eq!(t.observe(true), Some(true));
    }
}
