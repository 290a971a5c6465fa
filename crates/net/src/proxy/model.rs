//! The ports a node proxies, built from Services and their EndpointSlices.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::types::Protocol;

/// Label naming the Service an EndpointSlice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// One port of one Service, with where its traffic goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxiedPort {
    pub namespace: String,
    pub service: String,
    /// The Service port's name ("" when unnamed).
    pub port_name: String,
    pub protocol: Protocol,
    pub port: u16,
    /// The ClusterIP, then external IPs and load-balancer ingress IPs (IPv4 only).
    pub addresses: Vec<Ipv4Addr>,
    /// The NodePort, for NodePort and LoadBalancer Services.
    pub node_port: Option<u16>,
    /// Where connections go: the ready endpoints, or, when none is ready, those still serving
    /// while terminating (upstream's fallback); empty means reject.
    pub endpoints: Vec<SocketAddrV4>,
}

impl ProxiedPort {
    /// `namespace/service:port_name/protocol`, for comments and logs.
    pub fn display_name(&self) -> String {
        format!(
            "{}/{}:{}/{}",
            self.namespace, self.service, self.port_name, self.protocol
        )
    }
}

/// Endpoints of one Service port, by readiness.
#[derive(Default)]
struct Found {
    ready: BTreeSet<SocketAddrV4>,
    terminating: BTreeSet<SocketAddrV4>,
}

/// The ports to proxy: every port of every Service with a ClusterIP or a NodePort (not
/// ExternalName, not headless), with the endpoints its slices list.
pub fn build(services: &[&Service], slices: &[&EndpointSlice]) -> Vec<ProxiedPort> {
    // (namespace, service) -> (port name, protocol) -> endpoints
    let mut found: BTreeMap<(String, String), BTreeMap<(String, Protocol), Found>> =
        BTreeMap::new();
    for s in slices.iter().filter(|s| s.address_type == "IPv4") {
        let (Some(ns), Some(svc)) = (
            s.metadata.namespace.clone(),
            s.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
                .cloned(),
        ) else {
            continue;
        };
        let per_service = found.entry((ns, svc)).or_default();
        for p in s.ports.iter().flatten() {
            let Some(port) = p
                .port
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n > 0)
            else {
                continue;
            };
            let Ok(proto) = p.protocol.as_deref().unwrap_or("TCP").parse::<Protocol>() else {
                continue;
            };
            let entry = per_service
                .entry((p.name.clone().unwrap_or_default(), proto))
                .or_default();
            for e in s.endpoints.iter().flatten() {
                let cond = e.conditions.as_ref();
                let ready = cond.and_then(|c| c.ready).unwrap_or(true);
                let serving = cond.and_then(|c| c.serving).unwrap_or(ready);
                let terminating = cond.and_then(|c| c.terminating).unwrap_or(false);
                for a in &e.addresses {
                    let Ok(ip) = a.parse::<Ipv4Addr>() else {
                        continue;
                    };
                    let addr = SocketAddrV4::new(ip, port);
                    if ready {
                        entry.ready.insert(addr);
                    } else if serving && terminating {
                        entry.terminating.insert(addr);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for svc in services {
        let Some(spec) = svc.spec.as_ref() else {
            continue;
        };
        if spec.type_.as_deref() == Some("ExternalName") {
            continue;
        }
        let ns = svc.metadata.namespace.clone().unwrap_or_default();
        let name = svc.metadata.name.clone().unwrap_or_default();
        let mut addresses: Vec<Ipv4Addr> = Vec::new();
        let cluster_ip = spec.cluster_ip.as_deref().and_then(|ip| ip.parse().ok());
        let external = spec.external_ips.iter().flatten();
        let lb = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|l| l.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.as_ref());
        for ip in cluster_ip.into_iter().chain(
            external
                .chain(lb)
                .filter_map(|ip| ip.parse::<Ipv4Addr>().ok()),
        ) {
            if !addresses.contains(&ip) {
                addresses.push(ip);
            }
        }
        let per_service = found.get(&(ns.clone(), name.clone()));
        for sp in spec.ports.iter().flatten() {
            let Ok(port) = u16::try_from(sp.port) else {
                continue;
            };
            let Ok(protocol) = sp.protocol.as_deref().unwrap_or("TCP").parse::<Protocol>() else {
                continue;
            };
            let node_port = sp
                .node_port
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n > 0);
            if addresses.is_empty() && node_port.is_none() {
                continue;
            }
            let port_name = sp.name.clone().unwrap_or_default();
            let endpoints = per_service
                .and_then(|m| m.get(&(port_name.clone(), protocol)))
                .map(|f| {
                    if f.ready.is_empty() {
                        f.terminating.iter().copied().collect()
                    } else {
                        f.ready.iter().copied().collect()
                    }
                })
                .unwrap_or_default();
            out.push(ProxiedPort {
                namespace: ns.clone(),
                service: name.clone(),
                port_name,
                protocol,
                port,
                addresses: addresses.clone(),
                node_port,
                endpoints,
            });
        }
    }
    out
}
