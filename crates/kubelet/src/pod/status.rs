//! Pod status as upstream computes it: phase, conditions, container statuses, IPs, QoS.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{
    Container, ContainerState as KState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus as KStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use skiff_runtime::{ContainerState, ContainerStatus};

use crate::labels::CONTAINER_ID_PREFIX;

/// Why a container is waiting, as the worker last decided (`CrashLoopBackOff`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub reason: String,
    pub message: String,
}

/// Probe-derived flags of one running container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProbeFlags {
    pub ready: bool,
    pub started: bool,
}

/// Everything the status is computed from.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    pub pod: &'a Pod,
    /// The runtime's containers of this pod (all attempts still kept).
    pub containers: &'a [ContainerStatus],
    pub sandbox_ready: bool,
    /// Waiting reasons by container name.
    pub waiting: &'a BTreeMap<String, Waiting>,
    /// Probe flags by runtime container ID.
    pub probes: &'a BTreeMap<String, ProbeFlags>,
    /// Image IDs (`repo@sha256:...`) by image reference.
    pub image_ids: &'a BTreeMap<String, String>,
    pub pod_ips: &'a [IpAddr],
    pub host_ip: IpAddr,
    /// A phase the worker decided (Failed after an init container failed for good, ...).
    pub phase_override: Option<&'a str>,
    /// The pod's `status.reason` and `status.message` (DeadlineExceeded, ...).
    pub reason: Option<(&'a str, &'a str)>,
    pub now: DateTime<Utc>,
}

/// Containers of `name` in the runtime, newest attempt first.
pub fn attempts<'c>(containers: &'c [ContainerStatus], name: &str) -> Vec<&'c ContainerStatus> {
    let mut v: Vec<&ContainerStatus> = containers.iter().filter(|c| c.name == name).collect();
    v.sort_by(|a, b| {
        b.attempt
            .cmp(&a.attempt)
            .then(b.created_at.cmp(&a.created_at))
    });
    v
}

fn time(t: Option<DateTime<Utc>>) -> Option<Time> {
    t.map(crate::ktime)
}

fn terminated(c: &ContainerStatus) -> ContainerStateTerminated {
    let code = c.exit_code.unwrap_or(0);
    let reason = if c.reason.is_empty() {
        if code == 0 { "Completed" } else { "Error" }.to_string()
    } else {
        c.reason.clone()
    };
    ContainerStateTerminated {
        container_id: Some(format!("{CONTAINER_ID_PREFIX}{}", c.id)),
        exit_code: code,
        finished_at: time(c.finished_at),
        message: (!c.message.is_empty()).then(|| c.message.clone()),
        reason: Some(reason),
        signal: None,
        started_at: time(c.started_at),
    }
}

fn waiting_state(reason: &str, message: &str) -> KState {
    KState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_string()),
            message: (!message.is_empty()).then(|| message.to_string()),
        }),
        ..Default::default()
    }
}

/// Whether the container is a sidecar (an init container with `restartPolicy: Always`).
pub fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn container_status(input: &Input<'_>, spec: &Container, default_waiting: &str) -> KStatus {
    let all = attempts(input.containers, &spec.name);
    let current = all.first().copied();
    let previous = all.get(1).copied();
    let override_wait = input.waiting.get(&spec.name);
    let image_id = input
        .image_ids
        .get(spec.image.as_deref().unwrap_or(""))
        .cloned();
    let mut st = KStatus {
        name: spec.name.clone(),
        image: spec.image.clone().unwrap_or_default(),
        image_id: image_id.unwrap_or_default(),
        ready: false,
        restart_count: 0,
        started: Some(false),
        ..Default::default()
    };
    let Some(cur) = current else {
        let (reason, message) = override_wait
            .map(|w| (w.reason.as_str(), w.message.as_str()))
            .unwrap_or((default_waiting, ""));
        st.state = Some(waiting_state(reason, message));
        return st;
    };
    st.restart_count = cur.attempt as i32;
    st.container_id = Some(format!("{CONTAINER_ID_PREFIX}{}", cur.id));
    match cur.state {
        ContainerState::Running => {
            let flags = input.probes.get(&cur.id).copied().unwrap_or_default();
            st.state = Some(KState {
                running: Some(ContainerStateRunning {
                    started_at: time(cur.started_at),
                }),
                ..Default::default()
            });
            st.ready = flags.ready;
            st.started = Some(flags.started);
            if let Some(p) = previous.filter(|p| p.state == ContainerState::Exited) {
                st.last_state = Some(KState {
                    terminated: Some(terminated(p)),
                    ..Default::default()
                });
            }
        }
        ContainerState::Exited => match override_wait {
            Some(w) => {
                st.state = Some(waiting_state(&w.reason, &w.message));
                st.last_state = Some(KState {
                    terminated: Some(terminated(cur)),
                    ..Default::default()
                });
            }
            None => {
                st.state = Some(KState {
                    terminated: Some(terminated(cur)),
                    ..Default::default()
                });
                if let Some(p) = previous.filter(|p| p.state == ContainerState::Exited) {
                    st.last_state = Some(KState {
                        terminated: Some(terminated(p)),
                        ..Default::default()
                    });
                }
            }
        },
        ContainerState::Created | ContainerState::Unknown => {
            let (reason, message) = override_wait
                .map(|w| (w.reason.as_str(), w.message.as_str()))
                .unwrap_or(("ContainerCreating", ""));
            st.state = Some(waiting_state(reason, message));
        }
    }
    st
}

/// Whether every regular init container succeeded and every sidecar started (or an app
/// container already ran, which means initialization finished before).
pub fn initialized(pod: &Pod, containers: &[ContainerStatus]) -> (bool, Vec<String>) {
    let spec = pod.spec.as_ref();
    let app_started = spec
        .into_iter()
        .flat_map(|s| s.containers.iter())
        .any(|c| !attempts(containers, &c.name).is_empty());
    let mut incomplete = Vec::new();
    for c in spec
        .into_iter()
        .flat_map(|s| s.init_containers.iter().flatten())
    {
        let latest = attempts(containers, &c.name).first().copied();
        let done = if is_sidecar(c) {
            latest.is_some_and(|l| l.state == ContainerState::Running) || app_started
        } else {
            latest.is_some_and(|l| l.state == ContainerState::Exited && l.exit_code == Some(0))
                || app_started
        };
        if !done {
            incomplete.push(c.name.clone());
        }
    }
    (incomplete.is_empty(), incomplete)
}

/// The pod phase from its container statuses, as upstream's `getPhase`.
pub fn phase(pod: &Pod, init: &[KStatus], app: &[KStatus], initialized: bool) -> &'static str {
    let policy = pod
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always");
    if !initialized {
        let failed = init.iter().any(|s| {
            s.state
                .as_ref()
                .and_then(|st| st.terminated.as_ref())
                .is_some_and(|t| t.exit_code != 0)
        });
        if failed && policy == "Never" {
            return "Failed";
        }
        return "Pending";
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for s in app {
        let st = s.state.clone().unwrap_or_default();
        if st.running.is_some() {
            running += 1;
        } else if let Some(t) = st.terminated {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if st.waiting.is_some() {
            if s.last_state
                .as_ref()
                .is_some_and(|l| l.terminated.is_some())
            {
                stopped += 1;
            } else {
                waiting += 1;
            }
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped > 0 {
        if policy == "Always" {
            return "Running";
        }
        if stopped == succeeded {
            return "Succeeded";
        }
        if policy == "Never" {
            return "Failed";
        }
        return "Running";
    }
    "Pending"
}

/// `Guaranteed`, `Burstable` or `BestEffort`, as upstream's QoS classes.
pub fn qos_class(pod: &Pod) -> &'static str {
    let Some(spec) = &pod.spec else {
        return "BestEffort";
    };
    let all: Vec<&Container> = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &all {
        let r = c.resources.clone().unwrap_or_default();
        let limits = r.limits.unwrap_or_default();
        let requests = r.requests.unwrap_or_default();
        for res in ["cpu", "memory"] {
            let l = limits.get(res).map(|q| q.0.clone());
            let q = requests.get(res).map(|q| q.0.clone()).or(l.clone());
            if l.is_some() || q.is_some() {
                any = true;
            }
            let same = match (&l, &q) {
                (Some(l), Some(q)) => {
                    crate::quantity::parse_nanos(l).ok() == crate::quantity::parse_nanos(q).ok()
                }
                _ => false,
            };
            if !same {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn condition(
    old: Option<&PodStatus>,
    type_: &str,
    ok: bool,
    reason: Option<&str>,
    message: Option<String>,
    now: DateTime<Utc>,
) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let prev = old
        .and_then(|o| o.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_));
    let transition = match prev {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => Some(crate::ktime(now)),
    };
    PodCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: reason.map(str::to_string),
        message,
        last_transition_time: transition,
        last_probe_time: None,
        observed_generation: None,
    }
}

/// Compute the pod's status.
pub fn compute(input: &Input<'_>) -> PodStatus {
    let pod = input.pod;
    let old = pod.status.as_ref();
    let spec = pod.spec.clone().unwrap_or_default();
    let (is_init, incomplete) = initialized(pod, input.containers);
    let init_statuses: Vec<KStatus> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| {
            let mut st = container_status(input, c, "PodInitializing");
            // A regular init container that succeeded counts as ready, as upstream reports it.
            if !is_sidecar(c) {
                st.ready = st
                    .state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .is_some_and(|t| t.exit_code == 0);
            }
            st
        })
        .collect();
    let app_default = if spec.init_containers.as_ref().is_some_and(|v| !v.is_empty()) && !is_init {
        "PodInitializing"
    } else {
        "ContainerCreating"
    };
    let app_statuses: Vec<KStatus> = spec
        .containers
        .iter()
        .map(|c| container_status(input, c, app_default))
        .collect();
    let phase = input
        .phase_override
        .unwrap_or_else(|| phase(pod, &init_statuses, &app_statuses, is_init));
    let completed = phase == "Succeeded" || phase == "Failed";

    let mut unready: Vec<String> = app_statuses
        .iter()
        .filter(|s| !s.ready)
        .map(|s| s.name.clone())
        .collect();
    for (c, s) in spec.init_containers.iter().flatten().zip(&init_statuses) {
        if is_sidecar(c) && !s.ready {
            unready.push(s.name.clone());
        }
    }
    let now = input.now;
    let (cr_ok, cr_reason, cr_msg) = if completed {
        (false, Some("PodCompleted"), None)
    } else if unready.is_empty() {
        (true, None, None)
    } else {
        (
            false,
            Some("ContainersNotReady"),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        )
    };
    let mut gates_msg = None;
    for g in spec.readiness_gates.iter().flatten() {
        let found = old
            .and_then(|o| o.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == g.condition_type));
        match found {
            None => {
                gates_msg = Some(format!(
                    "corresponding condition of pod readiness gate {:?} does not exist.",
                    g.condition_type
                ));
                break;
            }
            Some(c) if c.status != "True" => {
                gates_msg = Some(format!(
                    "the status of pod readiness gate {:?} is not \"True\", but {}",
                    g.condition_type, c.status
                ));
                break;
            }
            _ => {}
        }
    }
    let ready_cond = match (&gates_msg, cr_ok) {
        (Some(m), true) => condition(
            old,
            "Ready",
            false,
            Some("ReadinessGatesNotReady"),
            Some(m.clone()),
            now,
        ),
        _ => condition(old, "Ready", cr_ok, cr_reason, cr_msg.clone(), now),
    };
    let init_cond = if is_init || (completed && incomplete.is_empty()) {
        condition(old, "Initialized", true, None, None, now)
    } else if completed {
        condition(old, "Initialized", false, Some("PodCompleted"), None, now)
    } else {
        condition(
            old,
            "Initialized",
            false,
            Some("ContainersNotInitialized"),
            Some(format!(
                "containers with incomplete status: [{}]",
                incomplete.join(" ")
            )),
            now,
        )
    };
    let mut conditions = vec![
        condition(
            old,
            "PodReadyToStartContainers",
            input.sandbox_ready,
            None,
            None,
            now,
        ),
        init_cond,
        ready_cond,
        condition(old, "ContainersReady", cr_ok, cr_reason, cr_msg, now),
    ];
    // PodScheduled belongs to the scheduler; keep it, or say True for pods bound directly.
    let scheduled = old
        .and_then(|o| o.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
        .cloned()
        .unwrap_or_else(|| condition(None, "PodScheduled", true, None, None, now));
    conditions.push(scheduled);
    // Conditions owned by others (readiness gates, DisruptionTarget, ...) are kept.
    for c in old
        .and_then(|o| o.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        if !conditions.iter().any(|x| x.type_ == c.type_) {
            conditions.push(c.clone());
        }
    }

    let host = input.host_ip.to_string();
    PodStatus {
        phase: Some(phase.to_string()),
        conditions: Some(conditions),
        host_ip: Some(host.clone()),
        host_ips: Some(vec![HostIP { ip: host }]),
        pod_ip: input.pod_ips.first().map(|i| i.to_string()),
        pod_ips: (!input.pod_ips.is_empty()).then(|| {
            input
                .pod_ips
                .iter()
                .map(|i| PodIP { ip: i.to_string() })
                .collect()
        }),
        qos_class: Some(qos_class(pod).to_string()),
        start_time: old
            .and_then(|o| o.start_time.clone())
            .or(Some(crate::ktime(now))),
        init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
        container_statuses: Some(app_statuses),
        nominated_node_name: old.and_then(|o| o.nominated_node_name.clone()),
        reason: input
            .reason
            .map(|(r, _)| r.to_string())
            .or_else(|| old.and_then(|o| o.reason.clone())),
        message: input
            .reason
            .map(|(_, m)| m.to_string())
            .or_else(|| old.and_then(|o| o.message.clone())),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
