//! Tests of the discovery documents.

use serde_json::{Value, json};
use skiff_api::Resource;

use super::*;

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// A small registry: core pods/namespaces/services, apps deployments (two versions of a
/// made-up group too), and a kind k8s-openapi does not know.
pub(crate) fn fixture() -> Vec<Resource> {
    let base = Resource {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        singular: "pod",
        namespaced: true,
        short_names: &["po"],
        categories: &["all"],
        has_status: true,
        has_scale: false,
        verbs: ALL_VERBS,
        storage_version: "v1",
        storage_group: "",
    };
    vec![
        base.clone(),
        Resource {
            kind: "Namespace",
            plural: "namespaces",
            singular: "namespace",
            namespaced: false,
            short_names: &["ns"],
            categories: &[],
            verbs: &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ],
            ..base.clone()
        },
        Resource {
            kind: "Service",
            plural: "services",
            singular: "service",
            short_names: &["svc"],
            ..base.clone()
        },
        Resource {
            kind: "ServiceAccount",
            plural: "serviceaccounts",
            singular: "serviceaccount",
            short_names: &["sa"],
            categories: &[],
            has_status: false,
            ..base.clone()
        },
        Resource {
            group: "apps",
            kind: "Deployment",
            plural: "deployments",
            singular: "deployment",
            short_names: &["deploy"],
            has_scale: true,
            storage_group: "apps",
            ..base.clone()
        },
        Resource {
            group: "example.skiff.dev",
            version: "v1",
            kind: "Widget",
            plural: "widgets",
            singular: "widget",
            short_names: &[],
            categories: &[],
            has_status: false,
            storage_group: "example.skiff.dev",
            ..base.clone()
        },
        Resource {
            group: "example.skiff.dev",
            version: "v1beta1",
            kind: "Widget",
            plural: "widgets",
            singular: "widget",
            short_names: &[],
            categories: &[],
            has_status: false,
            storage_group: "example.skiff.dev",
            ..base
        },
    ]
}

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == name))
        .unwrap_or(&Value::Null)
}

#[test]
fn core_resource_list_lists_pods_and_their_subresources() {
    let list = api_resource_list_for(&fixture(), "", "v1").unwrap_or_default();
    assert_eq!(list["kind"], "APIResourceList");
    assert_eq!(list["groupVersion"], "v1");
    assert!(list.get("apiVersion").is_none());
    let pods = find(&list, "pods");
    assert_eq!(pods["singularName"], "pod");
    assert_eq!(pods["namespaced"], true);
    assert_eq!(pods["kind"], "Pod");
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert_eq!(pods["categories"], json!(["all"]));
    assert_eq!(pods["storageVersionHash"], "xPOwRZ+Yhw8=");
    assert_eq!(pods["verbs"].as_array().map(Vec::len), Some(8));
    for sub in [
        "pods/status",
        "pods/log",
        "pods/exec",
        "pods/portforward",
        "pods/attach",
        "pods/binding",
        "pods/eviction",
    ] {
        assert_eq!(find(&list, sub)["namespaced"], true, "{sub}");
    }
    assert_eq!(find(&list, "pods/log")["kind"], "Pod");
    assert_eq!(find(&list, "pods/log")["verbs"], json!(["get"]));
    let eviction = find(&list, "pods/eviction");
    assert_eq!(eviction["group"], "policy");
    assert_eq!(eviction["version"], "v1");
    assert_eq!(eviction["kind"], "Eviction");
    assert_eq!(find(&list, "namespaces")["namespaced"], false);
    assert_eq!(
        find(&list, "namespaces/finalize")["verbs"],
        json!(["update"])
    );
    assert_eq!(find(&list, "serviceaccounts/token")["kind"], "TokenRequest");
    assert!(
        find(&list, "pods/status")
            .get("storageVersionHash")
            .is_none()
    );
}

#[test]
fn apps_resource_list_has_scale_subresource() {
    let list = api_resource_list_for(&fixture(), "apps", "v1").unwrap_or_default();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["groupVersion"], "apps/v1");
    assert_eq!(
        find(&list, "deployments")["storageVersionHash"],
        "8aSe+NMegvE="
    );
    let scale = find(&list, "deployments/scale");
    assert_eq!(scale["group"], "autoscaling");
    assert_eq!(scale["version"], "v1");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["verbs"], json!(["get", "patch", "update"]));
    assert_eq!(find(&list, "deployments/status")["kind"], "Deployment");
    assert!(api_resource_list_for(&fixture(), "apps", "v2").is_none());
    assert!(api_resource_list_for(&fixture(), "nope", "v1").is_none());
}

#[test]
fn group_list_skips_core_and_prefers_first_version() {
    let list = api_group_list_for(&fixture());
    assert_eq!(list["kind"], "APIGroupList");
    let groups = list["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["name"], "apps");
    assert_eq!(
        groups[0]["preferredVersion"],
        json!({"groupVersion": "apps/v1", "version": "v1"})
    );
    assert_eq!(groups[1]["versions"].as_array().map(Vec::len), Some(2));
    assert_eq!(groups[1]["preferredVersion"]["version"], "v1");
    let group = api_group_for(&fixture(), "apps").unwrap_or_default();
    assert_eq!(group["kind"], "APIGroup");
    assert_eq!(group["name"], "apps");
    assert!(api_group_for(&fixture(), "").is_none());
    assert_eq!(api_versions()["versions"], json!(["v1"]));
}

#[test]
fn aggregated_apis_lists_groups_versions_and_subresources() {
    let doc = aggregated_for(&fixture(), AggregatedKind::Apis, DiscoveryVersion::V2);
    assert_eq!(doc["kind"], "APIGroupDiscoveryList");
    assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2");
    let items = doc["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["metadata"]["name"], "apps");
    let v1 = &items[0]["versions"][0];
    assert_eq!(v1["version"], "v1");
    assert_eq!(v1["freshness"], "Current");
    let deploy = &v1["resources"][0];
    assert_eq!(deploy["resource"], "deployments");
    assert_eq!(
        deploy["responseKind"],
        json!({"group": "", "version": "", "kind": "Deployment"})
    );
    assert_eq!(deploy["scope"], "Namespaced");
    assert_eq!(deploy["singularResource"], "deployment");
    assert_eq!(deploy["shortNames"], json!(["deploy"]));
    assert_eq!(deploy["categories"], json!(["all"]));
    assert_eq!(deploy["subresources"][0]["subresource"], "scale");
    assert_eq!(
        deploy["subresources"][0]["responseKind"],
        json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
    );
    assert_eq!(deploy["subresources"][1]["subresource"], "status");
    let widgets = &items[1]["versions"];
    assert_eq!(widgets.as_array().map(Vec::len), Some(2));
    assert!(widgets[0]["resources"][0].get("subresources").is_none());

    let beta = aggregated_for(&fixture(), AggregatedKind::Apis, DiscoveryVersion::V2Beta1);
    assert_eq!(beta["apiVersion"], "apidiscovery.k8s.io/v2beta1");
}

#[test]
fn aggregated_core_has_one_unnamed_group() {
    let doc = aggregated_for(&fixture(), AggregatedKind::Core, DiscoveryVersion::V2);
    let items = doc["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1);
    assert!(items[0]["metadata"].get("name").is_none());
    let resources = items[0]["versions"][0]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ns = resources
        .iter()
        .find(|r| r["resource"] == "namespaces")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ns["scope"], "Cluster");
    let pods = resources
        .iter()
        .find(|r| r["resource"] == "pods")
        .cloned()
        .unwrap_or_default();
    let eviction = pods["subresources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["subresource"] == "eviction"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(eviction["responseKind"]["group"], "policy");
    assert_eq!(eviction["verbs"], json!(["create"]));
}

#[test]
fn negotiate_follows_what_kubectl_sends() {
    let v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    let v2beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
    // kubectl 1.27-1.29
    let got = negotiate(&format!("{v2beta1},application/json"));
    assert_eq!(got, Some((DiscoveryVersion::V2Beta1, v2beta1)));
    // kubectl 1.30+
    let got = negotiate(&format!("{v2},{v2beta1},application/json"));
    assert_eq!(got, Some((DiscoveryVersion::V2, v2)));
    // protobuf first: we answer the JSON form
    let got = negotiate(&format!(
        "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,{v2}"
    ));
    assert_eq!(got, Some((DiscoveryVersion::V2, v2)));
    // q values reorder
    let got = negotiate(&format!("application/json;q=0.5,{v2beta1};q=0.9"));
    assert_eq!(got.map(|g| g.0), Some(DiscoveryVersion::V2Beta1));
    assert_eq!(negotiate("application/json"), None);
    assert_eq!(negotiate("*/*"), None);
    assert_eq!(negotiate(""), None);
    assert_eq!(negotiate("application/json, */*"), None);
    assert_eq!(
        negotiate("application/json;g=apidiscovery.k8s.io;v=v9;as=APIGroupDiscoveryList"),
        None
    );
}
