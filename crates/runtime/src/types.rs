//! CRI-shaped request and status types (sandboxes, containers, resources, stats).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// DNS settings written to the pod's /etc/resolv.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsConfig {
    pub servers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

/// Resources of a container (or pod overhead), in Kubernetes units already resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinuxResources {
    /// CPU request in millicores (→ cpu.shares / cpu.weight).
    pub cpu_request_millis: Option<u64>,
    /// CPU limit in millicores (→ CFS quota over a 100 ms period).
    pub cpu_limit_millis: Option<u64>,
    /// Memory limit in bytes.
    pub memory_limit_bytes: Option<u64>,
    /// Maximum number of tasks.
    pub pids_limit: Option<i64>,
}

/// Configuration of a pod sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSandboxConfig {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    #[serde(default)]
    pub attempt: u32,
    pub hostname: String,
    #[serde(default)]
    pub dns: DnsConfig,
    /// Extra lines for /etc/hosts (`ip name...`).
    #[serde(default)]
    pub host_aliases: Vec<(String, Vec<String>)>,
    #[serde(default)]
    pub host_network: bool,
    #[serde(default)]
    pub share_process_namespace: bool,
    /// Cgroup of the pod, relative to each hierarchy's mount; empty = `<runtime root>/pod-<uid>`.
    #[serde(default)]
    pub cgroup_parent: String,
    /// Pod-level limits (sum of containers + overhead); applied to the pod cgroup.
    #[serde(default)]
    pub resources: Option<LinuxResources>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Directory for container logs (kubelet: /var/log/pods/<ns>_<name>_<uid>); empty = runtime default.
    #[serde(default)]
    pub log_directory: Option<PathBuf>,
}

/// A bind mount of a volume into a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub host_path: PathBuf,
    pub container_path: String,
    #[serde(default)]
    pub readonly: bool,
}

/// Security settings of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityContext {
    pub privileged: bool,
    /// `runAsUser`: overrides the image user.
    pub run_as_user: Option<u32>,
    /// `runAsGroup`.
    pub run_as_group: Option<u32>,
    /// User name (or `name:group`) to resolve in the image when no numeric user is given.
    pub run_as_username: Option<String>,
    pub supplemental_groups: Vec<u32>,
    /// Capability names (`NET_ADMIN` or `CAP_NET_ADMIN`; `ALL` allowed) to add / drop.
    pub add_capabilities: Vec<String>,
    pub drop_capabilities: Vec<String>,
    /// `allowPrivilegeEscalation: false` → true.
    pub no_new_privs: bool,
    pub readonly_rootfs: bool,
}

/// Configuration of a container (CRI ContainerConfig).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerConfig {
    pub name: String,
    #[serde(default)]
    pub attempt: u32,
    /// Image reference, resolved through the image backend.
    pub image: String,
    /// Kubernetes `command` (replaces ENTRYPOINT).
    #[serde(default)]
    pub command: Vec<String>,
    /// Kubernetes `args` (replaces CMD).
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub working_dir: String,
    /// Container env, applied after the image env.
    #[serde(default)]
    pub envs: Vec<(String, String)>,
    #[serde(default)]
    pub mounts: Vec<Mount>,
    #[serde(default)]
    pub resources: LinuxResources,
    #[serde(default)]
    pub security: SecurityContext,
    /// Log file path relative to the sandbox log directory (CRI `log_path`); empty = default.
    #[serde(default)]
    pub log_path: String,
    #[serde(default)]
    pub stdin: bool,
    #[serde(default)]
    pub stdin_once: bool,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// Sandbox state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SandboxState {
    Ready,
    NotReady,
}

/// Status of a pod sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSandboxStatus {
    pub id: String,
    pub config: PodSandboxConfig,
    pub state: SandboxState,
    pub created_at: DateTime<Utc>,
    /// Network namespace path (`/proc/<init>/ns/net`), None for host network or when stopped.
    pub netns_path: Option<PathBuf>,
    /// PID of the sandbox init (in the host PID namespace).
    pub init_pid: Option<i32>,
    /// Cgroup of the pod, relative to the hierarchy mounts.
    pub cgroup_path: String,
}

/// Container state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerState {
    Created,
    Running,
    Exited,
    Unknown,
}

/// Status of a container (CRI ContainerStatus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStatus {
    pub id: String,
    pub sandbox_id: String,
    pub name: String,
    pub attempt: u32,
    pub image: String,
    pub state: ContainerState,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    /// `Completed`, `Error`, `OOMKilled` once exited.
    pub reason: String,
    pub message: String,
    pub pid: Option<i32>,
    pub log_path: PathBuf,
    pub cgroup_path: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Filter for list calls.
#[derive(Debug, Clone, Default)]
pub struct ContainerFilter {
    pub sandbox_id: Option<String>,
    pub state: Option<ContainerState>,
    pub labels: BTreeMap<String, String>,
}

/// CPU and memory usage of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStats {
    pub timestamp_nanos: i64,
    /// Cumulative CPU time in nanoseconds.
    pub cpu_usage_nanos: u64,
    /// Memory working set (usage minus inactive file cache), bytes.
    pub memory_working_set_bytes: u64,
    pub memory_usage_bytes: u64,
    /// CFS periods throttled so far.
    pub cpu_nr_throttled: u64,
}
