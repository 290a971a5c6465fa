//! Skiff's pod network on a node: a Linux bridge, one veth pair per pod, host-local IPAM, hostPort DNAT and masquerade in an nftables table of our own, the service proxy (ClusterIP and NodePort rules in the same table); plus the server-side node podCIDR allocator.
//!
//! Everything here touches the real kernel and needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN for
//! setns). The pure parts (IPAM bookkeeping, ruleset rendering, CIDR allocation) are unit-tested
//! without root.

mod error;
mod hostports;
pub mod ipam;
pub mod ipam_controller;
mod link;
mod netns;
mod network;
pub mod nft;
pub mod proxy;
mod sysctl;
mod types;

pub use error::{Error, Result};
pub use network::PodNetwork;
pub use types::{HostPort, NetConfig, PodIp, PodKey, Protocol};

/// Re-exported so callers name CIDRs with the same type as the API.
pub use ipnet::Ipv4Net;
