//! What a running pod needs next (start, kill, wait, done), decided without IO.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Pod};
use skiff_runtime::{ContainerState, ContainerStatus};

use super::backoff::Backoff;
use super::status::{Waiting, attempts, initialized, is_sidecar};
use crate::labels::CONTAINER_HASH;

/// Probe outcomes of one running container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProbeResults {
    /// `None` without a readiness probe.
    pub ready: Option<bool>,
    /// `None` without a startup probe.
    pub started: Option<bool>,
    pub liveness_failed: bool,
    pub startup_failed: bool,
}

impl ProbeResults {
    /// Started: the startup probe succeeded, or there is none.
    pub fn is_started(&self) -> bool {
        self.started.unwrap_or(true)
    }
    /// Ready: started, and the readiness probe succeeded (or there is none).
    pub fn is_ready(&self) -> bool {
        self.is_started() && self.ready.unwrap_or(true)
    }
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create and start a new attempt of a container; `restart_of` is the finish time of
    /// the attempt it replaces (the back-off is advanced from it).
    Start {
        name: String,
        init: bool,
        restart_of: Option<DateTime<Utc>>,
    },
    /// Stop a running container (`message` goes in the Killing event).
    Kill {
        id: String,
        name: String,
        message: String,
    },
    /// Nothing will run again: the pod reached a terminal phase.
    Done,
}

/// The decision for one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// CrashLoopBackOff reasons by container name.
    pub waiting: BTreeMap<String, Waiting>,
    /// `Failed` when an init container failed under `restartPolicy: Never`.
    pub phase_override: Option<&'static str>,
}

/// Hash of a container's spec, to restart containers whose definition changed.
pub fn container_hash(c: &Container) -> String {
    use sha2::Digest;
    let json = serde_json::to_vec(c).unwrap_or_default();
    hex::encode(&sha2::Sha256::digest(&json)[..4])
}

/// `5m0s`, `40s`: whole-second durations the way Go prints them.
pub fn go_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Back-off key of a container.
pub fn backoff_key(pod_uid: &str, name: &str) -> String {
    format!("{pod_uid}/{name}")
}

/// Decide what to do for `pod` given the runtime's containers and probe results.
pub fn plan(
    pod: &Pod,
    containers: &[ContainerStatus],
    probes: &BTreeMap<String, ProbeResults>,
    backoff: &Backoff,
    now: DateTime<Utc>,
) -> Plan {
    let mut out = Plan::default();
    let Some(spec) = &pod.spec else {
        return out;
    };
    let meta = &pod.metadata;
    let uid = meta.uid.clone().unwrap_or_default();
    let pod_ref = format!(
        "{}_{}({uid})",
        meta.name.as_deref().unwrap_or(""),
        meta.namespace.as_deref().unwrap_or("")
    );
    let policy = spec.restart_policy.as_deref().unwrap_or("Always");
    let inits = spec.init_containers.as_deref().unwrap_or(&[]);

    for c in inits
        .iter()
        .filter(|c| is_sidecar(c))
        .chain(spec.containers.iter())
    {
        let Some(cur) = attempts(containers, &c.name).first().copied() else {
            continue;
        };
        if cur.state != ContainerState::Running {
            continue;
        }
        let res = probes.get(&cur.id).copied().unwrap_or_default();
        let why = if res.liveness_failed {
            Some("failed liveness probe")
        } else if res.startup_failed {
            Some("failed startup probe")
        } else if cur
            .annotations
            .get(CONTAINER_HASH)
            .is_some_and(|h| *h != container_hash(c))
        {
            Some("definition changed")
        } else {
            None
        };
        if let Some(why) = why {
            out.actions.push(Action::Kill {
                id: cur.id.clone(),
                name: c.name.clone(),
                message: format!("Container {} {why}, will be restarted", c.name),
            });
        }
    }

    let restart = |out: &mut Plan, c: &Container, cur: &ContainerStatus, init: bool| {
        let key = backoff_key(&uid, &c.name);
        let finished = cur.finished_at.unwrap_or(now);
        if backoff.in_backoff_since(&key, finished, now) {
            out.waiting.insert(
                c.name.clone(),
                Waiting {
                    reason: "CrashLoopBackOff".into(),
                    message: format!(
                        "back-off {} restarting failed container={} pod={pod_ref}",
                        go_duration(backoff.get(&key)),
                        c.name
                    ),
                },
            );
        } else {
            out.actions.push(Action::Start {
                name: c.name.clone(),
                init,
                restart_of: Some(finished),
            });
        }
    };

    let (is_init, _) = initialized(pod, containers);
    if !is_init {
        for c in inits {
            let latest = attempts(containers, &c.name).first().copied();
            let start = Action::Start {
                name: c.name.clone(),
                init: true,
                restart_of: None,
            };
            match latest {
                None => {
                    out.actions.push(start);
                    return out;
                }
                Some(l) if is_sidecar(c) => match l.state {
                    ContainerState::Running => {
                        let started = probes.get(&l.id).copied().unwrap_or_default().is_started();
                        if !started {
                            return out;
                        }
                    }
                    ContainerState::Exited => {
                        restart(&mut out, c, l, true);
                        return out;
                    }
                    _ => return out,
                },
                Some(l) => match l.state {
                    ContainerState::Exited if l.exit_code == Some(0) => {}
                    ContainerState::Exited => {
                        if policy == "Never" {
                            out.phase_override = Some("Failed");
                            out.actions.push(Action::Done);
                        } else {
                            restart(&mut out, c, l, true);
                        }
                        return out;
                    }
                    _ => return out,
                },
            }
        }
        // Every init container is done: the app containers start in this same step.
    }

    let mut all_done = true;
    for c in inits.iter().filter(|c| is_sidecar(c)) {
        if let Some(l) = attempts(containers, &c.name).first().copied()
            && l.state == ContainerState::Exited
        {
            restart(&mut out, c, l, true);
        }
    }
    for c in &spec.containers {
        match attempts(containers, &c.name).first().copied() {
            None => {
                all_done = false;
                out.actions.push(Action::Start {
                    name: c.name.clone(),
                    init: false,
                    restart_of: None,
                });
            }
            Some(l) if l.state == ContainerState::Exited => {
                let again = policy == "Always" || (policy == "OnFailure" && l.exit_code != Some(0));
                if again {
                    all_done = false;
                    restart(&mut out, c, l, false);
                }
            }
            Some(_) => all_done = false,
        }
    }
    if all_done && policy != "Always" {
        out.actions.push(Action::Done);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
