use serde_json::json;

use super::*;

fn ready_pod() -> Value {
    json!({"metadata": {"name": "p", "namespace": "ns", "labels": {"app": "a"}},
           "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
}

fn pdb(allowed: i64, current: i64, desired: i64) -> Value {
    json!({"metadata": {"name": "budget", "generation": 1},
           "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "a"}}},
           "status": {"observedGeneration": 1, "disruptionsAllowed": allowed,
                      "currentHealthy": current, "desiredHealthy": desired, "expectedPods": current}})
}

#[test]
fn no_disruption_left_is_429_with_upstream_message_and_cause() {
    let Decision::Refuse(e) = decide(&pdb(0, 1, 1), &ready_pod(), "p", "t") else {
        panic!("expected refusal");
    };
    assert_eq!(e.code, 429);
    assert_eq!(e.reason, "TooManyRequests");
    assert_eq!(e.message, VIOLATION);
    let causes = &e.details.unwrap_or_default()["causes"];
    assert_eq!(causes[0]["reason"], "DisruptionBudget");
    assert_eq!(
        causes[0]["message"],
        "The disruption budget budget needs 1 healthy pods and has 1 currently"
    );
}

#[test]
fn allowed_eviction_decrements_and_records_the_pod() {
    let Decision::Decrement(status) = decide(&pdb(1, 2, 1), &ready_pod(), "p", "now") else {
        panic!("expected decrement");
    };
    assert_eq!(status["disruptionsAllowed"], 0);
    assert_eq!(status["disruptedPods"]["p"], "now");
    let cond = &status["conditions"][0];
    assert_eq!(cond["type"], "DisruptionAllowed");
    assert_eq!(cond["status"], "False");
    assert_eq!(cond["reason"], "InsufficientPods");
}

#[test]
fn stale_budget_is_refused_until_observed() {
    let mut b = pdb(3, 4, 1);
    b["metadata"]["generation"] = json!(2);
    let Decision::Refuse(e) = decide(&b, &ready_pod(), "p", "t") else {
        panic!("expected refusal");
    };
    assert_eq!(e.code, 429);
    assert!(
        e.details.unwrap_or_default()["causes"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("still being processed")
    );
}

#[test]
fn unready_pod_skips_the_budget_when_it_is_already_met() {
    let mut pod = ready_pod();
    pod["status"]["conditions"][0]["status"] = json!("False");
    assert_eq!(decide(&pdb(0, 2, 2), &pod, "p", "t"), Decision::Skip);
    // Not met and default policy: the budget still applies.
    assert!(matches!(
        decide(&pdb(0, 1, 2), &pod, "p", "t"),
        Decision::Refuse(_)
    ));
    let mut always = pdb(0, 1, 2);
    always["spec"]["unhealthyPodEvictionPolicy"] = json!("AlwaysAllow");
    assert_eq!(decide(&always, &pod, "p", "t"), Decision::Skip);
}

#[test]
fn pending_finished_and_terminating_pods_ignore_budgets() {
    let mut pod = ready_pod();
    assert!(!can_ignore_budget(&pod));
    for phase in ["Pending", "Succeeded", "Failed"] {
        pod["status"]["phase"] = json!(phase);
        assert!(can_ignore_budget(&pod), "{phase}");
    }
    let mut pod = ready_pod();
    pod["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    assert!(can_ignore_budget(&pod));
}

#[test]
fn disruption_target_condition_is_added_once() {
    let mut pod = ready_pod();
    mark_disruption_target(&mut pod, "t");
    mark_disruption_target(&mut pod, "t2");
    let conds = pod["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let targets: Vec<_> = conds
        .iter()
        .filter(|c| c["type"] == "DisruptionTarget")
        .collect();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["reason"], "EvictionByEvictionAPI");
    assert_eq!(targets[0]["lastTransitionTime"], "t");
}
