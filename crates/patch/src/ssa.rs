//! Server-side apply: merge an applied configuration, track ownership, detect conflicts.

use crate::fieldpath::{self, Set};
use crate::managed::{self, Entry, Scope};
use crate::schema::Ty;
use crate::typed::{self, Node};
use serde_json::{Map, Value};

/// Result of an apply: the object to store (with its new `metadata.managedFields`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOutcome {
    pub object: Value,
    /// Whether the object (including its managed fields) differs from the live one; a no-op
    /// apply need not be written (upstream keeps the resourceVersion then).
    pub changed: bool,
}

/// A field another manager owns with a different value than the applied one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Name of the owning manager.
    pub manager: String,
    /// Path of the field as upstream prints it: `.spec.replicas`.
    pub field: String,
    /// Operation of the owning entry (`Apply` or `Update`).
    pub operation: String,
    /// API version of the owning entry.
    pub api_version: String,
    /// Subresource of the owning entry, empty for the main resource.
    pub subresource: String,
}

impl Conflict {
    /// How upstream names the owner: `"kubectl" using apps/v1` for updaters, `"kubectl"` for
    /// appliers; used as `conflict with <owner>` in status causes.
    pub fn owner(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == "Update" {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }

    /// Message of the status cause upstream attaches for this conflict.
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.owner())
    }
}

/// Why an apply was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// Fields owned by other managers would change (HTTP 409 upstream).
    #[error("{}", conflicts_message(.0))]
    Conflicts(Vec<Conflict>),
    /// The applied configuration is not a valid object (HTTP 400/422 upstream).
    #[error("{0}")]
    Invalid(String),
}

/// Upstream's message for apply conflicts.
pub fn conflicts_message(conflicts: &[Conflict]) -> String {
    if let [c] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            c.owner(),
            c.field
        );
    }
    let mut owners: Vec<String> = conflicts.iter().map(Conflict::owner).collect();
    owners.sort();
    owners.dedup();
    let mut lines = Vec::new();
    for owner in owners {
        lines.push(format!("conflicts with {owner}:"));
        for c in conflicts.iter().filter(|c| c.owner() == owner) {
            lines.push(format!("- {}", c.field));
        }
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

fn parse_config(applied: &[u8]) -> Result<Map<String, Value>, ApplyError> {
    let value: Value = match serde_json::from_slice(applied) {
        Ok(v) => v,
        Err(_) => {
            let text = std::str::from_utf8(applied)
                .map_err(|e| ApplyError::Invalid(format!("error decoding YAML: {e}")))?;
            serde_saphyr::from_str(text)
                .map_err(|e| ApplyError::Invalid(format!("error decoding YAML: {e}")))?
        }
    };
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(ApplyError::Invalid(
            "error decoding YAML: the applied configuration is not an object".into(),
        )),
    }
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Applies configuration `applied` (YAML or JSON) as `manager` to `live` (`None` to create).
///
/// Returns the merged object with updated `metadata.managedFields`. Fields the manager applied
/// before but omits now are removed unless another manager owns them. Fields owned by another
/// manager whose value would change are conflicts, unless `force` takes them over.
pub fn server_side_apply(
    live: Option<&Value>,
    applied: &[u8],
    manager: &str,
    force: bool,
    api_version: &str,
    kind: &str,
    now: &str,
) -> Result<Value, ApplyError> {
    apply(live, applied, manager, force, api_version, kind, now).map(|o| o.object)
}

/// Like [`server_side_apply`], also telling whether anything changed.
pub fn apply(
    live: Option<&Value>,
    applied: &[u8],
    manager: &str,
    force: bool,
    api_version: &str,
    kind: &str,
    now: &str,
) -> Result<ApplyOutcome, ApplyError> {
    let mut config = parse_config(applied)?;
    check_identity(&config, live, api_version, kind)?;
    config.remove("status");
    if let Some(meta) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    let mut config = Value::Object(config);
    strip_nulls(&mut config);

    let root = Node::root(Ty::root(api_version, kind));
    typed::validate_keys(&config, root).map_err(ApplyError::Invalid)?;
    let live_obj = match live {
        Some(l) => managed::without_managed_fields(l),
        None => Value::Object(Map::new()),
    };
    let mut entries = live.map(managed::decode).unwrap_or_default();
    if live.is_some() && entries.is_empty() {
        // As upstream: an object never tracked before is owned by "before-first-apply".
        let mut set = typed::to_field_set(&live_obj, root);
        managed::filter(&mut set, Scope::Main);
        entries.push(Entry {
            manager: "before-first-apply".into(),
            operation: "Update".into(),
            api_version: api_version.to_string(),
            time: Some(now.to_string()),
            subresource: String::new(),
            set,
        });
    }
    let me = Entry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version: api_version.to_string(),
        time: None,
        subresource: String::new(),
        set: Set::new(),
    };
    let previous = entries
        .iter()
        .position(|e| e.same_identity(&me))
        .map(|i| entries.remove(i));
    let last_set = previous.as_ref().map(|e| e.set.clone()).unwrap_or_default();

    let mut merged = typed::merge(Some(&live_obj), &config, root);
    let mut applied_set = typed::to_field_set(&config, root);
    managed::filter(&mut applied_set, Scope::Main);

    if !last_set.is_empty() {
        let mut owned = applied_set.clone();
        for e in &entries {
            owned = owned.union(&e.set);
        }
        let owned = typed::ensure_named(&owned, root);
        let last = typed::ensure_named(&last_set, root);
        let merged_set = typed::ensure_named(&typed::to_field_set(&merged, root), root);
        let mut remove = last.intersection(&merged_set).difference(&owned);
        remove.retain(|p| !owned.has_descendant(p));
        managed::filter(&mut remove, Scope::Main);
        typed::remove_items(&mut merged, &remove, root);
    }

    let cmp = typed::compare(&live_obj, &merged, root);
    let mut changed = cmp.added.union(&cmp.modified);
    managed::filter(&mut changed, Scope::Main);
    let mut conflicts = Vec::new();
    for e in &mut entries {
        let taken = e.set.intersection(&changed);
        if taken.is_empty() {
            continue;
        }
        if force {
            e.set = e.set.difference(&taken);
        } else {
            conflicts.extend(taken.iter().map(|p| Conflict {
                manager: e.manager.clone(),
                field: fieldpath::display(p),
                operation: e.operation.clone(),
                api_version: e.api_version.clone(),
                subresource: e.subresource.clone(),
            }));
        }
    }
    if !conflicts.is_empty() {
        return Err(ApplyError::Conflicts(conflicts));
    }

    let unchanged = live.is_some() && typed::deep_eq(&live_obj, &merged);
    let time = match (&previous, unchanged) {
        (Some(p), true) if p.time.is_some() => p.time.clone(),
        _ => Some(now.to_string()),
    };
    entries.push(Entry {
        set: applied_set,
        time,
        ..me
    });
    managed::encode(&mut merged, entries);
    let changed = live.is_none_or(|l| !typed::deep_eq(l, &merged));
    Ok(ApplyOutcome {
        object: merged,
        changed,
    })
}

/// Checks apiVersion, kind and name of the applied configuration against the target.
fn check_identity(
    config: &Map<String, Value>,
    live: Option<&Value>,
    api_version: &str,
    kind: &str,
) -> Result<(), ApplyError> {
    let s = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or_default();
    if s("apiVersion").is_empty() || s("kind").is_empty() {
        return Err(ApplyError::Invalid(
            "apiVersion and kind must be set in the applied configuration".into(),
        ));
    }
    if s("apiVersion") != api_version || s("kind") != kind {
        return Err(ApplyError::Invalid(format!(
            "the applied configuration has apiVersion {:?} and kind {:?}, expected {:?} and {:?}",
            s("apiVersion"),
            s("kind"),
            api_version,
            kind
        )));
    }
    let name = config
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() && live.is_none() {
        return Err(ApplyError::Invalid(
            "metadata.name: Required value: name is required".into(),
        ));
    }
    if let Some(live_name) = live
        .and_then(|l| l.pointer("/metadata/name"))
        .and_then(Value::as_str)
        && !name.is_empty()
        && name != live_name
    {
        return Err(ApplyError::Invalid(format!(
            "the name of the object ({name}) does not match the name on the URL ({live_name})"
        )));
    }
    Ok(())
}
