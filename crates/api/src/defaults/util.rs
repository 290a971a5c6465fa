//! Small JSON helpers for defaulting.

use serde_json::{Map, Value, json};

/// Set `key` to `value` unless it is already present and non-null.
pub fn set(obj: &mut Value, key: &str, value: Value) {
    if let Some(m) = obj.as_object_mut() {
        match m.get(key) {
            Some(v) if !v.is_null() => {}
            _ => {
                m.insert(key.to_string(), value);
            }
        }
    }
}

/// The object at `key`, created as `{}` when absent or null. `None` when `obj` is not an
/// object or `key` holds a non-object.
pub fn child<'a>(obj: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let m = obj.as_object_mut()?;
    let slot = m.entry(key.to_string()).or_insert_with(|| json!({}));
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.is_object().then_some(slot)
}

/// The existing non-null object at `key`, if any (not created).
pub fn existing<'a>(obj: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    obj.get_mut(key).filter(|v| v.is_object())
}

/// Mutable elements of the array at `key`, if any.
pub fn items<'a>(obj: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    obj.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|a| a.iter_mut())
}

/// Is `obj[key]` absent or null?
pub fn missing(obj: &Value, key: &str) -> bool {
    obj.get(key).is_none_or(Value::is_null)
}
