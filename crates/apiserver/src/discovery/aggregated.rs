//! Aggregated discovery (`apidiscovery.k8s.io` v2 and v2beta1 `APIGroupDiscoveryList`).

use serde_json::{Map, Value, json};
use skiff_api::Resource;

use super::{Subresource, groups_of, strings, subresources};

/// Which root the list is for: `/api` (the core group) or `/apis` (every named group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregatedKind {
    Core,
    Apis,
}

/// Version of the `apidiscovery.k8s.io` API: v2beta1 (kubectl 1.26–1.29) or v2 (1.30+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryVersion {
    V2,
    V2Beta1,
}

impl DiscoveryVersion {
    /// "v2" or "v2beta1".
    pub fn as_str(self) -> &'static str {
        match self {
            DiscoveryVersion::V2 => "v2",
            DiscoveryVersion::V2Beta1 => "v2beta1",
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            DiscoveryVersion::V2 => {
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            }
            DiscoveryVersion::V2Beta1 => {
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            }
        }
    }
}

/// `GET /api` or `GET /apis` in aggregated form, from the process-wide registry.
pub fn aggregated(kind: AggregatedKind, version: DiscoveryVersion) -> Value {
    aggregated_for(skiff_api::registry().all(), kind, version)
}

/// [`aggregated`] over an explicit resource list.
pub fn aggregated_for(
    resources: &[Resource],
    kind: AggregatedKind,
    version: DiscoveryVersion,
) -> Value {
    let items: Vec<Value> = groups_of(resources)
        .into_iter()
        .filter(|(g, _)| g.is_empty() == (kind == AggregatedKind::Core))
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let list: Vec<Value> = resources
                        .iter()
                        .filter(|r| r.group == group && r.version == *v)
                        .map(resource_json)
                        .collect();
                    json!({"version": v, "resources": list, "freshness": "Current"})
                })
                .collect();
            let mut metadata = Map::new();
            if !group.is_empty() {
                metadata.insert("name".into(), group.into());
            }
            metadata.insert("creationTimestamp".into(), Value::Null);
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{}", version.as_str()),
        "metadata": {},
        "items": items,
    })
}

fn resource_json(r: &Resource) -> Value {
    let mut map = Map::new();
    map.insert("resource".into(), r.plural.into());
    map.insert(
        "responseKind".into(),
        json!({"group": "", "version": "", "kind": r.kind}),
    );
    let scope = if r.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    };
    map.insert("scope".into(), scope.into());
    map.insert("singularResource".into(), r.singular.into());
    map.insert("verbs".into(), strings(r.verbs));
    if !r.short_names.is_empty() {
        map.insert("shortNames".into(), strings(r.short_names));
    }
    if !r.categories.is_empty() {
        map.insert("categories".into(), strings(r.categories));
    }
    let subs: Vec<Value> = subresources(r)
        .iter()
        .map(|s| subresource_json(r, s))
        .collect();
    if !subs.is_empty() {
        map.insert("subresources".into(), Value::Array(subs));
    }
    Value::Object(map)
}

fn subresource_json(r: &Resource, s: &Subresource) -> Value {
    let response_kind = match s.kind {
        Some((group, version, kind)) if (group, version) != (r.group, r.version) => {
            json!({"group": group, "version": version, "kind": kind})
        }
        Some((_, _, kind)) => json!({"group": "", "version": "", "kind": kind}),
        None => json!({"group": "", "version": "", "kind": r.kind}),
    };
    json!({"subresource": s.name, "responseKind": response_kind, "verbs": strings(s.verbs)})
}
