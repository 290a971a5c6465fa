use super::*;

fn get(group: &str, version: &str, plural: &str) -> &'static Resource {
    registry()
        .find(group, version, plural)
        .unwrap_or_else(|| panic!("{group}/{version}/{plural} missing"))
}

#[test]
fn serves_every_expected_kind() {
    for (g, v, p) in [
        ("", "v1", "namespaces"),
        ("", "v1", "pods"),
        ("", "v1", "services"),
        ("", "v1", "endpoints"),
        ("", "v1", "configmaps"),
        ("", "v1", "secrets"),
        ("", "v1", "serviceaccounts"),
        ("", "v1", "nodes"),
        ("", "v1", "events"),
        ("", "v1", "persistentvolumes"),
        ("", "v1", "persistentvolumeclaims"),
        ("", "v1", "resourcequotas"),
        ("", "v1", "limitranges"),
        ("", "v1", "replicationcontrollers"),
        ("apps", "v1", "deployments"),
        ("apps", "v1", "replicasets"),
        ("apps", "v1", "daemonsets"),
        ("apps", "v1", "statefulsets"),
        ("apps", "v1", "controllerrevisions"),
        ("batch", "v1", "jobs"),
        ("batch", "v1", "cronjobs"),
        ("networking.k8s.io", "v1", "ingresses"),
        ("networking.k8s.io", "v1", "ingressclasses"),
        ("networking.k8s.io", "v1", "networkpolicies"),
        ("discovery.k8s.io", "v1", "endpointslices"),
        ("coordination.k8s.io", "v1", "leases"),
        ("autoscaling", "v2", "horizontalpodautoscalers"),
        ("autoscaling", "v1", "horizontalpodautoscalers"),
        ("rbac.authorization.k8s.io", "v1", "roles"),
        ("rbac.authorization.k8s.io", "v1", "rolebindings"),
        ("rbac.authorization.k8s.io", "v1", "clusterroles"),
        ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"),
        ("storage.k8s.io", "v1", "storageclasses"),
        ("policy", "v1", "poddisruptionbudgets"),
        ("scheduling.k8s.io", "v1", "priorityclasses"),
        ("events.k8s.io", "v1", "events"),
    ] {
        get(g, v, p);
    }
}

#[test]
fn short_names_match_upstream() {
    let short = |g, p| get(g, if g == "autoscaling" { "v2" } else { "v1" }, p).short_names;
    assert_eq!(short("", "pods"), ["po"]);
    assert_eq!(short("", "services"), ["svc"]);
    assert_eq!(short("apps", "deployments"), ["deploy"]);
    assert_eq!(short("", "limitranges"), ["limits"]);
    assert_eq!(short("", "resourcequotas"), ["quota"]);
    assert_eq!(short("batch", "cronjobs"), ["cj"]);
    assert_eq!(short("networking.k8s.io", "networkpolicies"), ["netpol"]);
    assert_eq!(short("autoscaling", "horizontalpodautoscalers"), ["hpa"]);
    assert!(short("", "secrets").is_empty());
    assert!(short("batch", "jobs").is_empty());
}

#[test]
fn all_category_is_exactly_upstream_set() {
    let mut in_all: Vec<&str> = registry()
        .all()
        .iter()
        .filter(|r| r.categories == ["all"])
        .map(|r| r.plural)
        .collect();
    in_all.sort();
    in_all.dedup();
    assert_eq!(
        in_all,
        [
            "cronjobs",
            "daemonsets",
            "deployments",
            "horizontalpodautoscalers",
            "jobs",
            "pods",
            "replicasets",
            "replicationcontrollers",
            "services",
            "statefulsets"
        ]
    );
}

#[test]
fn scale_subresource_only_on_replicated_kinds() {
    let mut scaled: Vec<&str> = registry()
        .all()
        .iter()
        .filter(|r| r.has_scale)
        .map(|r| r.plural)
        .collect();
    scaled.sort();
    assert_eq!(
        scaled,
        [
            "deployments",
            "replicasets",
            "replicationcontrollers",
            "statefulsets"
        ]
    );
}

#[test]
fn namespaces_cannot_be_deleted_as_a_collection() {
    assert!(
        !get("", "v1", "namespaces")
            .verbs
            .contains(&"deletecollection")
    );
    assert!(get("", "v1", "pods").verbs.contains(&"deletecollection"));
}

#[test]
fn cluster_scoped_kinds_are_not_namespaced() {
    for (g, p) in [
        ("", "nodes"),
        ("", "namespaces"),
        ("", "persistentvolumes"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("storage.k8s.io", "storageclasses"),
        ("scheduling.k8s.io", "priorityclasses"),
        ("networking.k8s.io", "ingressclasses"),
    ] {
        assert!(!get(g, "v1", p).namespaced, "{p}");
    }
    assert!(get("", "v1", "pods").namespaced);
}

#[test]
fn hpa_versions_share_v2_storage() {
    let v1 = get("autoscaling", "v1", "horizontalpodautoscalers");
    let v2 = get("autoscaling", "v2", "horizontalpodautoscalers");
    assert_eq!(
        v1.key(Some("default"), "web"),
        v2.key(Some("default"), "web")
    );
    assert!(v1.needs_conversion());
    assert!(!v2.needs_conversion());
    assert_eq!(v1.storage_api_version(), "autoscaling/v2");
}

#[test]
fn events_k8s_io_events_are_stored_with_core_events() {
    let ev = get("events.k8s.io", "v1", "events");
    let core = get("", "v1", "events");
    assert_eq!(ev.key(Some("ns"), "e"), core.key(Some("ns"), "e"));
    assert_eq!(ev.key(Some("ns"), "e"), "/registry/core/events/ns/e");
}

#[test]
fn autoscaling_v2_is_preferred_in_group_listing() {
    let groups = registry().groups();
    let autoscaling = groups
        .iter()
        .find(|(g, _)| *g == "autoscaling")
        .map(|(_, v)| v.clone());
    assert_eq!(autoscaling, Some(vec!["v2", "v1"]));
    assert_eq!(groups[0].0, "");
}

#[test]
fn storage_conversion_round_trips_hpa_v1() {
    let v1 = get("autoscaling", "v1", "horizontalpodautoscalers");
    let obj = serde_json::json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "a"}, "spec": {"maxReplicas": 2, "targetCPUUtilizationPercentage": 70}});
    let stored = convert_for_storage(v1, obj.clone());
    assert_eq!(stored["apiVersion"], "autoscaling/v2");
    assert_eq!(convert_from_storage(v1, stored), obj);
}

#[test]
fn storage_conversion_is_identity_for_plain_kinds() {
    let pods = get("", "v1", "pods");
    let obj = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
    assert_eq!(convert_for_storage(pods, obj.clone()), obj);
}

#[test]
fn qualified_names_for_messages() {
    assert_eq!(
        get("apps", "v1", "deployments").qualified_kind(),
        "Deployment.apps"
    );
    assert_eq!(get("", "v1", "pods").qualified_kind(), "Pod");
    assert_eq!(
        get("apps", "v1", "deployments").qualified_plural(),
        "deployments.apps"
    );
}
