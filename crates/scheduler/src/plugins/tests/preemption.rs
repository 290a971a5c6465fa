use serde_json::json;

use crate::testutil::{bind, cache, node, pod, schedule};

fn prio(name: &str, cpu: &str, p: i32) -> crate::podinfo::PodInfo {
    pod(name, cpu, "1Mi", json!({"spec": {"priority": p}}))
}

#[test]
fn evicts_the_fewest_least_important_pods() {
    let mut c = cache(vec![
        node("a", "4", "1Gi", json!({})),
        node("b", "4", "1Gi", json!({})),
    ]);
    // a: one 3-cpu pod of priority 5. b: three 1-cpu pods of priority 1 (one started earlier).
    bind(&mut c, prio("a-big", "3", 5), "a");
    for i in 0..3 {
        bind(&mut c, prio(&format!("b{i}"), "1", 1), "b");
    }
    let hi = prio("hi", "2", 10);
    let f = schedule(&c, &hi).expect_err("no room without preemption");
    let r = f.post_filter.expect("preemption found a node");
    // a's victim has priority 5, b's victims priority 1: lower highest-priority wins.
    assert_eq!(r.nominated_node, "b");
    let mut victims: Vec<&str> = r.victims.iter().map(|v| v.name.as_str()).collect();
    victims.sort();
    assert_eq!(victims.len(), 1, "only one 1-cpu pod must go: {victims:?}");
    assert!(f.fit.post_filter_msg.is_none());
}

#[test]
fn fewer_victims_break_priority_ties() {
    let mut c = cache(vec![
        node("a", "4", "1Gi", json!({})),
        node("b", "4", "1Gi", json!({})),
    ]);
    bind(&mut c, prio("a0", "2", 1), "a");
    bind(&mut c, prio("a1", "2", 1), "a");
    bind(&mut c, prio("b0", "3", 1), "b");
    bind(&mut c, prio("b1", "1", 0), "b");
    let f = schedule(&c, &prio("hi", "3", 10)).expect_err("full");
    let r = f.post_filter.expect("candidate");
    // a: victims a0+a1 (sum higher); b: b0 alone (3 free after) -> b.
    assert_eq!(r.nominated_node, "b");
    assert_eq!(
        r.victims
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>(),
        ["b0"]
    );
}

#[test]
fn equal_or_higher_priority_pods_are_never_victims() {
    let mut c = cache(vec![node("a", "2", "1Gi", json!({}))]);
    bind(&mut c, prio("same", "2", 10), "a");
    let f = schedule(&c, &prio("p", "1", 10)).expect_err("full");
    assert!(f.post_filter.is_none());
    assert_eq!(
        f.fit.to_string(),
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: \
         1 No preemption victims found for incoming pod."
    );
}

#[test]
fn preemption_policy_never_and_unresolvable_nodes() {
    let mut c = cache(vec![
        node("a", "1", "1Gi", json!({})),
        node(
            "t",
            "8",
            "1Gi",
            json!({"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}}),
        ),
    ]);
    bind(&mut c, prio("low", "1", 0), "a");
    let never = pod(
        "n",
        "1",
        "1Mi",
        json!({"spec": {"priority": 100, "preemptionPolicy": "Never"}}),
    );
    let f = schedule(&c, &never).expect_err("full");
    assert!(f.post_filter.is_none());
    assert!(
        f.fit
            .to_string()
            .ends_with("preemption: not eligible due to preemptionPolicy=Never."),
        "{}",
        f.fit
    );
    let f = schedule(&c, &prio("p", "1", 100)).expect_err("full");
    let r = f.post_filter.expect("a is a candidate, t is not");
    assert_eq!(r.nominated_node, "a");
}

#[test]
fn nominated_pods_hold_their_room() {
    let mut c = cache(vec![node("a", "2", "1Gi", json!({}))]);
    c.nominate(std::sync::Arc::new(prio("nominee", "2", 10)), "a");
    let low = prio("low", "1", 1);
    assert!(
        schedule(&c, &low).is_err(),
        "room is held for the higher-priority nominee"
    );
    let higher = prio("higher", "1", 20);
    assert!(schedule(&c, &higher).is_ok());
    bind(&mut c, prio("x", "1", 0), "a");
}

#[test]
fn evicting_an_anti_affine_pod_is_simulated_through_the_cycle_state() {
    let mut c = cache(vec![node("a", "8", "1Gi", json!({}))]);
    bind(
        &mut c,
        pod(
            "x",
            "1",
            "1Mi",
            json!({"metadata": {"labels": {"app": "x"}}, "spec": {"priority": 1}}),
        ),
        "a",
    );
    bind(&mut c, prio("bystander", "1", 1), "a");
    let term = json!([{"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}]);
    let p = pod(
        "p",
        "1",
        "1Mi",
        json!({"spec": {"priority": 10, "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term}}}}),
    );
    let f = schedule(&c, &p).expect_err("anti-affinity blocks a");
    let r = f.post_filter.expect("evicting x helps");
    assert_eq!(
        r.victims
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>(),
        ["x"]
    );
}

#[test]
fn no_second_preemption_while_the_first_victims_are_going() {
    // Three full nodes; the first attempt evicts one low pod and nominates its node.
    let mut c = cache(vec![
        node("a", "1", "1Gi", json!({})),
        node("b", "1", "1Gi", json!({})),
        node("c", "1", "1Gi", json!({})),
    ]);
    for n in ["a", "b", "c"] {
        bind(&mut c, prio(&format!("low-{n}"), "900m", 0), n);
    }
    let vip = std::sync::Arc::new(prio("vip", "500m", 10));
    let f = schedule(&c, &vip).expect_err("full");
    let r = f.post_filter.expect("a victim");
    assert_eq!(r.victims.len(), 1);
    let victim = r.victims[0].key.clone();
    c.nominate(vip.clone(), &r.nominated_node);
    c.mark_evicting(&victim);
    // Retried before the deletion is seen, and before the pod's status shows the
    // nomination: not eligible to preempt again (no second victim elsewhere).
    let again = schedule(&c, &vip).expect_err("still full");
    assert!(again.post_filter.is_none(), "a second preemption");
    assert!(
        again
            .fit
            .to_string()
            .ends_with("preemption: not eligible due to a terminating pod on the nominated node."),
        "{}",
        again.fit
    );
    // A watch update of the victim (say its DisruptionTarget condition) keeps it terminating.
    let node = r.nominated_node.clone();
    let victim_name = victim.rsplit('/').next().unwrap_or_default().to_string();
    bind(&mut c, prio(&victim_name, "900m", 0), &node);
    assert!(schedule(&c, &vip).expect_err("full").post_filter.is_none());
    // Once it is gone, the pod fits its nominated node.
    c.remove_pod(&victim);
    let d = schedule(&c, &vip).expect("fits after the victim left");
    assert_eq!(d.node, node);
}

#[test]
fn evicting_marks_only_the_victim_terminating() {
    let mut c = cache(vec![node("a", "2", "1Gi", json!({}))]);
    bind(&mut c, prio("x", "1", 0), "a");
    bind(&mut c, prio("y", "1", 0), "a");
    let key = c.nodes[0].pods[0].key.clone();
    c.mark_evicting(&key);
    let flags: Vec<(String, bool)> = c.nodes[0]
        .pods
        .iter()
        .map(|p| (p.key.clone(), p.terminating))
        .collect();
    assert_eq!(flags.len(), 2);
    for (k, t) in flags {
        assert_eq!(t, k == key, "{k}");
    }
}
