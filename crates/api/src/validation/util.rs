//! Helpers shared by the per-kind validators.

use serde_json::Value;

use super::Cause;

/// `a.b` joined, or `b` when `a` is empty.
pub fn join(base: &str, child: &str) -> String {
    if base.is_empty() {
        child.to_string()
    } else {
        format!("{base}.{child}")
    }
}

/// `base[i]`.
pub fn idx(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// String at `key`, "" when absent.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Array at `key`, empty when absent.
pub fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `value >= 0` when present.
pub fn non_negative(errs: &mut Vec<Cause>, v: &Value, key: &str, path: &str) {
    if let Some(n) = v.get(key).and_then(Value::as_i64)
        && n < 0
    {
        errs.push(Cause::invalid(
            &join(path, key),
            &Value::from(n),
            "must be greater than or equal to 0",
        ));
    }
}

/// Value must be one of `allowed` when present and non-empty.
pub fn one_of(errs: &mut Vec<Cause>, v: &Value, key: &str, path: &str, allowed: &[&str]) {
    if let Some(x) = v.get(key).and_then(Value::as_str)
        && !allowed.contains(&x)
    {
        errs.push(Cause::not_supported(
            &join(path, key),
            &Value::from(x),
            allowed,
        ));
    }
}

/// A port number in 1..=65535.
pub fn port_range(errs: &mut Vec<Cause>, v: &Value, field: &str) {
    if let Some(n) = v.as_i64()
        && !(1..=65535).contains(&n)
    {
        errs.push(Cause::invalid(
            field,
            v,
            "must be between 1 and 65535, inclusive",
        ));
    }
}

/// `field is immutable` for each key that changed between `new` and `old`.
pub fn immutable(errs: &mut Vec<Cause>, new: &Value, old: &Value, key: &str, path: &str) {
    let n = new.get(key).unwrap_or(&Value::Null);
    let o = old.get(key).unwrap_or(&Value::Null);
    if n != o {
        errs.push(Cause::invalid(&join(path, key), n, "field is immutable"));
    }
}
