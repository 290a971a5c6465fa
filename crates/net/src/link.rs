//! Netlink operations on links, addresses and routes, in whatever namespace the given handle's socket lives in.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::RawFd;

use futures::TryStreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::{Handle, LinkBridge, LinkBridgePort, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::error::{Error, Result};

/// The errno a netlink error carries (positive), if it is one.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(m.raw_code().abs()),
        _ => None,
    }
}

fn nl(op: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> Error {
    let op = op.into();
    move |e| Error::Netlink {
        op,
        message: match &e {
            rtnetlink::Error::NetlinkError(m) => m.to_io().to_string(),
            other => other.to_string(),
        },
    }
}

/// A link as we care about it.
#[derive(Debug, Clone)]
pub struct Link {
    pub index: u32,
    pub kind: Option<InfoKind>,
    pub controller: Option<u32>,
}

impl From<LinkMessage> for Link {
    fn from(m: LinkMessage) -> Self {
        let mut link = Link {
            index: m.header.index,
            kind: None,
            controller: None,
        };
        for attr in m.attributes {
            match attr {
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Kind(k) = info {
                            link.kind = Some(k);
                        }
                    }
                }
                LinkAttribute::Controller(c) => link.controller = Some(c),
                _ => {}
            }
        }
        link
    }
}

/// The link named `name`, if there is one.
pub async fn find(handle: &Handle, name: &str) -> Result<Option<Link>> {
    let mut stream = handle.link().get().match_name(name.to_string()).execute();
    match stream.try_next().await {
        Ok(m) => Ok(m.map(Link::from)),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(nl(format!("get link {name}"))(e)),
    }
}

/// Creates the bridge unless it exists (refusing a non-bridge of that name), sets its MTU,
/// MAC, bridge-netfilter and brings it up; returns its index.
pub async fn ensure_bridge(handle: &Handle, name: &str, mtu: u32, mac: [u8; 6]) -> Result<u32> {
    match find(handle, name).await? {
        Some(l) if l.kind != Some(InfoKind::Bridge) => {
            return Err(Error::Interface {
                name: name.into(),
                message: format!("exists but is a {:?}, not a bridge", l.kind),
            });
        }
        Some(_) => {}
        None => {
            let msg = LinkBridge::new(name)
                .mtu(mtu)
                .address(mac.to_vec())
                .nf_call_iptables(true)
                .build();
            match handle.link().add(msg).execute().await {
                Ok(()) => {}
                Err(e) if errno(&e) == Some(libc::EEXIST) => {}
                Err(e) => return Err(nl(format!("create bridge {name}"))(e)),
            }
        }
    }
    let link = find(handle, name).await?.ok_or_else(|| Error::Interface {
        name: name.into(),
        message: "vanished right after creation".into(),
    })?;
    // Bridged pod-to-pod traffic goes through the IPv4 netfilter hooks of this bridge only (the
    // host-wide bridge-nf-call-iptables setting is left alone).
    handle
        .link()
        .change(LinkBridge::new(name).nf_call_iptables(true).build())
        .execute()
        .await
        .map_err(nl(format!("set nf_call_iptables on {name}")))?;
    handle
        .link()
        .set(LinkUnspec::new_with_index(link.index).mtu(mtu).up().build())
        .execute()
        .await
        .map_err(nl(format!("bring up {name}")))?;
    Ok(link.index)
}

/// Adds `ip/prefix` to the link unless it is there.
pub async fn ensure_addr(handle: &Handle, index: u32, ip: Ipv4Addr, prefix: u8) -> Result<()> {
    match handle
        .address()
        .add(index, IpAddr::V4(ip), prefix)
        .execute()
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
        Err(e) => Err(nl(format!("add address {ip}/{prefix}"))(e)),
    }
}

/// Whether the link carries `ip`.
pub async fn has_addr(handle: &Handle, index: u32, ip: Ipv4Addr) -> Result<bool> {
    let mut stream = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    while let Some(m) = stream.try_next().await.map_err(nl("list addresses"))? {
        if m.header.index != index {
            continue;
        }
        let found = m.attributes.iter().any(|a| {
            matches!(a, AddressAttribute::Address(IpAddr::V4(a)) | AddressAttribute::Local(IpAddr::V4(a)) if *a == ip)
        });
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Creates a veth pair `host` <-> `peer`, both with `mtu`, both down.
pub async fn create_veth(handle: &Handle, host: &str, peer: &str, mtu: u32) -> Result<()> {
    handle
        .link()
        .add(LinkVeth::new(host, peer).mtu(mtu).build())
        .execute()
        .await
        .map_err(nl(format!("create veth {host}/{peer}")))?;
    // The peer takes the MTU of the builder only for the first end; set it on the peer too.
    if let Some(p) = find(handle, peer).await? {
        handle
            .link()
            .set(LinkUnspec::new_with_index(p.index).mtu(mtu).build())
            .execute()
            .await
            .map_err(nl(format!("set MTU of {peer}")))?;
    }
    Ok(())
}

/// Enslaves the link to the bridge, turns on hairpin mode (so a pod can reach itself through
/// a hostPort) and brings it up.
pub async fn attach_to_bridge(handle: &Handle, index: u32, bridge: u32, name: &str) -> Result<()> {
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).controller(bridge).build())
        .execute()
        .await
        .map_err(nl(format!("attach {name} to the bridge")))?;
    handle
        .link()
        .set_port(LinkBridgePort::new(index).hairpin(true).build())
        .execute()
        .await
        .map_err(nl(format!("hairpin mode on {name}")))?;
    set_up(handle, index, name).await
}

/// Brings a link up.
pub async fn set_up(handle: &Handle, index: u32, name: &str) -> Result<()> {
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(nl(format!("bring up {name}")))
}

/// Moves a link into the network namespace open as `fd`.
pub async fn move_to_netns(handle: &Handle, index: u32, fd: RawFd, name: &str) -> Result<()> {
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).setns_by_fd(fd).build())
        .execute()
        .await
        .map_err(nl(format!("move {name} into the pod's network namespace")))
}

/// Renames a (down) link.
pub async fn rename(handle: &Handle, index: u32, to: &str) -> Result<()> {
    handle
        .link()
        .set(
            LinkUnspec::new_with_index(index)
                .name(to.to_string())
                .build(),
        )
        .execute()
        .await
        .map_err(nl(format!("rename link {index} to {to}")))
}

/// Deletes the link named `name`; returns whether there was one.
pub async fn delete(handle: &Handle, name: &str) -> Result<bool> {
    let Some(link) = find(handle, name).await? else {
        return Ok(false);
    };
    match handle.link().del(link.index).execute().await {
        Ok(()) => Ok(true),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(false),
        Err(e) => Err(nl(format!("delete link {name}"))(e)),
    }
}

/// Sets (or replaces) the default route via `gateway`.
pub async fn replace_default_route(handle: &Handle, gateway: Ipv4Addr) -> Result<()> {
    let route = RouteMessageBuilder::<Ipv4Addr>::new()
        .gateway(gateway)
        .build();
    handle
        .route()
        .add(route)
        .replace()
        .execute()
        .await
        .map_err(nl(format!("default route via {gateway}")))
}
