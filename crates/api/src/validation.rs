//! Validation as upstream: names, labels, required and immutable fields.
//!
//! Three layers, in the order the REST handler applies them:
//! 1. [`decode_check`]: JSON types against the kind's schema (wrong type → 400 BadRequest);
//!    [`unknown_fields`] for `fieldValidation=Strict|Warn`.
//! 2. defaulting and strategy (other modules).
//! 3. [`validate_create`] / [`validate_update`]: field errors (→ 422 Invalid, message from
//!    [`invalid_message`]).

mod cause;
mod core;
mod cron;
mod meta;
mod misc;
pub mod names;
mod network;
mod pod;
mod rbac;
pub mod schema;
mod util;
mod workloads;

use serde_json::Value;

use crate::Resource;
pub use cause::{Cause, go_repr, invalid_message};

/// The body could not be decoded into the kind's type (a 400 BadRequest upstream).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body is not a JSON object.
    #[error("{kind} in version \"{version}\" cannot be handled as a {kind}: {message}")]
    NotAnObject {
        kind: String,
        version: String,
        message: String,
    },
    /// A field has the wrong JSON type (message as Go's encoding/json prints it).
    #[error("{kind} in version \"{version}\" cannot be handled as a {kind}: json: {message}")]
    Type {
        kind: String,
        version: String,
        message: String,
    },
    /// A base64 or similar payload is malformed.
    #[error("{kind} in version \"{version}\" cannot be handled as a {kind}: {message}")]
    Payload {
        kind: String,
        version: String,
        message: String,
    },
}

/// Check the JSON types of `obj` against `res`'s schema; the first problem is returned.
pub fn decode_check(res: &Resource, obj: &Value) -> Result<(), DecodeError> {
    decode_check_as(res.group, res.version, res.kind, obj)
}

/// [`decode_check`] for a kind that is not a registry entry (e.g. `autoscaling/v1` `Scale`
/// bodies of the scale subresource, `policy/v1` `Eviction`).
pub fn decode_check_as(
    group: &str,
    version: &str,
    kind: &str,
    obj: &Value,
) -> Result<(), DecodeError> {
    let (kind_s, version_s) = (kind.to_string(), version.to_string());
    if !obj.is_object() {
        let what = match obj {
            Value::Array(_) => "array",
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Bool(_) => "bool",
            _ => "null",
        };
        return Err(DecodeError::NotAnObject {
            kind: kind_s,
            version: version_s,
            message: format!("json: cannot unmarshal {what} into Go value of type struct"),
        });
    }
    let findings = schema::check(group, version, kind, obj);
    match findings.mismatches.into_iter().next() {
        None => Ok(()),
        Some(m) if !m.json => Err(DecodeError::Payload {
            kind: kind_s,
            version: version_s,
            message: m.message,
        }),
        Some(m) => Err(DecodeError::Type {
            kind: kind_s,
            version: version_s,
            message: m.message,
        }),
    }
}

/// Paths of fields `res`'s type does not have, e.g. `spec.foo`, `spec.containers[0].bar`.
/// Upstream's strict decoding error is `strict decoding error: unknown field "spec.foo"`.
pub fn unknown_fields(res: &Resource, obj: &Value) -> Vec<String> {
    schema::check(res.group, res.version, res.kind, obj).unknown
}

/// `strict decoding error: unknown field "a", unknown field "b"` for fieldValidation=Strict.
pub fn strict_error_message(unknown: &[String]) -> String {
    let parts: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    format!("strict decoding error: {}", parts.join(", "))
}

/// Validate an object about to be created (after defaulting and prepare_for_create).
pub fn validate_create(res: &Resource, obj: &Value) -> Vec<Cause> {
    let mut errs = meta::validate(res, obj);
    errs.extend(kind_rules(res, obj));
    errs
}

/// Validate an update of `old` to `new` (after defaulting and prepare_for_update).
pub fn validate_update(res: &Resource, new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = meta::validate(res, new);
    errs.extend(meta::validate_update(new, old));
    errs.extend(kind_rules(res, new));
    errs.extend(update_rules(res, new, old));
    errs
}

fn kind_rules(res: &Resource, obj: &Value) -> Vec<Cause> {
    match (res.group, res.kind) {
        ("", "Pod") => pod::validate_pod(obj),
        ("", "Service") => core::service(obj),
        ("", "ConfigMap") => core::config_map(obj),
        ("", "Secret") => core::secret(obj),
        ("", "PersistentVolumeClaim") => core::pvc(obj),
        ("", "PersistentVolume") => core::pv(obj),
        ("", "Node") => core::node(obj),
        ("", "ReplicationController") => workloads::replication_controller(obj),
        ("apps", "Deployment") => workloads::deployment(obj),
        ("apps", "ReplicaSet") => workloads::replica_set(obj),
        ("apps", "DaemonSet") => workloads::daemon_set(obj),
        ("apps", "StatefulSet") => workloads::stateful_set(obj),
        ("batch", "Job") => workloads::job(obj),
        ("batch", "CronJob") => workloads::cron_job(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => workloads::hpa(obj),
        ("policy", "PodDisruptionBudget") => workloads::pdb(obj),
        ("rbac.authorization.k8s.io", "Role") => rbac::role(obj, true),
        ("rbac.authorization.k8s.io", "ClusterRole") => rbac::role(obj, false),
        ("rbac.authorization.k8s.io", "RoleBinding") => rbac::binding(obj, true),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => rbac::binding(obj, false),
        ("networking.k8s.io", "Ingress") => network::ingress(obj),
        ("storage.k8s.io", "StorageClass") => network::storage_class(obj),
        ("discovery.k8s.io", "EndpointSlice") => network::endpoint_slice(obj),
        ("scheduling.k8s.io", "PriorityClass") => misc::priority_class(obj),
        ("", "ResourceQuota") => misc::resource_quota(obj),
        ("", "LimitRange") => misc::limit_range(obj),
        ("coordination.k8s.io", "Lease") => misc::lease(obj),
        ("networking.k8s.io", "IngressClass") => misc::ingress_class(obj),
        ("networking.k8s.io", "NetworkPolicy") => misc::network_policy(obj),
        ("apps", "ControllerRevision") => misc::controller_revision(obj),
        ("", "Event") => misc::core_event(obj),
        ("events.k8s.io", "Event") => misc::events_event(obj),
        _ => Vec::new(),
    }
}

fn update_rules(res: &Resource, new: &Value, old: &Value) -> Vec<Cause> {
    match (res.group, res.kind) {
        ("", "Pod") => pod::validate_pod_update(new, old),
        ("", "Service") => core::service_update(new, old),
        ("", "ConfigMap") | ("", "Secret") => core::immutable_data_update(res.kind, new, old),
        ("", "PersistentVolumeClaim") => core::pvc_update(new, old),
        ("apps", "Deployment") | ("apps", "ReplicaSet") | ("apps", "DaemonSet") => {
            workloads::selector_immutable(new, old)
        }
        ("apps", "StatefulSet") => workloads::stateful_set_update(new, old),
        ("batch", "Job") => workloads::job_update(new, old),
        ("rbac.authorization.k8s.io", "RoleBinding")
        | ("rbac.authorization.k8s.io", "ClusterRoleBinding") => rbac::binding_update(new, old),
        ("storage.k8s.io", "StorageClass") => network::storage_class_update(new, old),
        ("discovery.k8s.io", "EndpointSlice") => core::immutable_fields(new, old, &["addressType"]),
        ("scheduling.k8s.io", "PriorityClass") => misc::priority_class_update(new, old),
        ("networking.k8s.io", "IngressClass") => misc::ingress_class_update(new, old),
        ("apps", "ControllerRevision") => misc::controller_revision_update(new, old),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
