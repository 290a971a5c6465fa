//! Subject alternative names for the serving certificate: parsing, validation, host discovery.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use rcgen::SanType;

use super::PkiError;

/// The in-cluster names of the API server's `kubernetes` service, always in the serving cert.
pub const IN_CLUSTER_NAMES: [&str; 4] = [
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// One subject alternative name: an IP address or a (lower-case) DNS name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum San {
    /// An IP address SAN.
    Ip(IpAddr),
    /// A DNS name SAN, lower case.
    Dns(String),
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Ip(ip) => write!(f, "{ip}"),
            San::Dns(name) => f.write_str(name),
        }
    }
}

impl FromStr for San {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        // Accept bracketed IPv6 literals as people write them in URLs.
        let unbracketed = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(trimmed);
        if let Ok(ip) = IpAddr::from_str(unbracketed) {
            return Ok(San::Ip(ip));
        }
        if is_dns_name(trimmed) {
            Ok(San::Dns(trimmed.to_ascii_lowercase()))
        } else {
            Err(PkiError::InvalidSan(s.to_string()))
        }
    }
}

impl San {
    /// The rcgen form of this name.
    pub(super) fn to_rcgen(&self) -> Result<SanType, PkiError> {
        Ok(match self {
            San::Ip(ip) => SanType::IpAddress(*ip),
            San::Dns(name) => SanType::DnsName(
                name.as_str()
                    .try_into()
                    .map_err(|_| PkiError::InvalidSan(name.clone()))?,
            ),
        })
    }
}

/// Whether `s` is a plausible DNS name (labels of letters, digits, `-`, `_`; a leading `*.`
/// wildcard is allowed).
fn is_dns_name(s: &str) -> bool {
    let body = s.strip_prefix("*.").unwrap_or(s);
    let body = body.strip_suffix('.').unwrap_or(body);
    !body.is_empty()
        && s.len() <= 253
        && body.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Every name the serving certificate must carry: localhost, the loopback addresses, the host
/// name, the addresses of the host's interfaces, the in-cluster service names, and `extra`.
pub fn desired_sans(extra: &[String]) -> Result<BTreeSet<San>, PkiError> {
    let mut sans = BTreeSet::new();
    sans.insert(San::Dns("localhost".to_string()));
    sans.insert(San::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    sans.insert(San::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    for name in IN_CLUSTER_NAMES {
        sans.insert(San::Dns(name.to_string()));
    }
    if let Some(host) = host_name() {
        sans.insert(host);
    }
    for ip in host_addresses() {
        sans.insert(San::Ip(ip));
    }
    for e in extra {
        sans.insert(e.parse()?);
    }
    Ok(sans)
}

/// The host name, when it is a valid DNS name.
fn host_name() -> Option<San> {
    let name = hostname::get().ok()?;
    let name = name.to_str()?;
    match name.parse() {
        Ok(San::Dns(d)) => Some(San::Dns(d)),
        _ => None,
    }
}

/// Addresses assigned to the host's interfaces (IPv4 from `/proc/net/fib_trie`, global and
/// unique-local IPv6 from `/proc/net/if_inet6`). Link-local addresses are skipped; missing
/// files give an empty list rather than an error.
pub fn host_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    if let Ok(trie) = std::fs::read_to_string("/proc/net/fib_trie") {
        out.extend(parse_fib_trie(&trie).into_iter().map(IpAddr::V4));
    }
    if let Ok(v6) = std::fs::read_to_string("/proc/net/if_inet6") {
        out.extend(parse_if_inet6(&v6).into_iter().map(IpAddr::V6));
    }
    out.sort();
    out.dedup();
    out
}

/// Local host addresses from the kernel's FIB trie dump: an address line `|-- A.B.C.D` followed
/// by a `/32 host LOCAL` line.
pub(super) fn parse_fib_trie(text: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|-- ") {
            last = addr.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL")
            && let Some(ip) = last.take()
            && !ip.is_link_local()
            && !out.contains(&ip)
        {
            out.push(ip);
        }
    }
    out
}

/// Addresses from `/proc/net/if_inet6` (32 hex digits per line first), without link-local ones.
pub(super) fn parse_if_inet6(text: &str) -> Vec<Ipv6Addr> {
    text.lines()
        .filter_map(|line| {
            let hex = line.split_whitespace().next()?;
            let bits = u128::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 32)?;
            let ip = Ipv6Addr::from(bits);
            // fe80::/10 is link-local: only meaningful with a zone, useless in a certificate.
            ((ip.segments()[0] & 0xffc0) != 0xfe80).then_some(ip)
        })
        .collect()
}
