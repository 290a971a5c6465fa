//! The EndpointSlices a Service with a selector should have, and the creates, updates and
//! deletes that take the existing slices there: one slice per set of ports (at most 100
//! endpoints each), terminating pods listed with `ready: false, terminating: true`, and an
//! empty placeholder slice when nothing is selected.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

use super::legacy::HEADLESS;
use super::pods;
use crate::util::pod;

/// Label naming the Service a slice belongs to.
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Label naming the controller that manages a slice.
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// Our value of [`MANAGED_BY`], upstream's.
pub const CONTROLLER: &str = "endpointslice-controller.k8s.io";
/// Most endpoints one slice holds (upstream's default `--max-endpoints-per-slice`).
pub const MAX_PER_SLICE: usize = 100;

/// What to do to the slices of one Service.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// New slices (with `generateName`).
    pub create: Vec<EndpointSlice>,
    /// Existing slices with new content (name and resourceVersion kept).
    pub update: Vec<EndpointSlice>,
    /// Names of slices to delete.
    pub delete: Vec<String>,
}

impl Plan {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// The endpoint of one pod, with upstream's conditions: `serving` is the pod's readiness,
/// `terminating` its deletion, and `ready` is serving and not terminating (or always true with
/// publishNotReadyAddresses).
pub fn endpoint_of(svc: &Service, p: &Pod, ip: &str) -> Endpoint {
    let serving = pod::is_ready(p);
    let terminating = pod::is_terminating(p);
    let ready = pods::publish_not_ready(svc) || (serving && !terminating);
    Endpoint {
        addresses: vec![ip.to_string()],
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: pods::hostname(svc, p),
        node_name: pods::node_name(p),
        target_ref: Some(pods::target_ref(p)),
        ..Default::default()
    }
}

/// The endpoints the Service should list, grouped by their ports (in the Service's order).
pub fn desired_groups(svc: &Service, pods_in_ns: &[&Pod]) -> BTreeMap<Vec<PortKey>, Vec<Endpoint>> {
    let mut groups: BTreeMap<Vec<PortKey>, Vec<Endpoint>> = BTreeMap::new();
    let headless_without_ports = pods::ports(svc).is_empty() && pods::is_headless(svc);
    for p in pods_in_ns.iter().filter(|p| pods::selects(svc, p)) {
        if !pods::may_be_listed(p, true) {
            continue;
        }
        let Some(ip) = pods::pod_ip(p) else { continue };
        let ports: Vec<PortKey> = pods::ports(svc)
            .iter()
            .filter_map(|sp| {
                Some(PortKey {
                    name: sp.name.clone().unwrap_or_default(),
                    port: pods::target_port(sp, p)?,
                    protocol: sp.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    app_protocol: sp.app_protocol.clone(),
                })
            })
            .collect();
        if ports.is_empty() && !headless_without_ports {
            continue;
        }
        groups
            .entry(ports)
            .or_default()
            .push(endpoint_of(svc, p, ip));
    }
    for eps in groups.values_mut() {
        eps.sort_by(|a, b| a.addresses.cmp(&b.addresses));
    }
    groups
}

/// One port of a slice, comparable.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortKey {
    pub name: String,
    pub port: i32,
    pub protocol: String,
    pub app_protocol: Option<String>,
}

impl PortKey {
    pub(crate) fn to_port(&self) -> EndpointPort {
        EndpointPort {
            name: Some(self.name.clone()),
            port: Some(self.port),
            protocol: Some(self.protocol.clone()),
            app_protocol: self.app_protocol.clone(),
        }
    }

    pub(crate) fn of(p: &EndpointPort) -> PortKey {
        PortKey {
            name: p.name.clone().unwrap_or_default(),
            port: p.port.unwrap_or(0),
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            app_protocol: p.app_protocol.clone(),
        }
    }
}

/// The labels of the Service's slices: the Service's own, plus ours.
pub fn labels(svc: &Service) -> BTreeMap<String, String> {
    let mut l = svc.metadata.labels.clone().unwrap_or_default();
    l.remove(HEADLESS);
    l.insert(
        SERVICE_NAME.into(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    l.insert(MANAGED_BY.into(), CONTROLLER.into());
    if pods::is_headless(svc) {
        l.insert(HEADLESS.into(), String::new());
    }
    l
}

fn owner(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// What every slice of one owner carries.
pub struct Target {
    pub namespace: Option<String>,
    /// `generateName` of new slices.
    pub generate_name: String,
    pub labels: BTreeMap<String, String>,
    pub owner: OwnerReference,
    /// The `endpoints.kubernetes.io/last-change-trigger-time` written with new content.
    pub trigger_time: Option<String>,
}

/// Annotation with the time of the last change (of the Service or its pods) that the written
/// addresses reflect.
pub const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// The latest change among the Service and the pods it selects: creation, deletion and
/// readiness transitions, as RFC 3339.
pub fn trigger_time(svc: &Service, pods_in_ns: &[&Pod]) -> Option<String> {
    let mut times: Vec<&Time> = svc.metadata.creation_timestamp.iter().collect();
    for p in pods_in_ns.iter().filter(|p| pods::selects(svc, p)) {
        times.extend(p.metadata.creation_timestamp.iter());
        times.extend(p.metadata.deletion_timestamp.iter());
        let ready = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .and_then(|c| c.last_transition_time.as_ref());
        times.extend(ready);
    }
    times
        .into_iter()
        .max_by_key(|t| t.0)
        .map(|t| t.0.to_string())
}

fn set_trigger(meta: &mut ObjectMeta, time: Option<&String>) {
    if let Some(t) = time {
        meta.annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(TRIGGER_TIME.into(), t.clone());
    }
}

impl Target {
    /// The slices of a Service with a selector.
    pub fn for_service(svc: &Service) -> Target {
        let name = svc.metadata.name.clone().unwrap_or_default();
        let prefix: String = name.chars().take(57).collect();
        Target {
            namespace: svc.metadata.namespace.clone(),
            generate_name: format!("{prefix}-"),
            labels: labels(svc),
            owner: owner(svc),
            trigger_time: None,
        }
    }

    fn new_slice(&self, ports: &[PortKey], endpoints: Vec<Endpoint>) -> EndpointSlice {
        let mut slice = EndpointSlice {
            address_type: "IPv4".into(),
            endpoints: Some(endpoints),
            ports: Some(ports.iter().map(PortKey::to_port).collect()),
            metadata: ObjectMeta {
                generate_name: Some(self.generate_name.clone()),
                namespace: self.namespace.clone(),
                labels: Some(self.labels.clone()),
                owner_references: Some(vec![self.owner.clone()]),
                ..Default::default()
            },
        };
        set_trigger(&mut slice.metadata, self.trigger_time.as_ref());
        slice
    }
}

/// The creates, updates and deletes that turn `existing` (the slices of this Service managed
/// by us) into the desired slices for `pods_in_ns`.
pub fn plan(svc: &Service, pods_in_ns: &[&Pod], existing: &[&EndpointSlice]) -> Plan {
    let mut groups = desired_groups(svc, pods_in_ns);
    if groups.is_empty() {
        groups.insert(Vec::new(), Vec::new());
    }
    let target = Target {
        trigger_time: trigger_time(svc, pods_in_ns),
        ..Target::for_service(svc)
    };
    reconcile(&target, groups, existing)
}

/// The writes that make `existing` hold `groups` (endpoints by port set, at most
/// [`MAX_PER_SLICE`] per slice), reusing existing slices of the same ports in name order.
pub fn reconcile(
    target: &Target,
    groups: BTreeMap<Vec<PortKey>, Vec<Endpoint>>,
    existing: &[&EndpointSlice],
) -> Plan {
    let mut by_ports: BTreeMap<Vec<PortKey>, Vec<&EndpointSlice>> = BTreeMap::new();
    for s in existing {
        if s.address_type != "IPv4" {
            continue;
        }
        let key: Vec<PortKey> = s.ports.iter().flatten().map(PortKey::of).collect();
        by_ports.entry(key).or_default().push(s);
    }
    for v in by_ports.values_mut() {
        v.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    }
    let mut out = Plan::default();
    for (ports, endpoints) in groups {
        let mut have = by_ports.remove(&ports).unwrap_or_default().into_iter();
        let chunks: Vec<Vec<Endpoint>> = if endpoints.is_empty() {
            vec![Vec::new()]
        } else {
            endpoints.chunks(MAX_PER_SLICE).map(<[_]>::to_vec).collect()
        };
        for chunk in chunks {
            match have.next() {
                Some(old) => {
                    let same = old.endpoints.clone().unwrap_or_default() == chunk
                        && old.metadata.labels.as_ref() == Some(&target.labels)
                        && old
                            .metadata
                            .owner_references
                            .as_ref()
                            .is_some_and(|o| o.contains(&target.owner));
                    if !same {
                        let mut s = (*old).clone();
                        s.endpoints = Some(chunk);
                        s.metadata.labels = Some(target.labels.clone());
                        s.metadata.owner_references = Some(vec![target.owner.clone()]);
                        set_trigger(&mut s.metadata, target.trigger_time.as_ref());
                        out.update.push(s);
                    }
                }
                None => out.create.push(target.new_slice(&ports, chunk)),
            }
        }
        out.delete
            .extend(have.filter_map(|s| s.metadata.name.clone()));
    }
    out.delete.extend(
        by_ports
            .into_values()
            .flatten()
            .filter_map(|s| s.metadata.name.clone()),
    );
    out
}
