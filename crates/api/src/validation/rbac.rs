//! RBAC validation: policy rules, role references, subjects.

use serde_json::{Value, json};

use super::Cause;
use super::util::{arr, idx, join, s};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Role (namespaced) or ClusterRole rules.
pub fn role(obj: &Value, namespaced: bool) -> Vec<Cause> {
    let mut errs = Vec::new();
    // A ClusterRole with an aggregationRule gets its rules from the controller.
    if !namespaced && obj.get("aggregationRule").is_some_and(|a| !a.is_null()) {
        return errs;
    }
    for (i, r) in arr(obj, "rules").iter().enumerate() {
        let base = idx("rules", i);
        if arr(r, "verbs").is_empty() {
            errs.push(Cause::required(
                &join(&base, "verbs"),
                "verbs must contain at least one value",
            ));
        }
        let urls = arr(r, "nonResourceURLs");
        if !urls.is_empty() {
            let repr = super::go_repr(&Value::Array(urls.to_vec()));
            if namespaced {
                errs.push(Cause::invalid_repr(
                    &join(&base, "nonResourceURLs"),
                    &repr,
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if !arr(r, "apiGroups").is_empty() || !arr(r, "resources").is_empty() {
                errs.push(Cause::invalid_repr(
                    &join(&base, "nonResourceURLs"),
                    &repr,
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if arr(r, "apiGroups").is_empty() {
            errs.push(Cause::required(
                &join(&base, "apiGroups"),
                "resource rules must supply at least one api group",
            ));
        }
        if arr(r, "resources").is_empty() {
            errs.push(Cause::required(
                &join(&base, "resources"),
                "resource rules must supply at least one resource",
            ));
        }
    }
    errs
}

/// RoleBinding (namespaced) or ClusterRoleBinding.
pub fn binding(obj: &Value, namespaced: bool) -> Vec<Cause> {
    let mut errs = Vec::new();
    let rr = obj.get("roleRef").unwrap_or(&Value::Null);
    if s(rr, "apiGroup") != RBAC_GROUP {
        errs.push(Cause::not_supported(
            "roleRef.apiGroup",
            &json!(s(rr, "apiGroup")),
            &[RBAC_GROUP],
        ));
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&s(rr, "kind")) {
        errs.push(Cause::not_supported(
            "roleRef.kind",
            &json!(s(rr, "kind")),
            kinds,
        ));
    }
    if s(rr, "name").is_empty() {
        errs.push(Cause::required("roleRef.name", ""));
    }
    for (i, sub) in arr(obj, "subjects").iter().enumerate() {
        let base = idx("subjects", i);
        if s(sub, "name").is_empty() {
            errs.push(Cause::required(&join(&base, "name"), ""));
        }
        match s(sub, "kind") {
            "ServiceAccount" => {
                if !s(sub, "apiGroup").is_empty() {
                    errs.push(Cause::not_supported(
                        &join(&base, "apiGroup"),
                        &json!(s(sub, "apiGroup")),
                        &[""],
                    ));
                }
                if !namespaced && s(sub, "namespace").is_empty() {
                    errs.push(Cause::required(&join(&base, "namespace"), ""));
                }
            }
            "User" | "Group" => {
                if s(sub, "apiGroup") != RBAC_GROUP {
                    errs.push(Cause::not_supported(
                        &join(&base, "apiGroup"),
                        &json!(s(sub, "apiGroup")),
                        &[RBAC_GROUP],
                    ));
                }
            }
            other => errs.push(Cause::not_supported(
                &join(&base, "kind"),
                &json!(other),
                &["ServiceAccount", "User", "Group"],
            )),
        }
    }
    errs
}

/// roleRef never changes.
pub fn binding_update(new: &Value, old: &Value) -> Vec<Cause> {
    let n = new.get("roleRef").unwrap_or(&Value::Null);
    if Some(n) != old.get("roleRef") {
        let repr = format!(
            "rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}",
            s(n, "apiGroup"),
            s(n, "kind"),
            s(n, "name")
        );
        vec![Cause::invalid_repr(
            "roleRef",
            &repr,
            "cannot change roleRef",
        )]
    } else {
        Vec::new()
    }
}
