//! The error type of the pod network.

use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Why a pod network operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot describe a working network.
    #[error("invalid network configuration: {0}")]
    InvalidConfig(String),
    /// A hostPort request is malformed or impossible.
    #[error("invalid hostPort: {0}")]
    InvalidHostPort(String),
    /// Another pod already publishes this host port.
    #[error("host port {host_ip}:{host_port}/{protocol} is already published by pod {owner}")]
    HostPortConflict {
        host_ip: String,
        host_port: u16,
        protocol: String,
        owner: String,
    },
    /// Every address of the pod CIDR is taken.
    #[error("no free address left in {0}")]
    Exhausted(ipnet::Ipv4Net),
    /// A state file could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A netlink request was refused by the kernel.
    #[error("netlink: {op}: {message}")]
    Netlink { op: String, message: String },
    /// A network namespace could not be entered.
    #[error("network namespace {path}: {message}")]
    Netns { path: PathBuf, message: String },
    /// An existing interface is not what we expect (e.g. a non-bridge named like our bridge).
    #[error("interface {name}: {message}")]
    Interface { name: String, message: String },
    /// `nft` failed.
    #[error("nft: {0}")]
    Nft(String),
    /// The address in an IPAM record lies outside the pod CIDR.
    #[error("address {0} is outside the pod CIDR")]
    OutOfRange(Ipv4Addr),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Result of pod network operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
