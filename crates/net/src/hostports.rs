//! Validation of hostPort requests: well-formed, no duplicates within a pod, no clash with ports other pods already publish.

use crate::error::{Error, Result};
use crate::types::{HostPort, PodKey};

/// Whether two published ports would catch the same packets.
fn overlaps(a: &HostPort, b: &HostPort) -> bool {
    a.protocol == b.protocol
        && a.host_port == b.host_port
        && match (a.bound_ip(), b.bound_ip()) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

fn conflict(hp: &HostPort, owner: String) -> Error {
    Error::HostPortConflict {
        host_ip: hp
            .bound_ip()
            .map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string()),
        host_port: hp.host_port,
        protocol: hp.protocol.to_string(),
        owner,
    }
}

/// Checks `ports` of `pod` against themselves and against what `others` publish.
pub fn check<'a>(
    pod: &PodKey,
    ports: &[HostPort],
    others: impl IntoIterator<Item = (&'a PodKey, &'a [HostPort])>,
) -> Result<()> {
    for (i, hp) in ports.iter().enumerate() {
        if hp.host_port == 0 {
            return Err(Error::InvalidHostPort("hostPort 0 is not a port".into()));
        }
        if hp.container_port == 0 {
            return Err(Error::InvalidHostPort(format!(
                "hostPort {}: containerPort 0 is not a port",
                hp.host_port
            )));
        }
        if let Some(dup) = ports[..i].iter().find(|o| overlaps(o, hp)) {
            // The same mapping listed twice is harmless; two targets for one port are not.
            if dup.container_port != hp.container_port {
                return Err(conflict(hp, pod.to_string()));
            }
        }
    }
    for (other, their) in others {
        if other == pod {
            continue;
        }
        if let Some(hp) = ports
            .iter()
            .find(|hp| their.iter().any(|t| overlaps(t, hp)))
        {
            return Err(conflict(hp, other.to_string()));
        }
    }
    Ok(())
}

/// `ports` without exact duplicates, order kept.
pub fn dedup(ports: &[HostPort]) -> Vec<HostPort> {
    let mut out: Vec<HostPort> = Vec::with_capacity(ports.len());
    for hp in ports {
        let mut hp = hp.clone();
        hp.host_ip = hp.bound_ip();
        if !out.contains(&hp) {
            out.push(hp);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::types::Protocol;

    fn key(n: &str) -> PodKey {
        PodKey::new("default", n, format!("uid-{n}"))
    }

    #[test]
    fn same_port_on_two_pods_conflicts_and_names_the_owner() {
        let a = key("a");
        let theirs = [HostPort::tcp(80, 80)];
        let err = check(&key("b"), &[HostPort::tcp(80, 8080)], [(&a, &theirs[..])])
            .expect_err("conflict");
        let msg = err.to_string();
        assert!(
            msg.contains("0.0.0.0:80/TCP") && msg.contains("default/a"),
            "{msg}"
        );
    }

    #[test]
    fn different_protocol_or_distinct_host_ips_do_not_conflict() {
        let a = key("a");
        let mut udp = HostPort::tcp(53, 53);
        udp.protocol = Protocol::Udp;
        let mut on_one_ip = HostPort::tcp(80, 80);
        on_one_ip.host_ip = Some(Ipv4Addr::new(192, 0, 2, 2));
        let theirs = [udp, on_one_ip];
        let mut tcp53 = HostPort::tcp(53, 53);
        tcp53.host_ip = None;
        let mut other_ip = HostPort::tcp(80, 80);
        other_ip.host_ip = Some(Ipv4Addr::new(192, 0, 2, 3));
        check(&key("b"), &[tcp53, other_ip], [(&a, &theirs[..])]).expect("no conflict");
        // A wildcard port overlaps a port bound to one address.
        let err = check(&key("b"), &[HostPort::tcp(80, 80)], [(&a, &theirs[..])]);
        assert!(matches!(err, Err(Error::HostPortConflict { .. })));
    }

    #[test]
    fn zero_ports_and_double_targets_within_a_pod_are_refused() {
        let p = key("p");
        let none: [(&PodKey, &[HostPort]); 0] = [];
        assert!(check(&p, &[HostPort::tcp(0, 80)], none).is_err());
        assert!(check(&p, &[HostPort::tcp(80, 0)], none).is_err());
        assert!(check(&p, &[HostPort::tcp(80, 80), HostPort::tcp(80, 81)], none).is_err());
        check(&p, &[HostPort::tcp(80, 80), HostPort::tcp(80, 80)], none)
            .expect("same mapping twice");
    }

    #[test]
    fn a_pods_own_previous_ports_never_conflict() {
        let p = key("p");
        let mine = [HostPort::tcp(80, 80)];
        check(&p, &[HostPort::tcp(80, 80)], [(&p, &mine[..])]).expect("own ports");
    }

    #[test]
    fn dedup_drops_exact_repeats_and_normalises_wildcards() {
        let mut wild = HostPort::tcp(80, 80);
        wild.host_ip = Some(Ipv4Addr::UNSPECIFIED);
        let out = dedup(&[HostPort::tcp(80, 80), wild, HostPort::tcp(81, 81)]);
        assert_eq!(out, vec![HostPort::tcp(80, 80), HostPort::tcp(81, 81)]);
    }
}
