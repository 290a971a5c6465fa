use serde_json::json;

use crate::framework::{CycleState, ScorePlugin};
use crate::plugins::{
    balanced_allocation, image_locality, node_affinity, node_resources_fit, pod_topology_spread,
    taint_toleration,
};
use crate::testutil::{bind, cache, node, pod, schedule};

fn raw(p: &dyn ScorePlugin, c: &crate::cache::Cache, pod: &crate::podinfo::PodInfo) -> Vec<i64> {
    let mut st = CycleState::default();
    let feasible: Vec<_> = c.nodes.iter().collect();
    if p.pre_score(&mut st, pod, &feasible, &c.nodes).is_skip() {
        return vec![];
    }
    let mut s: Vec<i64> = c.nodes.iter().map(|n| p.score(&st, pod, n)).collect();
    p.normalize(&st, &mut s);
    s
}

#[test]
fn least_allocated_and_balanced() {
    let mut c = cache(vec![
        node("a", "4", "4Gi", json!({})),
        node("b", "4", "4Gi", json!({})),
    ]);
    bind(&mut c, pod("x", "2", "1Gi", json!({})), "a");
    let p = pod("p", "1", "1Gi", json!({}));
    // a: cpu (4-3)/4=25, mem (4-2)/4=50 -> 37; b: cpu 75, mem 75 -> 75.
    assert_eq!(raw(&node_resources_fit::NodeResourcesFit, &c, &p), [37, 75]);
    // a: cpu 3/4, mem 2/4 -> std .125 -> 87; b: .25/.25 -> 100.
    assert_eq!(
        raw(&balanced_allocation::BalancedAllocation, &c, &p),
        [87, 100]
    );
    assert_eq!(schedule(&c, &p).expect("b").node, "b");
}

#[test]
fn unset_requests_score_with_defaults() {
    let c = cache(vec![node("a", "1", "1Gi", json!({}))]);
    let none = pod(
        "p",
        "0",
        "0",
        json!({"spec": {"containers": [{"name": "c"}]}}),
    );
    // 100m of 1000m and 200Mi of 1Gi: cpu 90, mem 80 -> 85.
    assert_eq!(raw(&node_resources_fit::NodeResourcesFit, &c, &none), [85]);
}

#[test]
fn preferred_node_affinity_weights() {
    let c = cache(vec![
        node(
            "a",
            "1",
            "1Gi",
            json!({"metadata": {"labels": {"disk": "ssd"}}}),
        ),
        node(
            "b",
            "1",
            "1Gi",
            json!({"metadata": {"labels": {"disk": "ssd", "gpu": "yes"}}}),
        ),
        node("c", "1", "1Gi", json!({})),
    ]);
    let pref = |w: i32, k: &str| json!({"weight": w, "preference": {"matchExpressions": [{"key": k, "operator": "Exists"}]}});
    let p = pod(
        "p",
        "1m",
        "1Mi",
        json!({"spec": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [pref(20, "disk"), pref(60, "gpu")]}}}}),
    );
    assert_eq!(raw(&node_affinity::NodeAffinity, &c, &p), [25, 100, 0]);
    assert_eq!(schedule(&c, &p).expect("b").node, "b");
    assert!(
        raw(
            &node_affinity::NodeAffinity,
            &c,
            &pod("q", "1m", "1Mi", json!({}))
        )
        .is_empty(),
        "skipped"
    );
}

#[test]
fn prefer_no_schedule_taints_reverse_normalized() {
    let t = |n: usize| json!({"spec": {"taints": (0..n).map(|i| json!({"key": format!("k{i}"), "effect": "PreferNoSchedule"})).collect::<Vec<_>>()}});
    let c = cache(vec![
        node("a", "1", "1Gi", t(2)),
        node("b", "1", "1Gi", t(1)),
        node("c", "1", "1Gi", t(0)),
    ]);
    let p = pod("p", "1m", "1Mi", json!({}));
    assert_eq!(
        raw(&taint_toleration::TaintToleration, &c, &p),
        [0, 50, 100]
    );
    let tol = pod(
        "t",
        "1m",
        "1Mi",
        json!({"spec": {"tolerations": [{"operator": "Exists", "effect": "PreferNoSchedule"}]}}),
    );
    assert_eq!(
        raw(&taint_toleration::TaintToleration, &c, &tol),
        [100, 100, 100]
    );
    assert_eq!(schedule(&c, &p).expect("c").node, "c");
}

#[test]
fn image_locality_prefers_nodes_with_big_images() {
    let img = |size: i64| json!({"status": {"images": [{"names": ["docker.io/library/app:1", "app:1"], "sizeBytes": size}]}});
    let c = cache(vec![
        node("a", "1", "1Gi", img(500 * 1024 * 1024)),
        node("b", "1", "1Gi", json!({})),
    ]);
    let p = pod(
        "p",
        "1m",
        "1Mi",
        json!({"spec": {"containers": [{"name": "c", "image": "app:1"}]}}),
    );
    let s = raw(&image_locality::ImageLocality, &c, &p);
    assert!(s[0] > 0 && s[1] == 0, "{s:?}");
    assert_eq!(
        image_locality::normalized_image("busybox"),
        "busybox:latest"
    );
    assert_eq!(
        image_locality::normalized_image("reg:5000/app"),
        "reg:5000/app:latest"
    );
}

#[test]
fn topology_spread_schedule_anyway_prefers_empty_domains() {
    let zone = |n: &str, z: &str| node(n, "8", "1Gi", json!({"metadata": {"labels": {"zone": z}}}));
    let mut c = cache(vec![zone("a1", "a"), zone("b1", "b")]);
    let web = |n: &str| {
        pod(
            n,
            "1m",
            "1Mi",
            json!({"metadata": {"labels": {"app": "web"}}, "spec": {"topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "web"}}}
            ]}}),
        )
    };
    bind(&mut c, web("w0"), "a1");
    bind(&mut c, web("w1"), "a1");
    let s = raw(&pod_topology_spread::PodTopologySpread, &c, &web("w2"));
    assert!(s[1] > s[0], "{s:?}");
    assert_eq!(schedule(&c, &web("w2")).expect("b").node, "b1");
}

#[test]
fn preferred_pod_affinity_and_anti_affinity() {
    let zone = |n: &str, z: &str| node(n, "8", "1Gi", json!({"metadata": {"labels": {"zone": z}}}));
    let mut c = cache(vec![zone("a1", "a"), zone("b1", "b"), zone("c1", "c")]);
    bind(
        &mut c,
        pod(
            "db",
            "1m",
            "1Mi",
            json!({"metadata": {"labels": {"app": "db"}}}),
        ),
        "b1",
    );
    bind(
        &mut c,
        pod(
            "noisy",
            "1m",
            "1Mi",
            json!({"metadata": {"labels": {"app": "noisy"}}}),
        ),
        "c1",
    );
    let w = |app: &str| json!([{"weight": 50, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "zone"}}]);
    let p = pod(
        "web",
        "1m",
        "1Mi",
        json!({"spec": {"affinity": {
            "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": w("db")},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": w("noisy")}
        }}}),
    );
    let s = raw(
        &crate::plugins::inter_pod_affinity::InterPodAffinity,
        &c,
        &p,
    );
    assert_eq!(s, [50, 100, 0]);
    assert_eq!(schedule(&c, &p).expect("b").node, "b1");
}

#[test]
fn adaptive_sampling_like_upstream() {
    use crate::algorithm::num_feasible_nodes_to_find as n;
    assert_eq!(n(None, 50), 50);
    assert_eq!(n(None, 500), 230);
    assert_eq!(n(None, 5000), 500);
    assert_eq!(n(None, 100_000), 5000);
    assert_eq!(n(Some(100), 5000), 5000);
    assert_eq!(n(None, 150), 100);
}
