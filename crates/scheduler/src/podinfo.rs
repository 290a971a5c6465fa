//! A pod as the scheduler sees it: the object plus what every cycle needs, computed once.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;

use crate::resources::{Resource, non_zero_requests, pod_requests};

/// Priority of the built-in classes when no PriorityClass object says otherwise.
pub fn builtin_priority(class: &str) -> Option<i32> {
    match class {
        "system-node-critical" => Some(2_000_001_000),
        "system-cluster-critical" => Some(2_000_000_000),
        _ => None,
    }
}

/// A host port a pod claims: (ip, protocol, port).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub ip: String,
    pub protocol: String,
    pub port: i32,
}

impl HostPort {
    /// Two claims collide: same protocol and port, and the same or a wildcard address.
    pub fn conflicts(&self, o: &HostPort) -> bool {
        self.port == o.port
            && self.protocol == o.protocol
            && (self.ip == o.ip || self.ip == "0.0.0.0" || o.ip == "0.0.0.0")
    }
}

/// A pod plus its derived scheduling facts.
#[derive(Clone, Debug)]
pub struct PodInfo {
    pub pod: Pod,
    /// `namespace/name`.
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub priority: i32,
    pub requests: Resource,
    /// (milli cpu, memory) with defaults for unset requests, for scoring.
    pub non_zero: (i64, i64),
    pub host_ports: Vec<HostPort>,
    pub has_required_anti_affinity: bool,
    pub has_affinity: bool,
    pub terminating: bool,
}

impl PodInfo {
    /// Derive the facts; `classes` resolves `priorityClassName` when `spec.priority` is unset.
    pub fn new(pod: Pod, classes: &HashMap<String, i32>) -> PodInfo {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let no_spec = k8s_openapi::api::core::v1::PodSpec::default();
        let spec = pod.spec.as_ref().unwrap_or(&no_spec);
        let priority = spec.priority.unwrap_or_else(|| {
            spec.priority_class_name
                .as_deref()
                .and_then(|c| classes.get(c).copied().or_else(|| builtin_priority(c)))
                .unwrap_or(0)
        });
        let mut host_ports = Vec::new();
        for c in &spec.containers {
            for p in c.ports.iter().flatten() {
                if let Some(hp) = p.host_port.filter(|hp| *hp > 0) {
                    host_ports.push(HostPort {
                        ip: p
                            .host_ip
                            .clone()
                            .filter(|s| !s.is_empty())
                            .unwrap_or_else(|| "0.0.0.0".into()),
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        port: hp,
                    });
                }
            }
        }
        let aff = spec.affinity.as_ref();
        let has_required_anti_affinity = aff
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .is_some_and(|t| !t.is_empty());
        let has_affinity =
            aff.is_some_and(|a| a.pod_affinity.is_some() || a.pod_anti_affinity.is_some());
        PodInfo {
            key: format!("{namespace}/{name}"),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            requests: pod_requests(spec),
            non_zero: non_zero_requests(spec),
            terminating: pod.metadata.deletion_timestamp.is_some(),
            namespace,
            name,
            priority,
            host_ports,
            has_required_anti_affinity,
            has_affinity,
            pod,
        }
    }

    pub fn spec(&self) -> Option<&k8s_openapi::api::core::v1::PodSpec> {
        self.pod.spec.as_ref()
    }

    pub fn labels(&self) -> &std::collections::BTreeMap<String, String> {
        static EMPTY: std::collections::BTreeMap<String, String> =
            std::collections::BTreeMap::new();
        self.pod.metadata.labels.as_ref().unwrap_or(&EMPTY)
    }

    pub fn node_name(&self) -> &str {
        self.spec()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or("")
    }

    pub fn scheduler_name(&self) -> &str {
        self.spec()
            .and_then(|s| s.scheduler_name.as_deref())
            .unwrap_or("default-scheduler")
    }

    /// Start time, for ordering preemption victims (earlier started = more important).
    pub fn start_time(&self) -> Option<k8s_openapi::jiff::Timestamp> {
        self.pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .or(self.pod.metadata.creation_timestamp.as_ref())
            .map(|t| t.0)
    }

    /// `Succeeded` or `Failed`: holds no resources.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        )
    }
}
