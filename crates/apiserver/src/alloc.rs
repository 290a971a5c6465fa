//! Service address allocation: ClusterIPs from the service CIDR and NodePorts from 30000-32767.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::{Value, json};
use skiff_api::Resource;

use crate::rest::Api;
use crate::status::{ApiError, ApiResult, Cause};

/// The service CIDR, e.g. 10.43.0.0/16.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cidr {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a CIDR (want e.g. 10.43.0.0/16)"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|e| format!("{s:?}: {e}"))?;
        let prefix: u8 = prefix.parse().map_err(|e| format!("{s:?}: {e}"))?;
        if !(8..=30).contains(&prefix) {
            return Err(format!("{s:?}: prefix length must be between 8 and 30"));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Cidr {
            base: Ipv4Addr::from(u32::from(ip) & mask),
            prefix,
        })
    }
}

impl Cidr {
    fn size(&self) -> u32 {
        1u32 << (32 - self.prefix)
    }
    /// The n-th address of the range (n = 1 is the first usable one).
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + n)
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - self.prefix);
        u32::from(ip) & mask == u32::from(self.base)
    }
}

/// Hands out ClusterIPs and NodePorts; one allocation at a time inside the process.
pub struct ServiceAllocator {
    pub cidr: Cidr,
    lock: tokio::sync::Mutex<()>,
}

pub const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

impl ServiceAllocator {
    pub fn new(cidr: Cidr) -> Self {
        ServiceAllocator {
            cidr,
            lock: tokio::sync::Mutex::new(()),
        }
    }
}

fn invalid(res: &Resource, name: &str, field: &str, value: &str, why: &str) -> ApiError {
    let cause = Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: \"{value}\": {why}"),
        field: field.into(),
    };
    ApiError::invalid(res, name, vec![cause])
}

/// Hook run on every create: Services get their ClusterIP and NodePorts.
pub async fn on_create(api: &Api, res: &Resource, obj: &mut Value) -> ApiResult<()> {
    if res.kind != "Service" || !res.group.is_empty() {
        return Ok(());
    }
    let alloc = &api.services;
    let _guard = alloc.lock.lock().await;
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    let (used_ips, used_ports) = in_use(api, res).await?;
    let spec = &mut obj["spec"];
    let svc_type = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    if svc_type != "ExternalName" {
        match spec["clusterIP"].as_str().filter(|s| !s.is_empty()) {
            Some("None") => {}
            Some(ip) => {
                let parsed: Ipv4Addr = ip.parse().map_err(|_| {
                    invalid(
                        res,
                        &name,
                        "spec.clusterIPs[0]",
                        ip,
                        "must be a valid IP address",
                    )
                })?;
                if !alloc.cidr.contains(parsed) {
                    let why = format!(
                        "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}/{}",
                        alloc.cidr.base, alloc.cidr.prefix
                    );
                    return Err(invalid(res, &name, "spec.clusterIPs", ip, &why));
                }
                if used_ips.contains(&parsed) {
                    let why =
                        format!("failed to allocate IP {ip}: provided IP is already allocated");
                    return Err(invalid(res, &name, "spec.clusterIPs", ip, &why));
                }
                spec["clusterIPs"] = json!([ip]);
            }
            None => {
                let ip = free_ip(alloc.cidr, &used_ips).ok_or_else(|| {
                    ApiError::internal("failed to allocate a serviceIP: range is full")
                })?;
                spec["clusterIP"] = json!(ip.to_string());
                spec["clusterIPs"] = json!([ip.to_string()]);
            }
        }
    }
    if svc_type == "NodePort" || svc_type == "LoadBalancer" {
        let mut taken = used_ports;
        if let Some(ports) = spec["ports"].as_array_mut() {
            for (i, port) in ports.iter_mut().enumerate() {
                match port["nodePort"].as_i64() {
                    Some(p) if p != 0 => {
                        if !NODE_PORTS.contains(&p) || !taken.insert(p) {
                            let why = if taken.contains(&p) {
                                "provided port is already allocated"
                            } else {
                                "provided port is not in the valid range. The range of valid ports is 30000-32767"
                            };
                            return Err(invalid(
                                res,
                                &name,
                                &format!("spec.ports[{i}].nodePort"),
                                &p.to_string(),
                                why,
                            ));
                        }
                    }
                    _ => {
                        let p = free_port(&taken).ok_or_else(|| {
                            ApiError::internal("failed to allocate a nodePort: range is full")
                        })?;
                        taken.insert(p);
                        port["nodePort"] = json!(p);
                    }
                }
            }
        }
    }
    Ok(())
}

async fn in_use(api: &Api, res: &Resource) -> ApiResult<(HashSet<Ipv4Addr>, HashSet<i64>)> {
    let page = api.store.range(&res.key_prefix(), None, 0, None).await?;
    let mut ips = HashSet::new();
    let mut ports = HashSet::new();
    for kv in page.kvs {
        let Ok(svc) = serde_json::from_slice::<Value>(&kv.value) else {
            continue;
        };
        if let Some(ip) = svc["spec"]["clusterIP"]
            .as_str()
            .and_then(|s| s.parse().ok())
        {
            ips.insert(ip);
        }
        for p in svc["spec"]["ports"].as_array().into_iter().flatten() {
            if let Some(n) = p["nodePort"].as_i64() {
                ports.insert(n);
            }
        }
    }
    Ok((ips, ports))
}

/// A free address, starting at a random offset; the first address is the `kubernetes` Service's.
fn free_ip(cidr: Cidr, used: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    use rand::Rng;
    let usable = cidr.size() - 3; // network, the kubernetes service (.1), broadcast
    let start = rand::rng().random_range(0..usable);
    (0..usable)
        .map(|i| cidr.nth(2 + (start + i) % usable))
        .find(|ip| !used.contains(ip))
}

fn free_port(used: &HashSet<i64>) -> Option<i64> {
    use rand::Rng;
    let span = NODE_PORTS.end() - NODE_PORTS.start() + 1;
    let start = rand::rng().random_range(0..span);
    (0..span)
        .map(|i| NODE_PORTS.start() + (start + i) % span)
        .find(|p| !used.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parses_and_masks() {
        let c: Cidr = "10.43.7.9/16".parse().unwrap();
        assert_eq!(c.base, Ipv4Addr::new(10, 43, 0, 0));
        assert_eq!(c.nth(1), Ipv4Addr::new(10, 43, 0, 1));
        assert!(c.contains(Ipv4Addr::new(10, 43, 255, 254)));
        assert!(!c.contains(Ipv4Addr::new(10, 44, 0, 1)));
        assert!("10.43.0.0".parse::<Cidr>().is_err());
        assert!("10.43.0.0/33".parse::<Cidr>().is_err());
    }

    #[test]
    fn free_ip_skips_used_and_reserved() {
        let c: Cidr = "10.0.0.0/29".parse().unwrap(); // .2 .. .6 usable for services
        let mut used = HashSet::new();
        for _ in 0..5 {
            let ip = free_ip(c, &used).unwrap();
            assert!(
                u32::from(ip) >= u32::from(c.nth(2)) && u32::from(ip) <= u32::from(c.nth(6)),
                "{ip}"
            );
            assert!(used.insert(ip));
        }
        assert_eq!(free_ip(c, &used), None);
    }

    #[test]
    fn free_port_stays_in_range() {
        let used: HashSet<i64> = NODE_PORTS.filter(|p| *p != 31000).collect();
        assert_eq!(free_port(&used), Some(31000));
    }
}
