//! A PodDisruptionBudget's status from its pods: pure logic.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

/// How long an eviction's entry in `disruptedPods` holds a pod out of the healthy count.
pub const DELETION_TIMEOUT_SECS: i64 = 120;

/// An int-or-percent against `total`, rounded up as upstream does for budgets.
pub fn scaled(v: &Value, total: i64) -> Result<i64, String> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    let s = v
        .as_str()
        .ok_or_else(|| format!("invalid value for IntOrString: {v}"))?;
    let pct: i64 = s
        .strip_suffix('%')
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| {
            format!(
                "invalid value for IntOrString: invalid type: string is not a percentage: {s:?}"
            )
        })?;
    Ok((pct * total + 99) / 100)
}

/// Does the budget need the pods' controllers' scale (anything but an integer minAvailable)?
pub fn needs_scale(pdb: &Value) -> bool {
    let spec = &pdb["spec"];
    !spec["maxUnavailable"].is_null() || spec["minAvailable"].is_string()
}

/// (expectedPods, desiredHealthy) from the spec, the number of pods and the controllers' scale.
pub fn expectations(pdb: &Value, pods: i64, scale: Option<i64>) -> Result<(i64, i64), String> {
    let spec = &pdb["spec"];
    if !spec["maxUnavailable"].is_null() {
        let expected = scale.unwrap_or(0);
        let max = scaled(&spec["maxUnavailable"], expected)?;
        return Ok((expected, (expected - max).max(0)));
    }
    match &spec["minAvailable"] {
        Value::Null => Ok((0, 0)),
        Value::String(_) => {
            let expected = scale.unwrap_or(0);
            Ok((expected, scaled(&spec["minAvailable"], expected)?))
        }
        v => Ok((pods, scaled(v, pods)?)),
    }
}

fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn deleting(pod: &Value) -> bool {
    pod["metadata"]
        .get("deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

/// Entries of `disruptedPods` still pending: the pod exists, is not being deleted, and
/// the eviction is recent.
pub fn disrupted(pdb: &Value, pods: &[&Value], now: DateTime<Utc>) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(map) = pdb["status"]["disruptedPods"].as_object() else {
        return out;
    };
    for (name, at) in map {
        let Some(pod) = pods.iter().find(|p| p["metadata"]["name"] == name.as_str()) else {
            continue;
        };
        if deleting(pod) {
            continue;
        }
        let Some(t) = crate::time::parse(at) else {
            continue;
        };
        if t + Duration::seconds(DELETION_TIMEOUT_SECS) > now {
            out.insert(name.clone(), at.clone());
        }
    }
    out
}

/// The budget's new status. `scale` is the summed replicas of the pods' controllers when
/// [`needs_scale`]; `Err` carries why it could not be found (SyncFailed).
pub fn status(
    pdb: &Value,
    pods: &[&Value],
    scale: Result<Option<i64>, String>,
    now: DateTime<Utc>,
) -> Value {
    let generation = pdb["metadata"]["generation"].clone();
    let old = &pdb["status"];
    let result = scale.and_then(|s| expectations(pdb, pods.len() as i64, s));
    let (expected, desired) = match result {
        Ok(v) => v,
        Err(message) => {
            let mut s = json!({
                "observedGeneration": generation, "disruptionsAllowed": 0,
                "currentHealthy": old["currentHealthy"].as_i64().unwrap_or(0),
                "desiredHealthy": old["desiredHealthy"].as_i64().unwrap_or(0),
                "expectedPods": old["expectedPods"].as_i64().unwrap_or(0),
            });
            s["conditions"] = conditions(old, "False", "SyncFailed", &message, &generation, now);
            return s;
        }
    };
    let disrupted = disrupted(pdb, pods, now);
    let current = pods
        .iter()
        .filter(|p| !deleting(p))
        .filter(|p| {
            let name = p["metadata"]["name"].as_str().unwrap_or_default();
            !disrupted.contains_key(name)
        })
        .filter(|p| ready(p))
        .count() as i64;
    let allowed = if expected <= 0 {
        0
    } else {
        (current - desired).max(0)
    };
    let mut s = json!({
        "observedGeneration": generation, "disruptionsAllowed": allowed,
        "currentHealthy": current, "desiredHealthy": desired, "expectedPods": expected,
    });
    if !disrupted.is_empty() {
        s["disruptedPods"] = Value::Object(disrupted);
    }
    let (st, reason) = if allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    s["conditions"] = conditions(old, st, reason, "", &generation, now);
    s
}

/// The conditions with DisruptionAllowed set, its transition time kept when unchanged.
fn conditions(
    old: &Value,
    status: &str,
    reason: &str,
    message: &str,
    generation: &Value,
    now: DateTime<Utc>,
) -> Value {
    let mut list: Vec<Value> = old["conditions"].as_array().cloned().unwrap_or_default();
    let since = list
        .iter()
        .find(|c| c["type"] == "DisruptionAllowed" && c["status"] == status)
        .map(|c| c["lastTransitionTime"].clone())
        .unwrap_or_else(|| json!(crate::time::format(now)));
    list.retain(|c| c["type"] != "DisruptionAllowed");
    list.push(json!({
        "type": "DisruptionAllowed", "status": status, "reason": reason, "message": message,
        "observedGeneration": generation, "lastTransitionTime": since,
    }));
    Value::Array(list)
}

#[cfg(test)]
mod tests;
