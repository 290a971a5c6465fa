//! Strategic-merge-patch metadata (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`,
//! list and map types) which kubectl's client-side apply reads. The rules come from
//! `skiff_patch::patch_rules()`, the same table the server merges patches with.

use std::collections::BTreeMap;

use serde_json::Value;

use super::schemas::property_mut;

/// Adds every patch rule to `defs` (rules for fields a definition lacks are skipped).
pub(crate) fn apply(defs: &mut BTreeMap<String, Value>) {
    for rule in skiff_patch::patch_rules() {
        if rule.field.is_empty() {
            if rule.map_type_atomic
                && let Some(Value::Object(def)) = defs.get_mut(rule.type_name)
            {
                def.insert("x-kubernetes-map-type".into(), "atomic".into());
            }
            continue;
        }
        let Some(p) = property_mut(defs, rule.type_name, rule.field) else {
            continue;
        };
        if let Some(key) = rule.patch_merge_key {
            p.insert("x-kubernetes-patch-merge-key".into(), key.into());
        }
        if let Some(strategy) = rule.patch_strategy {
            p.insert("x-kubernetes-patch-strategy".into(), strategy.into());
        }
        if let Some(list_type) = rule.list_type {
            p.insert("x-kubernetes-list-type".into(), list_type.into());
        }
        if !rule.list_map_keys.is_empty() {
            let keys = rule.list_map_keys.iter().map(|k| Value::from(*k)).collect();
            p.insert("x-kubernetes-list-map-keys".into(), Value::Array(keys));
        }
        if rule.map_type_atomic {
            p.insert("x-kubernetes-map-type".into(), "atomic".into());
        }
    }
}
