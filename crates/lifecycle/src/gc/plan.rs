//! The garbage collector's decisions over a snapshot of every object: pure logic.

use std::collections::HashMap;

use serde_json::Value;
use skiff_api::Resource;

/// Finalizer of an owner whose dependents are deleted first (foreground deletion).
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer of an owner whose dependents are kept (orphan deletion).
pub const ORPHAN: &str = "orphan";

/// How dependents of a deleted object are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Orphan,
    Background,
    Foreground,
}

/// One entry of `metadata.ownerReferences`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub block_owner_deletion: bool,
}

/// What the collector knows of one object.
#[derive(Debug, Clone)]
pub struct Item {
    pub res: &'static Resource,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    pub deleting: bool,
    pub finalizers: Vec<String>,
    pub owners: Vec<OwnerRef>,
}

impl Item {
    /// Read an object of `res`; `None` without a name or uid.
    pub fn from_value(res: &'static Resource, obj: &Value) -> Option<Item> {
        let meta = obj.get("metadata")?;
        let strs = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let owners = meta["ownerReferences"]
            .as_array()
            .map(|refs| {
                refs.iter()
                    .filter_map(|r| {
                        Some(OwnerRef {
                            api_version: r["apiVersion"].as_str()?.to_string(),
                            kind: r["kind"].as_str()?.to_string(),
                            name: r["name"].as_str()?.to_string(),
                            uid: r["uid"].as_str()?.to_string(),
                            block_owner_deletion: r["blockOwnerDeletion"].as_bool() == Some(true),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Item {
            res,
            namespace: meta["namespace"].as_str().map(str::to_string),
            name: meta["name"].as_str()?.to_string(),
            uid: meta["uid"].as_str()?.to_string(),
            deleting: meta.get("deletionTimestamp").is_some_and(|t| !t.is_null()),
            finalizers: strs(&meta["finalizers"]),
            owners,
        })
    }

    fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }

    /// Being deleted and waiting for its dependents (foreground).
    pub fn deleting_dependents(&self) -> bool {
        self.deleting && self.has_finalizer(FOREGROUND)
    }

    /// The policy its own deletion uses, from its finalizers.
    fn own_policy(&self) -> Propagation {
        if self.has_finalizer(ORPHAN) {
            Propagation::Orphan
        } else if self.has_finalizer(FOREGROUND) {
            Propagation::Foreground
        } else {
            Propagation::Background
        }
    }
}

/// One step the collector takes. Items are indexes into the planned slice.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Delete the item with this propagation, once the `verify` owners (absent from the
    /// snapshot) are confirmed gone from the API.
    Delete {
        item: usize,
        policy: Propagation,
        verify: Vec<OwnerRef>,
    },
    /// Remove ownerReferences with these uids (owners gone, or orphaning).
    RemoveOwners {
        item: usize,
        uids: Vec<String>,
        verify: Vec<OwnerRef>,
    },
    /// Remove a garbage-collection finalizer: the owner's dependents are handled.
    RemoveFinalizer {
        item: usize,
        finalizer: &'static str,
    },
}

/// Decide every step for a snapshot of all objects.
pub fn plan(items: &[Item]) -> Vec<Action> {
    let by_uid: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.uid.as_str(), i))
        .collect();
    let mut dependents: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        for r in &it.owners {
            dependents.entry(r.uid.as_str()).or_default().push(i);
        }
    }
    let mut actions = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let deps = dependents
            .get(it.uid.as_str())
            .map_or(&[][..], Vec::as_slice);
        if it.deleting && it.has_finalizer(ORPHAN) {
            orphan(i, it, deps, &mut actions);
            continue;
        }
        if it.deleting_dependents() {
            let blocking = deps.iter().any(|&d| {
                items[d]
                    .owners
                    .iter()
                    .any(|r| r.uid == it.uid && r.block_owner_deletion)
            });
            if !blocking {
                actions.push(Action::RemoveFinalizer {
                    item: i,
                    finalizer: FOREGROUND,
                });
            }
        }
        if it.owners.is_empty() || it.deleting {
            continue;
        }
        if let Some(a) = dependent(i, it, items, &by_uid, !deps.is_empty()) {
            actions.push(a);
        }
    }
    actions
}

/// An owner deleted with the orphan policy: release its dependents, then let it go.
fn orphan(i: usize, it: &Item, deps: &[usize], actions: &mut Vec<Action>) {
    if deps.is_empty() {
        actions.push(Action::RemoveFinalizer {
            item: i,
            finalizer: ORPHAN,
        });
        return;
    }
    for &d in deps {
        actions.push(Action::RemoveOwners {
            item: d,
            uids: vec![it.uid.clone()],
            verify: Vec::new(),
        });
    }
}

/// A live object with owners: keep it, drop references to gone owners, or delete it.
fn dependent(
    i: usize,
    it: &Item,
    items: &[Item],
    by_uid: &HashMap<&str, usize>,
    has_dependents: bool,
) -> Option<Action> {
    let mut solid = 0;
    let mut dangling = Vec::new();
    let mut waiting = Vec::new();
    for r in &it.owners {
        let owner = by_uid
            .get(r.uid.as_str())
            .map(|&o| &items[o])
            .filter(|o| !o.res.namespaced || o.namespace == it.namespace);
        match owner {
            None => dangling.push(r.clone()),
            Some(o) if o.deleting_dependents() => waiting.push(r.clone()),
            Some(_) => solid += 1,
        }
    }
    if solid > 0 {
        if dangling.is_empty() && waiting.is_empty() {
            return None;
        }
        let uids = dangling
            .iter()
            .chain(&waiting)
            .map(|r| r.uid.clone())
            .collect();
        return Some(Action::RemoveOwners {
            item: i,
            uids,
            verify: dangling,
        });
    }
    let policy = if !waiting.is_empty() && has_dependents {
        Propagation::Foreground
    } else {
        it.own_policy()
    };
    Some(Action::Delete {
        item: i,
        policy,
        verify: dangling,
    })
}
