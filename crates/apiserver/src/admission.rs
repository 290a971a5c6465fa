//! Mutating admission run on create, after defaulting: upstream's ServiceAccount,
//! StorageObjectInUseProtection and DefaultStorageClass plug-ins.

use serde_json::{Value, json};
use skiff_api::Resource;

/// Annotation of static (mirror) pods, which keep no service account.
const MIRROR_POD: &str = "kubernetes.io/config.mirror";

/// Run every admission step that applies to a new object of `res`.
pub fn admit_create(res: &Resource, obj: &mut Value) {
    if res.group.is_empty() && res.kind == "Pod" {
        service_account(obj);
    }
    if res.group.is_empty() {
        match res.kind {
            "PersistentVolumeClaim" => protect(obj, "kubernetes.io/pvc-protection"),
            "PersistentVolume" => protect(obj, "kubernetes.io/pv-protection"),
            _ => {}
        }
    }
}

/// StorageObjectInUseProtection: claims and volumes carry a finalizer that their protection
/// controller lifts once nothing uses them.
fn protect(obj: &mut Value, finalizer: &str) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let list = meta.entry("finalizers").or_insert_with(|| json!([]));
    if list.is_null() {
        *list = json!([]);
    }
    if let Some(list) = list.as_array_mut()
        && !list.iter().any(|f| f == finalizer)
    {
        list.push(json!(finalizer));
    }
}

/// Annotations that make a StorageClass the default (GA and beta spellings).
const DEFAULT_CLASS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];

/// Upstream's DefaultStorageClass: a claim that names no class (neither
/// `spec.storageClassName`, even "", nor the beta annotation) gets the default class.
pub async fn default_storage_class(
    api: &crate::rest::Api,
    res: &Resource,
    claim: &mut Value,
) -> crate::status::ApiResult<()> {
    if !(res.group.is_empty() && res.kind == "PersistentVolumeClaim") || has_class(claim) {
        return Ok(());
    }
    let Some(classes) = skiff_api::registry().find("storage.k8s.io", "v1", "storageclasses") else {
        return Ok(());
    };
    let page = api
        .store
        .range(&classes.key_prefix(), None, 0, None)
        .await?;
    let all: Vec<Value> = page
        .kvs
        .iter()
        .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
        .collect();
    if let Some(name) = default_class(&all)
        && let Some(spec) = claim.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.insert("storageClassName".into(), json!(name));
    }
    Ok(())
}

fn has_class(claim: &Value) -> bool {
    claim["metadata"]["annotations"]
        .get("volume.beta.kubernetes.io/storage-class")
        .is_some()
        || claim["spec"]
            .get("storageClassName")
            .is_some_and(|c| !c.is_null())
}

/// The default class among `classes`: the newest marked one (ties: by name), as upstream
/// picks since 1.28.
pub fn default_class(classes: &[Value]) -> Option<String> {
    classes
        .iter()
        .filter(|c| {
            DEFAULT_CLASS
                .iter()
                .any(|a| c["metadata"]["annotations"][*a] == "true")
        })
        .max_by(|a, b| {
            let ts = |c: &Value| {
                c["metadata"]["creationTimestamp"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            let name = |c: &Value| c["metadata"]["name"].as_str().unwrap_or("").to_string();
            ts(a).cmp(&ts(b)).then_with(|| name(b).cmp(&name(a)))
        })
        .and_then(|c| c["metadata"]["name"].as_str())
        .map(str::to_string)
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
    fn claims_and_volumes_are_protected_once() {
        let find = |p: &str| {
            skiff_api::registry()
                .find("", "v1", p)
                .unwrap_or_else(|| panic!("{p} kind"))
        };
        let mut pvc = json!({"metadata": {"name": "c"}, "spec": {}});
        admit_create(find("persistentvolumeclaims"), &mut pvc);
        admit_create(find("persistentvolumeclaims"), &mut pvc);
        assert_eq!(
            pvc["metadata"]["finalizers"],
            json!(["kubernetes.io/pvc-protection"])
        );
        let mut pv = json!({"metadata": {"name": "v", "finalizers": ["x/y"]}, "spec": {}});
        admit_create(find("persistentvolumes"), &mut pv);
        assert_eq!(
            pv["metadata"]["finalizers"],
            json!(["x/y", "kubernetes.io/pv-protection"])
        );
    }

    #[test]
    fn default_class_is_the_newest_marked_one() {
        let class = |name: &str, ts: &str, default: Option<&str>| {
            let mut c = json!({"metadata": {"name": name, "creationTimestamp": ts}});
            if let Some(v) = default {
                c["metadata"]["annotations"] = json!({DEFAULT_CLASS[0]: v});
            }
            c
        };
        assert_eq!(default_class(&[]), None);
        let plain = class("fast", "2024-01-01T00:00:00Z", None);
        let off = class("slow", "2024-01-01T00:00:00Z", Some("false"));
        assert_eq!(default_class(&[plain.clone(), off]), None);
        let old = class("local-path", "2024-01-01T00:00:00Z", Some("true"));
        let new = class("zeta", "2024-06-01T00:00:00Z", Some("true"));
        assert_eq!(
            default_class(&[old.clone(), new, plain]).as_deref(),
            Some("zeta")
        );
        let twin = class("alpha", "2024-01-01T00:00:00Z", Some("true"));
        assert_eq!(default_class(&[old, twin]).as_deref(), Some("alpha"));
        let mut beta = class("beta", "2024-01-01T00:00:00Z", None);
        beta["metadata"]["annotations"] = json!({DEFAULT_CLASS[1]: "true"});
        assert_eq!(default_class(&[beta]).as_deref(), Some("beta"));
    }

    #[test]
    fn claims_naming_a_class_or_empty_keep_it() {
        assert!(!has_class(&json!({"metadata": {}, "spec": {}})));
        assert!(!has_class(
            &json!({"metadata": {}, "spec": {"storageClassName": null}})
        ));
        assert!(has_class(
            &json!({"metadata": {}, "spec": {"storageClassName": ""}})
        ));
        assert!(has_class(
            &json!({"metadata": {"annotations": {"volume.beta.kubernetes.io/storage-class": "x"}}, "spec": {}})
        ));
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
