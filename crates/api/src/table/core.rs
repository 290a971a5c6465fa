//! Rows of core (v1) kinds other than pods, volumes and events.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::format::{
    self, AGE, CONTAINERS, IMAGES, NAME, SELECTOR, arr, cell, col, int, map_len, s, wide,
};
use super::quantity;
use super::{Column, Printer};

const SERVICE_COLUMNS: [Column; 7] = [
    NAME,
    col("Type", "string", "How the service is exposed."),
    col("Cluster-IP", "string", "The service's cluster IP."),
    col(
        "External-IP",
        "string",
        "External addresses of the service.",
    ),
    col("Port(s)", "string", "Ports the service exposes."),
    AGE,
    wide(
        "Selector",
        "string",
        "Labels of the pods the service routes to.",
    ),
];

const ENDPOINTS_COLUMNS: [Column; 3] = [
    NAME,
    col(
        "Endpoints",
        "string",
        "Addresses and ports of the endpoints.",
    ),
    AGE,
];

const NODE_COLUMNS: [Column; 10] = [
    NAME,
    col("Status", "string", "The status of the node."),
    col("Roles", "string", "The roles of the node."),
    AGE,
    col("Version", "string", "The kubelet version the node reports."),
    wide("Internal-IP", "string", "The node's internal address."),
    wide("External-IP", "string", "The node's external address."),
    wide("OS-Image", "string", "The node's operating system image."),
    wide("Kernel-Version", "string", "The node's kernel version."),
    wide(
        "Container-Runtime",
        "string",
        "The node's container runtime and version.",
    ),
];

const NAMESPACE_COLUMNS: [Column; 3] = [
    NAME,
    col("Status", "string", "The status of the namespace."),
    AGE,
];

const CONFIG_MAP_COLUMNS: [Column; 3] =
    [NAME, col("Data", "string", "Number of data entries."), AGE];

const SECRET_COLUMNS: [Column; 4] = [
    NAME,
    col("Type", "string", "The secret type."),
    col("Data", "string", "Number of data entries."),
    AGE,
];

const SERVICE_ACCOUNT_COLUMNS: [Column; 3] = [
    NAME,
    col("Secrets", "string", "Number of secrets listed."),
    AGE,
];

const RESOURCE_QUOTA_COLUMNS: [Column; 4] = [
    NAME,
    col("Request", "string", "Used and hard amounts of requests."),
    col("Limit", "string", "Used and hard amounts of limits."),
    AGE,
];

const REPLICATION_CONTROLLER_COLUMNS: [Column; 8] = [
    NAME,
    col("Desired", "integer", "The desired number of replicas."),
    col("Current", "integer", "The number of replicas that exist."),
    col("Ready", "integer", "The number of ready replicas."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

const COMPONENT_STATUS_COLUMNS: [Column; 4] = [
    NAME,
    col("Status", "string", "Whether the component is healthy."),
    col("Message", "string", "The health check message."),
    col("Error", "string", "The health check error."),
];

/// Printers for core kinds (pods are in `pods`, events in `events`).
pub(crate) fn printer(kind: &str) -> Option<Printer> {
    let (columns, cells): (&'static [Column], super::CellFn) = match kind {
        "Service" => (&SERVICE_COLUMNS, service),
        "Endpoints" => (&ENDPOINTS_COLUMNS, endpoints),
        "Node" => (&NODE_COLUMNS, node),
        "Namespace" => (&NAMESPACE_COLUMNS, namespace),
        "ConfigMap" => (&CONFIG_MAP_COLUMNS, config_map),
        "Secret" => (&SECRET_COLUMNS, secret),
        "ServiceAccount" => (&SERVICE_ACCOUNT_COLUMNS, service_account),
        "ResourceQuota" => (&RESOURCE_QUOTA_COLUMNS, resource_quota),
        "ReplicationController" => (&REPLICATION_CONTROLLER_COLUMNS, replication_controller),
        "ComponentStatus" => (&COMPONENT_STATUS_COLUMNS, component_status),
        "Event" => return super::events::printer_core(),
        "PersistentVolume" | "PersistentVolumeClaim" => return super::storage::printer_core(kind),
        _ => return None,
    };
    Some(Printer { columns, cells })
}

/// Load-balancer ingress points (IP, else hostname), sorted and de-duplicated.
pub(crate) fn load_balancer_ingress(obj: &Value) -> String {
    let set: BTreeSet<&str> = arr(obj, "/status/loadBalancer/ingress")
        .iter()
        .map(|i| match s(i, "/ip") {
            "" => s(i, "/hostname"),
            ip => ip,
        })
        .filter(|a| !a.is_empty())
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

fn strings(list: &[Value]) -> Vec<String> {
    list.iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn service_external_ip(obj: &Value) -> String {
    let external = strings(arr(obj, "/spec/externalIPs"));
    match s(obj, "/spec/type") {
        "" | "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".to_string()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_ingress(obj);
            if !external.is_empty() {
                let mut all: Vec<String> = if lb.is_empty() {
                    Vec::new()
                } else {
                    lb.split(',').map(str::to_string).collect()
                };
                all.extend(external);
                all.join(",")
            } else if lb.is_empty() {
                "<pending>".to_string()
            } else {
                lb
            }
        }
        "ExternalName" => s(obj, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

fn service(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let cluster_ip = arr(obj, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .or_else(|| format::opt_s(obj, "/spec/clusterIP").filter(|ip| !ip.is_empty()))
        .unwrap_or("<none>");
    let ports: Vec<String> = arr(obj, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = match s(p, "/protocol") {
                "" => "TCP",
                other => other,
            };
            let node_port = int(p, "/nodePort");
            if node_port > 0 {
                format!("{}:{node_port}/{proto}", int(p, "/port"))
            } else {
                format!("{}/{proto}", int(p, "/port"))
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    let type_ = match s(obj, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    };
    vec![
        format::name(obj),
        cell(type_),
        cell(cluster_ip),
        cell(service_external_ip(obj)),
        cell(ports),
        format::age(obj, now),
        cell(format::format_labels(obj.pointer("/spec/selector"))),
    ]
}

/// "host:port" with brackets for IPv6 hosts.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn endpoints(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let subsets = arr(obj, "/subsets");
    let text = if subsets.is_empty() {
        "<none>".to_string()
    } else {
        const MAX: usize = 3;
        let mut list: Vec<String> = Vec::new();
        let mut count = 0usize;
        for ss in subsets {
            let addrs = arr(ss, "/addresses");
            let ports = arr(ss, "/ports");
            if ports.is_empty() {
                count += addrs.len();
                for a in addrs {
                    if list.len() < MAX {
                        list.push(s(a, "/ip").to_string());
                    }
                }
                continue;
            }
            for p in ports {
                count += addrs.len();
                for a in addrs {
                    if list.len() < MAX {
                        list.push(join_host_port(s(a, "/ip"), int(p, "/port")));
                    }
                }
            }
        }
        let joined = list.join(",");
        if count > MAX {
            format!("{joined} + {} more...", count - MAX)
        } else {
            joined
        }
    };
    vec![format::name(obj), cell(text), format::age(obj, now)]
}

fn node_roles(obj: &Value) -> String {
    let mut roles = BTreeSet::new();
    if let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role.to_string());
                }
            } else if k == "kubernetes.io/role"
                && let Some(v) = v.as_str().filter(|v| !v.is_empty())
            {
                roles.insert(v.to_string());
            }
        }
    }
    if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    }
}

fn node_address(obj: &Value, type_: &str) -> String {
    arr(obj, "/status/addresses")
        .iter()
        .find(|a| s(a, "/type") == type_)
        .map_or_else(|| "<none>".to_string(), |a| s(a, "/address").to_string())
}

fn node(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut status: Vec<&str> = Vec::new();
    // Upstream keeps the last condition of a type.
    if let Some(ready) = arr(obj, "/status/conditions")
        .iter()
        .rev()
        .find(|c| s(c, "/type") == "Ready")
    {
        status.push(if s(ready, "/status") == "True" {
            "Ready"
        } else {
            "NotReady"
        });
    }
    if status.is_empty() {
        status.push("Unknown");
    }
    if format::opt_bool(obj, "/spec/unschedulable") == Some(true) {
        status.push("SchedulingDisabled");
    }
    let info = |field: &str| match s(obj, &format!("/status/nodeInfo/{field}")) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    vec![
        format::name(obj),
        cell(status.join(",")),
        cell(node_roles(obj)),
        format::age(obj, now),
        cell(s(obj, "/status/nodeInfo/kubeletVersion")),
        cell(node_address(obj, "InternalIP")),
        cell(node_address(obj, "ExternalIP")),
        cell(info("osImage")),
        cell(info("kernelVersion")),
        cell(info("containerRuntimeVersion")),
    ]
}

fn namespace(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let phase = match s(obj, "/status/phase") {
        "" => "Active",
        p => p,
    };
    vec![format::name(obj), cell(phase), format::age(obj, now)]
}

fn config_map(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        format::name(obj),
        json!(map_len(obj, "/data") + map_len(obj, "/binaryData")),
        format::age(obj, now),
    ]
}

fn secret(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let type_ = match s(obj, "/type") {
        "" => "Opaque",
        t => t,
    };
    // stringData entries land in data when the secret is written; count them once.
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for ptr in ["/data", "/stringData"] {
        if let Some(m) = obj.pointer(ptr).and_then(Value::as_object) {
            keys.extend(m.keys().map(String::as_str));
        }
    }
    vec![
        format::name(obj),
        cell(type_),
        json!(keys.len()),
        format::age(obj, now),
    ]
}

fn service_account(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        format::name(obj),
        json!(arr(obj, "/secrets").len()),
        format::age(obj, now),
    ]
}

fn resource_quota(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    if let Some(hard) = obj.pointer("/status/hard").and_then(Value::as_object) {
        let mut names: Vec<&String> = hard.keys().collect();
        names.sort();
        for name in names {
            let used = quantity::show(
                obj.pointer("/status/used")
                    .and_then(|u| u.get(name.as_str())),
            );
            let text = format!("{name}: {used}/{}", quantity::show(hard.get(name.as_str())));
            let is_limit = name.split('.').count() > 1 && name.split('.').next() == Some("limits");
            if is_limit {
                limits.push(text);
            } else {
                requests.push(text);
            }
        }
    }
    vec![
        format::name(obj),
        cell(requests.join(", ")),
        cell(limits.join(", ")),
        format::age(obj, now),
    ]
}

fn replication_controller(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = format::containers(obj, "/spec/template/spec");
    vec![
        format::name(obj),
        json!(format::opt_int(obj, "/spec/replicas").unwrap_or(1)),
        json!(int(obj, "/status/replicas")),
        json!(int(obj, "/status/readyReplicas")),
        format::age(obj, now),
        names,
        images,
        cell(format::format_labels(obj.pointer("/spec/selector"))),
    ]
}

fn component_status(obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let healthy = arr(obj, "/conditions")
        .iter()
        .find(|c| s(c, "/type") == "Healthy");
    let (status, message, error) = match healthy {
        Some(c) => (
            if s(c, "/status") == "True" {
                "Healthy"
            } else {
                "Unhealthy"
            },
            s(c, "/message"),
            s(c, "/error"),
        ),
        None => ("Unknown", "", ""),
    };
    vec![format::name(obj), cell(status), cell(message), cell(error)]
}
