use serde_json::json;

use crate::testutil::{bind, cache, failure, node, pod, schedule};

#[test]
fn many_hollow_nodes_fill_up_then_report_insufficient_cpu() {
    let nodes = (0..200)
        .map(|i| node(&format!("n{i}"), "1", "4Gi", json!({})))
        .collect();
    let mut c = cache(nodes);
    for i in 0..400 {
        let p = pod(&format!("p{i}"), "500m", "100Mi", json!({}));
        let d = schedule(&c, &p).expect("fits");
        bind(&mut c, p, &d.node);
    }
    assert!(
        c.nodes.iter().all(|n| n.requested.milli_cpu == 1000),
        "spread evenly by LeastAllocated"
    );
    let p = pod("extra", "500m", "100Mi", json!({}));
    assert_eq!(
        failure(&c, &p),
        "0/200 nodes are available: 200 Insufficient cpu. preemption: 0/200 nodes are available: \
         200 No preemption victims found for incoming pod."
    );
}

#[test]
fn resources_fit_counts_memory_pods_extended_init_and_overhead() {
    let c = cache(vec![node(
        "a",
        "4",
        "1Gi",
        json!({"status": {"allocatable": {"pods": "1", "example.com/gpu": "1"}}}),
    )]);
    let big = pod("m", "1", "2Gi", json!({"spec": {"priority": 0}}));
    assert!(failure(&c, &big).starts_with("0/1 nodes are available: 1 Insufficient memory."));
    let gpu = pod(
        "g",
        "1",
        "1Mi",
        json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"example.com/gpu": "2"}}}]}}),
    );
    assert!(failure(&c, &gpu).contains("1 Insufficient example.com/gpu"));
    let init = pod(
        "i",
        "1",
        "1Mi",
        json!({"spec": {"initContainers": [{"name": "i", "resources": {"requests": {"cpu": "5"}}}]}}),
    );
    assert!(failure(&c, &init).contains("1 Insufficient cpu"));
    let over = pod(
        "o",
        "3900m",
        "1Mi",
        json!({"spec": {"overhead": {"cpu": "200m"}}}),
    );
    assert!(failure(&c, &over).contains("1 Insufficient cpu"));
    let mut c = c;
    bind(&mut c, pod("x", "1m", "1Mi", json!({})), "a");
    assert!(failure(&c, &pod("y", "1m", "1Mi", json!({}))).contains("1 Too many pods"));
}

#[test]
fn assumed_pods_count_against_the_node() {
    let mut c = cache(vec![node("a", "1", "1Gi", json!({}))]);
    let p = std::sync::Arc::new(pod("p", "800m", "1Mi", json!({})));
    c.assume(p, "a");
    assert!(failure(&c, &pod("q", "800m", "1Mi", json!({}))).contains("1 Insufficient cpu"));
    c.forget("default/p");
    assert!(schedule(&c, &pod("q", "800m", "1Mi", json!({}))).is_ok());
}

#[test]
fn taints_and_the_upstream_message() {
    let unreachable = json!({"spec": {"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]}});
    let c = cache(vec![
        node("a", "4", "1Gi", unreachable),
        node("b", "1", "1Gi", json!({})),
        node("c", "1", "1Gi", json!({})),
    ]);
    assert_eq!(
        failure(&c, &pod("web-1", "2", "1Mi", json!({}))),
        "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, \
         2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, \
         2 No preemption victims found for incoming pod."
    );
    let tol = pod(
        "t",
        "2",
        "1Mi",
        json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]}}),
    );
    assert_eq!(schedule(&c, &tol).expect("tolerates").node, "a");
    let prefer_no = cache(vec![node(
        "a",
        "1",
        "1Gi",
        json!({"spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}}),
    )]);
    assert!(
        failure(&prefer_no, &pod("p", "1m", "1Mi", json!({})))
            .contains("1 node(s) had untolerated taint {k: v}")
    );
}

#[test]
fn cordoned_node_and_node_name() {
    let c = cache(vec![
        node("a", "1", "1Gi", json!({"spec": {"unschedulable": true}})),
        node("b", "1", "1Gi", json!({})),
    ]);
    assert_eq!(
        schedule(&c, &pod("p", "1m", "1Mi", json!({})))
            .expect("b")
            .node,
        "b"
    );
    let only_a = cache(vec![node(
        "a",
        "1",
        "1Gi",
        json!({"spec": {"unschedulable": true}}),
    )]);
    let msg = failure(&only_a, &pod("p", "1m", "1Mi", json!({})));
    assert!(
        msg.starts_with("0/1 nodes are available: 1 node(s) were unschedulable."),
        "{msg}"
    );
    let tol = pod(
        "t",
        "1m",
        "1Mi",
        json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}}),
    );
    assert!(schedule(&only_a, &tol).is_ok());
    let mut named = pod("n", "1m", "1Mi", json!({}));
    if let Some(s) = named.pod.spec.as_mut() {
        s.node_name = Some("zzz".into());
    }
    assert!(failure(&c, &named).starts_with("0/2 nodes are available: 1 node(s) didn't match the requested node name, 1 node(s) were unschedulable."));
}

#[test]
fn node_selector_and_required_affinity() {
    let c = cache(vec![
        node(
            "a",
            "1",
            "1Gi",
            json!({"metadata": {"labels": {"disk": "ssd", "gen": "3"}}}),
        ),
        node(
            "b",
            "1",
            "1Gi",
            json!({"metadata": {"labels": {"disk": "hdd", "gen": "5"}}}),
        ),
        node("c", "1", "1Gi", json!({})),
    ]);
    let sel = pod(
        "s",
        "1m",
        "1Mi",
        json!({"spec": {"nodeSelector": {"disk": "ssd"}}}),
    );
    assert_eq!(schedule(&c, &sel).expect("a").node, "a");
    let aff = |expr: serde_json::Value| {
        pod(
            "x",
            "1m",
            "1Mi",
            json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [expr]}}}}}),
        )
    };
    let gt = aff(json!({"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]}));
    assert_eq!(schedule(&c, &gt).expect("b").node, "b");
    let notin = aff(
        json!({"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd", "hdd"]}]}),
    );
    assert_eq!(schedule(&c, &notin).expect("c").node, "c");
    let missing = aff(
        json!({"matchExpressions": [{"key": "disk", "operator": "DoesNotExist"}, {"key": "gen", "operator": "Exists"}]}),
    );
    assert!(failure(&c, &missing).starts_with(
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    ));
    let field =
        aff(json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["c"]}]}));
    assert_eq!(schedule(&c, &field).expect("c").node, "c");
}

#[test]
fn host_ports_conflict() {
    let mut c = cache(vec![node("a", "1", "1Gi", json!({}))]);
    let port = |name: &str, ip: &str| {
        pod(
            name,
            "1m",
            "1Mi",
            json!({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080, "hostIP": ip}]}]}}),
        )
    };
    bind(&mut c, port("p", "10.0.0.1"), "a");
    assert!(
        schedule(&c, &port("q", "10.0.0.2")).is_ok(),
        "different addresses share the port"
    );
    assert!(
        failure(&c, &port("r", ""))
            .contains("1 node(s) didn't have free ports for the requested pod ports")
    );
}

#[test]
fn inter_pod_affinity_and_anti_affinity() {
    let zone = |n: &str, z: &str| node(n, "2", "1Gi", json!({"metadata": {"labels": {"zone": z}}}));
    let mut c = cache(vec![zone("a1", "a"), zone("a2", "a"), zone("b1", "b")]);
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
    let term = |app: &str| json!([{"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "zone"}]);
    let with_db = pod(
        "web",
        "1m",
        "1Mi",
        json!({"spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("db")}}}}),
    );
    assert_eq!(schedule(&c, &with_db).expect("zone b").node, "b1");
    let away = pod(
        "web2",
        "1m",
        "1Mi",
        json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("db")}}}}),
    );
    assert!(schedule(&c, &away).expect("zone a").node.starts_with('a'));
    let nothing = pod(
        "x",
        "1m",
        "1Mi",
        json!({"spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("cache")}}}}),
    );
    assert!(
        failure(&c, &nothing)
            .starts_with("0/3 nodes are available: 3 node(s) didn't match pod affinity rules.")
    );
    // The first pod of a self-affine group may go anywhere.
    let first = pod(
        "f",
        "1m",
        "1Mi",
        json!({"metadata": {"labels": {"app": "cache"}}, "spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("cache")}}}}),
    );
    assert!(schedule(&c, &first).is_ok());
    // An existing pod's anti-affinity keeps matching pods out of its zone.
    bind(
        &mut c,
        pod(
            "lonely",
            "1m",
            "1Mi",
            json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("noisy")}}}}),
        ),
        "a1",
    );
    let noisy = pod(
        "n",
        "1m",
        "1Mi",
        json!({"metadata": {"labels": {"app": "noisy"}}}),
    );
    assert_eq!(schedule(&c, &noisy).expect("b").node, "b1");
    let both = pod(
        "n2",
        "1m",
        "1Mi",
        json!({"metadata": {"labels": {"app": "noisy"}}, "spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("db")}}}}),
    );
    assert_eq!(
        failure(&c, &both).split(" preemption").next().unwrap_or(""),
        "0/3 nodes are available: 1 node(s) didn't match pod anti-affinity rules, 2 node(s) didn't satisfy existing pods anti-affinity rules."
    );
}

#[test]
fn topology_spread_do_not_schedule() {
    let zone = |n: &str, z: &str| node(n, "8", "1Gi", json!({"metadata": {"labels": {"zone": z}}}));
    let mut c = cache(vec![
        zone("a1", "a"),
        zone("b1", "b"),
        node("nolabel", "8", "1Gi", json!({})),
    ]);
    let spread = |name: &str| {
        pod(
            name,
            "1m",
            "1Mi",
            json!({"metadata": {"labels": {"app": "web"}}, "spec": {"topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}
            ]}}),
        )
    };
    bind(&mut c, spread("w0"), "a1");
    for i in 1..6 {
        let p = spread(&format!("w{i}"));
        let d = schedule(&c, &p).expect("fits");
        assert_ne!(d.node, "nolabel");
        bind(&mut c, p, &d.node);
    }
    let per_zone: Vec<usize> = ["a1", "b1"]
        .iter()
        .map(|n| c.node(n).map(|n| n.pods.len()).unwrap_or(0))
        .collect();
    assert_eq!(per_zone, [3, 3]);
    let only = cache(vec![node("nolabel", "8", "1Gi", json!({}))]);
    assert!(failure(&only, &spread("z")).starts_with(
        "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label)."
    ));
    let mut skewed = cache(vec![zone("a1", "a"), zone("b1", "b")]);
    bind(&mut skewed, spread("w0"), "a1");
    let mut only_a = spread("wa");
    if let Some(s) = only_a.pod.spec.as_mut() {
        s.node_selector = Some([("zone".to_string(), "a".to_string())].into());
    }
    // Node affinity is honoured: only zone a counts, so there is no skew to respect.
    assert!(schedule(&skewed, &only_a).is_ok());
}

#[test]
fn pre_filter_rejection_is_reported_once() {
    let c = crate::cache::Cache::default();
    let f = schedule(&c, &pod("p", "1m", "1Mi", json!({}))).expect_err("no nodes");
    assert_eq!(f.fit.num_all_nodes, 0);
}

#[test]
fn cluster_summary_follows_pods_and_nodes() {
    let mut c = cache(vec![node(
        "a",
        "1",
        "1Gi",
        json!({"status": {"images": [{"names": ["x:1"], "sizeBytes": 1}]}}),
    )]);
    let anti = json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"a": "b"}}, "topologyKey": "zone"}]}}}});
    bind(&mut c, pod("p", "1m", "1Mi", anti), "a");
    let s = c.summary();
    assert_eq!(
        (
            s.pods_with_affinity,
            s.pods_with_required_anti_affinity,
            s.nodes_with_images
        ),
        (1, 1, 1)
    );
    c.remove_pod("default/p");
    c.remove_node("a");
    assert_eq!(c.summary(), crate::cache::Summary::default());
}
