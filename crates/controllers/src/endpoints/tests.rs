//! Tests of the wanted Endpoints and EndpointSlices.

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{Value, json};

use super::slices::{self, MAX_PER_SLICE};
use super::{legacy as endpoints, pods};

fn svc(extra: Value) -> Service {
    let mut base = json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "svc-uid",
                     "labels": {"team": "a"}},
        "spec": {"selector": {"app": "web"}, "clusterIP": "10.43.0.10",
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    });
    merge(&mut base, extra);
    serde_json::from_value(base).expect("service")
}

fn pod(name: &str, ip: &str, ready: bool, extra: Value) -> Pod {
    let mut base = json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
                     "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i",
                 "ports": [{"name": "web", "containerPort": 9090}]}]},
        "status": {"phase": "Running", "podIP": ip,
                   "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
    });
    merge(&mut base, extra);
    serde_json::from_value(base).expect("pod")
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

fn to_json<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).expect("json")
}

#[test]
fn ready_pods_are_addresses_and_unready_pods_not_ready_addresses() {
    let s = svc(json!({}));
    let a = pod("a", "10.42.0.5", true, json!({}));
    let b = pod("b", "10.42.0.4", false, json!({}));
    let other = pod(
        "x",
        "10.42.0.9",
        true,
        json!({"metadata": {"labels": {"app": "db"}}}),
    );
    let no_ip = pod("n", "", true, json!({}));
    let e = to_json(&endpoints::desired(&s, &[&a, &b, &other, &no_ip]));
    let subset = &e["subsets"][0];
    assert_eq!(subset["addresses"][0]["ip"], "10.42.0.5");
    assert_eq!(subset["addresses"][0]["targetRef"]["name"], "a");
    assert_eq!(subset["addresses"][0]["nodeName"], "n1");
    assert_eq!(subset["notReadyAddresses"][0]["ip"], "10.42.0.4");
    assert_eq!(
        subset["ports"],
        json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
    );
    assert_eq!(e["subsets"].as_array().map(Vec::len), Some(1));
    assert_eq!(e["metadata"]["labels"]["team"], "a");
    assert_eq!(e["metadata"]["labels"][endpoints::SKIP_MIRROR], "true");
}

#[test]
fn terminating_and_finished_pods_leave_endpoints_unless_not_ready_ones_are_published() {
    let s = svc(json!({}));
    let going = pod(
        "g",
        "10.42.0.2",
        true,
        json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}),
    );
    let done = pod(
        "d",
        "10.42.0.3",
        false,
        json!({"spec": {"restartPolicy": "Never"}, "status": {"phase": "Succeeded"}}),
    );
    let e = endpoints::desired(&s, &[&going, &done]);
    assert!(e.subsets.is_none(), "{e:?}");
    let publish = svc(json!({"spec": {"publishNotReadyAddresses": true}}));
    let unready = pod("u", "10.42.0.4", false, json!({}));
    let e = to_json(&endpoints::desired(&publish, &[&going, &unready]));
    let ips: Vec<&str> = e["subsets"][0]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["ip"].as_str())
        .collect();
    assert_eq!(ips, ["10.42.0.2", "10.42.0.4"]);
}

#[test]
fn named_target_ports_resolve_per_pod_and_group_addresses_by_port_set() {
    let s = svc(
        json!({"spec": {"ports": [{"name": "http", "port": 80, "targetPort": "web",
                                           "protocol": "TCP"}]}}),
    );
    let a = pod("a", "10.42.0.5", true, json!({}));
    let b = pod(
        "b",
        "10.42.0.6",
        true,
        json!({"spec": {"containers": [{"name": "c",
        "image": "i", "ports": [{"name": "web", "containerPort": 7070}]}]}}),
    );
    let missing = pod(
        "m",
        "10.42.0.7",
        true,
        json!({"spec": {"containers": [{"name": "c",
        "image": "i"}]}}),
    );
    let e = to_json(&endpoints::desired(&s, &[&a, &b, &missing]));
    let subsets = e["subsets"].as_array().cloned().unwrap_or_default();
    assert_eq!(subsets.len(), 2, "{e}");
    let port_of = |ip: &str| {
        subsets
            .iter()
            .find(|s| s["addresses"][0]["ip"] == ip)
            .map(|s| s["ports"][0]["port"].clone())
    };
    assert_eq!(port_of("10.42.0.5"), Some(json!(9090)));
    assert_eq!(port_of("10.42.0.6"), Some(json!(7070)));
    assert_eq!(port_of("10.42.0.7"), None);
}

#[test]
fn selectorless_services_select_nothing() {
    let s = svc(json!({"spec": {"selector": null}}));
    assert!(pods::selector(&s).is_none());
    assert!(!pods::selects(&s, &pod("a", "10.42.0.5", true, json!({}))));
}

#[test]
fn endpoints_need_no_update_when_only_metadata_beyond_labels_differs() {
    let s = svc(json!({}));
    let a = pod("a", "10.42.0.5", true, json!({}));
    let want = endpoints::desired(&s, &[&a]);
    let mut have = want.clone();
    have.metadata.resource_version = Some("7".into());
    assert!(!endpoints::needs_update(&have, &want));
    let b = pod("b", "10.42.0.6", true, json!({}));
    assert!(endpoints::needs_update(
        &have,
        &endpoints::desired(&s, &[&a, &b])
    ));
}

#[test]
fn slice_endpoints_carry_ready_serving_and_terminating_conditions() {
    let s = svc(json!({}));
    let up = pod("a", "10.42.0.5", true, json!({}));
    let going = pod(
        "g",
        "10.42.0.2",
        true,
        json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}),
    );
    let unready = pod("u", "10.42.0.4", false, json!({}));
    let plan = slices::plan(&s, &[&up, &going, &unready], &[]);
    assert_eq!(plan.create.len(), 1);
    let slice = to_json(&plan.create[0]);
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(slice["metadata"]["generateName"], "web-");
    assert_eq!(slice["metadata"]["labels"][slices::SERVICE_NAME], "web");
    assert_eq!(
        slice["metadata"]["labels"][slices::MANAGED_BY],
        slices::CONTROLLER
    );
    assert_eq!(slice["metadata"]["labels"]["team"], "a");
    assert_eq!(slice["metadata"]["ownerReferences"][0]["kind"], "Service");
    assert_eq!(slice["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(
        slice["ports"],
        json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
    );
    let cond = |ip: &str| {
        slice["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["addresses"][0] == ip)
            .map(|e| e["conditions"].clone())
    };
    assert_eq!(
        cond("10.42.0.5"),
        Some(json!({"ready": true, "serving": true, "terminating": false}))
    );
    assert_eq!(
        cond("10.42.0.2"),
        Some(json!({"ready": false, "serving": true, "terminating": true}))
    );
    assert_eq!(
        cond("10.42.0.4"),
        Some(json!({"ready": false, "serving": false, "terminating": false}))
    );
}

#[test]
fn publish_not_ready_marks_every_endpoint_ready() {
    let s = svc(json!({"spec": {"publishNotReadyAddresses": true}}));
    let unready = pod("u", "10.42.0.4", false, json!({}));
    let plan = slices::plan(&s, &[&unready], &[]);
    let e = &to_json(&plan.create[0])["endpoints"][0];
    assert_eq!(e["conditions"]["ready"], true);
    assert_eq!(e["conditions"]["serving"], false);
}

fn created(plan: &slices::Plan, name: &str, rv: &str) -> Vec<EndpointSlice> {
    plan.create
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut s = s.clone();
            s.metadata.name = Some(format!("{name}-{i}"));
            s.metadata.resource_version = Some(rv.into());
            s
        })
        .collect()
}

#[test]
fn an_unchanged_service_needs_no_writes_and_a_change_updates_in_place() {
    let s = svc(json!({}));
    let a = pod("a", "10.42.0.5", true, json!({}));
    let first = slices::plan(&s, &[&a], &[]);
    let have = created(&first, "web-abc", "3");
    let refs: Vec<&EndpointSlice> = have.iter().collect();
    assert!(slices::plan(&s, &[&a], &refs).is_empty());
    let b = pod("b", "10.42.0.6", true, json!({}));
    let next = slices::plan(&s, &[&a, &b], &refs);
    assert!(next.create.is_empty() && next.delete.is_empty(), "{next:?}");
    assert_eq!(next.update.len(), 1);
    assert_eq!(next.update[0].metadata.name.as_deref(), Some("web-abc-0"));
    assert_eq!(next.update[0].endpoints.as_ref().map(Vec::len), Some(2));
}

#[test]
fn no_pods_leaves_one_empty_placeholder_slice() {
    let s = svc(json!({}));
    let plan = slices::plan(&s, &[], &[]);
    assert_eq!(plan.create.len(), 1);
    assert_eq!(plan.create[0].endpoints.as_ref().map(Vec::len), Some(0));
    let a = pod("a", "10.42.0.5", true, json!({}));
    let have = created(&slices::plan(&s, &[&a], &[]), "web-x", "1");
    let refs: Vec<&EndpointSlice> = have.iter().collect();
    let gone = slices::plan(&s, &[], &refs);
    // The port set changes (none now), so the placeholder replaces the old slice.
    assert_eq!(gone.create.len(), 1);
    assert_eq!(gone.delete, ["web-x-0"]);
}

#[test]
fn port_changes_replace_slices_and_large_services_split() {
    let s = svc(json!({}));
    let many: Vec<Pod> = (0..(MAX_PER_SLICE + 5))
        .map(|i| {
            pod(
                &format!("p{i}"),
                &format!("10.42.{}.{}", i / 200, i % 200 + 1),
                true,
                json!({}),
            )
        })
        .collect();
    let refs: Vec<&Pod> = many.iter().collect();
    let plan = slices::plan(&s, &refs, &[]);
    assert_eq!(plan.create.len(), 2);
    let have = created(&plan, "web-y", "1");
    let have_refs: Vec<&EndpointSlice> = have.iter().collect();
    let moved = svc(
        json!({"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8081,
                                                "protocol": "TCP"}]}}),
    );
    let next = slices::plan(&moved, &refs, &have_refs);
    assert_eq!(next.create.len(), 2);
    assert_eq!(next.delete.len(), 2);
}

fn user_endpoints(extra: Value) -> k8s_openapi::api::core::v1::Endpoints {
    let mut base = json!({
        "metadata": {"name": "ext", "namespace": "default", "uid": "ep-uid",
                     "labels": {"team": "b"}},
        "subsets": [{"addresses": [{"ip": "192.0.2.10"}, {"ip": "fd00::1"}],
                     "notReadyAddresses": [{"ip": "192.0.2.11"}],
                     "ports": [{"name": "db", "port": 5432, "protocol": "TCP"}]}]
    });
    merge(&mut base, extra);
    serde_json::from_value(base).expect("endpoints")
}

#[test]
fn user_endpoints_of_selectorless_services_are_mirrored_into_slices() {
    use super::mirror;
    let selectorless = svc(json!({"metadata": {"name": "ext"}, "spec": {"selector": null}}));
    let ep = user_endpoints(json!({}));
    assert!(mirror::should_mirror(Some(&selectorless), &ep));
    assert!(!mirror::should_mirror(None, &ep));
    assert!(
        !mirror::should_mirror(Some(&svc(json!({}))), &ep),
        "selector: not mirrored"
    );
    let skip = user_endpoints(json!({"metadata": {"labels": {endpoints::SKIP_MIRROR: "true"}}}));
    assert!(!mirror::should_mirror(Some(&selectorless), &skip));

    let plan = mirror::plan(&ep, &[]);
    assert_eq!(plan.create.len(), 1);
    let s = to_json(&plan.create[0]);
    assert_eq!(
        s["metadata"]["labels"][slices::MANAGED_BY],
        mirror::CONTROLLER
    );
    assert_eq!(s["metadata"]["labels"][slices::SERVICE_NAME], "ext");
    assert_eq!(s["metadata"]["labels"]["team"], "b");
    assert_eq!(s["metadata"]["ownerReferences"][0]["kind"], "Endpoints");
    assert_eq!(
        s["ports"],
        json!([{"name": "db", "port": 5432, "protocol": "TCP"}])
    );
    assert_eq!(
        s["endpoints"],
        json!([{"addresses": ["192.0.2.10"], "conditions": {"ready": true}},
               {"addresses": ["192.0.2.11"], "conditions": {"ready": false}}])
    );
    // Emptied Endpoints: the mirrored slice goes, no placeholder.
    let mut have = plan.create[0].clone();
    have.metadata.name = Some("ext-1".into());
    let empty = user_endpoints(json!({"subsets": []}));
    let gone = mirror::plan(&empty, &[&have]);
    assert!(gone.create.is_empty() && gone.update.is_empty());
    assert_eq!(gone.delete, ["ext-1"]);
}

#[test]
fn written_objects_carry_the_time_of_the_last_change() {
    let s = svc(json!({"metadata": {"creationTimestamp": "2024-01-01T00:00:00Z"}}));
    let a = pod(
        "a",
        "10.42.0.5",
        true,
        json!({"status": {"conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:09Z"}]}}),
    );
    let b = pod(
        "b",
        "10.42.0.6",
        true,
        json!({"metadata": {
        "creationTimestamp": "2024-01-01T00:00:05Z"}}),
    );
    let plan = slices::plan(&s, &[&a, &b], &[]);
    let slice = to_json(&plan.create[0]);
    assert_eq!(
        slice["metadata"]["annotations"][slices::TRIGGER_TIME],
        "2024-01-01T00:00:09Z"
    );
    let e = to_json(&endpoints::desired(&s, &[&a, &b]));
    assert_eq!(
        e["metadata"]["annotations"][slices::TRIGGER_TIME],
        "2024-01-01T00:00:09Z"
    );
    // The annotation alone never causes a write.
    let mut have = endpoints::desired(&s, &[&a, &b]);
    have.metadata.annotations = None;
    assert!(!endpoints::needs_update(
        &have,
        &endpoints::desired(&s, &[&a, &b])
    ));
}
