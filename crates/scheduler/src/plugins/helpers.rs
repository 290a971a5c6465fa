//! Matching rules shared by plugins: tolerations, label selectors, node selector terms.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether a toleration tolerates a taint (upstream's ToleratesTaint).
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty())
        && e != taint.effect
    {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

/// Whether any toleration tolerates the taint.
pub fn tolerated(tols: &[Toleration], taint: &Taint) -> bool {
    tols.iter().any(|t| tolerates(t, taint))
}

/// A metav1.LabelSelector matched against labels; `None` selector matches nothing.
pub fn selector_matches(sel: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(sel) = sel else { return false };
    for (k, v) in sel.match_labels.iter().flatten() {
        if labels.get(k) != Some(v) {
            return false;
        }
    }
    for e in sel.match_expressions.iter().flatten() {
        let have = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or(&[]);
        let ok = match e.operator.as_str() {
            "In" => have.is_some_and(|h| values.contains(h)),
            "NotIn" => have.is_none_or(|h| !values.contains(h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&String>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), [bound]) = (value, values) else {
                return false;
            };
            match (v.parse::<i64>(), bound.parse::<i64>()) {
                (Ok(v), Ok(b)) if r.operator == "Gt" => v > b,
                (Ok(v), Ok(b)) => v < b,
                _ => false,
            }
        }
        _ => false,
    }
}

/// One NodeSelectorTerm: all expressions and fields must match; an empty term matches nothing.
pub fn term_matches(
    t: &NodeSelectorTerm,
    labels: &BTreeMap<String, String>,
    node_name: &str,
) -> bool {
    let exprs = t.match_expressions.as_deref().unwrap_or(&[]);
    let fields = t.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let name = node_name.to_string();
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key)))
        && fields
            .iter()
            .all(|r| r.key == "metadata.name" && requirement_matches(r, Some(&name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn toleration_rules() {
        let taint: Taint =
            serde_json::from_value(json!({"key": "k", "value": "v", "effect": "NoSchedule"}))
                .expect("taint");
        let tol = |v| serde_json::from_value::<Toleration>(v).expect("toleration");
        assert!(tolerates(&tol(json!({"key": "k", "value": "v"})), &taint));
        assert!(tolerates(&tol(json!({"operator": "Exists"})), &taint));
        assert!(!tolerates(&tol(json!({"key": "k", "value": "w"})), &taint));
        assert!(!tolerates(
            &tol(json!({"key": "k", "operator": "Exists", "effect": "NoExecute"})),
            &taint
        ));
    }

    #[test]
    fn node_selector_operators() {
        let labels: BTreeMap<String, String> = [("gen".to_string(), "5".to_string())].into();
        let term = |e| {
            serde_json::from_value::<NodeSelectorTerm>(json!({"matchExpressions": [e]}))
                .expect("term")
        };
        assert!(term_matches(
            &term(json!({"key": "gen", "operator": "Gt", "values": ["4"]})),
            &labels,
            "n"
        ));
        assert!(!term_matches(
            &term(json!({"key": "gen", "operator": "Lt", "values": ["4"]})),
            &labels,
            "n"
        ));
        assert!(term_matches(
            &term(json!({"key": "x", "operator": "DoesNotExist"})),
            &labels,
            "n"
        ));
        let f: NodeSelectorTerm = serde_json::from_value(
            json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n"]}]}),
        )
        .expect("term");
        assert!(term_matches(&f, &labels, "n") && !term_matches(&f, &labels, "m"));
        assert!(!term_matches(&NodeSelectorTerm::default(), &labels, "n"));
    }
}
