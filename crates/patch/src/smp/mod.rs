//! Strategic merge patch, applied as the API server applies it to built-in kinds.

#[cfg(test)]
mod kubectl_tests;
mod order;
#[cfg(test)]
mod tests;

use crate::Error;
use crate::schema::{Strategy, Ty};
use order::{element_is_map, normalize_element_order, partition, validate_set_order};
use serde_json::{Map, Value};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER_PREFIX: &str = "$setElementOrder";
const DELETE_PRIMITIVE_PREFIX: &str = "$deleteFromPrimitiveList";

/// Applies a strategic merge patch to `doc`, an object of kind `kind` in `api_version`.
///
/// Kinds without built-in type information are patched with every list replaced, as a merge
/// patch would do (directives are still honoured).
pub fn strategic_merge_patch(
    doc: &Value,
    patch: &[u8],
    api_version: &str,
    kind: &str,
) -> Result<Value, Error> {
    let patch: Value =
        serde_json::from_slice(patch).map_err(|e| Error::BadRequest(e.to_string()))?;
    let Value::Object(patch) = patch else {
        return Err(Error::BadRequest("invalid JSON document".into()));
    };
    let original = match doc {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let merged = merge_map(original, patch, Ty::root(api_version, kind))?;
    Ok(Value::Object(merged))
}

/// Applies a strategic merge patch given as a JSON value (used by apply and tests).
pub(crate) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    ty: Ty,
) -> Result<Map<String, Value>, Error> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                Ok(patch)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, ty)?;

    for (key, patch_value) in patch {
        let (key, delete_list) = match key.strip_prefix(DELETE_PRIMITIVE_PREFIX) {
            Some(rest) => match rest.strip_prefix('/') {
                Some(field) => (field.to_string(), true),
                None => {
                    return Err(Error::BadRequest(
                        "invalid patch format of primitive list".into(),
                    ));
                }
            },
            None => (key, false),
        };
        if patch_value.is_null() {
            original.remove(&key);
            continue;
        }
        let Some(current) = original.remove(&key) else {
            if !delete_list {
                insert_new(&mut original, key, patch_value);
            }
            continue;
        };
        if !same_kind(&current, &patch_value) {
            if !delete_list {
                insert_new(&mut original, key, patch_value);
            } else {
                original.insert(key, current);
            }
            continue;
        }
        let field = ty.field(&key);
        let strategy = field.rule.map_or(Strategy::None, |r| r.strategy);
        match (current, patch_value) {
            (Value::Object(cur), Value::Object(p)) => {
                let merged = if strategy == Strategy::Replace {
                    p
                } else {
                    merge_map(cur, p, field.ty)?
                };
                original.insert(key, Value::Object(merged));
            }
            (Value::Array(cur), Value::Array(p)) => {
                let merge_key = field.rule.map_or("", |r| r.merge_key);
                let merged = if is_merge(strategy) || delete_list {
                    merge_slice(cur, p, field.ty.items(), merge_key, delete_list)?
                } else {
                    p
                };
                original.insert(key, Value::Array(merged));
            }
            (_, p) => {
                if let Some(v) = remove_directives(p) {
                    original.insert(key, v);
                }
            }
        }
    }
    Ok(original)
}

fn is_merge(strategy: Strategy) -> bool {
    matches!(strategy, Strategy::Merge | Strategy::MergeRetainKeys)
}

fn insert_new(original: &mut Map<String, Value>, key: String, mut value: Value) {
    discard_nulls(&mut value);
    if let Some(v) = remove_directives(value) {
        original.insert(key, v);
    }
}

/// Whether two values have the same JSON kind (object, array, string, number, bool).
fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn bad_patch_type(directive: &Value, patch: &Map<String, Value>) -> Error {
    Error::BadRequest(format!(
        "unknown patch type: {} in map: {}",
        directive
            .as_str()
            .map_or_else(|| directive.to_string(), str::to_string),
        Value::Object(patch.clone())
    ))
}

pub(crate) fn no_merge_key(item: &Value, key: &str) -> Error {
    Error::BadRequest(format!(
        "map: {item} does not contain declared merge key: {key}"
    ))
}

fn discard_nulls(value: &mut Value) {
    match value {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// Strips directive-carrying maps; `None` if the value itself carries a `$patch` directive.
fn remove_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            let m = m
                .into_iter()
                .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                .collect();
            Some(Value::Object(m))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        v => Some(v),
    }
}

fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), Error> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let bad = || Error::BadRequest("invalid patch format of retainKeys".into());
    let Value::Array(retain) = retain else {
        return Err(bad());
    };
    let keep = |k: &str| retain.iter().any(|r| r.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null() || k.starts_with(DELETE_PRIMITIVE_PREFIX) || k.starts_with(SET_ORDER_PREFIX)
        {
            continue;
        }
        if !keep(k) {
            return Err(bad());
        }
    }
    original.retain(|k, _| keep(k));
    Ok(())
}

/// Handles every `$setElementOrder/<field>` of `patch`: merges the field's list and orders it.
fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    ty: Ty,
) -> Result<(), Error> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ORDER_PREFIX))
        .cloned()
        .collect();
    let bad = || Error::BadRequest("invalid patch format of setElementOrder list".into());
    for key in keys {
        let Some(Value::Array(order)) = patch.remove(&key) else {
            return Err(bad());
        };
        let field_name = key[SET_ORDER_PREFIX.len()..]
            .strip_prefix('/')
            .ok_or_else(bad)?
            .to_string();
        let original_list = match original.get(&field_name) {
            Some(Value::Array(a)) => Some(a.clone()),
            Some(_) => return Err(bad()),
            None => None,
        };
        let patch_list = match patch.get(&field_name) {
            Some(Value::Array(a)) => Some(a.clone()),
            Some(_) => return Err(bad()),
            None => None,
        };
        let field = ty.field(&field_name);
        let merge_key = field.rule.map_or("", |r| r.merge_key);
        let strategy = field.rule.map_or(Strategy::None, |r| r.strategy);
        validate_set_order(patch_list.as_deref().unwrap_or(&[]), &order, merge_key)?;
        let merged = match (&original_list, patch_list) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => match remove_directives(Value::Array(p)) {
                Some(Value::Array(a)) => a,
                _ => continue,
            },
            (Some(o), Some(p)) => {
                if is_merge(strategy) {
                    merge_slice(o.clone(), p, field.ty.items(), merge_key, false)?
                } else {
                    p
                }
            }
            (None, None) => continue,
        };
        let orig = original_list.unwrap_or_default();
        let is_map = element_is_map(&orig, patch.get(&field_name))?;
        let (patch_items, server_only) = partition(merged, &order, merge_key, is_map)?;
        let both =
            normalize_element_order(patch_items, server_only, &order, &orig, merge_key, is_map)?;
        original.insert(field_name.clone(), Value::Array(both));
        patch.remove(&field_name);
    }
    Ok(())
}

/// Merges a patch list into a list with merge strategy.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    item_ty: Ty,
    merge_key: &str,
    delete_list: bool,
) -> Result<Vec<Value>, Error> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let is_map = element_is_map(&original, Some(&Value::Array(patch.clone())))?;
    let (original, patch, merged) = if !is_map {
        if delete_list {
            let kept = original
                .into_iter()
                .filter(|v| !patch.iter().any(|d| order::scalar_eq(v, d)))
                .collect();
            return Ok(kept);
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(patch.iter()) {
            if !merged.iter().any(|m| order::scalar_eq(m, v)) {
                merged.push(v.clone());
            }
        }
        (original, patch, merged)
    } else {
        if merge_key.is_empty() {
            return Err(Error::BadRequest(
                "cannot merge lists without merge key".into(),
            ));
        }
        let (original, patch) = apply_special_elements(original, patch, merge_key)?;
        let merged = merge_items(original.clone(), &patch, item_ty, merge_key)?;
        (original, patch, merged)
    };
    let (patch_items, server_only) = partition(merged, &patch, merge_key, is_map)?;
    normalize_element_order(
        patch_items,
        server_only,
        &patch,
        &original,
        merge_key,
        is_map,
    )
}

/// Processes `$patch` items of a list of maps; returns the remaining original and patch items.
fn apply_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), Error> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(m) = &item else {
            return Err(Error::BadRequest(format!(
                "expected a map, but received {item}"
            )));
        };
        match m.get(DIRECTIVE) {
            None => plain.push(item),
            Some(d) => match d.as_str() {
                Some("delete") => {
                    let Some(key) = m.get(merge_key) else {
                        return Err(no_merge_key(&item, merge_key));
                    };
                    original
                        .retain(|o| !o.get(merge_key).is_some_and(|v| order::scalar_eq(v, key)));
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(Error::BadRequest(
                        "merging lists cannot yet be specified in the patch".into(),
                    ));
                }
                _ => return Err(bad_patch_type(d, m)),
            },
        }
    }
    if replace {
        return Ok((plain, Vec::new()));
    }
    Ok((original, plain))
}

fn merge_items(
    mut original: Vec<Value>,
    patch: &[Value],
    item_ty: Ty,
    merge_key: &str,
) -> Result<Vec<Value>, Error> {
    for item in patch {
        let Value::Object(p) = item else {
            return Err(no_merge_key(item, merge_key));
        };
        let Some(key) = p.get(merge_key) else {
            return Err(no_merge_key(item, merge_key));
        };
        let found = original
            .iter()
            .position(|o| o.get(merge_key).is_some_and(|v| order::scalar_eq(v, key)));
        match found {
            Some(i) => {
                let cur = match std::mem::take(&mut original[i]) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                original[i] = Value::Object(merge_map(cur, p.clone(), item_ty)?);
            }
            None => original.push(item.clone()),
        }
    }
    Ok(original)
}
