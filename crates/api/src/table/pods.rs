//! Pod rows: the aggregate READY, STATUS and RESTARTS texts upstream derives from pod status.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::format::{self, AGE, NAME, arr, cell, col, has, int, s, wide};
use super::{Column, Printer};

const POD_COLUMNS: [Column; 9] = [
    NAME,
    col(
        "Ready",
        "string",
        "How many of the pod's containers are ready, out of all of them.",
    ),
    col(
        "Status",
        "string",
        "The aggregate status of the pod's containers.",
    ),
    col(
        "Restarts",
        "string",
        "How often the pod's containers restarted, and how long ago the last restart was.",
    ),
    AGE,
    wide("IP", "string", "The pod's (first) IP address."),
    wide("Node", "string", "The node the pod is bound to."),
    wide(
        "Nominated Node",
        "string",
        "The node the scheduler nominated for the pod after preemption.",
    ),
    wide(
        "Readiness Gates",
        "string",
        "How many of the pod's readiness gates are satisfied.",
    ),
];

const POD_TEMPLATE_COLUMNS: [Column; 4] = [
    NAME,
    col(
        "Containers",
        "string",
        "Names of the containers in the template.",
    ),
    col(
        "Images",
        "string",
        "Images of the containers in the template.",
    ),
    col("Pod Labels", "string", "Labels of the pod template."),
];

/// Printers for core kinds that describe pods.
pub(crate) fn printer(kind: &str) -> Option<Printer> {
    match kind {
        "Pod" => Some(Printer {
            columns: &POD_COLUMNS,
            cells: pod_cells,
        }),
        "PodTemplate" => Some(Printer {
            columns: &POD_TEMPLATE_COLUMNS,
            cells: pod_template_cells,
        }),
        _ => None,
    }
}

fn pod_template_cells(obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = format::containers(obj, "/template/spec");
    vec![
        format::name(obj),
        names,
        images,
        cell(format::format_labels(
            obj.pointer("/template/metadata/labels"),
        )),
    ]
}

/// True when the container status is `state.<which>` (present, even if empty).
fn in_state(status: &Value, which: &str) -> bool {
    has(status, &format!("/state/{which}"))
}

/// Later of the tracked restart time and this status's last termination.
fn track_restart(last: &mut Option<DateTime<Utc>>, status: &Value) {
    if let Some(t) = format::parse_time(s(status, "/lastState/terminated/finishedAt"))
        && last.is_none_or(|prev| prev < t)
    {
        *last = Some(t);
    }
}

/// The text for a terminated container that gives no reason: signal or exit code.
fn terminated_code(status: &Value, prefix: &str) -> String {
    let signal = int(status, "/state/terminated/signal");
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        format!(
            "{prefix}ExitCode:{}",
            int(status, "/state/terminated/exitCode")
        )
    }
}

fn condition_true(pod: &Value, type_: &str) -> bool {
    arr(pod, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == type_)
        .is_some_and(|c| s(c, "/status") == "True")
}

/// Cells of one pod row, mirroring upstream's pod printer.
pub(crate) fn pod_cells(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let init_specs = arr(pod, "/spec/initContainers");
    let sidecar = |name: &str| {
        init_specs
            .iter()
            .any(|c| s(c, "/name") == name && s(c, "/restartPolicy") == "Always")
    };
    let total = arr(pod, "/spec/containers").len()
        + init_specs
            .iter()
            .filter(|c| s(c, "/restartPolicy") == "Always")
            .count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<DateTime<Utc>> = None;
    let mut last_sidecar_restart: Option<DateTime<Utc>> = None;

    let phase = s(pod, "/status/phase");
    let mut reason = match s(pod, "/status/reason") {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    if arr(pod, "/status/conditions")
        .iter()
        .any(|c| s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".to_string();
    }

    let mut initializing = false;
    for (i, st) in arr(pod, "/status/initContainerStatuses").iter().enumerate() {
        restarts += int(st, "/restartCount");
        track_restart(&mut last_restart, st);
        let is_sidecar = sidecar(s(st, "/name"));
        if is_sidecar {
            sidecar_restarts += int(st, "/restartCount");
            track_restart(&mut last_sidecar_restart, st);
        }
        if in_state(st, "terminated") && int(st, "/state/terminated/exitCode") == 0 {
            continue;
        }
        if is_sidecar && format::opt_bool(st, "/started") == Some(true) {
            if format::opt_bool(st, "/ready") == Some(true) {
                ready += 1;
            }
            continue;
        }
        if in_state(st, "terminated") {
            reason = match s(st, "/state/terminated/reason") {
                "" => terminated_code(st, "Init:"),
                r => format!("Init:{r}"),
            };
        } else if in_state(st, "waiting")
            && !s(st, "/state/waiting/reason").is_empty()
            && s(st, "/state/waiting/reason") != "PodInitializing"
        {
            reason = format!("Init:{}", s(st, "/state/waiting/reason"));
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for st in arr(pod, "/status/containerStatuses").iter().rev() {
            restarts += int(st, "/restartCount");
            track_restart(&mut last_restart, st);
            if in_state(st, "waiting") && !s(st, "/state/waiting/reason").is_empty() {
                reason = s(st, "/state/waiting/reason").to_string();
            } else if in_state(st, "terminated") && !s(st, "/state/terminated/reason").is_empty() {
                reason = s(st, "/state/terminated/reason").to_string();
            } else if in_state(st, "terminated") {
                reason = terminated_code(st, "");
            } else if format::opt_bool(st, "/ready") == Some(true) && in_state(st, "running") {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(pod, "Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    if has(pod, "/metadata/deletionTimestamp") {
        if s(pod, "/status/reason") == "NodeLost" {
            reason = "Unknown".to_string();
        } else if phase != "Failed" && phase != "Succeeded" {
            reason = "Terminating".to_string();
        }
    }

    let restarts_text = match last_restart {
        Some(t) if restarts != 0 => {
            format!("{restarts} ({} ago)", format::human_duration(now - t))
        }
        _ => restarts.to_string(),
    };
    let mut ip = arr(pod, "/status/podIPs")
        .first()
        .map(|p| s(p, "/ip"))
        .unwrap_or("");
    if ip.is_empty() {
        ip = s(pod, "/status/podIP");
    }
    let or_none = |v: &str| {
        if v.is_empty() {
            "<none>".to_string()
        } else {
            v.to_string()
        }
    };
    let gates = arr(pod, "/spec/readinessGates");
    let gates_text = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conds = arr(pod, "/status/conditions");
        let satisfied = gates
            .iter()
            .filter(|g| {
                let want = s(g, "/conditionType");
                conds
                    .iter()
                    .find(|c| s(c, "/type") == want)
                    .is_some_and(|c| s(c, "/status") == "True")
            })
            .count();
        format!("{satisfied}/{}", gates.len())
    };

    vec![
        format::name(pod),
        cell(format!("{ready}/{total}")),
        cell(reason),
        cell(restarts_text),
        format::age(pod, now),
        cell(or_none(ip)),
        cell(or_none(s(pod, "/spec/nodeName"))),
        cell(or_none(s(pod, "/status/nominatedNodeName"))),
        cell(gates_text),
    ]
}
