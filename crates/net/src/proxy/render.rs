//! The proxy's nftables rules, rendered as one `nft -f` transaction.
//!
//! Fixed objects in the node's table (all named `proxy_*`):
//! - maps `proxy_ips` (`address . protocol . port : verdict`) and `proxy_nodeports`
//!   (`protocol . port : verdict`) send a Service's traffic to its chain;
//!   `proxy_no_endpoints` and `proxy_no_endpoint_nodeports` send traffic of Services without
//!   endpoints to `proxy_reject`;
//! - `proxy_prerouting` and `proxy_output` (nat, -100) jump to `proxy_services`, so traffic
//!   from pods and from the host itself is proxied; NodePorts answer on every local address;
//! - `proxy_postrouting` (nat, 100) masquerades packets marked 0x4000 (NodePort traffic,
//!   traffic to a Service from outside the cluster CIDR, a pod reaching itself);
//! - `proxy_filter_{input,forward,output}` (filter, -1) reject new connections to Services
//!   without endpoints (ICMP port unreachable, as upstream).
//!
//! Per Service port: `svc-<hash>` picks an endpoint with `numgen random mod N` and jumps to
//! its `ep-<hash>` chain, which DNATs; `svcnp-<hash>` marks NodePort traffic first. These chains
//! are flushed and re-added each sync; chains no longer used are deleted in a second, later
//! transaction (`cleanup`), once no rule refers to them.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddrV4;

use ipnet::Ipv4Net;
use sha2::{Digest, Sha256};

use super::model::ProxiedPort;

/// The packet mark asking for masquerade.
pub const MASQ_MARK: u32 = 0x4000;

const FIXED_CHAINS: &[(&str, &str)] = &[
    ("proxy_services", ""),
    ("proxy_endpoints_check", ""),
    ("proxy_mark_masq", ""),
    ("proxy_reject", ""),
    (
        "proxy_prerouting",
        "type nat hook prerouting priority -100; policy accept;",
    ),
    (
        "proxy_output",
        "type nat hook output priority -100; policy accept;",
    ),
    (
        "proxy_postrouting",
        "type nat hook postrouting priority 100; policy accept;",
    ),
    (
        "proxy_filter_input",
        "type filter hook input priority -1; policy accept;",
    ),
    (
        "proxy_filter_forward",
        "type filter hook forward priority -1; policy accept;",
    ),
    (
        "proxy_filter_output",
        "type filter hook output priority -1; policy accept;",
    ),
];

const MAPS: &[(&str, &str)] = &[
    (
        "proxy_ips",
        "ipv4_addr . inet_proto . inet_service : verdict",
    ),
    ("proxy_nodeports", "inet_proto . inet_service : verdict"),
    (
        "proxy_no_endpoints",
        "ipv4_addr . inet_proto . inet_service : verdict",
    ),
    (
        "proxy_no_endpoint_nodeports",
        "inet_proto . inet_service : verdict",
    ),
];

/// Whether a chain name is one of the per-Service chains this module creates.
pub fn is_dynamic_chain(name: &str) -> bool {
    name.starts_with("svc-") || name.starts_with("svcnp-") || name.starts_with("ep-")
}

fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

fn port_key(p: &ProxiedPort) -> String {
    p.display_name()
}

/// Name of the chain that balances a Service port.
pub fn service_chain(p: &ProxiedPort) -> String {
    format!("svc-{}", hash(&[&port_key(p)]))
}

fn nodeport_chain(p: &ProxiedPort) -> String {
    format!("svcnp-{}", hash(&[&port_key(p)]))
}

fn endpoint_chain(p: &ProxiedPort, ep: &SocketAddrV4) -> String {
    format!("ep-{}", hash(&[&port_key(p), &ep.to_string()]))
}

/// A comment, restricted to characters nft accepts in a quoted string.
fn comment(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | ':'))
        .take(120)
        .collect()
}

/// A rendered sync: the transaction, and the per-Service chains it leaves in place.
#[derive(Debug)]
pub struct Rendered {
    pub script: String,
    pub chains: BTreeSet<String>,
}

/// The transaction that makes the proxy's rules those for `ports`. `previous` are the
/// per-Service chains currently in the table (flushed here, so that stale ones become
/// unreferenced and can be deleted by [`cleanup`]).
pub fn render(
    table: &str,
    cluster_cidr: Ipv4Net,
    ports: &[ProxiedPort],
    previous: &BTreeSet<String>,
) -> Rendered {
    let t = table;
    let mut s = String::new();
    // Create what is missing, then empty everything of ours.
    let _ = writeln!(s, "table ip {t} {{");
    for (name, ty) in MAPS {
        let _ = writeln!(s, "\tmap {name} {{\n\t\ttype {ty};\n\t}}");
    }
    for (name, hook) in FIXED_CHAINS {
        let _ = writeln!(s, "\tchain {name} {{\n\t\t{hook}\n\t}}");
    }
    let _ = writeln!(s, "}}");
    for (name, _) in MAPS {
        let _ = writeln!(s, "flush map ip {t} {name}");
    }
    for (name, _) in FIXED_CHAINS {
        let _ = writeln!(s, "flush chain ip {t} {name}");
    }
    for name in previous {
        let _ = writeln!(s, "flush chain ip {t} {name}");
    }
    let cidr = cluster_cidr.trunc();
    let m = MASQ_MARK;
    let _ = write!(
        s,
        "table ip {t} {{\n\
         \tchain proxy_mark_masq {{\n\t\tmeta mark set meta mark | {m:#x}\n\t}}\n\
         \tchain proxy_reject {{\n\t\treject\n\t}}\n\
         \tchain proxy_services {{\n\
         \t\tip daddr . meta l4proto . th dport vmap @proxy_ips\n\
         \t\tfib daddr type local meta l4proto . th dport vmap @proxy_nodeports\n\
         \t}}\n\
         \tchain proxy_endpoints_check {{\n\
         \t\tip daddr . meta l4proto . th dport vmap @proxy_no_endpoints\n\
         \t\tfib daddr type local meta l4proto . th dport vmap @proxy_no_endpoint_nodeports\n\
         \t}}\n\
         \tchain proxy_prerouting {{\n\t\ttype nat hook prerouting priority -100; policy accept;\n\t\tjump proxy_services\n\t}}\n\
         \tchain proxy_output {{\n\t\ttype nat hook output priority -100; policy accept;\n\t\tjump proxy_services\n\t}}\n\
         \tchain proxy_postrouting {{\n\t\ttype nat hook postrouting priority 100; policy accept;\n\
         \t\tmeta mark & {m:#x} == {m:#x} meta mark set meta mark & {nm:#x} masquerade\n\t}}\n",
        nm = !m
    );
    for hook in ["input", "forward", "output"] {
        let _ = writeln!(
            s,
            "\tchain proxy_filter_{hook} {{\n\t\ttype filter hook {hook} priority -1; policy accept;\n\
             \t\tct state new jump proxy_endpoints_check\n\t}}"
        );
    }
    let mut chains = BTreeSet::new();
    let mut ips = Vec::new();
    let mut nodeports = Vec::new();
    let mut no_ips = Vec::new();
    let mut no_nodeports = Vec::new();
    for p in ports {
        let proto = p.protocol.nft_name();
        let name = comment(&p.display_name());
        if p.endpoints.is_empty() {
            for a in &p.addresses {
                no_ips.push(format!("{a} . {proto} . {} : goto proxy_reject", p.port));
            }
            if let Some(np) = p.node_port {
                no_nodeports.push(format!("{proto} . {np} : goto proxy_reject"));
            }
            continue;
        }
        let svc = service_chain(p);
        let mut arms = Vec::new();
        for (i, ep) in p.endpoints.iter().enumerate() {
            let ep_chain = endpoint_chain(p, ep);
            let _ = writeln!(
                s,
                "\tchain {ep_chain} {{\n\
                 \t\tip saddr {ip} jump proxy_mark_masq comment \"hairpin\"\n\
                 \t\tmeta l4proto {proto} dnat to {ep} comment \"{name}\"\n\t}}",
                ip = ep.ip()
            );
            arms.push(format!("{i} : goto {ep_chain}"));
            chains.insert(ep_chain);
        }
        let _ = writeln!(
            s,
            "\tchain {svc} {{\n\
             \t\tip saddr != {cidr} jump proxy_mark_masq comment \"from outside the cluster\"\n\
             \t\tnumgen random mod {n} vmap {{ {arms} }} comment \"{name}\"\n\t}}",
            n = p.endpoints.len(),
            arms = arms.join(", ")
        );
        chains.insert(svc.clone());
        for a in &p.addresses {
            ips.push(format!("{a} . {proto} . {} : goto {svc}", p.port));
        }
        if let Some(np) = p.node_port {
            let npc = nodeport_chain(p);
            let _ = writeln!(
                s,
                "\tchain {npc} {{\n\t\tjump proxy_mark_masq\n\t\tgoto {svc}\n\t}}"
            );
            nodeports.push(format!("{proto} . {np} : goto {npc}"));
            chains.insert(npc);
        }
    }
    let _ = writeln!(s, "}}");
    for (map, elems) in [
        ("proxy_ips", ips),
        ("proxy_nodeports", nodeports),
        ("proxy_no_endpoints", no_ips),
        ("proxy_no_endpoint_nodeports", no_nodeports),
    ] {
        let mut elems = elems;
        elems.sort();
        // Two Services cannot share an address and port (the API refuses it), but a clash in
        // the input must not make the whole transaction fail: first one wins.
        let mut seen = BTreeSet::new();
        elems.retain(|e| seen.insert(e.split(" : ").next().unwrap_or_default().to_string()));
        if !elems.is_empty() {
            let _ = writeln!(s, "add element ip {t} {map} {{ {} }}", elems.join(", "));
        }
    }
    Rendered { script: s, chains }
}

/// The transaction deleting per-Service chains that the last sync left unused (`stale`,
/// already flushed and unreferenced).
pub fn cleanup(table: &str, stale: &BTreeSet<String>) -> Option<String> {
    if stale.is_empty() {
        return None;
    }
    let mut s = String::new();
    for c in stale {
        let _ = writeln!(s, "delete chain ip {table} {c}");
    }
    Some(s)
}
