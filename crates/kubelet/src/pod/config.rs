//! Runtime sandbox and container configurations built from a pod spec.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::{Container, Pod};
use skiff_runtime::{
    ContainerConfig, DnsConfig, LinuxResources, Mount, PodSandboxConfig, SecurityContext,
};

use super::plan::container_hash;
use crate::KubeletConfig;
use crate::labels;
use crate::quantity;

/// Labels that tie a sandbox or container to its pod.
pub fn pod_labels(pod: &Pod) -> BTreeMap<String, String> {
    let m = &pod.metadata;
    BTreeMap::from([
        (
            labels::POD_UID.to_string(),
            m.uid.clone().unwrap_or_default(),
        ),
        (
            labels::POD_NAME.to_string(),
            m.name.clone().unwrap_or_default(),
        ),
        (
            labels::POD_NAMESPACE.to_string(),
            m.namespace.clone().unwrap_or_default(),
        ),
        (
            labels::MANAGED_BY.to_string(),
            labels::MANAGED_BY_VALUE.to_string(),
        ),
    ])
}

/// Whether the pod uses the node's network namespace.
pub fn host_network(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false)
}

/// The pod's DNS settings (`dnsPolicy`, `dnsConfig`), as upstream builds resolv.conf.
pub fn dns(pod: &Pod, cfg: &KubeletConfig, host_resolv: &str) -> DnsConfig {
    let spec = pod.spec.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let host = parse_resolv(host_resolv);
    let cluster = DnsConfig {
        servers: cfg.cluster_dns.iter().map(|i| i.to_string()).collect(),
        searches: [
            format!("{ns}.svc.{}", cfg.cluster_domain),
            format!("svc.{}", cfg.cluster_domain),
            cfg.cluster_domain.clone(),
        ]
        .into_iter()
        .chain(host.searches.iter().cloned())
        .collect(),
        options: vec!["ndots:5".into()],
    };
    let host_network = spec.host_network.unwrap_or(false);
    let mut out = match policy {
        "None" => DnsConfig::default(),
        "Default" => host.clone(),
        "ClusterFirstWithHostNet" if !cfg.cluster_dns.is_empty() => cluster,
        "ClusterFirst" if !host_network && !cfg.cluster_dns.is_empty() => cluster,
        _ => host.clone(),
    };
    if let Some(extra) = &spec.dns_config {
        out.servers
            .extend(extra.nameservers.iter().flatten().cloned());
        out.searches
            .extend(extra.searches.iter().flatten().cloned());
        for o in extra.options.iter().flatten() {
            let s = match &o.value {
                Some(v) => format!("{}:{v}", o.name.clone().unwrap_or_default()),
                None => o.name.clone().unwrap_or_default(),
            };
            let key = s.split(':').next().unwrap_or("").to_string();
            out.options
                .retain(|x| x.split(':').next() != Some(key.as_str()));
            out.options.push(s);
        }
    }
    out.searches.dedup();
    out
}

fn parse_resolv(text: &str) -> DnsConfig {
    let mut d = DnsConfig::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("nameserver") => d.servers.extend(f.next().map(str::to_string)),
            Some("search") => d.searches = f.map(str::to_string).collect(),
            Some("options") => d.options = f.map(str::to_string).collect(),
            _ => {}
        }
    }
    d
}

/// The sandbox configuration of a pod.
pub fn sandbox(pod: &Pod, cfg: &KubeletConfig, attempt: u32) -> PodSandboxConfig {
    let spec = pod.spec.clone().unwrap_or_default();
    let m = &pod.metadata;
    let name = m.name.clone().unwrap_or_default();
    let ns = m.namespace.clone().unwrap_or_default();
    let uid = m.uid.clone().unwrap_or_default();
    let host_net = spec.host_network.unwrap_or(false);
    let hostname = if host_net {
        hostname::get()
            .map(|h| h.to_string_lossy().to_string())
            .unwrap_or_else(|_| cfg.node_name.clone())
    } else {
        spec.hostname.clone().unwrap_or_else(|| name.clone())
    };
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    PodSandboxConfig {
        name: name.clone(),
        namespace: ns.clone(),
        uid: uid.clone(),
        attempt,
        hostname,
        dns: dns(pod, cfg, &resolv),
        host_aliases: spec
            .host_aliases
            .iter()
            .flatten()
            .map(|a| (a.ip.clone(), a.hostnames.clone().unwrap_or_default()))
            .collect(),
        host_network: host_net,
        share_process_namespace: spec.share_process_namespace.unwrap_or(false),
        cgroup_parent: String::new(),
        resources: None,
        labels: pod_labels(pod),
        annotations: BTreeMap::new(),
        log_directory: Some(cfg.pod_logs_dir.join(format!("{ns}_{name}_{uid}"))),
    }
}

/// Container resources in runtime units.
pub fn resources(c: &Container) -> LinuxResources {
    let r = c.resources.clone().unwrap_or_default();
    let limits = r.limits.unwrap_or_default();
    let requests = r.requests.unwrap_or_default();
    let cpu_limit = limits
        .get("cpu")
        .and_then(|q| quantity::cpu_millis(&q.0).ok());
    LinuxResources {
        cpu_request_millis: requests
            .get("cpu")
            .and_then(|q| quantity::cpu_millis(&q.0).ok())
            .or(cpu_limit),
        cpu_limit_millis: cpu_limit,
        memory_limit_bytes: limits
            .get("memory")
            .and_then(|q| quantity::value(&q.0).ok()),
        pids_limit: None,
    }
}

/// Security settings: the container's securityContext over the pod's.
pub fn security(pod: &Pod, c: &Container) -> SecurityContext {
    let psc = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.clone())
        .unwrap_or_default();
    let sc = c.security_context.clone().unwrap_or_default();
    let caps = sc.capabilities.clone().unwrap_or_default();
    SecurityContext {
        privileged: sc.privileged.unwrap_or(false),
        run_as_user: sc
            .run_as_user
            .or(psc.run_as_user)
            .and_then(|u| u32::try_from(u).ok()),
        run_as_group: sc
            .run_as_group
            .or(psc.run_as_group)
            .and_then(|g| u32::try_from(g).ok()),
        run_as_username: None,
        supplemental_groups: psc
            .supplemental_groups
            .iter()
            .flatten()
            .chain(psc.fs_group.iter())
            .filter_map(|g| u32::try_from(*g).ok())
            .collect(),
        add_capabilities: caps.add.unwrap_or_default(),
        drop_capabilities: caps.drop.unwrap_or_default(),
        no_new_privs: sc.allow_privilege_escalation == Some(false),
        readonly_rootfs: sc.read_only_root_filesystem.unwrap_or(false),
    }
}

/// The runtime configuration of one container attempt.
pub struct ContainerInput<'a> {
    pub pod: &'a Pod,
    pub container: &'a Container,
    pub init: bool,
    pub attempt: u32,
    pub env: Vec<(String, String)>,
    pub mounts: Vec<Mount>,
    /// Host path of the pod's termination-log files (`/dev/termination-log` is bound to it).
    pub termination_log: Option<&'a Path>,
}

/// Build a [`ContainerConfig`].
pub fn container(input: ContainerInput<'_>) -> ContainerConfig {
    let c = input.container;
    let (command, args) = crate::env::expand_command(c, &input.env);
    let mut lbls = pod_labels(input.pod);
    lbls.insert(labels::CONTAINER_NAME.into(), c.name.clone());
    lbls.insert(
        labels::CONTAINER_KIND.into(),
        if input.init { "init" } else { "app" }.into(),
    );
    let grace = input
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds)
        .unwrap_or(30);
    let annotations = BTreeMap::from([
        (labels::CONTAINER_HASH.to_string(), container_hash(c)),
        (labels::RESTART_COUNT.to_string(), input.attempt.to_string()),
        (labels::GRACE_PERIOD.to_string(), grace.to_string()),
    ]);
    let mut mounts = input.mounts;
    if let Some(tl) = input.termination_log {
        let path = c
            .termination_message_path
            .clone()
            .unwrap_or_else(|| "/dev/termination-log".into());
        if !mounts.iter().any(|m| m.container_path == path) {
            mounts.push(Mount {
                host_path: tl.to_path_buf(),
                container_path: path,
                readonly: false,
            });
        }
    }
    ContainerConfig {
        name: c.name.clone(),
        attempt: input.attempt,
        image: c.image.clone().unwrap_or_default(),
        command,
        args,
        working_dir: c.working_dir.clone().unwrap_or_default(),
        envs: input.env,
        mounts,
        resources: resources(c),
        security: security(input.pod, c),
        log_path: format!("{}/{}.log", c.name, input.attempt),
        stdin: c.stdin.unwrap_or(false),
        stdin_once: c.stdin_once.unwrap_or(false),
        tty: c.tty.unwrap_or(false),
        labels: lbls,
        annotations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u"}, "spec": spec}),
        )
        .unwrap()
    }

    #[test]
    fn resources_become_runtime_units() {
        let p = pod(json!({"containers": [{"name": "c", "resources": {
            "limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "100m"}}}]}));
        let r = resources(&p.spec.as_ref().unwrap().containers[0]);
        assert_eq!(r.cpu_request_millis, Some(100));
        assert_eq!(r.cpu_limit_millis, Some(500));
        assert_eq!(r.memory_limit_bytes, Some(64 << 20));
    }

    #[test]
    fn cluster_first_dns_and_host_fallback() {
        let mut cfg = KubeletConfig::new("n", "10.0.0.1".parse().unwrap(), "/tmp/x");
        cfg.cluster_dns = vec!["10.43.0.10".parse().unwrap()];
        let host = "nameserver 1.1.1.1\nsearch example.com\n";
        let d = dns(&pod(json!({"containers": []})), &cfg, host);
        assert_eq!(d.servers, vec!["10.43.0.10"]);
        assert_eq!(
            d.searches,
            vec![
                "ns.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local",
                "example.com"
            ]
        );
        assert_eq!(d.options, vec!["ndots:5"]);
        let d = dns(
            &pod(json!({"hostNetwork": true, "containers": []})),
            &cfg,
            host,
        );
        assert_eq!(d.servers, vec!["1.1.1.1"]);
        let d = dns(
            &pod(
                json!({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["8.8.8.8"], "options": [{"name": "ndots", "value": "2"}]}, "containers": []}),
            ),
            &cfg,
            host,
        );
        assert_eq!(d.servers, vec!["8.8.8.8"]);
        assert_eq!(d.options, vec!["ndots:2"]);
    }

    #[test]
    fn container_config_carries_labels_hash_and_expanded_command() {
        let p = pod(
            json!({"containers": [{"name": "app", "image": "busybox", "command": ["echo", "$(X)"]}]}),
        );
        let c = &p.spec.as_ref().unwrap().containers[0];
        let cfg = container(ContainerInput {
            pod: &p,
            container: c,
            init: false,
            attempt: 2,
            env: vec![("X".into(), "hi".into())],
            mounts: vec![],
            termination_log: None,
        });
        assert_eq!(cfg.command, vec!["echo", "hi"]);
        assert_eq!(cfg.labels[labels::POD_UID], "u");
        assert_eq!(cfg.labels[labels::CONTAINER_NAME], "app");
        assert_eq!(cfg.annotations[labels::CONTAINER_HASH], container_hash(c));
        assert_eq!(cfg.log_path, "app/2.log");
    }
}
