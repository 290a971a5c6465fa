use serde_json::json;

use super::plan::*;

fn res(plural: &str, group: &str) -> &'static skiff_api::Resource {
    skiff_api::registry()
        .all()
        .iter()
        .find(|r| r.plural == plural && r.group == group)
        .unwrap_or_else(|| panic!("{plural}"))
}

fn owner(name: &str, uid: &str) -> Item {
    Item::from_value(
        res("replicasets", "apps"),
        &json!({"metadata": {"name": name, "namespace": "ns", "uid": uid}}),
    )
    .unwrap_or_else(|| panic!("item"))
}

fn dependent(name: &str, owners: &[(&str, bool)]) -> Item {
    let refs: Vec<_> = owners
        .iter()
        .map(|(uid, block)| json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "o", "uid": uid, "blockOwnerDeletion": block}))
        .collect();
    Item::from_value(
        res("pods", ""),
        &json!({"metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "ownerReferences": refs}}),
    )
    .unwrap_or_else(|| panic!("item"))
}

#[test]
fn dependent_of_a_present_owner_is_kept() {
    let items = vec![owner("o", "u1"), dependent("p", &[("u1", true)])];
    assert!(plan(&items).is_empty());
}

#[test]
fn dependent_of_a_gone_owner_is_deleted_in_background_after_checking() {
    let items = vec![dependent("p", &[("gone", true)])];
    let actions = plan(&items);
    assert_eq!(actions.len(), 1);
    let Action::Delete {
        item,
        policy,
        verify,
    } = &actions[0]
    else {
        panic!("{actions:?}")
    };
    assert_eq!(*item, 0);
    assert_eq!(*policy, Propagation::Background);
    assert_eq!(verify[0].uid, "gone");
}

#[test]
fn dependent_with_one_gone_and_one_present_owner_loses_the_gone_reference() {
    let items = vec![
        owner("o", "u1"),
        dependent("p", &[("u1", false), ("gone", false)]),
    ];
    assert_eq!(
        plan(&items),
        vec![Action::RemoveOwners {
            item: 1,
            uids: vec!["gone".into()],
            verify: vec![items[1].owners[1].clone()],
        }]
    );
}

#[test]
fn owner_in_another_namespace_counts_as_gone() {
    let mut o = owner("o", "u1");
    o.namespace = Some("other".into());
    let items = vec![o, dependent("p", &[("u1", false)])];
    assert!(matches!(plan(&items)[0], Action::Delete { item: 1, .. }));
}

#[test]
fn foreground_owner_waits_for_blocking_dependents_then_loses_its_finalizer() {
    let mut o = owner("o", "u1");
    o.deleting = true;
    o.finalizers = vec![FOREGROUND.into()];
    let items = vec![o.clone(), dependent("p", &[("u1", true)])];
    // The dependent is deleted; the owner keeps its finalizer while it exists.
    assert_eq!(
        plan(&items),
        vec![Action::Delete {
            item: 1,
            policy: Propagation::Background,
            verify: vec![],
        }]
    );
    // A dependent being deleted still blocks.
    let mut going = dependent("p", &[("u1", true)]);
    going.deleting = true;
    assert!(plan(&[o.clone(), going]).is_empty());
    // Gone: the finalizer goes.
    assert_eq!(
        plan(&[o.clone()]),
        vec![Action::RemoveFinalizer {
            item: 0,
            finalizer: FOREGROUND
        }]
    );
    // Non-blocking dependents do not hold the owner back.
    let loose = dependent("q", &[("u1", false)]);
    let actions = plan(&[o, loose]);
    assert!(actions.contains(&Action::RemoveFinalizer {
        item: 0,
        finalizer: FOREGROUND
    }));
}

#[test]
fn dependent_with_its_own_dependents_is_deleted_in_foreground_under_a_foreground_owner() {
    let mut o = owner("o", "u1");
    o.deleting = true;
    o.finalizers = vec![FOREGROUND.into()];
    let mid = Item::from_value(
        res("replicasets", "apps"),
        &json!({"metadata": {"name": "mid", "namespace": "ns", "uid": "u2",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "o", "uid": "u1", "blockOwnerDeletion": true}]}}),
    )
    .unwrap_or_else(|| panic!("item"));
    let leaf = dependent("p", &[("u2", true)]);
    let actions = plan(&[o, mid, leaf]);
    assert!(actions.contains(&Action::Delete {
        item: 1,
        policy: Propagation::Foreground,
        verify: vec![],
    }));
}

#[test]
fn orphaning_owner_releases_dependents_then_its_finalizer() {
    let mut o = owner("o", "u1");
    o.deleting = true;
    o.finalizers = vec![ORPHAN.into()];
    let items = vec![o.clone(), dependent("p", &[("u1", true)])];
    assert_eq!(
        plan(&items),
        vec![Action::RemoveOwners {
            item: 1,
            uids: vec!["u1".into()],
            verify: vec![],
        }]
    );
    assert_eq!(
        plan(&[o]),
        vec![Action::RemoveFinalizer {
            item: 0,
            finalizer: ORPHAN
        }]
    );
}

#[test]
fn dependents_being_deleted_are_left_alone() {
    let mut p = dependent("p", &[("gone", true)]);
    p.deleting = true;
    assert!(plan(&[p]).is_empty());
}

#[test]
fn gone_owner_dependent_with_orphan_finalizer_is_deleted_with_orphan_policy() {
    let mut p = dependent("p", &[("gone", true)]);
    p.finalizers = vec![ORPHAN.into()];
    assert!(matches!(
        plan(&[p])[0],
        Action::Delete {
            policy: Propagation::Orphan,
            ..
        }
    ));
}
