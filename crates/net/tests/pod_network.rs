//! The pod network for real, as root: bridge, veths, addresses, NAT, IPAM, each test on its own bridge, table, CIDR and namespaces.

mod support;

use std::net::{Ipv4Addr, SocketAddr};

use serde_json::Value;
use skiff_net::{HostPort, PodKey};
use support::{
    NetFixture, Netns, http_get_retry, link_exists, new_net, pod, ruleset, run, table_exists,
};

#[tokio::test]
async fn two_pods_get_distinct_ips_reach_each_other_and_the_gateway() {
    let mut f = NetFixture::new(1);
    let a_ns = Netns::new("skt1-a");
    let b_ns = Netns::new("skt1-b");
    let net = new_net(&f).await;
    let (a, b) = (pod("a"), pod("b"));
    f.track_veth(net.host_veth_name(&a));
    f.track_veth(net.host_veth_name(&b));

    let a_ip = net.setup(&a, &a_ns.path(), &[]).await.expect("setup a");
    let b_ip = net.setup(&b, &b_ns.path(), &[]).await.expect("setup b");
    assert_ne!(a_ip.ip, b_ip.ip);
    assert_eq!(a_ip.gateway, Ipv4Addr::new(10, 200, 1, 1));
    assert_eq!(a_ip.prefix, 24);
    assert!(f.config.pod_cidr.contains(&a_ip.ip) && f.config.pod_cidr.contains(&b_ip.ip));
    assert_ne!(a_ip.ip, a_ip.gateway);
    assert_eq!(net.pod_ip(&a), Some(a_ip));

    // Inside the pod: eth0 with the address, lo up, default route via the gateway.
    let (_, addrs) = a_ns.exec(&["ip", "-4", "-o", "addr"]);
    assert!(
        addrs.contains(&format!("eth0    inet {}/24", a_ip.ip))
            || addrs.contains(&format!("inet {}/24", a_ip.ip)),
        "{addrs}"
    );
    assert!(addrs.contains("lo    inet 127.0.0.1/8"), "{addrs}");
    let (_, routes) = a_ns.exec(&["ip", "route"]);
    assert!(
        routes.contains("default via 10.200.1.1 dev eth0"),
        "{routes}"
    );

    let _www = tempfile::tempdir().expect("tmp");
    let _hb = b_ns.httpd("hello from b", _www.path());
    let _ha = a_ns.httpd("hello from a", _www.path());
    let (ok, out) = a_ns.exec(&[
        "timeout",
        "5",
        "busybox",
        "wget",
        "-q",
        "-O",
        "-",
        &format!("http://{}/", b_ip.ip),
    ]);
    assert!(ok && out.contains("hello from b"), "a -> b: {out}");
    let (ok, out) = b_ns.exec(&[
        "timeout",
        "5",
        "busybox",
        "wget",
        "-q",
        "-O",
        "-",
        &format!("http://{}/", a_ip.ip),
    ]);
    assert!(ok && out.contains("hello from a"), "b -> a: {out}");
    let (ok, out) = a_ns.exec(&["busybox", "ping", "-c", "1", "-W", "2", "10.200.1.1"]);
    assert!(ok, "a -> gateway: {out}");
    // And the host reaches the pod directly.
    let body = http_get_retry(SocketAddr::from((a_ip.ip, 80))).expect("host -> a");
    assert!(body.contains("hello from a"), "{body}");

    net.cleanup_all().await.expect("cleanup");
}

#[tokio::test]
async fn teardown_removes_veth_rules_and_address() {
    let mut f = NetFixture::new(4);
    let ns = Netns::new("skt4-a");
    let net = new_net(&f).await;
    let a = pod("a");
    let veth = net.host_veth_name(&a);
    f.track_veth(veth.clone());
    let ip = net
        .setup(&a, &ns.path(), &[HostPort::tcp(18080, 80)])
        .await
        .expect("setup");
    assert!(link_exists(&veth));
    let record = f.config.state_dir.join("ipam").join(ip.ip.to_string());
    assert!(record.exists());
    assert!(ruleset(&f.config.nft_table).contains(&format!("dnat to {}:80", ip.ip)));

    net.teardown(&a).await.expect("teardown");
    assert!(!link_exists(&veth), "host veth still there");
    let (_, links) = ns.exec(&["ip", "-o", "link"]);
    assert!(!links.contains("eth0"), "{links}");
    assert!(!record.exists(), "IPAM record still there");
    assert!(!ruleset(&f.config.nft_table).contains("dnat to"));
    assert_eq!(net.pod_ip(&a), None);
    // Tearing down twice is fine.
    net.teardown(&a).await.expect("second teardown");
    net.cleanup_all().await.expect("cleanup");
}

#[tokio::test]
async fn setup_is_idempotent_and_repairs_a_missing_veth() {
    let mut f = NetFixture::new(5);
    let ns = Netns::new("skt5-a");
    let net = new_net(&f).await;
    let a = pod("a");
    let veth = net.host_veth_name(&a);
    f.track_veth(veth.clone());
    let first = net
        .setup(&a, &ns.path(), &[HostPort::tcp(18081, 80)])
        .await
        .expect("setup");
    let again = net
        .setup(&a, &ns.path(), &[HostPort::tcp(18081, 80)])
        .await
        .expect("setup again");
    assert_eq!(first, again);
    let rules = ruleset(&f.config.nft_table);
    assert_eq!(rules.matches("dport 18081").count(), 1, "{rules}");
    // Somebody deleted the pair: the next setup rebuilds it with the same address.
    let (ok, out) = run("ip", &["link", "del", &veth]);
    assert!(ok, "{out}");
    let repaired = net
        .setup(&a, &ns.path(), &[HostPort::tcp(18082, 80)])
        .await
        .expect("repair");
    assert_eq!(repaired, first);
    assert!(link_exists(&veth));
    let (ok, out) = ns.exec(&["busybox", "ping", "-c", "1", "-W", "2", "10.200.5.1"]);
    assert!(ok, "pod -> gateway after repair: {out}");
    let rules = ruleset(&f.config.nft_table);
    assert!(
        rules.contains("dport 18082") && !rules.contains("dport 18081"),
        "{rules}"
    );
    net.cleanup_all().await.expect("cleanup");
}

#[tokio::test]
async fn ipam_survives_a_restart_never_double_allocates_and_gc_releases() {
    let mut f = NetFixture::new(6);
    let nss: Vec<Netns> = (0..3).map(|i| Netns::new(&format!("skt6-{i}"))).collect();
    let pods: Vec<PodKey> = (0..3).map(|i| pod(&format!("p{i}"))).collect();
    let net = new_net(&f).await;
    for p in &pods {
        f.track_veth(net.host_veth_name(p));
    }
    let ip0 = net
        .setup(&pods[0], &nss[0].path(), &[HostPort::tcp(18083, 80)])
        .await
        .expect("p0");
    let ip1 = net.setup(&pods[1], &nss[1].path(), &[]).await.expect("p1");
    drop(net);

    // A new instance on the same state remembers both pods and their hostPort rule.
    let net = new_net(&f).await;
    assert_eq!(net.pod_ip(&pods[0]), Some(ip0));
    assert_eq!(net.pod_ip(&pods[1]), Some(ip1));
    assert!(ruleset(&f.config.nft_table).contains(&format!("dport 18083 dnat to {}:80", ip0.ip)));
    let ip2 = net.setup(&pods[2], &nss[2].path(), &[]).await.expect("p2");
    assert!(
        ip2.ip != ip0.ip && ip2.ip != ip1.ip,
        "double allocation: {ip2:?}"
    );
    // Setting up a known pod again keeps its address.
    assert_eq!(
        net.setup(&pods[1], &nss[1].path(), &[])
            .await
            .expect("p1 again"),
        ip1
    );

    // Only p0 still exists: GC reclaims p1 and p2.
    let mut reclaimed = net.gc(std::slice::from_ref(&pods[0])).await.expect("gc");
    reclaimed.sort();
    assert_eq!(reclaimed, vec![pods[1].clone(), pods[2].clone()]);
    assert_eq!(net.pod_ip(&pods[1]), None);
    assert!(!link_exists(&net.host_veth_name(&pods[2])));
    let ipam = f.config.state_dir.join("ipam");
    assert!(ipam.join(ip0.ip.to_string()).exists());
    assert!(!ipam.join(ip1.ip.to_string()).exists() && !ipam.join(ip2.ip.to_string()).exists());
    // Freed addresses come back, but round-robin: the next pod gets a fresh one first.
    let ip3 = net
        .setup(&pods[1], &nss[1].path(), &[])
        .await
        .expect("p1 re-added");
    assert!(ip3.ip != ip0.ip, "{ip3:?}");
    net.cleanup_all().await.expect("cleanup");
}

#[tokio::test]
async fn cleanup_all_leaves_nothing_behind() {
    let mut f = NetFixture::new(7);
    let ns = Netns::new("skt7-a");
    let net = new_net(&f).await;
    let a = pod("a");
    let veth = net.host_veth_name(&a);
    f.track_veth(veth.clone());
    net.setup(&a, &ns.path(), &[HostPort::tcp(18084, 80)])
        .await
        .expect("setup");
    net.cleanup_all().await.expect("cleanup");
    assert!(!link_exists(&veth));
    assert!(!link_exists("skt7"));
    assert!(!table_exists(&f.config.nft_table));
    assert!(!f.config.state_dir.exists());
    let (_, links) = ns.exec(&["ip", "-o", "link"]);
    assert!(!links.contains("eth0"), "{links}");
    let v: Value =
        serde_json::from_str(&run("nft", &["-j", "list", "tables"]).1).unwrap_or_default();
    assert!(!v.to_string().contains("skiff_test_7"));
}

#[tokio::test]
async fn a_failed_setup_leaves_no_address_veth_or_rule_behind() {
    let mut f = NetFixture::new(11);
    let net = new_net(&f).await;
    let a = pod("a");
    let veth = net.host_veth_name(&a);
    f.track_veth(veth.clone());
    let err = net
        .setup(
            &a,
            std::path::Path::new("/run/netns/skt11-does-not-exist"),
            &[HostPort::tcp(18085, 80)],
        )
        .await
        .expect_err("no such namespace");
    assert!(err.to_string().contains("skt11-does-not-exist"), "{err}");
    assert_eq!(net.pod_ip(&a), None);
    assert!(!link_exists(&veth));
    let ipam = f.config.state_dir.join("ipam");
    let held: Vec<_> = std::fs::read_dir(&ipam)
        .expect("ipam dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().parse::<Ipv4Addr>().is_ok())
        .collect();
    assert!(held.is_empty(), "address still reserved: {held:?}");
    assert!(!ruleset(&f.config.nft_table).contains("18085"));
    net.cleanup_all().await.expect("cleanup");
}
