//! The values exchanged with the node agent: configuration, pod identity, hostPorts, addresses.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::str::FromStr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the pod network of one node is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetConfig {
    /// Name of the Linux bridge the pods hang off (at most 15 bytes), e.g. `skiff0`.
    pub bridge: String,
    /// This node's pod CIDR (its `spec.podCIDR`), e.g. `10.42.0.0/24`. The bridge gets its first
    /// host address, which is every pod's default gateway.
    pub pod_cidr: Ipv4Net,
    /// The CIDR all pods of the cluster live in, e.g. `10.42.0.0/16`; traffic from pods to it
    /// is not masqueraded.
    pub cluster_cidr: Ipv4Net,
    /// The service CIDR, e.g. `10.43.0.0/16`; traffic from pods to it is not masqueraded either.
    pub service_cidr: Ipv4Net,
    /// Where IPAM records live (one file per address).
    pub state_dir: PathBuf,
    /// MTU of the bridge and of both ends of every veth pair.
    pub mtu: u32,
    /// Name of the nftables table (family `ip`) holding our NAT rules, e.g. `skiff`.
    pub nft_table: String,
    /// Turn on `net.ipv4.ip_forward` host-wide (what a node needs so pods reach the outside
    /// world and outside clients reach hostPorts). When false only forwarding on the bridge
    /// itself is turned on, which leaves host-wide settings alone (tests use that).
    pub enable_ip_forward: bool,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            bridge: "skiff0".into(),
            pod_cidr: Ipv4Net::new(Ipv4Addr::new(10, 42, 0, 0), 24).unwrap_or_default(),
            cluster_cidr: Ipv4Net::new(Ipv4Addr::new(10, 42, 0, 0), 16).unwrap_or_default(),
            service_cidr: Ipv4Net::new(Ipv4Addr::new(10, 43, 0, 0), 16).unwrap_or_default(),
            state_dir: PathBuf::from("/var/lib/skiff/net"),
            mtu: 1500,
            nft_table: "skiff".into(),
            enable_ip_forward: true,
        }
    }
}

impl NetConfig {
    /// Refuse configurations that cannot work, with a message naming the culprit.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if self.bridge.is_empty()
            || self.bridge.len() > 15
            || self
                .bridge
                .chars()
                .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
        {
            return bad(format!(
                "bridge name {:?} must be 1-15 bytes without '/', ':' or spaces",
                self.bridge
            ));
        }
        if self.nft_table.is_empty()
            || self.nft_table.len() > 64
            || !self
                .nft_table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            || !self
                .nft_table
                .starts_with(|c: char| c.is_ascii_alphabetic())
        {
            return bad(format!(
                "nftables table name {:?} must start with a letter and hold only letters, digits, '_' and '-'",
                self.nft_table
            ));
        }
        if self.pod_cidr.prefix_len() > 30 {
            return bad(format!(
                "pod CIDR {} is too small: it needs room for a gateway and a pod (at most /30)",
                self.pod_cidr
            ));
        }
        if self.pod_cidr != self.pod_cidr.trunc() {
            return bad(format!(
                "pod CIDR {} has host bits set (did you mean {}?)",
                self.pod_cidr,
                self.pod_cidr.trunc()
            ));
        }
        if !self.cluster_cidr.contains(&self.pod_cidr) {
            return bad(format!(
                "pod CIDR {} is not inside the cluster CIDR {}",
                self.pod_cidr, self.cluster_cidr
            ));
        }
        if !(68..=65535).contains(&self.mtu) {
            return bad(format!("MTU {} is outside 68..=65535", self.mtu));
        }
        if self.state_dir.as_os_str().is_empty() {
            return bad("state_dir is empty".into());
        }
        Ok(())
    }

    /// The bridge's address and every pod's default gateway: the first host of the pod CIDR.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.pod_cidr.network()).wrapping_add(1))
    }
}

/// Which pod a network belongs to. The `uid` tells apart two pods that reuse a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PodKey {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl PodKey {
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        uid: impl Into<String>,
    ) -> Self {
        PodKey {
            namespace: namespace.into(),
            name: name.into(),
            uid: uid.into(),
        }
    }
}

impl fmt::Display for PodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} ({})", self.namespace, self.name, self.uid)
    }
}

/// Transport protocol of a hostPort, spelled as in the Kubernetes API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// The nftables keyword of the protocol.
    pub fn nft_name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        })
    }
}

impl FromStr for Protocol {
    type Err = Error;
    /// Parses the Kubernetes spelling; an empty string is TCP, the API default.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "TCP" => Ok(Protocol::Tcp),
            "UDP" => Ok(Protocol::Udp),
            "SCTP" => Ok(Protocol::Sctp),
            other => Err(Error::InvalidHostPort(format!(
                "unsupported protocol {other:?}: supported values: \"TCP\", \"UDP\", \"SCTP\""
            ))),
        }
    }
}

/// One container port published on the node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostPort {
    pub container_port: u16,
    pub host_port: u16,
    pub protocol: Protocol,
    /// Only this host address; `None` (or 0.0.0.0) means every address of the host.
    pub host_ip: Option<Ipv4Addr>,
}

impl HostPort {
    pub fn tcp(host_port: u16, container_port: u16) -> Self {
        HostPort {
            container_port,
            host_port,
            protocol: Protocol::Tcp,
            host_ip: None,
        }
    }

    /// The hostPort of a container port from the API, or `None` when it publishes nothing.
    pub fn from_container_port(
        port: &k8s_openapi::api::core::v1::ContainerPort,
    ) -> Result<Option<Self>> {
        let Some(host_port) = port.host_port.filter(|p| *p != 0) else {
            return Ok(None);
        };
        let to_u16 = |v: i32, what: &str| {
            u16::try_from(v)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| Error::InvalidHostPort(format!("{what} {v} is outside 1-65535")))
        };
        let host_ip = match port.host_ip.as_deref().unwrap_or("") {
            "" => None,
            s => match s.parse::<IpAddr>() {
                Ok(IpAddr::V4(ip)) if ip.is_unspecified() => None,
                Ok(IpAddr::V4(ip)) => Some(ip),
                Ok(IpAddr::V6(ip)) if ip.is_unspecified() => None,
                Ok(IpAddr::V6(_)) => {
                    return Err(Error::InvalidHostPort(format!(
                        "hostIP {s}: the pod network is IPv4 only"
                    )));
                }
                Err(_) => {
                    return Err(Error::InvalidHostPort(format!(
                        "hostIP {s:?} is not an IP address"
                    )));
                }
            },
        };
        Ok(Some(HostPort {
            container_port: to_u16(port.container_port, "containerPort")?,
            host_port: to_u16(host_port, "hostPort")?,
            protocol: port.protocol.as_deref().unwrap_or("").parse()?,
            host_ip,
        }))
    }

    /// The address the port is published on, normalising 0.0.0.0 to `None`.
    pub(crate) fn bound_ip(&self) -> Option<Ipv4Addr> {
        self.host_ip.filter(|ip| !ip.is_unspecified())
    }
}

/// The address a pod got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PodIp {
    pub ip: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub prefix: u8,
}

#[cfg(test)]
mod tests;
