//! The pod network's NAT for real, as root: hostPorts from the host, masquerade, the loopback guard; each test on its own bridge, table, CIDR and namespaces.

mod support;

use std::net::{Ipv4Addr, SocketAddr};

use skiff_net::HostPort;
use support::{NetFixture, Netns, http_get_retry, new_net, pod, ruleset, run};

#[tokio::test]
async fn masquerade_and_nat_chains_are_installed() {
    let f = NetFixture::new(2);
    let net = new_net(&f).await;
    let rules = ruleset(&f.config.nft_table);
    assert!(
        rules.contains(
            "ip saddr 10.200.2.0/24 ip daddr != { 10.96.0.0/16, 10.200.0.0/16 } masquerade"
        ),
        "{rules}"
    );
    assert!(
        rules.contains("type nat hook prerouting priority dstnat"),
        "{rules}"
    );
    assert!(
        rules.contains("type nat hook output priority -100"),
        "{rules}"
    );
    assert!(
        rules.contains("fib daddr type local jump hostports"),
        "{rules}"
    );
    // Bridge: the gateway address, forwarding, route_localnet and bridge netfilter.
    let (_, addrs) = run("ip", &["-4", "-o", "addr", "show", "dev", "skt2"]);
    assert!(addrs.contains("10.200.2.1/24"), "{addrs}");
    let sys = |k: &str| {
        std::fs::read_to_string(k)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    assert_eq!(sys("/proc/sys/net/ipv4/conf/skt2/forwarding"), "1");
    assert_eq!(sys("/proc/sys/net/ipv4/conf/skt2/route_localnet"), "1");
    assert_eq!(sys("/sys/class/net/skt2/bridge/nf_call_iptables"), "1");
    // A second start on the same bridge and table is harmless.
    drop(net);
    let net = new_net(&f).await;
    assert_eq!(ruleset(&f.config.nft_table), rules);
    net.cleanup_all().await.expect("cleanup");
}

#[tokio::test]
async fn host_ports_80_and_8080_reach_two_pods_from_the_host() {
    let mut f = NetFixture::new(3);
    let a_ns = Netns::new("skt3-a");
    let b_ns = Netns::new("skt3-b");
    let net = new_net(&f).await;
    let (a, b) = (pod("web-a"), pod("web-b"));
    f.track_veth(net.host_veth_name(&a));
    f.track_veth(net.host_veth_name(&b));
    net.setup(&a, &a_ns.path(), &[HostPort::tcp(80, 80)])
        .await
        .expect("setup a");
    net.setup(&b, &b_ns.path(), &[HostPort::tcp(8080, 80)])
        .await
        .expect("setup b");
    let www = tempfile::tempdir().expect("tmp");
    let _ha = a_ns.httpd("web-a says hi", www.path());
    let _hb = b_ns.httpd("web-b says hi", www.path());

    let mut targets = vec![Ipv4Addr::LOCALHOST, net.gateway()];
    if let Some(ip) = support::host_ip() {
        targets.push(ip);
    }
    for host in targets {
        let body = http_get_retry(SocketAddr::from((host, 80)))
            .unwrap_or_else(|e| panic!("{host}:80: {e}"));
        assert!(body.contains("web-a says hi"), "{host}:80 -> {body}");
        let body = http_get_retry(SocketAddr::from((host, 8080)))
            .unwrap_or_else(|e| panic!("{host}:8080: {e}"));
        assert!(body.contains("web-b says hi"), "{host}:8080 -> {body}");
    }
    // From a pod through the gateway's hostPort, to the other pod and back to itself (hairpin).
    for (port, want) in [(8080, "web-b says hi"), (80, "web-a says hi")] {
        let (ok, out) = a_ns.exec(&[
            "timeout",
            "5",
            "busybox",
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://10.200.3.1:{port}/"),
        ]);
        assert!(ok && out.contains(want), "a -> gateway:{port}: {out}");
    }
    // A second pod cannot take a published port.
    let c = pod("web-c");
    let err = net
        .setup(&c, &a_ns.path(), &[HostPort::tcp(8080, 80)])
        .await
        .expect_err("conflict");
    assert!(err.to_string().contains("already published"), "{err}");
    assert!(net.pod_ip(&c).is_none());

    net.cleanup_all().await.expect("cleanup");
}

#[tokio::test]
async fn pods_cannot_reach_services_the_host_binds_on_loopback() {
    let mut f = NetFixture::new(8);
    let ns = Netns::new("skt8-a");
    let net = new_net(&f).await;
    let a = pod("a");
    f.track_veth(net.host_veth_name(&a));
    net.setup(&a, &ns.path(), &[]).await.expect("setup");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port().to_string();
    // A hostile pod routes 127.0.0.0/8 to the gateway instead of its own loopback.
    for cmd in [
        vec![
            "ip",
            "route",
            "del",
            "local",
            "127.0.0.0/8",
            "dev",
            "lo",
            "table",
            "local",
        ],
        vec![
            "ip",
            "route",
            "del",
            "local",
            "127.0.0.1",
            "dev",
            "lo",
            "table",
            "local",
        ],
        vec!["sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1"],
        vec![
            "ip",
            "route",
            "add",
            "127.0.0.0/8",
            "via",
            "10.200.8.1",
            "dev",
            "eth0",
        ],
    ] {
        let (ok, out) = ns.exec(&cmd);
        assert!(ok, "{cmd:?}: {out}");
    }
    let (_, out) = ns.exec(&["busybox", "nc", "-w", "2", "127.0.0.1", &port]);
    assert!(
        listener.accept().is_err(),
        "a pod reached a loopback-only host service: {out}"
    );
    // The guard is what stopped it: its counter saw the pod's SYNs.
    let chain = run(
        "nft",
        &["list", "chain", "ip", &f.config.nft_table, "input"],
    )
    .1;
    let dropped: u64 = chain
        .split("counter packets ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(dropped > 0, "{chain}");
    net.cleanup_all().await.expect("cleanup");
}

#[tokio::test]
async fn traffic_leaving_the_cluster_is_masqueraded() {
    let mut f = NetFixture::new(10);
    let pod_ns = Netns::new("skt10-a");
    let ext = Netns::new("skt10-ext");
    // "Outside": a namespace behind a veth of our own, 10.210.10.0/24, forwarding on that veth
    // only (host-wide forwarding stays as it is).
    f.track_veth("skt10x".into());
    let ext_path = ext.path().to_string_lossy().to_string();
    for cmd in [
        vec![
            "link", "add", "skt10x", "type", "veth", "peer", "name", "skt10y",
        ],
        vec!["link", "set", "skt10y", "netns", &ext_path],
        vec!["addr", "add", "10.210.10.1/24", "dev", "skt10x"],
        vec!["link", "set", "skt10x", "up"],
    ] {
        let (ok, out) = run("ip", &cmd);
        assert!(ok, "ip {cmd:?}: {out}");
    }
    for cmd in [
        vec!["ip", "addr", "add", "10.210.10.2/24", "dev", "skt10y"],
        vec!["ip", "link", "set", "skt10y", "up"],
        vec!["ip", "link", "set", "lo", "up"],
    ] {
        let (ok, out) = ext.exec(&cmd);
        assert!(ok, "{cmd:?}: {out}");
    }
    std::fs::write("/proc/sys/net/ipv4/conf/skt10x/forwarding", "1").expect("forwarding");
    // A CGI that answers with the client address the outside sees.
    let www = tempfile::tempdir().expect("tmp");
    let _httpd = ext.httpd("outside", www.path());
    let cgi = www.path().join("www-skt10-ext/cgi-bin");
    std::fs::create_dir_all(&cgi).expect("cgi-bin");
    std::fs::write(
        cgi.join("ip"),
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"client=$REMOTE_ADDR\"\n",
    )
    .expect("cgi");
    run("chmod", &["755", &cgi.join("ip").to_string_lossy()]);

    let net = new_net(&f).await;
    let a = pod("a");
    f.track_veth(net.host_veth_name(&a));
    let ip = net.setup(&a, &pod_ns.path(), &[]).await.expect("setup");
    let (ok, out) = pod_ns.exec(&[
        "timeout",
        "5",
        "busybox",
        "wget",
        "-q",
        "-O",
        "-",
        "http://10.210.10.2/cgi-bin/ip",
    ]);
    assert!(ok, "pod -> outside: {out}");
    assert!(
        out.contains("10.210.10.1") && !out.contains(&ip.ip.to_string()),
        "not masqueraded (pod is {}): {out}",
        ip.ip
    );
    net.cleanup_all().await.expect("cleanup");
}
