//! EndpointSlices mirrored from the Endpoints users write for Services without a selector, as
//! upstream's `endpointslicemirroring-controller` does, so the service proxy (which reads only
//! slices) reaches them too.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EndpointAddress, Endpoints, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::legacy::SKIP_MIRROR;
use super::pods;
use super::slices::{self, MANAGED_BY, PortKey, SERVICE_NAME, Target};

/// Our value of the managed-by label, upstream's.
pub const CONTROLLER: &str = "endpointslicemirroring-controller.k8s.io";

/// Whether these Endpoints are mirrored: their Service exists without a selector and they do
/// not opt out with `endpointslice.kubernetes.io/skip-mirror: "true"`.
pub fn should_mirror(svc: Option<&Service>, ep: &Endpoints) -> bool {
    let skip = ep
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SKIP_MIRROR))
        .is_some_and(|v| v == "true");
    svc.is_some_and(|s| pods::selector(s).is_none()) && !skip
}

fn endpoint(a: &EndpointAddress, ready: bool) -> Option<Endpoint> {
    a.ip.parse::<std::net::Ipv4Addr>().ok()?;
    Some(Endpoint {
        addresses: vec![a.ip.clone()],
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            ..Default::default()
        }),
        hostname: a.hostname.clone(),
        node_name: a.node_name.clone(),
        target_ref: a.target_ref.clone(),
        ..Default::default()
    })
}

/// The writes that make `existing` (our slices for these Endpoints) mirror `ep`: one group per
/// subset's ports, ready and not-ready addresses with their `ready` condition (IPv4 only).
pub fn plan(ep: &Endpoints, existing: &[&EndpointSlice]) -> slices::Plan {
    let mut groups: BTreeMap<Vec<PortKey>, Vec<Endpoint>> = BTreeMap::new();
    for subset in ep.subsets.iter().flatten() {
        let ports: Vec<PortKey> = subset
            .ports
            .iter()
            .flatten()
            .map(|p| PortKey {
                name: p.name.clone().unwrap_or_default(),
                port: p.port,
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                app_protocol: p.app_protocol.clone(),
            })
            .collect();
        let ready = subset.addresses.iter().flatten().map(|a| (a, true));
        let not_ready = subset
            .not_ready_addresses
            .iter()
            .flatten()
            .map(|a| (a, false));
        let found: Vec<Endpoint> = ready
            .chain(not_ready)
            .filter_map(|(a, r)| endpoint(a, r))
            .collect();
        if found.is_empty() {
            continue;
        }
        let group = groups.entry(ports).or_default();
        for e in found {
            if !group.iter().any(|g| g.addresses == e.addresses) {
                group.push(e);
            }
        }
    }
    for g in groups.values_mut() {
        g.sort_by(|a, b| a.addresses.cmp(&b.addresses));
    }
    let name = ep.metadata.name.clone().unwrap_or_default();
    let mut labels = ep.metadata.labels.clone().unwrap_or_default();
    labels.insert(SERVICE_NAME.into(), name.clone());
    labels.insert(MANAGED_BY.into(), CONTROLLER.into());
    let prefix: String = name.chars().take(57).collect();
    let target = Target {
        namespace: ep.metadata.namespace.clone(),
        generate_name: format!("{prefix}-"),
        labels,
        trigger_time: ep
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(slices::TRIGGER_TIME))
            .cloned(),
        owner: OwnerReference {
            api_version: "v1".into(),
            kind: "Endpoints".into(),
            name,
            uid: ep.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        },
    };
    slices::reconcile(&target, groups, existing)
}
