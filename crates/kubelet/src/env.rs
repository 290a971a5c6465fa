//! Container environment: `env`, `envFrom`, downward API field references, service links,
//! and `$(VAR)` expansion of env values, command and args.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ObjectFieldSelector, Pod, ResourceFieldSelector, Secret, Service,
};

use crate::error::{Error, Result};
use crate::expand::expand;
use crate::quantity;

/// The API objects a container's environment may read, fetched beforehand.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// ConfigMaps by name; missing = not found.
    pub configmaps: BTreeMap<String, ConfigMap>,
    /// Secrets by name; missing = not found.
    pub secrets: BTreeMap<String, Secret>,
    /// Services for service links (the pod's namespace, plus `default/kubernetes`).
    pub services: Vec<Service>,
    /// Service account tokens for projected volumes, by audience (`""` = the API's).
    pub tokens: BTreeMap<String, String>,
    /// Node allocatable `cpu`/`memory`/`ephemeral-storage`, for limits left unset.
    pub node_allocatable: BTreeMap<String, String>,
    /// The pod's PersistentVolumeClaims, resolved to their directories.
    pub claims: crate::volume::claim::Claims,
}

/// Pod-level values the downward API may read that are not in the pod object yet.
#[derive(Debug, Clone, Default)]
pub struct Runtime {
    pub pod_ips: Vec<IpAddr>,
    pub host_ip: Option<IpAddr>,
}

/// Names of the ConfigMaps and Secrets a container's environment refers to.
pub fn referenced(container: &Container) -> (Vec<String>, Vec<String>) {
    let mut cms = Vec::new();
    let mut secrets = Vec::new();
    for f in container.env_from.iter().flatten() {
        if let Some(c) = &f.config_map_ref {
            cms.push(c.name.clone());
        }
        if let Some(s) = &f.secret_ref {
            secrets.push(s.name.clone());
        }
    }
    for e in container.env.iter().flatten() {
        if let Some(v) = &e.value_from {
            if let Some(c) = &v.config_map_key_ref {
                cms.push(c.name.clone());
            }
            if let Some(s) = &v.secret_key_ref {
                secrets.push(s.name.clone());
            }
        }
    }
    cms.sort();
    cms.dedup();
    secrets.sort();
    secrets.dedup();
    (cms, secrets)
}

/// The resolved environment of `container`, in order, without duplicates.
pub fn container_env(
    pod: &Pod,
    container: &Container,
    src: &Sources,
    rt: &Runtime,
) -> Result<Vec<(String, String)>> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let service_env = if pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true)
    {
        service_links(ns, &src.services)
    } else {
        service_links(ns, &[])
    };
    let mut env = Ordered::default();
    for f in container.env_from.iter().flatten() {
        let prefix = f.prefix.clone().unwrap_or_default();
        if let Some(c) = &f.config_map_ref {
            match src.configmaps.get(&c.name).map(cm_data) {
                Some(data) => {
                    for (k, v) in data {
                        env.set(format!("{prefix}{k}"), v.clone());
                    }
                }
                None if c.optional == Some(true) => {}
                None => return Err(Error::Config(format!("configmap {:?} not found", c.name))),
            }
        }
        if let Some(s) = &f.secret_ref {
            match src.secrets.get(&s.name).map(secret_data) {
                Some(data) => {
                    for (k, v) in data {
                        env.set(
                            format!("{prefix}{k}"),
                            String::from_utf8_lossy(&v).into_owned(),
                        );
                    }
                }
                None if s.optional == Some(true) => {}
                None => return Err(Error::Config(format!("secret {:?} not found", s.name))),
            }
        }
    }
    for e in container.env.iter().flatten() {
        let value = if let Some(from) = &e.value_from {
            if let Some(r) = &from.config_map_key_ref {
                let optional = r.optional == Some(true);
                match src.configmaps.get(&r.name).map(cm_data) {
                    None if optional => continue,
                    None => {
                        return Err(Error::Config(format!("configmap {:?} not found", r.name)));
                    }
                    Some(data) => match data.get(&r.key) {
                        Some(v) => v.clone(),
                        None if optional => continue,
                        None => {
                            return Err(Error::Config(format!(
                                "couldn't find key {} in ConfigMap {ns}/{}",
                                r.key, r.name
                            )));
                        }
                    },
                }
            } else if let Some(r) = &from.secret_key_ref {
                let optional = r.optional == Some(true);
                match src.secrets.get(&r.name).map(secret_data) {
                    None if optional => continue,
                    None => return Err(Error::Config(format!("secret {:?} not found", r.name))),
                    Some(data) => match data.get(&r.key) {
                        Some(v) => String::from_utf8_lossy(v).into_owned(),
                        None if optional => continue,
                        None => {
                            return Err(Error::Config(format!(
                                "couldn't find key {} in Secret {ns}/{}",
                                r.key, r.name
                            )));
                        }
                    },
                }
            } else if let Some(f) = &from.field_ref {
                field_value(pod, f, rt)?
            } else if let Some(r) = &from.resource_field_ref {
                resource_value(pod, Some(container), r, src)?
            } else {
                String::new()
            }
        } else {
            let v = e.value.clone().unwrap_or_default();
            expand(&v, |name| {
                env.get(name)
                    .or_else(|| service_env.get(name))
                    .map(str::to_string)
            })
        };
        env.set(e.name.clone(), value);
    }
    for (k, v) in service_env.items {
        if env.get(&k).is_none() {
            env.set(k, v);
        }
    }
    Ok(env.items)
}

/// Command and args with `$(VAR)` expanded against the container's environment.
pub fn expand_command(
    container: &Container,
    env: &[(String, String)],
) -> (Vec<String>, Vec<String>) {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let cmd = container
        .command
        .iter()
        .flatten()
        .map(|c| expand(c, lookup))
        .collect();
    let args = container
        .args
        .iter()
        .flatten()
        .map(|c| expand(c, lookup))
        .collect();
    (cmd, args)
}

/// A ConfigMap's `data` as strings.
pub fn cm_data(cm: &ConfigMap) -> BTreeMap<String, String> {
    cm.data.clone().unwrap_or_default()
}

/// A ConfigMap's `data` and `binaryData` as bytes (what volumes write).
pub fn cm_files(cm: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = cm
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    for (k, v) in cm.binary_data.iter().flatten() {
        out.insert(k.clone(), v.0.clone());
    }
    out
}

/// A Secret's decoded `data` (with any `stringData` folded in).
pub fn secret_data(s: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in s.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}

#[derive(Default)]
struct Ordered {
    items: Vec<(String, String)>,
}

impl Ordered {
    fn set(&mut self, k: String, v: String) {
        match self.items.iter_mut().find(|(n, _)| *n == k) {
            Some(slot) => slot.1 = v,
            None => self.items.push((k, v)),
        }
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

/// Docker-link style variables of the services (`FOO_SERVICE_HOST`, `FOO_PORT_80_TCP`, ...).
fn service_links(ns: &str, services: &[Service]) -> Ordered {
    let mut out = Ordered::default();
    let mut svcs: Vec<&Service> = services
        .iter()
        .filter(|s| {
            let sns = s.metadata.namespace.as_deref().unwrap_or("default");
            let name = s.metadata.name.as_deref().unwrap_or("");
            sns == ns || (sns == "default" && name == "kubernetes")
        })
        .collect();
    svcs.sort_by_key(|s| s.metadata.name.clone());
    for s in svcs {
        let Some(spec) = &s.spec else { continue };
        let Some(ip) = spec.cluster_ip.as_deref() else {
            continue;
        };
        if ip.is_empty() || ip == "None" {
            continue;
        }
        let name = s
            .metadata
            .name
            .as_deref()
            .unwrap_or("")
            .to_uppercase()
            .replace('-', "_");
        let ports = spec.ports.as_deref().unwrap_or(&[]);
        let Some(first) = ports.first() else { continue };
        out.set(format!("{name}_SERVICE_HOST"), ip.to_string());
        out.set(format!("{name}_SERVICE_PORT"), first.port.to_string());
        for p in ports {
            if let Some(pn) = p.name.as_deref().filter(|n| !n.is_empty()) {
                out.set(
                    format!(
                        "{name}_SERVICE_PORT_{}",
                        pn.to_uppercase().replace('-', "_")
                    ),
                    p.port.to_string(),
                );
            }
        }
        let proto = |p: &k8s_openapi::api::core::v1::ServicePort| {
            p.protocol.clone().unwrap_or_else(|| "TCP".into())
        };
        let host = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        out.set(
            format!("{name}_PORT"),
            format!("{}://{host}:{}", proto(first).to_lowercase(), first.port),
        );
        for p in ports {
            let pr = proto(p);
            let pfx = format!("{name}_PORT_{}_{}", p.port, pr.to_uppercase());
            out.set(
                pfx.clone(),
                format!("{}://{host}:{}", pr.to_lowercase(), p.port),
            );
            out.set(format!("{pfx}_PROTO"), pr.to_lowercase());
            out.set(format!("{pfx}_PORT"), p.port.to_string());
            out.set(format!("{pfx}_ADDR"), ip.to_string());
        }
    }
    out
}

/// Value of a downward API `fieldRef`.
pub fn field_value(pod: &Pod, f: &ObjectFieldSelector, rt: &Runtime) -> Result<String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let path = f.field_path.as_str();
    let map_entry = |map: &Option<BTreeMap<String, String>>, key: &str| {
        map.as_ref()
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or_default()
    };
    let v = match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" => rt
            .pod_ips
            .first()
            .map(|i| i.to_string())
            .unwrap_or_default(),
        "status.podIPs" => rt
            .pod_ips
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(","),
        "status.hostIP" | "status.hostIPs" => rt.host_ip.map(|i| i.to_string()).unwrap_or_default(),
        p => {
            if let Some(key) = subscript(p, "metadata.labels") {
                map_entry(&meta.labels, &key)
            } else if let Some(key) = subscript(p, "metadata.annotations") {
                map_entry(&meta.annotations, &key)
            } else {
                return Err(Error::Config(format!("unsupported fieldPath: {p}")));
            }
        }
    };
    Ok(v)
}

/// `metadata.labels['key']` → `key`.
fn subscript(path: &str, prefix: &str) -> Option<String> {
    let rest = path.strip_prefix(prefix)?;
    let inner = rest.strip_prefix("['")?.strip_suffix("']")?;
    Some(inner.to_string())
}

/// `k="v"` lines, sorted by key, as the downward API writes label and annotation maps.
pub fn format_map(map: Option<&BTreeMap<String, String>>) -> String {
    let mut lines: Vec<String> = map
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    lines.sort();
    lines.join("\n")
}

/// Value of a downward API `resourceFieldRef` (limits fall back to node allocatable).
pub fn resource_value(
    pod: &Pod,
    current: Option<&Container>,
    r: &ResourceFieldSelector,
    src: &Sources,
) -> Result<String> {
    let container = match r.container_name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.iter().find(|c| c.name == name))
            .ok_or_else(|| Error::Config(format!("container {name} not found")))?,
        None => current.ok_or_else(|| {
            Error::Config("resourceFieldRef needs a containerName here".to_string())
        })?,
    };
    let (kind, res) = r
        .resource
        .split_once('.')
        .ok_or_else(|| Error::Config(format!("unsupported container resource: {}", r.resource)))?;
    let res_of = |m: &Option<
        BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| { m.as_ref().and_then(|m| m.get(res)).map(|q| q.0.clone()) };
    let resources = container.resources.as_ref();
    let value = match kind {
        "limits" => res_of(&resources.and_then(|r| r.limits.clone()))
            .or_else(|| src.node_allocatable.get(res).cloned())
            .unwrap_or_else(|| "0".into()),
        "requests" => res_of(&resources.and_then(|r| r.requests.clone()))
            .or_else(|| res_of(&resources.and_then(|r| r.limits.clone())))
            .unwrap_or_else(|| "0".into()),
        _ => {
            return Err(Error::Config(format!(
                "unsupported container resource: {}",
                r.resource
            )));
        }
    };
    let divisor = r.divisor.as_ref().map(|d| d.0.as_str()).unwrap_or("1");
    let divisor = if divisor.is_empty() || divisor == "0" {
        "1"
    } else {
        divisor
    };
    quantity::divide_for_resource(&r.resource, &value, divisor)
}

#[cfg(test)]
mod tests;
