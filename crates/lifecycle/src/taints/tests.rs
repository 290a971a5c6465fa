use chrono::TimeZone;
use serde_json::json;

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("time"))
}

fn node(ready: &str) -> Value {
    json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]},
           "status": {"conditions": [{"type": "Ready", "status": ready}]}})
}

#[test]
fn unknown_node_gets_unreachable_taints_and_keeps_others() {
    let taints = desired_taints(&node("Unknown"), t0()).unwrap_or_default();
    let keys: Vec<(String, String)> = taints
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap_or_default().into(),
                t["effect"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            ("dedicated".into(), "NoSchedule".into()),
            (UNREACHABLE.into(), "NoSchedule".into()),
            (UNREACHABLE.into(), "NoExecute".into()),
        ]
    );
    assert_eq!(taints[2]["timeAdded"], "2024-01-01T00:00:00Z");
    assert!(taints[1].get("timeAdded").is_none());
}

#[test]
fn not_ready_node_swaps_unreachable_for_not_ready_and_ready_clears_both() {
    let mut n = node("Unknown");
    n["spec"]["taints"] = json!(desired_taints(&n, t0()));
    n["status"]["conditions"][0]["status"] = json!("False");
    let taints = desired_taints(&n, t0()).unwrap_or_default();
    assert!(taints.iter().all(|t| t["key"] != UNREACHABLE));
    assert!(
        taints
            .iter()
            .any(|t| t["key"] == NOT_READY && t["effect"] == "NoExecute")
    );
    n["spec"]["taints"] = json!(taints);
    n["status"]["conditions"][0]["status"] = json!("True");
    let taints = desired_taints(&n, t0()).unwrap_or_default();
    assert_eq!(
        taints,
        vec![json!({"key": "dedicated", "value": "x", "effect": "NoSchedule"})]
    );
    n["spec"]["taints"] = json!(taints);
    assert_eq!(desired_taints(&n, t0()), None);
}

#[test]
fn cordoned_node_gets_the_unschedulable_taint() {
    let mut n = node("True");
    n["spec"]["unschedulable"] = json!(true);
    let taints = desired_taints(&n, t0()).unwrap_or_default();
    assert!(
        taints
            .iter()
            .any(|t| t["key"] == UNSCHEDULABLE && t["effect"] == "NoSchedule")
    );
}

#[test]
fn tolerations_match_by_key_operator_value_and_effect() {
    let taint = json!({"key": UNREACHABLE, "effect": "NoExecute"});
    assert!(tolerates(&json!({"operator": "Exists"}), &taint));
    assert!(tolerates(
        &json!({"key": UNREACHABLE, "operator": "Exists"}),
        &taint
    ));
    assert!(!tolerates(
        &json!({"key": UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"}),
        &taint
    ));
    assert!(!tolerates(
        &json!({"key": NOT_READY, "operator": "Exists"}),
        &taint
    ));
    let valued = json!({"key": "k", "value": "v", "effect": "NoExecute"});
    assert!(tolerates(&json!({"key": "k", "value": "v"}), &valued));
    assert!(!tolerates(&json!({"key": "k", "value": "w"}), &valued));
}

#[test]
fn pods_go_now_later_or_never_by_their_tolerations() {
    let taint =
        json!({"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2024-01-01T00:00:00Z"});
    let never_seen = |_: &Value| t0();
    let bare = json!({"spec": {}});
    assert_eq!(
        eviction(&bare, std::slice::from_ref(&taint), never_seen),
        Eviction::Now
    );
    let timed = json!({"spec": {"tolerations": [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]}});
    assert_eq!(
        eviction(&timed, std::slice::from_ref(&taint), never_seen),
        Eviction::At(t0() + Duration::seconds(300))
    );
    let forever = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
    assert_eq!(
        eviction(&forever, std::slice::from_ref(&taint), never_seen),
        Eviction::Never
    );
    let zero = json!({"spec": {"tolerations": [{"key": UNREACHABLE, "operator": "Exists", "tolerationSeconds": 0}]}});
    assert_eq!(
        eviction(&zero, std::slice::from_ref(&taint), never_seen),
        Eviction::Now
    );
    let no_schedule = json!({"key": "x", "effect": "NoSchedule"});
    assert_eq!(eviction(&bare, &[no_schedule], never_seen), Eviction::Never);
}
