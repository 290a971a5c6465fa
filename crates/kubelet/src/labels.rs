//! Labels and annotations the agent puts on runtime sandboxes and containers.

/// Sandbox/container label: the pod's UID (how sandboxes are matched back to pods).
pub const POD_UID: &str = "io.kubernetes.pod.uid";
/// Sandbox/container label: the pod's name.
pub const POD_NAME: &str = "io.kubernetes.pod.name";
/// Sandbox/container label: the pod's namespace.
pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
/// Container label: the container's name in the pod spec.
pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// Container label: `init` for init containers, `app` otherwise.
pub const CONTAINER_KIND: &str = "io.skiff.container.kind";
/// Sandbox label present on everything the agent created.
pub const MANAGED_BY: &str = "io.skiff.managed-by";
/// Value of [`MANAGED_BY`].
pub const MANAGED_BY_VALUE: &str = "skiff-kubelet";
/// Container annotation: hash of the container spec it was started from.
pub const CONTAINER_HASH: &str = "io.kubernetes.container.hash";
/// Container annotation: the restart count it was started with.
pub const RESTART_COUNT: &str = "io.kubernetes.container.restartCount";
/// Container annotation: the pod's termination grace period.
pub const GRACE_PERIOD: &str = "io.kubernetes.pod.terminationGracePeriod";

/// Prefix of container IDs in pod status.
pub const CONTAINER_ID_PREFIX: &str = "skiff://";
