//! Mutating admission run on create, after defaulting: upstream's ServiceAccount plug-in.

use serde_json::{Value, json};
use skiff_api::Resource;

/// Annotation of static (mirror) pods, which keep no service account.
const MIRROR_POD: &str = "kubernetes.io/config.mirror";

/// Run every admission step that applies to a new object of `res`.
pub fn admit_create(res: &Resource, obj: &mut Value) {
    if res.group.is_empty() && res.kind == "Pod" {
        service_account(obj);
    }
}

/// Pods run as the `default` ServiceAccount unless they name one; the deprecated
/// `spec.serviceAccount` mirrors `spec.serviceAccountName`.
///
/// The projected token volume upstream also mounts is not added yet.
pub fn service_account(pod: &mut Value) {
    if pod["metadata"]["annotations"].get(MIRROR_POD).is_some() {
        return;
    }
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let named = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            spec.get("serviceAccount")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .unwrap_or("default")
        .to_string();
    spec.insert("serviceAccountName".into(), json!(named));
    spec.insert("serviceAccount".into(), json!(named));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods() -> &'static Resource {
        skiff_api::registry()
            .find("", "v1", "pods")
            .unwrap_or_else(|| panic!("pods kind"))
    }

    #[test]
    fn pod_without_service_account_runs_as_default() {
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": []}});
        admit_create(pods(), &mut pod);
        assert_eq!(pod["spec"]["serviceAccountName"], "default");
        assert_eq!(pod["spec"]["serviceAccount"], "default");
    }

    #[test]
    fn named_service_account_is_kept_and_mirrored() {
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"serviceAccountName": "builder"}});
        admit_create(pods(), &mut pod);
        assert_eq!(pod["spec"]["serviceAccount"], "builder");
        let mut old_style =
            json!({"metadata": {"name": "p"}, "spec": {"serviceAccount": "legacy"}});
        admit_create(pods(), &mut old_style);
        assert_eq!(old_style["spec"]["serviceAccountName"], "legacy");
    }

    #[test]
    fn mirror_pods_and_other_kinds_are_untouched() {
        let mut pod =
            json!({"metadata": {"name": "p", "annotations": {MIRROR_POD: "x"}}, "spec": {}});
        admit_create(pods(), &mut pod);
        assert!(pod["spec"].get("serviceAccountName").is_none());
        let cms = skiff_api::registry()
            .find("", "v1", "configmaps")
            .unwrap_or_else(|| panic!("configmaps kind"));
        let mut cm = json!({"metadata": {"name": "c"}, "spec": {}});
        admit_create(cms, &mut cm);
        assert!(cm["spec"].get("serviceAccountName").is_none());
    }
}
