//! The registry of served kinds: group/version/kind/plural/scope/short names/subresources.

mod convert;
mod kinds;

pub use convert::convert;
use serde_json::Value;

/// One served resource (a kind at one group/version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// API group; "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// URL segment, e.g. "deployments".
    pub plural: &'static str,
    /// Lower-case singular, e.g. "deployment".
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// e.g. ["all"] for the kinds `kubectl get all` shows.
    pub categories: &'static [&'static str],
    /// Has a `/status` subresource.
    pub has_status: bool,
    /// Has a `/scale` subresource (autoscaling/v1 Scale).
    pub has_scale: bool,
    /// Verbs served on the main resource, as in discovery.
    pub verbs: &'static [&'static str],
    /// Other versions of the same kind share storage with the storage version
    /// (e.g. autoscaling/v1 and v2 HPAs, core/v1 and events.k8s.io/v1 Events).
    pub storage_version: &'static str,
    /// Storage group when the kind is stored under another group (events.k8s.io → "").
    pub storage_group: &'static str,
}

impl Resource {
    /// "v1" for core, "apps/v1" otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Store key prefix for all objects of this resource, ending in '/':
    /// `/registry/<group-or-core>/<plural>/`.
    pub fn key_prefix(&self) -> String {
        let g = if self.storage_group.is_empty() {
            "core"
        } else {
            self.storage_group
        };
        format!("/registry/{g}/{}/", self.plural)
    }

    /// Store key of one object. `namespace` is ignored for cluster-scoped kinds.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{ns}/{name}", self.key_prefix()),
            _ => format!("{}{name}", self.key_prefix()),
        }
    }
}

/// All served resources.
pub struct Registry {
    resources: Vec<Resource>,
}

impl Registry {
    pub fn all(&self) -> &[Resource] {
        &self.resources
    }

    /// Look up by group, version and plural (the URL form).
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// Look up by group, version and kind.
    pub fn find_kind(&self, group: &str, version: &str, kind: &str) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
    }

    /// Distinct groups in preferred order, each with its versions (preferred first).
    pub fn groups(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
        for r in &self.resources {
            match out.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, versions)) => {
                    if !versions.contains(&r.version) {
                        versions.push(r.version);
                    }
                }
                None => out.push((r.group, vec![r.version])),
            }
        }
        out
    }
}

/// The process-wide registry.
pub fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        resources: kinds::resources(),
    })
}

/// Convert an object of `res` (as a client sent it) to its storage form. Identity for kinds
/// stored in their own version; sets apiVersion/kind to the storage form.
pub fn convert_for_storage(res: &Resource, obj: Value) -> Value {
    if !res.needs_conversion() {
        return obj;
    }
    convert::convert(&obj, &res.storage_api_version())
}

/// Convert a stored object to the form served at `res`. Identity for most kinds.
pub fn convert_from_storage(res: &Resource, obj: Value) -> Value {
    if !res.needs_conversion() {
        return obj;
    }
    convert::convert(&obj, &res.api_version())
}

#[cfg(test)]
mod tests;
