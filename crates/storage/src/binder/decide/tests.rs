use serde_json::{Value, json};

use super::*;

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn claim(name: &str, extra: Value) -> PersistentVolumeClaim {
    let mut v = json!({"metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "resourceVersion": "5"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
        "status": {"phase": "Pending"}});
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
}

fn volume(name: &str, extra: Value) -> PersistentVolume {
    let mut v = json!({"metadata": {"name": name, "resourceVersion": "7"},
        "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
                 "hostPath": {"path": "/tmp/x"}, "persistentVolumeReclaimPolicy": "Retain"},
        "status": {"phase": "Available"}});
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
}

fn class(name: &str, provisioner: &str, mode: &str) -> StorageClass {
    serde_json::from_value(
        json!({"metadata": {"name": name}, "provisioner": provisioner,
        "volumeBindingMode": mode}),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

struct Fixture {
    volumes: Vec<PersistentVolume>,
    classes: BTreeMap<String, StorageClass>,
    nodes: BTreeMap<String, Node>,
}

impl Fixture {
    fn new(volumes: Vec<PersistentVolume>) -> Fixture {
        let mut classes = BTreeMap::new();
        classes.insert(
            "local-path".to_string(),
            class(
                "local-path",
                "rancher.io/local-path",
                "WaitForFirstConsumer",
            ),
        );
        classes.insert(
            "fast".to_string(),
            class("fast", "example.com/fast", "Immediate"),
        );
        let node: Node = serde_json::from_value(
            json!({"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Fixture {
            volumes,
            classes,
            nodes: BTreeMap::from([("n1".to_string(), node)]),
        }
    }

    fn step(&self, c: &PersistentVolumeClaim) -> ClaimStep {
        let world = World {
            volumes: &self.volumes,
            classes: &self.classes,
            nodes: &self.nodes,
        };
        claim_step(c, &world, &HashSet::new())
    }
}

#[test]
fn an_unbound_claim_binds_to_a_matching_volume_both_ways() {
    let f = Fixture::new(vec![volume("pv1", json!({}))]);
    let c = claim("data", json!({"spec": {"storageClassName": ""}}));
    assert_eq!(f.step(&c), ClaimStep::Bind("pv1".into()));
    let p = bind_patches(&c, &f.volumes[0]);
    let v = p.volume.unwrap_or_default();
    assert_eq!(v["spec"]["claimRef"]["uid"], "uid-data");
    assert_eq!(v["spec"]["claimRef"]["kind"], "PersistentVolumeClaim");
    assert_eq!(v["metadata"]["annotations"][ANN_BOUND_BY_CONTROLLER], "yes");
    assert_eq!(v["metadata"]["resourceVersion"], "7", "an optimistic lock");
    assert_eq!(p.volume_status, Some(json!({"status": {"phase": "Bound"}})));
    let cl = p.claim.unwrap_or_default();
    assert_eq!(cl["spec"]["volumeName"], "pv1");
    assert_eq!(cl["metadata"]["annotations"][ANN_BIND_COMPLETED], "yes");
    assert_eq!(
        cl["metadata"]["annotations"][ANN_BOUND_BY_CONTROLLER],
        "yes"
    );
    let st = p.claim_status.unwrap_or_default();
    assert_eq!(st["status"]["phase"], "Bound");
    assert_eq!(st["status"]["capacity"]["storage"], "1Gi");
    assert_eq!(st["status"]["accessModes"], json!(["ReadWriteOnce"]));
}

#[test]
fn a_fully_bound_pair_needs_nothing() {
    let v = volume(
        "pv1",
        json!({"spec": {"claimRef": {"namespace": "ns", "name": "data", "uid": "uid-data"}},
               "status": {"phase": "Bound"}}),
    );
    let c = claim(
        "data",
        json!({"metadata": {"annotations": {ANN_BIND_COMPLETED: "yes"}},
               "spec": {"volumeName": "pv1"},
               "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}}),
    );
    let f = Fixture::new(vec![v]);
    assert_eq!(f.step(&c), ClaimStep::Nothing);
    assert_eq!(volume_step(&f.volumes[0], &[c]), VolumeStep::Nothing);
}

#[test]
fn without_volumes_a_claim_waits_and_says_why_as_upstream() {
    let f = Fixture::new(vec![]);
    let none = claim("a", json!({}));
    let ClaimStep::Wait(n) = f.step(&none) else {
        panic!("waits")
    };
    assert_eq!(
        n.message,
        "no persistent volumes available for this claim and no storage class is set"
    );
    assert_eq!(n.reason, "FailedBinding");
    let delayed = claim("b", json!({"spec": {"storageClassName": "local-path"}}));
    assert!(matches!(f.step(&delayed), ClaimStep::Wait(n) if n.reason == "WaitForFirstConsumer"));
    let missing = claim("c", json!({"spec": {"storageClassName": "gold"}}));
    assert!(matches!(f.step(&missing), ClaimStep::Wait(n)
        if n.message == "storageclass.storage.k8s.io \"gold\" not found"));
}

#[test]
fn claims_of_provisioned_classes_go_to_their_provisioner() {
    let f = Fixture::new(vec![]);
    let immediate = claim("a", json!({"spec": {"storageClassName": "fast"}}));
    assert!(matches!(f.step(&immediate), ClaimStep::Provision(p, n)
        if p == "example.com/fast" && n.reason == "ExternalProvisioning"));
    let chosen = claim(
        "b",
        json!({"metadata": {"annotations": {ANN_SELECTED_NODE: "n1"}},
               "spec": {"storageClassName": "local-path"}}),
    );
    assert!(matches!(f.step(&chosen), ClaimStep::Provision(p, _) if p == "rancher.io/local-path"));
    let asked = claim(
        "c",
        json!({"metadata": {"annotations": {ANN_SELECTED_NODE: "n1",
            ANN_STORAGE_PROVISIONER: "rancher.io/local-path",
            ANN_BETA_STORAGE_PROVISIONER: "rancher.io/local-path"}},
               "spec": {"storageClassName": "local-path"}}),
    );
    assert!(matches!(f.step(&asked), ClaimStep::Wait(_)));
    let made = volume(
        "pvc-uid-c",
        json!({"spec": {"storageClassName": "local-path",
                        "claimRef": {"namespace": "ns", "name": "c", "uid": "uid-c"}},
               "status": {"phase": "Pending"}}),
    );
    let f = Fixture::new(vec![made]);
    assert_eq!(f.step(&asked), ClaimStep::Bind("pvc-uid-c".into()));
}

#[test]
fn a_volume_taken_earlier_in_the_pass_is_not_given_twice() {
    let f = Fixture::new(vec![volume("pv1", json!({}))]);
    let world = World {
        volumes: &f.volumes,
        classes: &f.classes,
        nodes: &f.nodes,
    };
    let taken = HashSet::from(["pv1".to_string()]);
    assert!(matches!(
        claim_step(&claim("b", json!({})), &world, &taken),
        ClaimStep::Wait(_)
    ));
}

#[test]
fn a_claim_bound_by_a_user_is_checked_and_finished() {
    let f = Fixture::new(vec![volume("pv1", json!({}))]);
    let c = claim("data", json!({"spec": {"volumeName": "pv1"}}));
    assert_eq!(f.step(&c), ClaimStep::Bind("pv1".into()));
    let p = bind_patches(&c, &f.volumes[0]);
    let cl = p.claim.unwrap_or_default();
    assert!(
        cl["metadata"]["annotations"]
            .get(ANN_BOUND_BY_CONTROLLER)
            .is_none()
    );
    let big = claim(
        "big",
        json!({"spec": {"volumeName": "pv1", "resources": {"requests": {"storage": "5Gi"}}}}),
    );
    assert!(matches!(f.step(&big), ClaimStep::Wait(n)
        if n.message == "Cannot bind to requested volume \"pv1\": requested PV is too small"));
}

#[test]
fn a_bound_claim_whose_volume_vanished_is_lost() {
    let f = Fixture::new(vec![]);
    let c = claim(
        "data",
        json!({"metadata": {"annotations": {ANN_BIND_COMPLETED: "yes"}},
               "spec": {"volumeName": "gone"}, "status": {"phase": "Bound"}}),
    );
    assert!(matches!(f.step(&c), ClaimStep::Lost(n) if n.reason == "ClaimLost"));
}

#[test]
fn volumes_turn_available_bound_released_and_are_reclaimed_by_policy() {
    let free = volume("pv", json!({"status": {"phase": "Pending"}}));
    assert_eq!(volume_step(&free, &[]), VolumeStep::Phase("Available"));
    let bound_ref = json!({"spec": {"claimRef": {"namespace": "ns", "name": "data", "uid": "uid-data"}},
                           "status": {"phase": "Available"}});
    let v = volume("pv", bound_ref.clone());
    let c = claim("data", json!({"spec": {"volumeName": "pv"}}));
    assert_eq!(volume_step(&v, &[c]), VolumeStep::Phase("Bound"));
    assert_eq!(volume_step(&v, &[]), VolumeStep::Release);
    let recreated = claim("data", json!({"metadata": {"uid": "new"}}));
    assert_eq!(volume_step(&v, &[recreated]), VolumeStep::Release);
    let mut released = bound_ref.clone();
    released["status"]["phase"] = json!("Released");
    assert_eq!(
        volume_step(&volume("pv", released.clone()), &[]),
        VolumeStep::Nothing,
        "Retain"
    );
    released["spec"]["persistentVolumeReclaimPolicy"] = json!("Delete");
    assert!(matches!(volume_step(&volume("pv", released.clone()), &[]),
        VolumeStep::Fail(n) if n.reason == "VolumeFailedDelete"));
    released["metadata"] =
        json!({"annotations": {crate::matching::ANN_PROVISIONED_BY: "rancher.io/local-path"}});
    assert_eq!(
        volume_step(&volume("pv", released), &[]),
        VolumeStep::Nothing,
        "the provisioner deletes what it made"
    );
}

#[test]
fn a_volume_the_controller_bound_to_a_claim_bound_elsewhere_is_freed() {
    let v = volume(
        "pv",
        json!({"metadata": {"annotations": {ANN_BOUND_BY_CONTROLLER: "yes"}},
               "spec": {"claimRef": {"namespace": "ns", "name": "data", "uid": "uid-data"}},
               "status": {"phase": "Bound"}}),
    );
    let c = claim("data", json!({"spec": {"volumeName": "other"}}));
    assert_eq!(volume_step(&v, &[c]), VolumeStep::Unbind);
}
