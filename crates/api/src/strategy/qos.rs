//! Pod QoS class as upstream computes it (Guaranteed, Burstable, BestEffort).

use serde_json::Value;

use crate::quantity;

const COMPUTE: &[&str] = &["cpu", "memory"];

fn positive(list: Option<&Value>, name: &str) -> bool {
    list.and_then(|l| l.get(name))
        .and_then(quantity::from_json)
        .is_some_and(|q| q.nanos() > 0)
}

/// The QoS class of a pod object (reads `spec.containers` and `spec.initContainers`).
pub fn pod_qos_class(pod: &Value) -> &'static str {
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_array))
        .flatten()
        .collect();
    let mut any_set = false;
    let mut guaranteed = true;
    for c in containers {
        let requests = c.pointer("/resources/requests");
        let limits = c.pointer("/resources/limits");
        for name in COMPUTE {
            let has_req = positive(requests, name);
            let has_lim = positive(limits, name);
            any_set |= has_req || has_lim;
            if !has_lim {
                guaranteed = false;
                continue;
            }
            if has_req {
                let req = requests
                    .and_then(|r| r.get(*name))
                    .and_then(quantity::from_json);
                let lim = limits
                    .and_then(|l| l.get(*name))
                    .and_then(quantity::from_json);
                if req != lim {
                    guaranteed = false;
                }
            }
        }
    }
    if !any_set {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(resources: Value) -> Value {
        json!({"spec": {"containers": [{"name": "c", "image": "x", "resources": resources}]}})
    }

    #[test]
    fn no_resources_is_best_effort() {
        assert_eq!(pod_qos_class(&pod(json!({}))), "BestEffort");
    }

    #[test]
    fn equal_limits_and_requests_are_guaranteed() {
        let r = json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1024Mi"}});
        assert_eq!(pod_qos_class(&pod(r)), "Guaranteed");
    }

    #[test]
    fn limits_only_are_guaranteed() {
        let r = json!({"limits": {"cpu": "1", "memory": "1Gi"}});
        assert_eq!(pod_qos_class(&pod(r)), "Guaranteed");
    }

    #[test]
    fn requests_below_limits_are_burstable() {
        let r = json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}});
        assert_eq!(pod_qos_class(&pod(r)), "Burstable");
        assert_eq!(
            pod_qos_class(&pod(json!({"requests": {"memory": "10Mi"}}))),
            "Burstable"
        );
    }

    #[test]
    fn zero_requests_count_as_unset() {
        assert_eq!(
            pod_qos_class(&pod(json!({"requests": {"cpu": "0"}}))),
            "BestEffort"
        );
    }

    #[test]
    fn one_unbounded_container_makes_pod_burstable() {
        let p = json!({"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
            {"name": "b", "resources": {}}]}});
        assert_eq!(pod_qos_class(&p), "Burstable");
    }
}
