//! Discovery documents (legacy `APIVersions`/`APIGroupList`/`APIResourceList` and aggregated
//! `apidiscovery.k8s.io` v2/v2beta1 `APIGroupDiscoveryList`) built from the registry.

mod aggregated;
mod negotiate;
#[cfg(test)]
pub(crate) mod tests;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use skiff_api::Resource;

pub use aggregated::{AggregatedKind, DiscoveryVersion, aggregated, aggregated_for};
pub use negotiate::negotiate;

/// One subresource of a resource, as discovery lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subresource {
    /// e.g. "status", "scale", "log".
    pub name: &'static str,
    /// Group/version/kind of request and response bodies; `None` means the parent's kind.
    pub kind: Option<(&'static str, &'static str, &'static str)>,
    pub verbs: &'static [&'static str],
}

const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
const CREATE_GET: &[&str] = &["create", "get"];
const CREATE: &[&str] = &["create"];

/// Subresources beyond status/scale, per (group, plural).
const EXTRA_SUBRESOURCES: &[(&str, &str, Subresource)] = &[
    (
        "",
        "pods",
        sub("attach", Some(("", "v1", "PodAttachOptions")), CREATE_GET),
    ),
    (
        "",
        "pods",
        sub("binding", Some(("", "v1", "Binding")), CREATE),
    ),
    (
        "",
        "pods",
        sub("eviction", Some(("policy", "v1", "Eviction")), CREATE),
    ),
    (
        "",
        "pods",
        sub("exec", Some(("", "v1", "PodExecOptions")), CREATE_GET),
    ),
    ("", "pods", sub("log", None, &["get"])),
    (
        "",
        "pods",
        sub(
            "portforward",
            Some(("", "v1", "PodPortForwardOptions")),
            CREATE_GET,
        ),
    ),
    (
        "",
        "serviceaccounts",
        sub(
            "token",
            Some(("authentication.k8s.io", "v1", "TokenRequest")),
            CREATE,
        ),
    ),
    ("", "namespaces", sub("finalize", None, &["update"])),
];

const fn sub(
    name: &'static str,
    kind: Option<(&'static str, &'static str, &'static str)>,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource { name, kind, verbs }
}

/// Every subresource of `r`, sorted by name as upstream lists them.
pub fn subresources(r: &Resource) -> Vec<Subresource> {
    let mut out: Vec<Subresource> = EXTRA_SUBRESOURCES
        .iter()
        .filter(|(g, p, _)| *g == r.group && *p == r.plural)
        .map(|(_, _, s)| s.clone())
        .collect();
    if r.has_scale {
        out.push(sub(
            "scale",
            Some(("autoscaling", "v1", "Scale")),
            GET_PATCH_UPDATE,
        ));
    }
    if r.has_status {
        out.push(sub("status", None, GET_PATCH_UPDATE));
    }
    out.sort_by_key(|s| s.name);
    out
}

/// upstream's storage version hash: base64 of the first 8 bytes of sha256("group/version/kind")
/// of the storage version.
pub fn storage_version_hash(r: &Resource) -> String {
    let version = if r.storage_version.is_empty() {
        r.version
    } else {
        r.storage_version
    };
    let digest = Sha256::digest(format!("{}/{version}/{}", r.storage_group, r.kind).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

/// `GET /api`: the legacy core versions.
pub fn api_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
}

fn group_version_json(group: &str, version: &str) -> Value {
    json!({"groupVersion": format!("{group}/{version}"), "version": version})
}

fn api_group_json(group: &str, versions: &[&str]) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .map(|v| group_version_json(group, v))
        .collect();
    let preferred = list.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": list, "preferredVersion": preferred})
}

/// `GET /apis`: every named group with its versions, preferred first.
pub fn api_group_list() -> Value {
    api_group_list_for(skiff_api::registry().all())
}

/// [`api_group_list`] over an explicit resource list.
pub fn api_group_list_for(resources: &[Resource]) -> Value {
    let groups: Vec<Value> = groups_of(resources)
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, versions)| api_group_json(g, &versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`: one `APIGroup`, or `None` if no such group is served.
pub fn api_group(group: &str) -> Option<Value> {
    api_group_for(skiff_api::registry().all(), group)
}

/// [`api_group`] over an explicit resource list.
pub fn api_group_for(resources: &[Resource], group: &str) -> Option<Value> {
    if group.is_empty() {
        return None;
    }
    let (g, versions) = groups_of(resources)
        .into_iter()
        .find(|(g, _)| *g == group)?;
    let mut v = api_group_json(g, &versions);
    if let Value::Object(map) = &mut v {
        map.insert("kind".into(), "APIGroup".into());
        map.insert("apiVersion".into(), "v1".into());
    }
    Some(v)
}

/// Distinct groups in registry order, each with its versions in registry order.
pub(crate) fn groups_of(resources: &[Resource]) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for r in resources {
        match out.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) if !versions.contains(&r.version) => versions.push(r.version),
            Some(_) => {}
            None => out.push((r.group, vec![r.version])),
        }
    }
    out
}

/// `GET /api/v1` or `GET /apis/<group>/<version>`: the `APIResourceList`, or `None` if the
/// group/version is not served. `group` is "" for the core group.
pub fn api_resource_list(group: &str, version: &str) -> Option<Value> {
    api_resource_list_for(skiff_api::registry().all(), group, version)
}

/// [`api_resource_list`] over an explicit resource list.
pub fn api_resource_list_for(resources: &[Resource], group: &str, version: &str) -> Option<Value> {
    let served: Vec<&Resource> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for r in served {
        list.push(resource_json(r));
        for s in subresources(r) {
            list.push(subresource_json(r, &s));
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut out = json!({"kind": "APIResourceList"});
    if let Value::Object(map) = &mut out {
        if !group.is_empty() {
            map.insert("apiVersion".into(), "v1".into());
        }
        map.insert("groupVersion".into(), group_version.into());
        map.insert("resources".into(), Value::Array(list));
    }
    Some(out)
}

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(*s)).collect())
}

fn resource_json(r: &Resource) -> Value {
    let mut v = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": strings(r.verbs),
    });
    if let Value::Object(map) = &mut v {
        if !r.short_names.is_empty() {
            map.insert("shortNames".into(), strings(r.short_names));
        }
        if !r.categories.is_empty() {
            map.insert("categories".into(), strings(r.categories));
        }
        map.insert("storageVersionHash".into(), storage_version_hash(r).into());
    }
    v
}

fn subresource_json(r: &Resource, s: &Subresource) -> Value {
    let mut v = json!({
        "name": format!("{}/{}", r.plural, s.name),
        "singularName": "",
        "namespaced": r.namespaced,
    });
    if let Value::Object(map) = &mut v {
        match s.kind {
            Some((group, version, kind)) => {
                if (group, version) != (r.group, r.version) {
                    map.insert("group".into(), group.into());
                    map.insert("version".into(), version.into());
                }
                map.insert("kind".into(), kind.into());
            }
            None => {
                map.insert("kind".into(), r.kind.into());
            }
        }
        map.insert("verbs".into(), strings(s.verbs));
    }
    v
}
