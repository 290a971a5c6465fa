//! `PodNetwork`: the bridge, one veth pair per pod, addresses from host-local IPAM and the nftables NAT rules, kept in step.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::ipam::{Ipam, Record};
use crate::netns::{self, PodSide};
use crate::nft::{self, PodPorts};
use crate::types::{HostPort, NetConfig, PodIp, PodKey};
use crate::{hostports, link, sysctl};

#[derive(Clone, Debug)]
struct Entry {
    ip: Ipv4Addr,
    host_ports: Vec<HostPort>,
}

/// The pod network of this node. Cheap to share behind an `Arc`; every mutation is serialised.
pub struct PodNetwork {
    config: NetConfig,
    gateway: Ipv4Addr,
    ipam: Ipam,
    handle: rtnetlink::Handle,
    conn: JoinHandle<()>,
    pods: Mutex<BTreeMap<PodKey, Entry>>,
    /// Reservation files whose owner could not be read; released by `gc`.
    unreadable: Mutex<Vec<Ipv4Addr>>,
    op: tokio::sync::Mutex<()>,
}

impl Drop for PodNetwork {
    fn drop(&mut self) {
        self.conn.abort();
    }
}

impl std::fmt::Debug for PodNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodNetwork")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Name of the host end of a pod's veth pair: stable for the pod on this bridge, 15 bytes.
pub fn host_veth_name(bridge: &str, pod: &PodKey) -> String {
    format!("veth{}", &pod_hash(bridge, pod)[..11])
}

/// Name the pod end has in the host namespace before it moves into the pod and becomes eth0.
fn peer_tmp_name(bridge: &str, pod: &PodKey) -> String {
    format!("tmp{}", &pod_hash(bridge, pod)[..11])
}

fn pod_hash(bridge: &str, pod: &PodKey) -> String {
    let mut h = Sha256::new();
    for part in [bridge, &pod.namespace, &pod.name, &pod.uid] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// A stable, locally administered unicast MAC for the bridge, so it does not change as ports
/// come and go (the kernel would otherwise take the lowest port MAC and break pods' ARP).
fn bridge_mac(bridge: &str) -> [u8; 6] {
    let d = Sha256::digest(bridge.as_bytes());
    [0x02 | (d[0] & 0xfc), d[1], d[2], d[3], d[4], d[5]]
}

impl PodNetwork {
    /// Sets up the node side: the bridge with the gateway address, forwarding on the bridge
    /// (and host-wide if configured), `route_localnet` on the bridge for hostPorts on
    /// 127.0.0.1, bridge netfilter, and the NAT table; reloads IPAM records from `state_dir`.
    pub async fn new(config: NetConfig) -> Result<Self> {
        config.validate()?;
        let ipam = Ipam::open(&config.state_dir.join("ipam"), config.pod_cidr)?;
        let loaded = ipam.load()?;
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| Error::Netlink {
            op: "open a netlink socket".into(),
            message: e.to_string(),
        })?;
        let conn = tokio::spawn(conn);
        let pods = loaded
            .records
            .into_iter()
            .map(|(ip, rec)| {
                (
                    rec.pod,
                    Entry {
                        ip,
                        host_ports: rec.host_ports,
                    },
                )
            })
            .collect();
        let net = PodNetwork {
            gateway: config.gateway(),
            config,
            ipam,
            handle,
            conn,
            pods: Mutex::new(pods),
            unreadable: Mutex::new(loaded.unreadable),
            op: tokio::sync::Mutex::new(()),
        };
        net.ensure_bridge().await?;
        ensure_br_netfilter().await;
        if net.config.enable_ip_forward {
            sysctl::ensure("net.ipv4.ip_forward", "1")?;
        }
        net.sync_rules().await?;
        Ok(net)
    }

    /// The configuration in use.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// The bridge's address, every pod's default gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        self.gateway
    }

    /// Name of the host end of the pod's veth pair.
    pub fn host_veth_name(&self, pod: &PodKey) -> String {
        host_veth_name(&self.config.bridge, pod)
    }

    /// Gives the pod its interface and address, publishes its hostPorts. Calling it again for
    /// the same pod repairs what is missing and keeps the address.
    pub async fn setup(
        &self,
        pod: &PodKey,
        netns_path: &Path,
        host_ports: &[HostPort],
    ) -> Result<PodIp> {
        let host_ports = hostports::dedup(host_ports);
        let _op = self.op.lock().await;
        let existing = {
            let pods = self.lock_pods();
            hostports::check(
                pod,
                &host_ports,
                pods.iter().map(|(k, e)| (k, &e.host_ports[..])),
            )?;
            pods.get(pod).cloned()
        };
        let record = Record {
            pod: pod.clone(),
            host_ports: host_ports.clone(),
        };
        let ip = match &existing {
            Some(e) => e.ip,
            None => self.ipam.allocate(&record)?,
        };
        let plumbed = self.plumb(pod, netns_path, ip).await;
        if let Err(err) = plumbed {
            if existing.is_none() {
                let _ = link::delete(&self.handle, &self.host_veth_name(pod)).await;
                let _ = self.ipam.release(ip);
            }
            return Err(err);
        }
        if let Some(e) = &existing
            && e.host_ports != host_ports
        {
            self.ipam.update(ip, &record)?;
        }
        self.lock_pods().insert(
            pod.clone(),
            Entry {
                ip,
                host_ports: host_ports.clone(),
            },
        );
        if let Err(err) = self.sync_rules().await {
            if existing.is_none() {
                self.lock_pods().remove(pod);
                let _ = link::delete(&self.handle, &self.host_veth_name(pod)).await;
                let _ = self.ipam.release(ip);
            }
            return Err(err);
        }
        let before = existing.map(|e| e.host_ports).unwrap_or_default();
        flush_udp_conntrack(host_ports.iter().filter(|hp| !before.contains(hp))).await;
        Ok(self.pod_ip_of(ip))
    }

    /// Removes the pod's veth pair and hostPort rules and frees its address. Tearing down an
    /// unknown pod is not an error.
    pub async fn teardown(&self, pod: &PodKey) -> Result<()> {
        let _op = self.op.lock().await;
        self.teardown_locked(pod).await?;
        self.sync_rules().await
    }

    /// The pod's address, if it has one.
    pub fn pod_ip(&self, pod: &PodKey) -> Option<PodIp> {
        let ip = self.lock_pods().get(pod).map(|e| e.ip)?;
        Some(self.pod_ip_of(ip))
    }

    /// Every pod with an address.
    pub fn pods(&self) -> Vec<(PodKey, PodIp)> {
        let pods: Vec<(PodKey, Ipv4Addr)> = self
            .lock_pods()
            .iter()
            .map(|(k, e)| (k.clone(), e.ip))
            .collect();
        pods.into_iter()
            .map(|(k, ip)| (k, self.pod_ip_of(ip)))
            .collect()
    }

    /// Tears down every pod not in `live` (and frees addresses whose owner is unreadable);
    /// returns the pods it reclaimed.
    pub async fn gc(&self, live: &[PodKey]) -> Result<Vec<PodKey>> {
        let _op = self.op.lock().await;
        let dead: Vec<PodKey> = self
            .lock_pods()
            .keys()
            .filter(|k| !live.contains(k))
            .cloned()
            .collect();
        for pod in &dead {
            tracing::info!(%pod, "reclaiming the network of a pod that no longer exists");
            self.teardown_locked(pod).await?;
        }
        let unreadable = std::mem::take(&mut *lock(&self.unreadable));
        for ip in unreadable {
            self.ipam.release(ip)?;
        }
        self.sync_rules().await?;
        Ok(dead)
    }

    /// Removes everything this network created: every pod's veth, the bridge, the nftables
    /// table and the IPAM state. For tests and uninstall.
    pub async fn cleanup_all(&self) -> Result<()> {
        let _op = self.op.lock().await;
        let pods: Vec<PodKey> = self.lock_pods().keys().cloned().collect();
        for pod in &pods {
            link::delete(&self.handle, &self.host_veth_name(pod)).await?;
        }
        link::delete(&self.handle, &self.config.bridge).await?;
        nft::delete_table(&self.config.nft_table).await?;
        self.ipam.destroy()?;
        // Leave the state directory only if something else lives there.
        let _ = std::fs::remove_dir(&self.config.state_dir);
        self.lock_pods().clear();
        lock(&self.unreadable).clear();
        Ok(())
    }

    async fn teardown_locked(&self, pod: &PodKey) -> Result<()> {
        link::delete(&self.handle, &self.host_veth_name(pod)).await?;
        let entry = self.lock_pods().get(pod).cloned();
        if let Some(e) = entry {
            self.ipam.release(e.ip)?;
            self.lock_pods().remove(pod);
        }
        Ok(())
    }

    fn pod_ip_of(&self, ip: Ipv4Addr) -> PodIp {
        PodIp {
            ip,
            gateway: self.gateway,
            prefix: self.config.pod_cidr.prefix_len(),
        }
    }

    fn lock_pods(&self) -> MutexGuard<'_, BTreeMap<PodKey, Entry>> {
        lock(&self.pods)
    }

    async fn ensure_bridge(&self) -> Result<u32> {
        let c = &self.config;
        let index =
            link::ensure_bridge(&self.handle, &c.bridge, c.mtu, bridge_mac(&c.bridge)).await?;
        link::ensure_addr(&self.handle, index, self.gateway, c.pod_cidr.prefix_len()).await?;
        sysctl::ensure_iface(&c.bridge, "forwarding", "1")?;
        sysctl::ensure_iface(&c.bridge, "route_localnet", "1")?;
        Ok(index)
    }

    /// Makes the veth pair of the pod exist and be configured, reusing what is already right.
    async fn plumb(&self, pod: &PodKey, netns_path: &Path, ip: Ipv4Addr) -> Result<()> {
        let bridge = self.ensure_bridge().await?;
        let host = self.host_veth_name(pod);
        let tmp = peer_tmp_name(&self.config.bridge, pod);
        let side = PodSide {
            ip,
            prefix: self.config.pod_cidr.prefix_len(),
            gateway: self.gateway,
        };
        let in_pod = netns::run_in(netns_path, move |h| netns::inspect(h, ip)).await?;
        let host_link = link::find(&self.handle, &host).await?;
        if let (Some(true), Some(l)) = (in_pod, &host_link) {
            link::attach_to_bridge(&self.handle, l.index, bridge, &host).await?;
            return netns::run_in(netns_path, move |h| netns::configure(h, None, side)).await;
        }
        if host_link.is_some() {
            link::delete(&self.handle, &host).await?;
        }
        if in_pod.is_some() {
            netns::run_in(netns_path, netns::remove_eth0).await?;
        }
        link::delete(&self.handle, &tmp).await?;
        link::create_veth(&self.handle, &host, &tmp, self.config.mtu).await?;
        let missing = |name: &str| Error::Interface {
            name: name.into(),
            message: "vanished right after creation".into(),
        };
        let host_index = link::find(&self.handle, &host)
            .await?
            .ok_or_else(|| missing(&host))?
            .index;
        let peer_index = link::find(&self.handle, &tmp)
            .await?
            .ok_or_else(|| missing(&tmp))?
            .index;
        let ns = std::fs::File::open(netns_path).map_err(|e| Error::Netns {
            path: netns_path.to_path_buf(),
            message: format!("open: {e}"),
        })?;
        link::move_to_netns(&self.handle, peer_index, ns.as_raw_fd(), &tmp).await?;
        drop(ns);
        link::attach_to_bridge(&self.handle, host_index, bridge, &host).await?;
        netns::run_in(netns_path, move |h| netns::configure(h, Some(tmp), side)).await
    }

    /// Rewrites the NAT table from the current pods.
    async fn sync_rules(&self) -> Result<()> {
        let pods: Vec<(PodKey, Entry)> = self
            .lock_pods()
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        let ports: Vec<PodPorts<'_>> = pods
            .iter()
            .filter(|(_, e)| !e.host_ports.is_empty())
            .map(|(k, e)| PodPorts {
                pod: k,
                ip: e.ip,
                host_ports: &e.host_ports,
            })
            .collect();
        nft::apply(&nft::render(&self.config, &ports)).await
    }
}

/// A poisoned lock only means another thread panicked mid-update of plain data; keep going.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Forgets conntrack entries of newly published UDP host ports: a client that kept sending
/// before the port existed has an entry to nowhere that would otherwise outlive the new rule.
/// Best effort: without the `conntrack` tool, nothing is flushed.
async fn flush_udp_conntrack<'a>(ports: impl Iterator<Item = &'a HostPort>) {
    for hp in ports.filter(|hp| hp.protocol == crate::types::Protocol::Udp) {
        let port = hp.host_port.to_string();
        let res = tokio::process::Command::new("conntrack")
            .args(["-D", "-p", "udp", "--orig-port-dst", &port])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await;
        if let Err(err) = res {
            tracing::debug!(%err, port = hp.host_port, "conntrack flush skipped");
        }
    }
}

/// Bridge netfilter needs the br_netfilter module; load it if it is missing.
async fn ensure_br_netfilter() {
    if Path::new("/proc/sys/net/bridge").exists() {
        return;
    }
    let loaded = tokio::process::Command::new("modprobe")
        .arg("br_netfilter")
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !loaded {
        tracing::warn!(
            "br_netfilter is not loaded: traffic between pods on the bridge bypasses netfilter"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compile-time: the node agent shares one network across tasks and spawns its calls.
    #[allow(dead_code, clippy::let_underscore_future)]
    fn api_is_send_and_sync(net: &PodNetwork, pod: &PodKey, path: &Path) {
        fn send<T: Send>(_: T) {}
        fn sync<T: Send + Sync>() {}
        sync::<PodNetwork>();
        send(PodNetwork::new(NetConfig::default()));
        send(net.setup(pod, path, &[]));
        send(net.teardown(pod));
        send(net.gc(&[]));
        send(net.cleanup_all());
    }

    #[test]
    fn veth_names_fit_the_kernel_limit_and_differ_per_pod_and_bridge() {
        let a = PodKey::new("default", "a-very-long-pod-name-indeed", "0000-1111");
        let b = PodKey::new("default", "a-very-long-pod-name-indeed", "0000-2222");
        let n = host_veth_name("skiff0", &a);
        assert_eq!(n.len(), 15);
        assert_eq!(n, host_veth_name("skiff0", &a));
        assert_ne!(n, host_veth_name("skiff0", &b));
        assert_ne!(n, host_veth_name("skiff1", &a));
        assert!(peer_tmp_name("skiff0", &a).len() <= 15);
    }

    #[test]
    fn bridge_mac_is_stable_unicast_and_locally_administered() {
        let m = bridge_mac("skiff0");
        assert_eq!(m, bridge_mac("skiff0"));
        assert_eq!(m[0] & 0x01, 0, "unicast");
        assert_eq!(m[0] & 0x02, 0x02, "locally administered");
        assert_ne!(m, bridge_mac("skiff1"));
    }
}
