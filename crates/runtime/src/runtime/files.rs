//! The per-pod /etc/hosts, /etc/hostname and /etc/resolv.conf contents.

use crate::types::{DnsConfig, PodSandboxConfig};

/// /etc/hosts as the kubelet writes it (pod IP line added once the network is set up).
pub fn hosts(cfg: &PodSandboxConfig, pod_ip: Option<&str>) -> String {
    let mut s = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    if let Some(ip) = pod_ip {
        s.push_str(&format!("{ip}\t{}\n", cfg.hostname));
    }
    if !cfg.host_aliases.is_empty() {
        s.push_str("\n# Entries added by HostAliases.\n");
        for (ip, names) in &cfg.host_aliases {
            s.push_str(&format!("{ip}\t{}\n", names.join("\t")));
        }
    }
    s
}

/// /etc/resolv.conf from the pod's DNS config; None = use the host's file.
pub fn resolv_conf(dns: &DnsConfig) -> Option<String> {
    if dns.servers.is_empty() && dns.searches.is_empty() && dns.options.is_empty() {
        return None;
    }
    let mut s = String::new();
    if !dns.searches.is_empty() {
        s.push_str(&format!("search {}\n", dns.searches.join(" ")));
    }
    for n in &dns.servers {
        s.push_str(&format!("nameserver {n}\n"));
    }
    if !dns.options.is_empty() {
        s.push_str(&format!("options {}\n", dns.options.join(" ")));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_lists_search_servers_options() {
        let dns = DnsConfig {
            servers: vec!["10.43.0.10".into()],
            searches: vec![
                "default.svc.cluster.local".into(),
                "svc.cluster.local".into(),
            ],
            options: vec!["ndots:5".into()],
        };
        assert_eq!(
            resolv_conf(&dns).unwrap(),
            "search default.svc.cluster.local svc.cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n"
        );
        assert!(resolv_conf(&DnsConfig::default()).is_none());
    }

    #[test]
    fn hosts_has_localhost_pod_ip_and_aliases() {
        let cfg = PodSandboxConfig {
            hostname: "web-0".into(),
            host_aliases: vec![("10.1.2.3".into(), vec!["foo".into(), "bar".into()])],
            ..Default::default()
        };
        let h = hosts(&cfg, Some("10.42.0.5"));
        assert!(h.contains("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.42.0.5\tweb-0\n"));
        assert!(h.contains("10.1.2.3\tfoo\tbar\n"));
    }
}
