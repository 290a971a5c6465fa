//! What the Endpoints and EndpointSlice controllers ask of a pod: is it selected, may it be
//! listed, is it ready, and which port does a Service port reach on it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::util::pod;

/// The Service's selector, when it has a non-empty one (Services without a selector are left
/// to their users, who write their own Endpoints).
pub fn selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec
        .as_ref()?
        .selector
        .as_ref()
        .filter(|s| !s.is_empty())
}

/// Whether the Service's selector picks the pod (same namespace, every label equal).
pub fn selects(svc: &Service, p: &Pod) -> bool {
    let Some(sel) = selector(svc) else {
        return false;
    };
    if p.metadata.namespace != svc.metadata.namespace {
        return false;
    }
    let labels = p.metadata.labels.as_ref();
    sel.iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// `spec.publishNotReadyAddresses`.
pub fn publish_not_ready(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

/// The pod's IPv4 address, when it has one.
pub fn pod_ip(p: &Pod) -> Option<&str> {
    p.status
        .as_ref()?
        .pod_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
}

/// Whether a pod may appear at all: it has an address, has not finished for good (by its
/// restart policy), and, unless terminating pods are wanted, is not being deleted.
pub fn may_be_listed(p: &Pod, include_terminating: bool) -> bool {
    if pod_ip(p).is_none() {
        return false;
    }
    if !include_terminating && pod::is_terminating(p) {
        return false;
    }
    !is_finished(p)
}

/// Finished for good: Succeeded or Failed under restartPolicy Never, Succeeded under OnFailure.
pub fn is_finished(p: &Pod) -> bool {
    let policy = p
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always");
    matches!(
        (policy, pod::phase(p)),
        ("Never", "Succeeded" | "Failed") | ("OnFailure", "Succeeded")
    )
}

/// The port a Service port reaches on this pod: a number as is, a name looked up among the
/// containers' ports of the same protocol; `None` when the name is not there.
pub fn target_port(sp: &ServicePort, p: &Pod) -> Option<i32> {
    let proto = sp.protocol.as_deref().unwrap_or("TCP");
    match &sp.target_port {
        None => Some(sp.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            if let Ok(n) = name.parse::<i32>() {
                return Some(n);
            }
            p.spec
                .as_ref()?
                .containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .find(|cp| {
                    cp.name.as_deref() == Some(name.as_str())
                        && cp.protocol.as_deref().unwrap_or("TCP") == proto
                })
                .map(|cp| cp.container_port)
        }
    }
}

/// The pod's hostname when it has `hostname` and lives in the Service's subdomain.
pub fn hostname(svc: &Service, p: &Pod) -> Option<String> {
    let spec = p.spec.as_ref()?;
    let host = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    (spec.subdomain.as_deref() == svc.metadata.name.as_deref()).then(|| host.to_string())
}

/// The reference to the pod an address carries.
pub fn target_ref(p: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: p.metadata.namespace.clone(),
        name: p.metadata.name.clone(),
        uid: p.metadata.uid.clone(),
        ..Default::default()
    }
}

/// The pod's node.
pub fn node_name(p: &Pod) -> Option<String> {
    p.spec.as_ref()?.node_name.clone()
}

/// Whether the Service is headless (`clusterIP: None`).
pub fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// The Service's ports.
pub fn ports(svc: &Service) -> &[ServicePort] {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or(&[])
}
