//! Workload rows: apps, batch, autoscaling and policy kinds.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::format::{
    self, AGE, CONTAINERS, IMAGES, NAME, SELECTOR, arr, cell, col, has, int, opt_int, s,
};
use super::quantity;
use super::{Column, Printer};

const DEPLOYMENT_COLUMNS: [Column; 8] = [
    NAME,
    col("Ready", "string", "Ready pods out of the desired replicas."),
    col(
        "Up-to-date",
        "string",
        "Pods that run the latest pod template.",
    ),
    col(
        "Available",
        "string",
        "Pods ready for at least minReadySeconds.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const REPLICA_SET_COLUMNS: [Column; 8] = [
    NAME,
    col("Desired", "integer", "The desired number of replicas."),
    col("Current", "integer", "The number of replicas that exist."),
    col("Ready", "integer", "The number of ready replicas."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const DAEMON_SET_COLUMNS: [Column; 11] = [
    NAME,
    col(
        "Desired",
        "integer",
        "Nodes that should run the daemon pod.",
    ),
    col(
        "Current",
        "integer",
        "Nodes that run at least one daemon pod.",
    ),
    col("Ready", "integer", "Nodes whose daemon pod is ready."),
    col(
        "Up-to-date",
        "integer",
        "Nodes that run the latest daemon pod template.",
    ),
    col(
        "Available",
        "integer",
        "Nodes whose daemon pod is available.",
    ),
    col(
        "Node Selector",
        "string",
        "The node selector of the pod template.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const STATEFUL_SET_COLUMNS: [Column; 5] = [
    NAME,
    col("Ready", "string", "Ready pods out of the desired replicas."),
    AGE,
    CONTAINERS,
    IMAGES,
];

const CONTROLLER_REVISION_COLUMNS: [Column; 4] = [
    NAME,
    col(
        "Controller",
        "string",
        "The controller owning the revision.",
    ),
    col("Revision", "string", "The revision number."),
    AGE,
];

const JOB_COLUMNS: [Column; 8] = [
    NAME,
    col("Status", "string", "Status of the job."),
    col(
        "Completions",
        "string",
        "Succeeded pods out of the completions wanted.",
    ),
    col(
        "Duration",
        "string",
        "Time the job took or has been running.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const CRON_JOB_COLUMNS: [Column; 10] = [
    NAME,
    col("Schedule", "string", "The cron schedule."),
    col("Timezone", "string", "The time zone of the schedule."),
    col("Suspend", "boolean", "Whether new runs are suspended."),
    col("Active", "integer", "Number of running jobs."),
    col(
        "Last Schedule",
        "string",
        "Time since the job was last scheduled.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const HPA_COLUMNS: [Column; 7] = [
    NAME,
    col("Reference", "string", "The scaled target."),
    col("Targets", "string", "Current and target metric values."),
    col("MinPods", "string", "Lower bound of replicas."),
    col("MaxPods", "string", "Upper bound of replicas."),
    col("Replicas", "string", "Current number of replicas."),
    AGE,
];

const PDB_COLUMNS: [Column; 5] = [
    NAME,
    col(
        "Min Available",
        "string",
        "The minimum number of pods that must be available.",
    ),
    col(
        "Max Unavailable",
        "string",
        "The maximum number of pods that may be unavailable.",
    ),
    col(
        "Allowed Disruptions",
        "integer",
        "How many pods may be disrupted now.",
    ),
    AGE,
];

/// Printers for the apps, batch, autoscaling and policy groups.
pub(crate) fn printer(group: &str, kind: &str) -> Option<Printer> {
    let (columns, cells): (&'static [Column], super::CellFn) = match (group, kind) {
        ("apps", "Deployment") => (&DEPLOYMENT_COLUMNS, deployment),
        ("apps", "ReplicaSet") => (&REPLICA_SET_COLUMNS, replica_set),
        ("apps", "DaemonSet") => (&DAEMON_SET_COLUMNS, daemon_set),
        ("apps", "StatefulSet") => (&STATEFUL_SET_COLUMNS, stateful_set),
        ("apps", "ControllerRevision") => (&CONTROLLER_REVISION_COLUMNS, controller_revision),
        ("batch", "Job") => (&JOB_COLUMNS, job),
        ("batch", "CronJob") => (&CRON_JOB_COLUMNS, cron_job),
        ("autoscaling", "HorizontalPodAutoscaler") => (&HPA_COLUMNS, hpa),
        ("policy", "PodDisruptionBudget") => (&PDB_COLUMNS, pdb),
        _ => return None,
    };
    Some(Printer { columns, cells })
}

/// spec.replicas, defaulted to 1 as upstream defaulting does.
fn desired(obj: &Value) -> i64 {
    opt_int(obj, "/spec/replicas").unwrap_or(1)
}

fn deployment(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = format::containers(obj, "/spec/template/spec");
    let selector = format::selector_string(obj.pointer("/spec/selector"))
        .unwrap_or_else(|_| "<invalid>".to_string());
    vec![
        format::name(obj),
        cell(format!(
            "{}/{}",
            int(obj, "/status/readyReplicas"),
            desired(obj)
        )),
        json!(int(obj, "/status/updatedReplicas")),
        json!(int(obj, "/status/availableReplicas")),
        format::age(obj, now),
        names,
        images,
        cell(selector),
    ]
}

fn replica_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = format::containers(obj, "/spec/template/spec");
    vec![
        format::name(obj),
        json!(desired(obj)),
        json!(int(obj, "/status/replicas")),
        json!(int(obj, "/status/readyReplicas")),
        format::age(obj, now),
        names,
        images,
        cell(format::format_label_selector(obj.pointer("/spec/selector"))),
    ]
}

fn daemon_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = format::containers(obj, "/spec/template/spec");
    vec![
        format::name(obj),
        json!(int(obj, "/status/desiredNumberScheduled")),
        json!(int(obj, "/status/currentNumberScheduled")),
        json!(int(obj, "/status/numberReady")),
        json!(int(obj, "/status/updatedNumberScheduled")),
        json!(int(obj, "/status/numberAvailable")),
        cell(format::format_labels(
            obj.pointer("/spec/template/spec/nodeSelector"),
        )),
        format::age(obj, now),
        names,
        images,
        cell(format::format_label_selector(obj.pointer("/spec/selector"))),
    ]
}

fn stateful_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = format::containers(obj, "/spec/template/spec");
    vec![
        format::name(obj),
        cell(format!(
            "{}/{}",
            int(obj, "/status/readyReplicas"),
            desired(obj)
        )),
        format::age(obj, now),
        names,
        images,
    ]
}

fn controller_revision(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let controller = arr(obj, "/metadata/ownerReferences")
        .iter()
        .find(|r| format::opt_bool(r, "/controller") == Some(true))
        .map_or_else(
            || "<none>".to_string(),
            |r| {
                let group = s(r, "/apiVersion").rsplit_once('/').map_or("", |(g, _)| g);
                let kind = s(r, "/kind");
                let name = s(r, "/name");
                match (kind, group) {
                    ("", "") => name.to_string(),
                    (k, "") => format!("{}/{name}", k.to_lowercase()),
                    (k, g) => format!("{}.{}/{name}", k.to_lowercase(), g.to_lowercase()),
                }
            },
        );
    vec![
        format::name(obj),
        cell(controller),
        json!(int(obj, "/revision")),
        format::age(obj, now),
    ]
}

fn job_condition(obj: &Value, type_: &str) -> bool {
    arr(obj, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == type_)
        .is_some_and(|c| s(c, "/status") == "True")
}

fn job(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let succeeded = int(obj, "/status/succeeded");
    let completions = match opt_int(obj, "/spec/completions") {
        Some(c) => format!("{succeeded}/{c}"),
        None => match opt_int(obj, "/spec/parallelism").unwrap_or(0) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = format::parse_time(s(obj, "/status/startTime"));
    let end = format::parse_time(s(obj, "/status/completionTime"));
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(st), None) => format::human_duration(now - st),
        (Some(st), Some(en)) => format::human_duration(en - st),
    };
    let status = if job_condition(obj, "Complete") {
        "Complete"
    } else if job_condition(obj, "Failed") {
        "Failed"
    } else if has(obj, "/metadata/deletionTimestamp") {
        "Terminating"
    } else if job_condition(obj, "Suspended") {
        "Suspended"
    } else if job_condition(obj, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = format::containers(obj, "/spec/template/spec");
    vec![
        format::name(obj),
        cell(status),
        cell(completions),
        cell(duration),
        format::age(obj, now),
        names,
        images,
        cell(format::format_label_selector(obj.pointer("/spec/selector"))),
    ]
}

fn cron_job(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let last = if has(obj, "/status/lastScheduleTime") {
        format::since_at(obj, "/status/lastScheduleTime", now)
    } else {
        "<none>".to_string()
    };
    let suspend = match format::opt_bool(obj, "/spec/suspend") {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let (names, images) = format::containers(obj, "/spec/jobTemplate/spec/template/spec");
    vec![
        format::name(obj),
        cell(s(obj, "/spec/schedule")),
        cell(format::opt_s(obj, "/spec/timeZone").unwrap_or("<none>")),
        cell(suspend),
        json!(arr(obj, "/status/active").len()),
        cell(last),
        format::age(obj, now),
        names,
        images,
        cell(format::format_label_selector(
            obj.pointer("/spec/jobTemplate/spec/selector"),
        )),
    ]
}

fn pdb(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let field = |ptr: &str| {
        obj.pointer(ptr)
            .filter(|v| !v.is_null())
            .map_or_else(|| "N/A".to_string(), format::int_or_string)
    };
    vec![
        format::name(obj),
        cell(field("/spec/minAvailable")),
        cell(field("/spec/maxUnavailable")),
        json!(int(obj, "/status/disruptionsAllowed")),
        format::age(obj, now),
    ]
}

fn hpa(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        s(obj, "/spec/scaleTargetRef/kind"),
        s(obj, "/spec/scaleTargetRef/name")
    );
    let min = opt_int(obj, "/spec/minReplicas").unwrap_or(1);
    vec![
        format::name(obj),
        cell(reference),
        cell(hpa_targets(obj)),
        cell(min.to_string()),
        json!(int(obj, "/spec/maxReplicas")),
        json!(int(obj, "/status/currentReplicas")),
        format::age(obj, now),
    ]
}

/// The metric specs and statuses in autoscaling/v2 form; autoscaling/v1 objects carry a CPU
/// utilization target, and no metrics at all defaults to 80% CPU as upstream does.
fn hpa_metrics(obj: &Value) -> (Vec<Value>, Vec<Value>) {
    let specs = arr(obj, "/spec/metrics");
    if !specs.is_empty() {
        return (specs.to_vec(), arr(obj, "/status/currentMetrics").to_vec());
    }
    let target = format::opt_int(obj, "/spec/targetCPUUtilizationPercentage").unwrap_or(80);
    let spec = json!({"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": target}}});
    let statuses = match opt_int(obj, "/status/currentCPUUtilizationPercentage") {
        Some(cur) => vec![json!({"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": cur}}})],
        None => arr(obj, "/status/currentMetrics").to_vec(),
    };
    (vec![spec], statuses)
}

/// The Targets cell: "cpu: 40%/80%", "<unknown>/500m (avg)", at most two then "+ N more...".
fn hpa_targets(obj: &Value) -> String {
    let (specs, statuses) = hpa_metrics(obj);
    let mut list = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let status = statuses.get(i);
        let text = match s(spec, "/type") {
            kind @ ("External" | "Object") => {
                let key = if kind == "External" {
                    "external"
                } else {
                    "object"
                };
                let st = status.and_then(|v| v.get(key)).filter(|v| !v.is_null());
                if has(spec, &format!("/{key}/target/averageValue")) {
                    let current = st
                        .and_then(|v| v.pointer("/current/averageValue"))
                        .filter(|v| !v.is_null())
                        .map_or_else(|| "<unknown>".to_string(), |v| quantity::show(Some(v)));
                    let target =
                        quantity::show(spec.pointer(&format!("/{key}/target/averageValue")));
                    format!("{current}/{target} (avg)")
                } else {
                    let current = st.map_or_else(
                        || "<unknown>".to_string(),
                        |v| quantity::show_ptr(v.pointer("/current/value")),
                    );
                    let target = quantity::show_ptr(spec.pointer(&format!("/{key}/target/value")));
                    format!("{current}/{target}")
                }
            }
            "Pods" => {
                let current = status
                    .and_then(|v| v.get("pods"))
                    .filter(|v| !v.is_null())
                    .map_or_else(
                        || "<unknown>".to_string(),
                        |v| quantity::show_ptr(v.pointer("/current/averageValue")),
                    );
                let target = quantity::show_ptr(spec.pointer("/pods/target/averageValue"));
                format!("{current}/{target}")
            }
            kind @ ("Resource" | "ContainerResource") => {
                let key = if kind == "Resource" {
                    "resource"
                } else {
                    "containerResource"
                };
                let st = status.and_then(|v| v.get(key)).filter(|v| !v.is_null());
                let name = s(spec, &format!("/{key}/name"));
                if has(spec, &format!("/{key}/target/averageValue")) {
                    let current = st.map_or_else(
                        || "<unknown>".to_string(),
                        |v| quantity::show_ptr(v.pointer("/current/averageValue")),
                    );
                    let target =
                        quantity::show(spec.pointer(&format!("/{key}/target/averageValue")));
                    format!("{name}: {current}/{target}")
                } else {
                    let current = st
                        .and_then(|v| opt_int(v, "/current/averageUtilization"))
                        .map_or_else(|| "<unknown>".to_string(), |u| format!("{u}%"));
                    let target = opt_int(spec, &format!("/{key}/target/averageUtilization"))
                        .map_or_else(|| "<auto>".to_string(), |u| format!("{u}%"));
                    format!("{name}: {current}/{target}")
                }
            }
            _ => "<unknown type>".to_string(),
        };
        list.push(text);
    }
    let count = list.len();
    if count > 2 {
        list.truncate(2);
        return format!("{} + {} more...", list.join(", "), count - 2);
    }
    list.join(", ")
}
