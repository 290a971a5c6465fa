//! ownerReferences: the controller reference, and the claim rules (adopt orphans that match,
//! release owned objects that no longer match) of upstream's `ControllerRefManager`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use serde_json::{Value, json};

use super::selector;

/// The owner side of a claim: who claims, with which selector.
#[derive(Clone, Debug)]
pub struct Owner {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    /// The owner carries a deletionTimestamp: it adopts nothing and releases nothing.
    pub deleting: bool,
}

impl Owner {
    /// Builds the owner description from an object's metadata.
    pub fn of(api_version: &str, kind: &str, meta: &ObjectMeta) -> Owner {
        Owner {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
        }
    }

    /// The controller reference children carry (controller and blockOwnerDeletion true).
    pub fn controller_ref(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }
}

/// The owner reference with `controller: true`, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
}

/// What a claim decides for one candidate object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Ours and matching: keep managing it.
    Owned,
    /// An orphan that matches: take it (then it is ours).
    Adopt,
    /// Ours but no longer matching: drop our reference.
    Release,
    /// Someone else's, or not for us.
    Ignore,
}

/// Upstream's claim rules for one object.
pub fn claim(owner: &Owner, sel: &LabelSelector, meta: &ObjectMeta) -> Claim {
    let matches = selector::matches(sel, meta.labels.as_ref());
    match controller_of(meta) {
        Some(r) if r.uid != owner.uid => Claim::Ignore,
        Some(_) if matches => Claim::Owned,
        Some(_) if owner.deleting => Claim::Ignore,
        Some(_) => Claim::Release,
        None if owner.deleting || !matches || meta.deletion_timestamp.is_some() => Claim::Ignore,
        None => Claim::Adopt,
    }
}

/// A JSON merge patch adding our controller reference; `uid` makes it fail on a recreated
/// object of the same name.
pub fn adopt_patch(owner: &Owner, meta: &ObjectMeta) -> Value {
    let mut refs: Vec<OwnerReference> = meta.owner_references.clone().unwrap_or_default();
    refs.retain(|r| r.uid != owner.uid);
    refs.push(owner.controller_ref());
    json!({"metadata": {"ownerReferences": refs, "uid": meta.uid}})
}

/// A JSON merge patch removing our reference.
pub fn release_patch(owner: &Owner, meta: &ObjectMeta) -> Value {
    let refs: Vec<OwnerReference> = meta
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.uid != owner.uid)
        .cloned()
        .collect();
    let refs = if refs.is_empty() {
        Value::Null
    } else {
        json!(refs)
    };
    json!({"metadata": {"ownerReferences": refs, "uid": meta.uid}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn owner(deleting: bool) -> Owner {
        Owner {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "rs".into(),
            uid: "u1".into(),
            deleting,
        }
    }

    fn meta(app: &str, ctrl: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some("p".into()),
            uid: Some("p1".into()),
            labels: Some(BTreeMap::from([("app".to_string(), app.to_string())])),
            owner_references: ctrl.map(|u| {
                vec![OwnerReference {
                    uid: u.into(),
                    controller: Some(true),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        }
    }

    fn sel() -> LabelSelector {
        selector::from_map(&BTreeMap::from([("app".to_string(), "web".to_string())]))
    }

    #[test]
    fn claim_rules() {
        let o = owner(false);
        assert_eq!(claim(&o, &sel(), &meta("web", Some("u1"))), Claim::Owned);
        assert_eq!(claim(&o, &sel(), &meta("db", Some("u1"))), Claim::Release);
        assert_eq!(claim(&o, &sel(), &meta("web", Some("u2"))), Claim::Ignore);
        assert_eq!(claim(&o, &sel(), &meta("web", None)), Claim::Adopt);
        assert_eq!(claim(&o, &sel(), &meta("db", None)), Claim::Ignore);
        let d = owner(true);
        assert_eq!(claim(&d, &sel(), &meta("web", None)), Claim::Ignore);
        assert_eq!(claim(&d, &sel(), &meta("db", Some("u1"))), Claim::Ignore);
    }

    #[test]
    fn patches_add_and_remove_reference() {
        let o = owner(false);
        let p = adopt_patch(&o, &meta("web", None));
        assert_eq!(p["metadata"]["ownerReferences"][0]["uid"], "u1");
        assert_eq!(p["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(
            p["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
            true
        );
        assert_eq!(p["metadata"]["uid"], "p1");
        let r = release_patch(&o, &meta("db", Some("u1")));
        assert!(r["metadata"]["ownerReferences"].is_null());
    }
}
