//! Tests of JSON patch and merge patch.

use crate::{Error, json_patch, merge_patch};
use serde_json::json;

#[test]
fn json_patch_ops() {
    let doc = json!({"spec": {"replicas": 1, "list": ["a"]}});
    let patch = br#"[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/spec/list/-","value":"b"},{"op":"test","path":"/spec/replicas","value":3}]"#;
    let out = json_patch(&doc, patch).expect("patch");
    assert_eq!(out, json!({"spec": {"replicas": 3, "list": ["a", "b"]}}));
}

#[test]
fn json_patch_test_failure_is_unprocessable() {
    let doc = json!({"spec": {"replicas": 1}});
    let err = json_patch(
        &doc,
        br#"[{"op":"test","path":"/spec/replicas","value":2}]"#,
    );
    let Err(e) = err else {
        panic!("expected failure")
    };
    assert_eq!(e.status_code(), 422);
    assert!(e.to_string().contains("/spec/replicas"), "{e}");
    let err = json_patch(&doc, br#"[{"op":"remove","path":"/spec/missing"}]"#);
    assert!(matches!(err, Err(Error::Unprocessable(_))));
    let err = json_patch(&doc, br#"{"op":"remove"}"#);
    assert!(matches!(err, Err(Error::BadRequest(_))));
}

#[test]
fn merge_patch_replaces_lists_and_deletes_nulls() {
    let doc = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"list": [1, 2]}});
    let out = merge_patch(
        &doc,
        br#"{"metadata":{"labels":{"b":null,"c":"3"}},"spec":{"list":[3]}}"#,
    )
    .expect("patch");
    assert_eq!(
        out,
        json!({"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"list": [3]}})
    );
    assert!(matches!(
        merge_patch(&doc, b"[1]"),
        Err(Error::BadRequest(_))
    ));
}
