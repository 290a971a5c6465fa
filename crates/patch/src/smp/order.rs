//! Ordering of merged lists: patch order first, server-only items interleaved by live order.

use super::{DIRECTIVE, no_merge_key};
use crate::Error;
use serde_json::Value;
use std::cmp::Ordering;

/// JSON equality where numbers compare by value (as Go's decoded float64 do).
pub(crate) fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Whether the items of the lists are maps; errors if item kinds are mixed.
pub(super) fn element_is_map(original: &[Value], patch: Option<&Value>) -> Result<bool, Error> {
    let patch_items = patch
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut kind: Option<std::mem::Discriminant<Value>> = None;
    let mut is_map = false;
    for v in original.iter().chain(patch_items) {
        if v.is_array() {
            return Err(Error::BadRequest("lists of lists are not supported".into()));
        }
        let d = std::mem::discriminant(v);
        match kind {
            None => {
                kind = Some(d);
                is_map = v.is_object();
            }
            Some(k) if k != d => {
                return Err(Error::BadRequest(
                    "list elements are not of the same type".into(),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(is_map)
}

/// Lookup value of an item: its merge key value for maps, the item itself otherwise.
fn lookup<'a>(item: &'a Value, merge_key: &str, is_map: bool) -> Option<&'a Value> {
    if is_map {
        item.get(merge_key)
    } else {
        Some(item)
    }
}

fn index_of(list: &[Value], item: &Value, merge_key: &str, is_map: bool) -> Option<usize> {
    let needle = lookup(item, merge_key, is_map);
    list.iter()
        .position(|v| match (lookup(v, merge_key, is_map), needle) {
            (Some(a), Some(b)) => scalar_eq(a, b),
            (None, None) => true,
            _ => false,
        })
}

/// Splits `merged` into items present in `by` and the others (server-only items).
pub(super) fn partition(
    merged: Vec<Value>,
    by: &[Value],
    merge_key: &str,
    is_map: bool,
) -> Result<(Vec<Value>, Vec<Value>), Error> {
    let mut in_patch = Vec::new();
    let mut server_only = Vec::new();
    for v in merged {
        if is_map && !merge_key.is_empty() && v.get(merge_key).is_none() {
            return Err(no_merge_key(&v, merge_key));
        }
        let found = if is_map && merge_key.is_empty() {
            by.iter().any(|b| b == &v)
        } else {
            index_of(by, &v, merge_key, is_map).is_some()
        };
        if found {
            in_patch.push(v);
        } else {
            server_only.push(v);
        }
    }
    Ok((in_patch, server_only))
}

fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    is_map: bool,
) -> Result<Vec<Value>, Error> {
    let (mut keep, deleted): (Vec<Value>, Vec<Value>) = if is_map {
        for v in to_sort.iter().chain(order) {
            if v.get(merge_key).is_none() {
                return Err(no_merge_key(v, merge_key));
            }
        }
        to_sort
            .into_iter()
            .partition(|v| v.get(DIRECTIVE).and_then(Value::as_str) != Some("delete"))
    } else {
        (to_sort, Vec::new())
    };
    keep.sort_by(|a, b| {
        match (
            index_of(order, a, merge_key, is_map),
            index_of(order, b, merge_key, is_map),
        ) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => Ordering::Equal,
        }
    });
    keep.extend(deleted);
    Ok(keep)
}

/// Orders patch items by `patch_order`, server-only items by `server_order`, then interleaves
/// them keeping both relative orders, using the live order where both are known.
pub(super) fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    is_map: bool,
) -> Result<Vec<Value>, Error> {
    let right = normalize_slice_order(patch, patch_order, merge_key, is_map)?;
    let left = normalize_slice_order(server_only, server_order, merge_key, is_map)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (
                    index_of(server_order, l, merge_key, is_map),
                    index_of(server_order, r, merge_key, is_map),
                ) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    Ok(out)
}

/// Checks that the patch list follows the order of its `$setElementOrder` list.
pub(super) fn validate_set_order(
    patch: &[Value],
    order: &[Value],
    merge_key: &str,
) -> Result<(), Error> {
    if patch.is_empty() || order.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = if merge_key.is_empty() {
        patch.iter().collect()
    } else {
        patch
            .iter()
            .filter(|v| v.get(DIRECTIVE).and_then(Value::as_str) != Some("delete"))
            .collect()
    };
    let (mut pi, mut oi) = (0, 0);
    while pi < non_delete.len() && oi < order.len() {
        let item = non_delete[pi];
        if item.get(DIRECTIVE).is_some() {
            pi += 1;
            continue;
        }
        let equal = if merge_key.is_empty() {
            scalar_eq(item, &order[oi])
        } else {
            let a = item
                .get(merge_key)
                .ok_or_else(|| no_merge_key(item, merge_key))?;
            let b = order[oi]
                .get(merge_key)
                .ok_or_else(|| no_merge_key(&order[oi], merge_key))?;
            scalar_eq(a, b)
        };
        if equal {
            pi += 1;
        }
        oi += 1;
    }
    if pi < non_delete.len() && oi >= order.len() {
        return Err(Error::BadRequest(format!(
            "The order in patch list:\n{}\n doesn't match $setElementOrder list:\n{}\n",
            Value::Array(patch.to_vec()),
            Value::Array(order.to_vec())
        )));
    }
    Ok(())
}
