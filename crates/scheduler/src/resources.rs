//! Resource arithmetic: a pod's effective requests and a node's allocatable, in integer units.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// CPU (millicores) assumed for a container without a cpu request when scoring.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory (bytes) assumed for a container without a memory request when scoring.
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Amounts of every resource the scheduler accounts for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    /// Extended and other named resources (`example.com/gpu`, `hugepages-2Mi`), sorted by name.
    pub scalar: Vec<(String, i64)>,
}

fn parse(name: &str, q: &Quantity) -> i64 {
    match skiff_api::quantity::Quantity::parse(&q.0) {
        Ok(v) if name == "cpu" => v.milli_value(),
        Ok(v) => v.value(),
        Err(_) => 0,
    }
}

impl Resource {
    /// From a `ResourceList` (`requests`, `allocatable`, `overhead`).
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Resource {
        let mut r = Resource::default();
        for (name, q) in list {
            r.add_named(name, parse(name, q));
        }
        r
    }

    /// Add `v` of the resource called `name`.
    pub fn add_named(&mut self, name: &str, v: i64) {
        match name {
            "cpu" => self.milli_cpu += v,
            "memory" => self.memory += v,
            "ephemeral-storage" => self.ephemeral_storage += v,
            "pods" => self.pods += v,
            _ => match self.scalar.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
                Ok(i) => self.scalar[i].1 += v,
                Err(i) => self.scalar.insert(i, (name.to_string(), v)),
            },
        }
    }

    /// The amount of a named (extended) resource.
    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .map(|i| self.scalar[i].1)
            .unwrap_or(0)
    }

    pub fn add(&mut self, o: &Resource) {
        self.milli_cpu += o.milli_cpu;
        self.memory += o.memory;
        self.ephemeral_storage += o.ephemeral_storage;
        self.pods += o.pods;
        for (n, v) in &o.scalar {
            self.add_named(n, *v);
        }
    }

    pub fn sub(&mut self, o: &Resource) {
        self.milli_cpu -= o.milli_cpu;
        self.memory -= o.memory;
        self.ephemeral_storage -= o.ephemeral_storage;
        self.pods -= o.pods;
        for (n, v) in &o.scalar {
            self.add_named(n, -*v);
        }
    }

    /// Raise each amount to at least `o`'s.
    pub fn set_max(&mut self, o: &Resource) {
        self.milli_cpu = self.milli_cpu.max(o.milli_cpu);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        self.pods = self.pods.max(o.pods);
        for (n, v) in &o.scalar {
            let cur = self.scalar(n);
            if *v > cur {
                self.add_named(n, v - cur);
            }
        }
    }

    /// Nothing requested at all.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.iter().all(|(_, v)| *v == 0)
    }
}

fn container_requests(c: &Container) -> Resource {
    c.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref().or(r.limits.as_ref()))
        .map(Resource::from_list)
        .unwrap_or_default()
}

fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// A pod's effective requests: the larger of the app containers' sum (plus sidecars) and each
/// init container's request (plus the sidecars started before it), plus the pod overhead.
pub fn pod_requests(spec: &PodSpec) -> Resource {
    let mut apps = Resource::default();
    for c in &spec.containers {
        apps.add(&container_requests(c));
    }
    let mut sidecars = Resource::default();
    let mut init_max = Resource::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c);
        if is_sidecar(c) {
            sidecars.add(&r);
            init_max.set_max(&sidecars);
        } else {
            let mut during = sidecars.clone();
            during.add(&r);
            init_max.set_max(&during);
        }
    }
    apps.add(&sidecars);
    apps.set_max(&init_max);
    if let Some(o) = &spec.overhead {
        apps.add(&Resource::from_list(o));
    }
    apps.pods = 0;
    apps
}

/// Requests used for scoring: containers without a cpu or memory request count as
/// [`DEFAULT_MILLI_CPU_REQUEST`] / [`DEFAULT_MEMORY_REQUEST`]. Returns (milli cpu, memory).
pub fn non_zero_requests(spec: &PodSpec) -> (i64, i64) {
    let nz = |c: &Container| {
        let r = container_requests(c);
        let has = |n: &str| {
            c.resources
                .as_ref()
                .and_then(|r| r.requests.as_ref().or(r.limits.as_ref()))
                .is_some_and(|l| l.contains_key(n))
        };
        (
            if has("cpu") {
                r.milli_cpu
            } else {
                DEFAULT_MILLI_CPU_REQUEST
            },
            if has("memory") {
                r.memory
            } else {
                DEFAULT_MEMORY_REQUEST
            },
        )
    };
    let (mut cpu, mut mem) = (0, 0);
    for c in &spec.containers {
        let (a, b) = nz(c);
        cpu += a;
        mem += b;
    }
    for c in spec.init_containers.iter().flatten() {
        let (a, b) = nz(c);
        if is_sidecar(c) {
            cpu += a;
            mem += b;
        } else {
            cpu = cpu.max(a);
            mem = mem.max(b);
        }
    }
    if let Some(o) = &spec.overhead {
        let r = Resource::from_list(o);
        cpu += r.milli_cpu;
        mem += r.memory;
    }
    (cpu, mem)
}

#[cfg(test)]
mod tests;
