//! Cascading deletion: background, foreground and orphan, through kubectl.

use serde_json::json;

use super::harness::{cluster, eventually, fast, owned_by, replicaset};

fn owner_with_dependents(c: &super::harness::Cluster, owner: &str, deps: &[&str]) -> String {
    c.apply_json(&replicaset(owner, 0));
    let uid = c.uid(&["rs", owner]);
    assert!(!uid.is_empty());
    for d in deps {
        c.apply_json(&json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": d, "namespace": "default", "ownerReferences": owned_by(owner, &uid) },
            "data": { "k": "v" }
        }));
    }
    uid
}

#[test]
fn background_deletion_removes_dependents() {
    let c = cluster(fast());
    owner_with_dependents(&c, "bg", &["bg-a", "bg-b"]);
    c.k.ok(&["delete", "rs", "bg"]);
    assert!(!c.exists(&["rs", "bg"]));
    assert!(
        eventually(20, || !c.exists(&["cm", "bg-a"])
            && !c.exists(&["cm", "bg-b"])),
        "dependents survived their owner"
    );
    // A dependent whose owner never existed goes too.
    c.apply_json(&json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "dangling", "namespace": "default",
                      "ownerReferences": owned_by("nobody", "00000000-0000-0000-0000-000000000000") }
    }));
    assert!(eventually(20, || !c.exists(&["cm", "dangling"])));
}

#[test]
fn foreground_deletion_keeps_the_owner_until_dependents_are_gone() {
    let c = cluster(fast());
    owner_with_dependents(&c, "fg", &["fg-a"]);
    // A dependent held by another finalizer keeps the owner waiting.
    c.k.ok(&[
        "patch",
        "cm",
        "fg-a",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
    ]);
    c.k.ok(&["delete", "rs", "fg", "--cascade=foreground", "--wait=false"]);
    let finalizers = c.jsonpath(&["rs", "fg"], "{.metadata.finalizers}");
    assert!(finalizers.contains("foregroundDeletion"), "{finalizers}");
    assert!(
        eventually(20, || !c
            .jsonpath(&["cm", "fg-a"], "{.metadata.deletionTimestamp}")
            .is_empty()),
        "dependent not deleted"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(c.exists(&["rs", "fg"]), "owner went before its dependent");
    c.k.ok(&[
        "patch",
        "cm",
        "fg-a",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    assert!(
        eventually(20, || !c.exists(&["rs", "fg"])),
        "owner kept after its dependents"
    );
    // kubectl's own foreground wait.
    owner_with_dependents(&c, "fg2", &["fg2-a", "fg2-b"]);
    c.k.ok(&[
        "delete",
        "rs",
        "fg2",
        "--cascade=foreground",
        "--timeout=30s",
    ]);
    assert!(!c.exists(&["rs", "fg2"]));
    assert!(!c.exists(&["cm", "fg2-a"]) && !c.exists(&["cm", "fg2-b"]));
}

#[test]
fn orphan_deletion_leaves_dependents_without_the_reference() {
    let c = cluster(fast());
    owner_with_dependents(&c, "or", &["or-a"]);
    c.k.ok(&["delete", "rs", "or", "--cascade=orphan"]);
    assert!(
        eventually(20, || !c.exists(&["rs", "or"])),
        "orphaning owner stayed"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(c.exists(&["cm", "or-a"]), "orphaned dependent was deleted");
    assert_eq!(
        c.jsonpath(&["cm", "or-a"], "{.metadata.ownerReferences}"),
        ""
    );
}

#[test]
fn delete_options_in_the_query_choose_the_propagation() {
    let c = cluster(fast());
    owner_with_dependents(&c, "raw", &["raw-a"]);
    let bogus = c.k.run(&[
        "delete",
        "--raw",
        "/apis/apps/v1/namespaces/default/replicasets/raw?propagationPolicy=Bogus",
    ]);
    let text = String::from_utf8_lossy(&bogus.stderr).to_string();
    assert!(!bogus.status.success());
    assert!(
        text.contains(r#"Unsupported value: \"Bogus\""#)
            || text.contains(r#"Unsupported value: "Bogus""#),
        "{text}"
    );
    let both = c.k.run(&[
        "delete",
        "--raw",
        "/apis/apps/v1/namespaces/default/replicasets/raw?propagationPolicy=Orphan&orphanDependents=true",
    ]);
    assert!(!both.status.success());
    assert!(c.exists(&["rs", "raw"]));
    c.k.ok(&[
        "delete",
        "--raw",
        "/apis/apps/v1/namespaces/default/replicasets/raw?orphanDependents=true",
    ]);
    assert!(eventually(20, || !c.exists(&["rs", "raw"])));
    assert!(
        c.exists(&["cm", "raw-a"]),
        "orphanDependents=true deleted the dependent"
    );
    assert_eq!(
        c.jsonpath(&["cm", "raw-a"], "{.metadata.ownerReferences}"),
        ""
    );
}
