//! The Node object: registration, capacity, conditions, images, and the Lease heartbeat.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    ContainerImage, DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints,
    NodeStatus, NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams, PostParams};
use skiff_images::ImageRecord;

use crate::error::Result;
use crate::{KUBELET_VERSION, KubeletConfig, quantity};

/// How often the Lease is renewed and the node status posted.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// `leaseDurationSeconds` of the node Lease.
pub const LEASE_DURATION_SECONDS: i32 = 40;
/// Namespace of node Leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Facts about this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub cpus: usize,
    pub memory_bytes: u64,
    pub storage_bytes: u64,
    pub kernel_version: String,
    pub os_image: String,
    pub machine_id: String,
    pub boot_id: String,
    pub hostname: String,
}

/// Go's name of this architecture (`amd64`, `arm64`, ...).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Read the machine's facts (CPU count, memory, disk of `data_dir`, kernel, OS).
pub fn machine(data_dir: &std::path::Path) -> Machine {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let storage_bytes = nix::sys::statvfs::statvfs(data_dir)
        .or_else(|_| nix::sys::statvfs::statvfs("/"))
        .map(|s| s.blocks() * s.fragment_size())
        .unwrap_or(0);
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let os_image = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into());
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    Machine {
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_bytes: memory_kib * 1024,
        storage_bytes,
        kernel_version: nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().to_string())
            .unwrap_or_default(),
        os_image,
        machine_id: read("/etc/machine-id"),
        boot_id: read("/proc/sys/kernel/random/boot_id"),
        hostname: hostname::get()
            .map(|h| h.to_string_lossy().to_string())
            .unwrap_or_default(),
    }
}

/// Capacity and allocatable (capacity less upstream's default hard eviction thresholds:
/// 100Mi of memory and 10% of the node filesystem).
pub fn resources(
    cfg: &KubeletConfig,
    m: &Machine,
) -> (BTreeMap<String, Quantity>, BTreeMap<String, Quantity>) {
    let q = |s: String| Quantity(s);
    let capacity = BTreeMap::from([
        ("cpu".to_string(), q(m.cpus.to_string())),
        ("memory".to_string(), q(quantity::kibibytes(m.memory_bytes))),
        ("pods".to_string(), q(cfg.max_pods.to_string())),
        (
            "ephemeral-storage".to_string(),
            q(quantity::kibibytes(m.storage_bytes)),
        ),
        ("hugepages-1Gi".to_string(), q("0".into())),
        ("hugepages-2Mi".to_string(), q("0".into())),
    ]);
    let mut allocatable = capacity.clone();
    allocatable.insert(
        "memory".into(),
        q(quantity::kibibytes(
            m.memory_bytes.saturating_sub(100 << 20),
        )),
    );
    allocatable.insert(
        "ephemeral-storage".into(),
        q((m.storage_bytes / 10 * 9).to_string()),
    );
    (capacity, allocatable)
}

/// The node's labels.
pub fn labels(cfg: &KubeletConfig) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), cfg.node_name.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), go_arch().to_string()),
        ("beta.kubernetes.io/os".to_string(), "linux".to_string()),
        ("beta.kubernetes.io/arch".to_string(), go_arch().to_string()),
    ]);
    if cfg.is_server {
        l.insert(
            "node-role.kubernetes.io/control-plane".into(),
            "true".into(),
        );
        l.insert("node-role.kubernetes.io/master".into(), "true".into());
    }
    l.extend(cfg.node_labels.clone());
    l
}

fn condition(
    old: Option<&NodeStatus>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
) -> NodeCondition {
    let now = crate::ktime(Utc::now());
    let prev = old
        .and_then(|o| o.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_));
    let transition = match prev {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => Some(now.clone()),
    };
    NodeCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(now),
        last_transition_time: transition,
    }
}

/// Images for `status.images`, largest first, at most 50, as upstream reports them.
pub fn images(records: &[ImageRecord]) -> Vec<ContainerImage> {
    let mut recs: Vec<&ImageRecord> = records.iter().collect();
    recs.sort_by_key(|r| std::cmp::Reverse(r.size));
    recs.into_iter()
        .take(50)
        .map(|r| {
            let mut names = Vec::new();
            if !r.digest.is_empty() {
                names.push(crate::pod::image_id(&r.reference, &r.digest));
            }
            names.push(r.reference.clone());
            ContainerImage {
                names: Some(names),
                size_bytes: Some(r.size as i64),
            }
        })
        .collect()
}

/// The node's status.
pub fn status(
    cfg: &KubeletConfig,
    m: &Machine,
    old: Option<&NodeStatus>,
    images_: &[ImageRecord],
) -> NodeStatus {
    let (capacity, allocatable) = resources(cfg, m);
    NodeStatus {
        capacity: Some(capacity),
        allocatable: Some(allocatable),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: cfg.node_ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: cfg.node_name.clone(),
            },
        ]),
        conditions: Some(vec![
            condition(
                old,
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            condition(
                old,
                "DiskPressure",
                "False",
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
            ),
            condition(
                old,
                "PIDPressure",
                "False",
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
            ),
            condition(
                old,
                "Ready",
                "True",
                "KubeletReady",
                "kubelet is posting ready status",
            ),
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(cfg.kubelet_port),
            }),
        }),
        images: Some(images(images_)),
        node_info: Some(NodeSystemInfo {
            architecture: go_arch().into(),
            boot_id: m.boot_id.clone(),
            container_runtime_version: format!("skiff://{}", cfg.runtime_version),
            kernel_version: m.kernel_version.clone(),
            kube_proxy_version: String::new(),
            kubelet_version: KUBELET_VERSION.into(),
            machine_id: m.machine_id.clone(),
            operating_system: "linux".into(),
            os_image: m.os_image.clone(),
            system_uuid: m.machine_id.clone(),
            swap: None,
            running_in_user_namespace: None,
        }),
        ..Default::default()
    }
}

/// Create the Node, or bring an existing one's labels up to date; returns its UID.
pub async fn register(client: &kube::Client, cfg: &KubeletConfig) -> Result<String> {
    let api: Api<Node> = Api::all(client.clone());
    let node = Node {
        metadata: ObjectMeta {
            name: Some(cfg.node_name.clone()),
            labels: Some(labels(cfg)),
            annotations: Some(BTreeMap::from([(
                "volumes.kubernetes.io/controller-managed-attach-detach".to_string(),
                "true".to_string(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    };
    let uid = match api.create(&PostParams::default(), &node).await {
        Ok(n) => n.metadata.uid.unwrap_or_default(),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let patch = serde_json::json!({"metadata": {"labels": labels(cfg)}});
            api.patch(
                &cfg.node_name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?
            .metadata
            .uid
            .unwrap_or_default()
        }
        Err(e) => return Err(e.into()),
    };
    Ok(uid)
}

/// Post the node status.
pub async fn post_status(
    client: &kube::Client,
    cfg: &KubeletConfig,
    m: &Machine,
    images_: &[ImageRecord],
) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let old = api.get_status(&cfg.node_name).await?;
    let st = status(cfg, m, old.status.as_ref(), images_);
    let patch = serde_json::json!({ "status": st });
    api.patch_status(
        &cfg.node_name,
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Create or renew the node's Lease.
pub async fn renew_lease(client: &kube::Client, node: &str, node_uid: &str) -> Result<()> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let spec = LeaseSpec {
        holder_identity: Some(node.to_string()),
        lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
        renew_time: Some(crate::kmicrotime(Utc::now())),
        ..Default::default()
    };
    match api.get(node).await {
        Ok(_) => {
            let patch = serde_json::json!({ "spec": spec });
            api.patch(node, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        Err(kube::Error::Api(s)) if s.code == 404 => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(node.to_string()),
                    namespace: Some(LEASE_NAMESPACE.into()),
                    owner_references: Some(vec![OwnerReference {
                        api_version: "v1".into(),
                        kind: "Node".into(),
                        name: node.to_string(),
                        uid: node_uid.to_string(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
                spec: Some(spec),
            };
            api.create(&PostParams::default(), &lease).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Machine {
        Machine {
            cpus: 2,
            memory_bytes: 4 << 30,
            storage_bytes: 100 << 30,
            kernel_version: "6.1.0".into(),
            os_image: "Debian GNU/Linux 13".into(),
            machine_id: "abc".into(),
            boot_id: "def".into(),
            hostname: "h".into(),
        }
    }

    #[test]
    fn status_reads_as_upstream() {
        let mut cfg = KubeletConfig::new("node-1", "10.0.0.5".parse().unwrap(), "/tmp");
        cfg.is_server = true;
        let st = status(&cfg, &m(), None, &[]);
        let cap = st.capacity.unwrap();
        assert_eq!(cap["cpu"].0, "2");
        assert_eq!(cap["memory"].0, "4194304Ki");
        assert_eq!(cap["pods"].0, "110");
        let alloc = st.allocatable.unwrap();
        assert_eq!(alloc["memory"].0, "4091904Ki");
        let ready = st
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(ready.reason.as_deref(), Some("KubeletReady"));
        assert_eq!(
            ready.message.as_deref(),
            Some("kubelet is posting ready status")
        );
        let info = st.node_info.unwrap();
        assert_eq!(info.kubelet_version, "v1.33.0-skiff");
        assert!(info.container_runtime_version.starts_with("skiff://"));
        assert_eq!(
            st.daemon_endpoints.unwrap().kubelet_endpoint.unwrap().port,
            10250
        );
        let l = labels(&cfg);
        assert_eq!(l["kubernetes.io/hostname"], "node-1");
        assert_eq!(l["node-role.kubernetes.io/control-plane"], "true");
        assert_eq!(l["node-role.kubernetes.io/master"], "true");
    }

    #[test]
    fn transition_times_survive_heartbeats() {
        let cfg = KubeletConfig::new("n", "10.0.0.5".parse().unwrap(), "/tmp");
        let first = status(&cfg, &m(), None, &[]);
        std::thread::sleep(Duration::from_millis(5));
        let second = status(&cfg, &m(), Some(&first), &[]);
        let t = |s: &NodeStatus| {
            s.conditions.as_ref().unwrap()[3]
                .last_transition_time
                .clone()
        };
        assert_eq!(t(&first), t(&second));
    }
}
