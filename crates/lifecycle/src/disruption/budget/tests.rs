use chrono::TimeZone;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 10, 0)
        .single()
        .unwrap_or_else(|| panic!("time"))
}

fn pod(name: &str, ready: bool) -> Value {
    json!({"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
}

fn pdb(spec: Value) -> Value {
    json!({"metadata": {"name": "b", "generation": 2}, "spec": spec, "status": {}})
}

#[test]
fn percentages_round_up() {
    assert_eq!(scaled(&json!("50%"), 3), Ok(2));
    assert_eq!(scaled(&json!("10%"), 10), Ok(1));
    assert_eq!(scaled(&json!(2), 10), Ok(2));
    assert!(scaled(&json!("half"), 10).is_err());
}

#[test]
fn integer_min_available_counts_matching_pods() {
    let b = pdb(json!({"minAvailable": 2}));
    let pods = [pod("a", true), pod("b", true), pod("c", false)];
    let refs: Vec<&Value> = pods.iter().collect();
    let s = status(&b, &refs, Ok(None), now());
    assert_eq!(s["expectedPods"], 3);
    assert_eq!(s["desiredHealthy"], 2);
    assert_eq!(s["currentHealthy"], 2);
    assert_eq!(s["disruptionsAllowed"], 0);
    assert_eq!(s["observedGeneration"], 2);
    assert_eq!(s["conditions"][0]["type"], "DisruptionAllowed");
    assert_eq!(s["conditions"][0]["status"], "False");
    assert_eq!(s["conditions"][0]["reason"], "InsufficientPods");
}

#[test]
fn max_unavailable_uses_the_controllers_scale() {
    let b = pdb(json!({"maxUnavailable": "25%"}));
    assert!(needs_scale(&b));
    let pods = [
        pod("a", true),
        pod("b", true),
        pod("c", true),
        pod("d", true),
    ];
    let refs: Vec<&Value> = pods.iter().collect();
    let s = status(&b, &refs, Ok(Some(4)), now());
    assert_eq!(s["expectedPods"], 4);
    assert_eq!(s["desiredHealthy"], 3);
    assert_eq!(s["disruptionsAllowed"], 1);
    assert_eq!(s["conditions"][0]["status"], "True");
    assert_eq!(s["conditions"][0]["reason"], "SufficientPods");
}

#[test]
fn recently_evicted_pods_are_not_healthy_and_old_entries_expire() {
    let mut b = pdb(json!({"minAvailable": 1}));
    b["status"]["disruptedPods"] =
        json!({"a": "2024-01-01T00:09:30Z", "b": "2024-01-01T00:00:00Z"});
    let pods = [pod("a", true), pod("b", true)];
    let refs: Vec<&Value> = pods.iter().collect();
    let s = status(&b, &refs, Ok(None), now());
    assert_eq!(s["currentHealthy"], 1);
    assert_eq!(s["disruptedPods"], json!({"a": "2024-01-01T00:09:30Z"}));
    assert_eq!(s["disruptionsAllowed"], 0);
}

#[test]
fn missing_controller_is_sync_failed() {
    let b = pdb(json!({"maxUnavailable": 1}));
    let s = status(
        &b,
        &[],
        Err("found no controller ref for pod \"x\"".into()),
        now(),
    );
    assert_eq!(s["disruptionsAllowed"], 0);
    assert_eq!(s["conditions"][0]["reason"], "SyncFailed");
    assert_eq!(
        s["conditions"][0]["message"],
        "found no controller ref for pod \"x\""
    );
}
