use super::*;
use crate::registry;
use serde_json::json;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sel(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn equality_forms_match() {
    let l = labels(&[("app", "web"), ("tier", "fe")]);
    assert!(sel("app=web").matches(&l));
    assert!(sel("app==web").matches(&l));
    assert!(sel("app = web , tier=fe").matches(&l));
    assert!(!sel("app=db").matches(&l));
}

#[test]
fn not_equals_matches_absent_labels() {
    assert!(sel("env!=prod").matches(&labels(&[("app", "web")])));
    assert!(!sel("env!=prod").matches(&labels(&[("env", "prod")])));
}

#[test]
fn set_operators() {
    let l = labels(&[("env", "qa")]);
    assert!(sel("env in (qa, prod)").matches(&l));
    assert!(!sel("env notin (qa,prod)").matches(&l));
    assert!(sel("env notin (dev)").matches(&l));
    assert!(sel("tier notin (dev)").matches(&l));
    assert!(!sel("tier in (dev)").matches(&l));
}

#[test]
fn existence_operators() {
    let l = labels(&[("canary", "")]);
    assert!(sel("canary").matches(&l));
    assert!(!sel("!canary").matches(&l));
    assert!(sel("!stable").matches(&l));
}

#[test]
fn empty_value_equality() {
    assert!(sel("canary=").matches(&labels(&[("canary", "")])));
}

#[test]
fn numeric_comparisons() {
    let l = labels(&[("gen", "5")]);
    assert!(sel("gen>3").matches(&l));
    assert!(!sel("gen<3").matches(&l));
}

#[test]
fn empty_string_selects_everything() {
    let s = sel("");
    assert!(s.is_empty());
    assert!(s.matches(&BTreeMap::new()));
}

#[test]
fn syntax_errors_are_reported() {
    for bad in ["app in a", "app=(", "=web", "app,", "app in (a", "app web"] {
        assert!(LabelSelector::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn invalid_keys_and_values_are_reported() {
    let e = LabelSelector::parse("-app!=x").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("key: Invalid value: \"-app\": name part must consist"),
        "{e}"
    );
    assert!(LabelSelector::parse("app=bad@value").is_err());
    assert!(LabelSelector::parse("bad key!=x").is_err());
}

#[test]
fn display_sorts_by_key_in_query_form() {
    assert_eq!(sel("tier=fe,app=web").to_string(), "app=web,tier=fe");
    assert_eq!(sel("env in (b,a),!x,y").to_string(), "env in (a,b),!x,y");
    assert_eq!(sel("a!=b").to_string(), "a!=b");
}

#[test]
fn label_selector_object_builds_requirements() {
    let s = LabelSelector::from_label_selector(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "env", "operator": "In", "values": ["qa", "prod"]},
                             {"key": "legacy", "operator": "DoesNotExist"}]
    }))
    .unwrap();
    assert_eq!(s.to_string(), "app=web,env in (prod,qa),!legacy");
    assert!(s.matches(&labels(&[("app", "web"), ("env", "qa")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("env", "qa"), ("legacy", "1")])));
}

#[test]
fn null_label_selector_matches_nothing_and_empty_matches_all() {
    assert!(
        !LabelSelector::from_label_selector(&Value::Null)
            .unwrap()
            .matches(&BTreeMap::new())
    );
    assert!(
        LabelSelector::from_label_selector(&json!({}))
            .unwrap()
            .matches(&BTreeMap::new())
    );
}

#[test]
fn bad_operator_in_expression_is_an_error() {
    let r = LabelSelector::from_label_selector(
        &json!({"matchExpressions": [{"key": "a", "operator": "Equals"}]}),
    );
    assert!(r.is_err());
    let r = LabelSelector::from_label_selector(
        &json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
    );
    assert!(r.is_err());
}

#[test]
fn map_selector_and_object_matching() {
    let s = LabelSelector::from_map(&json!({"app": "web"})).unwrap();
    assert!(s.matches_object(&json!({"metadata": {"labels": {"app": "web", "x": "y"}}})));
    assert!(!s.matches_object(&json!({"metadata": {}})));
}

#[test]
fn field_selector_parses_operators() {
    let f =
        FieldSelector::parse("metadata.name=web,status.phase!=Running,spec.nodeName==n1").unwrap();
    assert_eq!(f.terms.len(), 3);
    assert_eq!(f.terms[1].op, FieldOp::NotEquals);
    assert_eq!(f.terms[2].value, "n1");
    assert_eq!(f.name(), Some("web"));
}

#[test]
fn field_selector_escapes() {
    let f = FieldSelector::parse(r"metadata.name=a\,b").unwrap();
    assert_eq!(f.terms.len(), 1);
    assert_eq!(f.terms[0].value, "a,b");
    assert_eq!(f.to_string(), r"metadata.name=a\,b");
}

#[test]
fn field_selector_without_operator_is_rejected() {
    assert!(FieldSelector::parse("metadata.name").is_err());
}

#[test]
fn field_selector_rejects_unsupported_fields() {
    let pods = registry().find("", "v1", "pods").unwrap();
    let f = FieldSelector::parse("foo=bar").unwrap();
    assert_eq!(
        f.check_supported(pods).unwrap_err().to_string(),
        "field label not supported: foo"
    );
    assert!(
        FieldSelector::parse("spec.nodeName=n")
            .unwrap()
            .check_supported(pods)
            .is_ok()
    );
}

#[test]
fn field_selector_matches_objects() {
    let pods = registry().find("", "v1", "pods").unwrap();
    let pod = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Pending"}});
    assert!(
        FieldSelector::parse("spec.nodeName=n1,status.phase!=Running")
            .unwrap()
            .matches(pods, &pod)
    );
    assert!(
        !FieldSelector::parse("spec.nodeName=")
            .unwrap()
            .matches(pods, &pod)
    );
    assert!(FieldSelector::parse("").unwrap().matches(pods, &pod));
}
