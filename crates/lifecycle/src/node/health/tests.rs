use chrono::TimeZone;
use serde_json::json;

use super::*;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("time"))
        + Duration::seconds(secs)
}

fn lease(secs: i64) -> Value {
    json!({"spec": {"renewTime": format!("2024-01-01T00:00:{secs:02}.000000Z")}})
}

fn node() -> Value {
    json!({"metadata": {"name": "n", "creationTimestamp": "2024-01-01T00:00:00Z"},
           "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-01-01T00:00:00Z"}]}})
}

#[test]
fn lease_renewals_keep_a_node_fresh_and_silence_makes_it_stale() {
    let config = Config::default();
    let h = observe(None, &node(), Some(&lease(1)), at(1));
    let h = observe(Some(&h), &node(), Some(&lease(10)), at(10));
    assert_eq!(h.probe, at(10));
    assert!(!stale(&h, true, &config, at(50)));
    // The same renewTime seen again is no heartbeat.
    let h = observe(Some(&h), &node(), Some(&lease(10)), at(45));
    assert_eq!(h.probe, at(10));
    assert!(stale(&h, true, &config, at(51)));
}

#[test]
fn ready_heartbeat_counts_without_a_lease() {
    let h = observe(None, &node(), None, at(0));
    let mut n = node();
    n["status"]["conditions"][0]["lastHeartbeatTime"] = json!("2024-01-01T00:00:30Z");
    let h = observe(Some(&h), &n, None, at(30));
    assert_eq!(h.probe, at(30));
}

#[test]
fn nodes_that_never_reported_get_the_startup_grace() {
    let config = Config::default();
    let h = observe(None, &json!({"metadata": {"name": "n"}}), None, at(0));
    assert!(!stale(&h, false, &config, at(50)));
    assert!(stale(&h, false, &config, at(61)));
}

#[test]
fn silent_node_conditions_turn_unknown_once_with_upstream_reason() {
    let conditions = unknown_conditions(&node(), at(60)).unwrap_or_default();
    let ready = &conditions[0];
    assert_eq!(ready["status"], "Unknown");
    assert_eq!(ready["reason"], "NodeStatusUnknown");
    assert_eq!(ready["message"], "Kubelet stopped posting node status.");
    assert_eq!(ready["lastTransitionTime"], "2024-01-01T00:01:00Z");
    let never = conditions.iter().find(|c| c["type"] == "MemoryPressure");
    assert_eq!(
        never.map(|c| c["reason"].clone()),
        Some(json!("NodeStatusNeverUpdated"))
    );
    let mut n = node();
    n["status"]["conditions"] = json!(conditions);
    assert_eq!(unknown_conditions(&n, at(70)), None);
}

#[test]
fn pods_on_silent_nodes_turn_not_ready_once() {
    let pod = json!({"status": {"conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]}});
    let conditions = pod_not_ready(&pod, at(5)).unwrap_or_default();
    assert_eq!(conditions[1]["status"], "False");
    assert_eq!(conditions[1]["lastTransitionTime"], "2024-01-01T00:00:05Z");
    assert_eq!(conditions[0]["status"], "True");
    let done = json!({"status": {"conditions": conditions}});
    assert_eq!(pod_not_ready(&done, at(6)), None);
    assert_eq!(pod_not_ready(&json!({"status": {}}), at(6)), None);
}
