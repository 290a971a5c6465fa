//! Rows of networking, discovery, RBAC, scheduling, coordination, node, admission and
//! certificates kinds.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::format::{self, AGE, NAME, arr, cell, col, has, int, list_with_more, s, wide};
use super::{Column, Printer};

const INGRESS_COLUMNS: [Column; 6] = [
    NAME,
    col(
        "Class",
        "string",
        "The IngressClass that handles the ingress.",
    ),
    col("Hosts", "string", "Hosts the rules match."),
    col("Address", "string", "Where the load balancer listens."),
    col("Ports", "string", "Ports the ingress serves."),
    AGE,
];

const INGRESS_CLASS_COLUMNS: [Column; 4] = [
    NAME,
    col(
        "Controller",
        "string",
        "The controller implementing the class.",
    ),
    col("Parameters", "string", "Where the class's parameters live."),
    AGE,
];

const NETWORK_POLICY_COLUMNS: [Column; 3] = [
    NAME,
    col("Pod-Selector", "string", "The pods the policy applies to."),
    AGE,
];

const ENDPOINT_SLICE_COLUMNS: [Column; 5] = [
    NAME,
    col("AddressType", "string", "IPv4, IPv6 or FQDN."),
    col("Ports", "string", "Ports of the endpoints."),
    col("Endpoints", "string", "Addresses of the endpoints."),
    AGE,
];

const SERVICE_CIDR_COLUMNS: [Column; 3] = [
    NAME,
    col("CIDRs", "string", "The ranges service IPs come from."),
    AGE,
];

const IP_ADDRESS_COLUMNS: [Column; 2] = [
    NAME,
    col(
        "ParentRef",
        "string",
        "The object the address is allocated to.",
    ),
];

const ROLE_BINDING_COLUMNS: [Column; 6] = [
    NAME,
    col("Role", "string", "The role granted."),
    AGE,
    wide("Users", "string", "Users bound."),
    wide("Groups", "string", "Groups bound."),
    wide("ServiceAccounts", "string", "Service accounts bound."),
];

const PRIORITY_CLASS_COLUMNS: [Column; 5] = [
    NAME,
    col("Value", "integer", "The priority value."),
    col(
        "Global-Default",
        "boolean",
        "Whether this is the default class.",
    ),
    AGE,
    wide(
        "PreemptionPolicy",
        "string",
        "Whether pods may preempt others.",
    ),
];

const LEASE_COLUMNS: [Column; 3] = [
    NAME,
    col("Holder", "string", "The current holder of the lease."),
    AGE,
];

const RUNTIME_CLASS_COLUMNS: [Column; 3] =
    [NAME, col("Handler", "string", "The runtime handler."), AGE];

const WEBHOOK_COLUMNS: [Column; 3] = [
    NAME,
    col("Webhooks", "integer", "Number of webhooks configured."),
    AGE,
];

const CSR_COLUMNS: [Column; 6] = [
    NAME,
    AGE,
    col("SignerName", "string", "The requested signer."),
    col("Requestor", "string", "Who created the request."),
    col(
        "RequestedDuration",
        "string",
        "The requested certificate validity.",
    ),
    col("Condition", "string", "Approval and issuance state."),
];

const API_SERVICE_COLUMNS: [Column; 4] = [
    NAME,
    col(
        "Service",
        "string",
        "The service serving the API, or Local.",
    ),
    col("Available", "string", "Whether the API is available."),
    AGE,
];

/// Printers for the remaining groups.
pub(crate) fn printer(group: &str, kind: &str) -> Option<Printer> {
    let (columns, cells): (&'static [Column], super::CellFn) = match (group, kind) {
        ("networking.k8s.io", "Ingress") => (&INGRESS_COLUMNS, ingress),
        ("networking.k8s.io", "IngressClass") => (&INGRESS_CLASS_COLUMNS, ingress_class),
        ("networking.k8s.io", "NetworkPolicy") => (&NETWORK_POLICY_COLUMNS, network_policy),
        ("networking.k8s.io", "ServiceCIDR") => (&SERVICE_CIDR_COLUMNS, service_cidr),
        ("networking.k8s.io", "IPAddress") => (&IP_ADDRESS_COLUMNS, ip_address),
        ("discovery.k8s.io", "EndpointSlice") => (&ENDPOINT_SLICE_COLUMNS, endpoint_slice),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            (&ROLE_BINDING_COLUMNS, role_binding)
        }
        ("storage.k8s.io", _) => return super::storage::printer(kind),
        ("scheduling.k8s.io", "PriorityClass") => (&PRIORITY_CLASS_COLUMNS, priority_class),
        ("coordination.k8s.io", "Lease") => (&LEASE_COLUMNS, lease),
        ("node.k8s.io", "RuntimeClass") => (&RUNTIME_CLASS_COLUMNS, runtime_class),
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
        ) => (&WEBHOOK_COLUMNS, webhooks),
        ("certificates.k8s.io", "CertificateSigningRequest") => (&CSR_COLUMNS, csr),
        ("apiregistration.k8s.io", "APIService") => (&API_SERVICE_COLUMNS, api_service),
        _ => return None,
    };
    Some(Printer { columns, cells })
}

fn ingress(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    const MAX: usize = 3;
    let rules = arr(obj, "/spec/rules");
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == MAX {
            more = true;
        }
        let host = s(rule, "/host");
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    let hosts_text = if hosts.is_empty() {
        "*".to_string()
    } else if more {
        format!("{} + {} more...", hosts.join(","), rules.len() - MAX)
    } else {
        hosts.join(",")
    };
    let ports = if arr(obj, "/spec/tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        format::name(obj),
        cell(format::opt_s(obj, "/spec/ingressClassName").unwrap_or("<none>")),
        cell(hosts_text),
        cell(super::core::load_balancer_ingress(obj)),
        cell(ports),
        format::age(obj, now),
    ]
}

fn ingress_class(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let params = if has(obj, "/spec/parameters") {
        let mut text = s(obj, "/spec/parameters/kind").to_string();
        if let Some(group) = format::opt_s(obj, "/spec/parameters/apiGroup") {
            text = format!("{text}.{group}");
        }
        format!("{text}/{}", s(obj, "/spec/parameters/name"))
    } else {
        "<none>".to_string()
    };
    vec![
        format::name(obj),
        cell(s(obj, "/spec/controller")),
        cell(params),
        format::age(obj, now),
    ]
}

fn network_policy(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    // podSelector is a required value: an absent one selects everything.
    let selector = obj
        .pointer("/spec/podSelector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    vec![
        format::name(obj),
        cell(format::format_label_selector(Some(&selector))),
        format::age(obj, now),
    ]
}

fn service_cidr(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let cidrs: Vec<&str> = arr(obj, "/spec/cidrs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    vec![
        format::name(obj),
        cell(cidrs.join(",")),
        format::age(obj, now),
    ]
}

fn ip_address(obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let parent = if has(obj, "/spec/parentRef") {
        let resource = s(obj, "/spec/parentRef/resource");
        let group = s(obj, "/spec/parentRef/group");
        let mut text = if group.is_empty() {
            resource.to_lowercase()
        } else {
            format!("{resource}.{group}").to_lowercase()
        };
        let ns = s(obj, "/spec/parentRef/namespace");
        if !ns.is_empty() {
            text = format!("{text}/{ns}");
        }
        format!("{text}/{}", s(obj, "/spec/parentRef/name"))
    } else {
        "<none>".to_string()
    };
    vec![format::name(obj), cell(parent)]
}

fn endpoint_slice(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    const MAX: usize = 3;
    let ports = arr(obj, "/ports");
    let port_list: Vec<String> = ports
        .iter()
        .take(MAX)
        .map(|p| match format::opt_int(p, "/port") {
            Some(n) => n.to_string(),
            None => format::opt_s(p, "/name").unwrap_or("*").to_string(),
        })
        .collect();
    let addresses: Vec<&Value> = arr(obj, "/endpoints")
        .iter()
        .flat_map(|e| arr(e, "/addresses"))
        .collect();
    let addr_list: Vec<String> = addresses
        .iter()
        .take(MAX)
        .map(|a| a.as_str().unwrap_or("").to_string())
        .collect();
    vec![
        format::name(obj),
        cell(s(obj, "/addressType")),
        cell(list_with_more(&port_list, ports.len(), MAX)),
        cell(list_with_more(&addr_list, addresses.len(), MAX)),
        format::age(obj, now),
    ]
}

fn role_binding(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut sas = Vec::new();
    for subject in arr(obj, "/subjects") {
        let name = s(subject, "/name");
        match s(subject, "/kind") {
            "ServiceAccount" => sas.push(format!("{}/{name}", s(subject, "/namespace"))),
            "User" => users.push(name.to_string()),
            "Group" => groups.push(name.to_string()),
            _ => {}
        }
    }
    vec![
        format::name(obj),
        cell(format!(
            "{}/{}",
            s(obj, "/roleRef/kind"),
            s(obj, "/roleRef/name")
        )),
        format::age(obj, now),
        cell(users.join(", ")),
        cell(groups.join(", ")),
        cell(sas.join(", ")),
    ]
}

fn priority_class(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        format::name(obj),
        json!(int(obj, "/value")),
        json!(format::opt_bool(obj, "/globalDefault").unwrap_or(false)),
        format::age(obj, now),
        cell(s(obj, "/preemptionPolicy")),
    ]
}

fn lease(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        format::name(obj),
        cell(s(obj, "/spec/holderIdentity")),
        format::age(obj, now),
    ]
}

fn runtime_class(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        format::name(obj),
        cell(s(obj, "/handler")),
        format::age(obj, now),
    ]
}

fn webhooks(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        format::name(obj),
        json!(arr(obj, "/webhooks").len()),
        format::age(obj, now),
    ]
}

fn csr(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let conds = arr(obj, "/status/conditions");
    let has_cond = |t: &str| conds.iter().any(|c| s(c, "/type") == t);
    let mut status = if has_cond("Denied") {
        "Denied".to_string()
    } else if has_cond("Approved") {
        "Approved".to_string()
    } else {
        "Pending".to_string()
    };
    if has_cond("Failed") {
        status.push_str(",Failed");
    }
    if !s(obj, "/status/certificate").is_empty() {
        status.push_str(",Issued");
    }
    let signer = match s(obj, "/spec/signerName") {
        "" => "<none>",
        v => v,
    };
    let duration = format::opt_int(obj, "/spec/expirationSeconds").map_or_else(
        || "<none>".to_string(),
        |secs| format::human_duration(chrono::TimeDelta::seconds(secs)),
    );
    vec![
        format::name(obj),
        format::age(obj, now),
        cell(signer),
        cell(s(obj, "/spec/username")),
        cell(duration),
        cell(status),
    ]
}

fn api_service(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let service = if has(obj, "/spec/service") {
        format!(
            "{}/{}",
            s(obj, "/spec/service/namespace"),
            s(obj, "/spec/service/name")
        )
    } else {
        "Local".to_string()
    };
    let available = arr(obj, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == "Available")
        .map_or_else(
            || "Unknown".to_string(),
            |c| match (s(c, "/status"), s(c, "/reason")) {
                ("True", _) => "True".to_string(),
                (st, "") => st.to_string(),
                (st, reason) => format!("{st} ({reason})"),
            },
        );
    vec![
        format::name(obj),
        cell(service),
        cell(available),
        format::age(obj, now),
    ]
}
