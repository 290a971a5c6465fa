//! The Endpoints object a Service with a selector should have: ready pods under `addresses`, the
//! others under `notReadyAddresses`, addresses grouped by the set of ports they serve.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::pods;
use crate::util::pod;

/// Label the Endpoints controller sets so the EndpointSlice mirroring skips its objects.
pub const SKIP_MIRROR: &str = "endpointslice.kubernetes.io/skip-mirror";
/// Label on the objects of headless Services.
pub const HEADLESS: &str = "service.kubernetes.io/headless";

/// A port as sorted and compared.
type PortKey = (String, i32, String, Option<String>);

/// The Endpoints object the Service should have (name and namespace of the Service).
pub fn desired(svc: &Service, pods_in_ns: &[&Pod]) -> Endpoints {
    let tolerate = pods::publish_not_ready(svc);
    // Per address: its ports and whether it is ready.
    let mut groups: BTreeMap<Vec<PortKey>, (Vec<EndpointAddress>, Vec<EndpointAddress>)> =
        BTreeMap::new();
    for p in pods_in_ns.iter().filter(|p| pods::selects(svc, p)) {
        if !pods::may_be_listed(p, tolerate) {
            continue;
        }
        let Some(ip) = pods::pod_ip(p) else { continue };
        let addr = EndpointAddress {
            ip: ip.to_string(),
            hostname: pods::hostname(svc, p),
            node_name: pods::node_name(p),
            target_ref: Some(pods::target_ref(p)),
        };
        let mut ports: Vec<PortKey> = pods::ports(svc)
            .iter()
            .filter_map(|sp| {
                let n = pods::target_port(sp, p)?;
                Some((
                    sp.name.clone().unwrap_or_default(),
                    n,
                    sp.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    sp.app_protocol.clone(),
                ))
            })
            .collect();
        if ports.is_empty() && !(pods::ports(svc).is_empty() && pods::is_headless(svc)) {
            continue;
        }
        ports.sort();
        ports.dedup();
        let entry = groups.entry(ports).or_default();
        if tolerate || pod::is_ready(p) {
            entry.0.push(addr);
        } else {
            entry.1.push(addr);
        }
    }
    let subsets: Vec<EndpointSubset> = groups
        .into_iter()
        .map(|(ports, (mut ready, mut not_ready))| {
            sort_addresses(&mut ready);
            sort_addresses(&mut not_ready);
            EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: (!ports.is_empty()).then(|| {
                    ports
                        .into_iter()
                        .map(|(name, port, protocol, app_protocol)| EndpointPort {
                            name: (!name.is_empty()).then_some(name),
                            port,
                            protocol: Some(protocol),
                            app_protocol,
                        })
                        .collect()
                }),
            }
        })
        .collect();
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    labels.insert(SKIP_MIRROR.into(), "true".into());
    if pods::is_headless(svc) {
        labels.insert(HEADLESS.into(), String::new());
    } else {
        labels.remove(HEADLESS);
    }
    let annotations = super::slices::trigger_time(svc, pods_in_ns)
        .map(|t| BTreeMap::from([(super::slices::TRIGGER_TIME.to_string(), t)]));
    Endpoints {
        metadata: ObjectMeta {
            name: svc.metadata.name.clone(),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(labels),
            annotations,
            ..Default::default()
        },
        subsets: (!subsets.is_empty()).then_some(subsets),
    }
}

fn sort_addresses(a: &mut [EndpointAddress]) {
    a.sort_by(|x, y| {
        let uid = |e: &EndpointAddress| e.target_ref.as_ref().and_then(|r| r.uid.clone());
        (x.ip.as_str(), uid(x)).cmp(&(y.ip.as_str(), uid(y)))
    });
}

/// Whether `existing` must be rewritten to become `want` (subsets or labels differ).
pub fn needs_update(existing: &Endpoints, want: &Endpoints) -> bool {
    let subsets = |e: &Endpoints| e.subsets.clone().filter(|s| !s.is_empty());
    subsets(existing) != subsets(want) || existing.metadata.labels != want.metadata.labels
}
