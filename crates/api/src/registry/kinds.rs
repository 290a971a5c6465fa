//! The table of served kinds, with upstream's names, scopes, verbs and subresources.

use super::Resource;

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Namespaces have no deletecollection upstream.
const NO_COLLECTION_DELETE: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const ALL: &[&str] = &["all"];

/// Builder for one entry: a kind stored at its own group/version, all verbs, no subresources.
#[allow(clippy::too_many_arguments)]
const fn res(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> Resource {
    Resource {
        group,
        version,
        kind,
        plural,
        singular,
        namespaced,
        short_names,
        categories: &[],
        has_status: false,
        has_scale: false,
        verbs: ALL_VERBS,
        storage_version: version,
        storage_group: group,
    }
}

impl Resource {
    const fn status(mut self) -> Self {
        self.has_status = true;
        self
    }
    const fn scale(mut self) -> Self {
        self.has_scale = true;
        self
    }
    const fn all(mut self) -> Self {
        self.categories = ALL;
        self
    }
    const fn verbs(mut self, verbs: &'static [&'static str]) -> Self {
        self.verbs = verbs;
        self
    }
    const fn stored_as(mut self, group: &'static str, version: &'static str) -> Self {
        self.storage_group = group;
        self.storage_version = version;
        self
    }

    /// True when objects of this resource are stored in another version or group
    /// and must be converted on the way in and out.
    pub fn needs_conversion(&self) -> bool {
        self.storage_group != self.group || self.storage_version != self.version
    }

    /// apiVersion of the stored form, e.g. "autoscaling/v2" or "v1".
    pub fn storage_api_version(&self) -> String {
        if self.storage_group.is_empty() {
            self.storage_version.to_string()
        } else {
            format!("{}/{}", self.storage_group, self.storage_version)
        }
    }

    /// "Deployment.apps" for named groups, "Pod" for core: the form upstream uses in
    /// error messages (`Deployment.apps "web" is invalid`).
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// "deployments.apps" / "pods": the form upstream uses in NotFound/AlreadyExists.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// Every served kind. Order matters: groups in upstream's discovery order, preferred
/// versions first within a group.
///
/// `pods/binding` (create-only, a subresource) and the legacy `bindings` resource are not
/// entries here: the REST handler serves them as subresources of pods.
pub(super) fn resources() -> Vec<Resource> {
    vec![
        // core/v1
        res(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            "configmap",
            true,
            &["cm"],
        ),
        res(
            "",
            "v1",
            "Endpoints",
            "endpoints",
            "endpoints",
            true,
            &["ep"],
        ),
        res("", "v1", "Event", "events", "event", true, &["ev"]),
        res(
            "",
            "v1",
            "LimitRange",
            "limitranges",
            "limitrange",
            true,
            &["limits"],
        ),
        res(
            "",
            "v1",
            "Namespace",
            "namespaces",
            "namespace",
            false,
            &["ns"],
        )
        .status()
        .verbs(NO_COLLECTION_DELETE),
        res("", "v1", "Node", "nodes", "node", false, &["no"]).status(),
        res(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            "persistentvolumeclaim",
            true,
            &["pvc"],
        )
        .status(),
        res(
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            "persistentvolume",
            false,
            &["pv"],
        )
        .status(),
        res("", "v1", "Pod", "pods", "pod", true, &["po"])
            .status()
            .all(),
        res(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            "replicationcontroller",
            true,
            &["rc"],
        )
        .status()
        .scale()
        .all(),
        res(
            "",
            "v1",
            "ResourceQuota",
            "resourcequotas",
            "resourcequota",
            true,
            &["quota"],
        )
        .status(),
        res("", "v1", "Secret", "secrets", "secret", true, &[]),
        res(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            "serviceaccount",
            true,
            &["sa"],
        ),
        res("", "v1", "Service", "services", "service", true, &["svc"])
            .status()
            .all(),
        // apps/v1
        res(
            "apps",
            "v1",
            "ControllerRevision",
            "controllerrevisions",
            "controllerrevision",
            true,
            &[],
        ),
        res(
            "apps",
            "v1",
            "DaemonSet",
            "daemonsets",
            "daemonset",
            true,
            &["ds"],
        )
        .status()
        .all(),
        res(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            "deployment",
            true,
            &["deploy"],
        )
        .status()
        .scale()
        .all(),
        res(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            "replicaset",
            true,
            &["rs"],
        )
        .status()
        .scale()
        .all(),
        res(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            "statefulset",
            true,
            &["sts"],
        )
        .status()
        .scale()
        .all(),
        // events.k8s.io/v1, stored with core events
        res(
            "events.k8s.io",
            "v1",
            "Event",
            "events",
            "event",
            true,
            &["ev"],
        )
        .stored_as("", "v1"),
        // autoscaling: v2 preferred, v1 served from the same storage
        res(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            true,
            &["hpa"],
        )
        .status()
        .all(),
        res(
            "autoscaling",
            "v1",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            true,
            &["hpa"],
        )
        .status()
        .all()
        .stored_as("autoscaling", "v2"),
        // batch/v1
        res(
            "batch",
            "v1",
            "CronJob",
            "cronjobs",
            "cronjob",
            true,
            &["cj"],
        )
        .status()
        .all(),
        res("batch", "v1", "Job", "jobs", "job", true, &[])
            .status()
            .all(),
        // networking.k8s.io/v1
        res(
            "networking.k8s.io",
            "v1",
            "IngressClass",
            "ingressclasses",
            "ingressclass",
            false,
            &[],
        ),
        res(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "ingresses",
            "ingress",
            true,
            &["ing"],
        )
        .status(),
        res(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            "networkpolicy",
            true,
            &["netpol"],
        ),
        // policy/v1
        res(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            "poddisruptionbudget",
            true,
            &["pdb"],
        )
        .status(),
        // rbac.authorization.k8s.io/v1
        res(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            "clusterrolebinding",
            false,
            &[],
        ),
        res(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            "clusterrole",
            false,
            &[],
        ),
        res(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            "rolebinding",
            true,
            &[],
        ),
        res(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            "role",
            true,
            &[],
        ),
        // storage.k8s.io/v1
        res(
            "storage.k8s.io",
            "v1",
            "StorageClass",
            "storageclasses",
            "storageclass",
            false,
            &["sc"],
        ),
        // scheduling.k8s.io/v1
        res(
            "scheduling.k8s.io",
            "v1",
            "PriorityClass",
            "priorityclasses",
            "priorityclass",
            false,
            &["pc"],
        ),
        // coordination.k8s.io/v1
        res(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            "lease",
            true,
            &[],
        ),
        // discovery.k8s.io/v1
        res(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            "endpointslice",
            true,
            &[],
        ),
    ]
}
