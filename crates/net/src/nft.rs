//! The NAT rules of the pod network, in an nftables table of our own: its chains are always rewritten whole and atomically (`nft -f`), so they are a pure function of the config and the pods' hostPorts. The service proxy keeps its own chains in the same table (`proxy/`); each rewrites only its own, and deleting the table removes both.
//!
//! The pod network's chains in `table ip <name>`:
//! - `hostports`: one DNAT rule per published port, `[ip daddr H] tcp dport P dnat to POD:C`;
//! - `prerouting` (nat, -100) and `output` (nat, -100): jump to `hostports` for traffic to any
//!   local address, so hostPorts answer from outside, from the host's own addresses and from
//!   127.0.0.1 (the bridge has `route_localnet` so the loopback source may leave through it);
//! - `postrouting` (nat, 100): masquerade the loopback source of DNATed local traffic, hairpin
//!   traffic (a pod reaching a hostPort that lands on a pod), and pod traffic leaving the
//!   cluster and service CIDRs;
//! - `input` (filter, 0): drop new connections from the bridge to 127.0.0.0/8. `route_localnet`
//!   would otherwise let a pod craft packets to services the host binds on loopback; replies of
//!   DNATed localhost hostPort traffic are established and pass.

use std::net::Ipv4Addr;
use std::process::Stdio;

use ipnet::Ipv4Net;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::error::{Error, Result};
use crate::types::{HostPort, NetConfig, PodKey};

/// The hostPorts of one pod, as the ruleset needs them.
#[derive(Clone, Copy, Debug)]
pub struct PodPorts<'a> {
    pub pod: &'a PodKey,
    pub ip: Ipv4Addr,
    pub host_ports: &'a [HostPort],
}

/// The `nft -f` script that replaces the pod network's chains with the rules for `pods`, in one
/// transaction (creating the table and chains when missing, leaving other chains alone).
pub fn render(config: &NetConfig, pods: &[PodPorts<'_>]) -> String {
    let t = &config.nft_table;
    let br = &config.bridge;
    let pod_cidr = config.pod_cidr.trunc();
    let mut hostports = String::new();
    for p in pods {
        for hp in p.host_ports {
            hostports.push_str("\t\t");
            if let Some(ip) = hp.bound_ip() {
                hostports.push_str(&format!("ip daddr {ip} "));
            }
            hostports.push_str(&format!(
                "{proto} dport {hport} dnat to {pod}:{cport} comment \"{comment}\"\n",
                proto = hp.protocol.nft_name(),
                hport = hp.host_port,
                pod = p.ip,
                cport = hp.container_port,
                comment = comment_for(p.pod),
            ));
        }
    }
    let no_masq = disjoint_cover(&[config.cluster_cidr, config.service_cidr])
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "table ip {t} {{\n\
         \tchain hostports {{\n\t}}\n\
         \tchain prerouting {{\n\t\ttype nat hook prerouting priority -100; policy accept;\n\t}}\n\
         \tchain output {{\n\t\ttype nat hook output priority -100; policy accept;\n\t}}\n\
         \tchain postrouting {{\n\t\ttype nat hook postrouting priority 100; policy accept;\n\t}}\n\
         \tchain input {{\n\t\ttype filter hook input priority 0; policy accept;\n\t}}\n\
         }}\n\
         flush chain ip {t} hostports\n\
         flush chain ip {t} prerouting\n\
         flush chain ip {t} output\n\
         flush chain ip {t} postrouting\n\
         flush chain ip {t} input\n\
         table ip {t} {{\n\
         \tchain hostports {{\n\
         {hostports}\
         \t}}\n\
         \tchain prerouting {{\n\
         \t\ttype nat hook prerouting priority -100; policy accept;\n\
         \t\tfib daddr type local jump hostports\n\
         \t}}\n\
         \tchain output {{\n\
         \t\ttype nat hook output priority -100; policy accept;\n\
         \t\tfib daddr type local jump hostports\n\
         \t}}\n\
         \tchain postrouting {{\n\
         \t\ttype nat hook postrouting priority 100; policy accept;\n\
         \t\tct status dnat ip saddr 127.0.0.0/8 oifname \"{br}\" masquerade comment \"localhost to hostPort\"\n\
         \t\tct status dnat ip saddr {pod_cidr} oifname \"{br}\" masquerade comment \"hairpin to hostPort\"\n\
         \t\tip saddr {pod_cidr} ip daddr != {{ {no_masq} }} masquerade comment \"pods leaving the cluster\"\n\
         \t}}\n\
         \tchain input {{\n\
         \t\ttype filter hook input priority 0; policy accept;\n\
         \t\tiifname \"{br}\" ip daddr 127.0.0.0/8 ct state != {{ established, related }} counter drop comment \"no loopback from pods\"\n\
         \t}}\n\
         }}\n"
    )
}

/// A comment naming the pod, restricted to characters nft accepts in a quoted string.
fn comment_for(pod: &PodKey) -> String {
    let raw = format!("{}/{}", pod.namespace, pod.name);
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
        .take(120)
        .collect()
}

/// The smallest list of the given networks with no overlaps (nft refuses overlapping
/// intervals in an anonymous set).
fn disjoint_cover(nets: &[Ipv4Net]) -> Vec<Ipv4Net> {
    let mut out: Vec<Ipv4Net> = Vec::new();
    for n in nets.iter().map(Ipv4Net::trunc) {
        if out.iter().any(|o| o.contains(&n)) {
            continue;
        }
        out.retain(|o| !n.contains(o));
        out.push(n);
    }
    out.sort();
    out
}

/// Runs an `nft -f -` script.
pub async fn apply(script: &str) -> Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            Error::Nft(format!(
                "cannot run nft (is the nftables package installed?): {e}"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .await
            .map_err(|e| Error::Nft(format!("writing the ruleset to nft: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| Error::Nft(format!("waiting for nft: {e}")))?;
    if !out.status.success() {
        return Err(Error::Nft(format!(
            "{}\nruleset was:\n{script}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Deletes our table if it exists.
pub async fn delete_table(table: &str) -> Result<()> {
    apply(&format!("table ip {table}\ndelete table ip {table}\n")).await
}

/// `nft -j list table ip <table>`, or `None` if there is no such table.
pub async fn list_table(table: &str) -> Result<Option<serde_json::Value>> {
    let out = Command::new("nft")
        .args(["-j", "list", "table", "ip", table])
        .output()
        .await
        .map_err(|e| Error::Nft(format!("cannot run nft: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No such file or directory") {
            return Ok(None);
        }
        return Err(Error::Nft(stderr.trim().to_string()));
    }
    serde_json::from_slice(&out.stdout)
        .map(Some)
        .map_err(|e| Error::Nft(format!("unreadable JSON from nft: {e}")))
}

#[cfg(test)]
mod tests;
