//! The service proxy's rules for real, as root: a ClusterIP and a NodePort reach listeners in
//! pod namespaces from the host and from pods, a Service without endpoints refuses, and the
//! pod network's own rewrites leave the proxy's rules in place.

mod support;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use skiff_net::Protocol;
use skiff_net::proxy::{ProxiedPort, render};
use support::{NetFixture, Netns, http_get, http_get_retry, new_net, pod, ruleset};

fn port(name: &str, ip: Ipv4Addr, node_port: u16, endpoints: Vec<SocketAddrV4>) -> ProxiedPort {
    ProxiedPort {
        namespace: "default".into(),
        service: name.into(),
        port_name: "http".into(),
        protocol: Protocol::Tcp,
        port: 80,
        addresses: vec![ip],
        node_port: Some(node_port),
        endpoints,
    }
}

#[tokio::test]
async fn cluster_ip_and_node_port_reach_pods_and_empty_services_refuse() {
    let mut f = NetFixture::new(12);
    let (a_ns, b_ns, c_ns) = (
        Netns::new("skt12-a"),
        Netns::new("skt12-b"),
        Netns::new("skt12-c"),
    );
    let net = new_net(&f).await;
    let (a, b, c) = (pod("a"), pod("b"), pod("c"));
    let mut ips = Vec::new();
    for (key, ns) in [(&a, &a_ns), (&b, &b_ns), (&c, &c_ns)] {
        f.track_veth(net.host_veth_name(key));
        ips.push(net.setup(key, &ns.path(), &[]).await.expect("setup").ip);
    }
    let www = tempfile::tempdir().expect("tmp");
    let _ha = a_ns.httpd("pod-a", www.path());
    let _hb = b_ns.httpd("pod-b", www.path());

    let web_ip = Ipv4Addr::new(10, 96, 0, 10);
    let empty_ip = Ipv4Addr::new(10, 96, 0, 11);
    let ports = vec![
        port(
            "web",
            web_ip,
            30980,
            vec![SocketAddrV4::new(ips[0], 80), SocketAddrV4::new(ips[1], 80)],
        ),
        port("empty", empty_ip, 30981, vec![]),
    ];
    let table = f.config.nft_table.clone();
    let first = render::render(&table, f.config.cluster_cidr, &ports, &BTreeSet::new());
    skiff_net::nft::apply(&first.script)
        .await
        .expect("rules apply");

    // From the host: both endpoints answer the ClusterIP, one connection each.
    let mut seen = BTreeSet::new();
    for _ in 0..40 {
        let body = http_get_retry(SocketAddr::from((web_ip, 80))).expect("ClusterIP answers");
        seen.insert(body.trim().to_string());
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(
        seen,
        BTreeSet::from(["pod-a".to_string(), "pod-b".to_string()])
    );
    // NodePort on localhost and on the gateway address.
    for host in [Ipv4Addr::LOCALHOST, net.gateway()] {
        let body = http_get_retry(SocketAddr::from((host, 30980)))
            .unwrap_or_else(|e| panic!("{host}:30980: {e}"));
        assert!(body.starts_with("pod-"), "{host}:30980 -> {body}");
    }
    // No endpoints: refused at once, not a timeout.
    for target in [
        SocketAddr::from((empty_ip, 80)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 30981)),
    ] {
        let err = http_get(target).expect_err("no endpoints");
        assert!(err.contains("refused"), "{target}: {err}");
    }
    // From pods: another pod, and a pod reaching itself through the Service (hairpin).
    for ns in [&c_ns, &a_ns] {
        for _ in 0..4 {
            let (ok, out) = ns.exec(&[
                "timeout",
                "5",
                "busybox",
                "wget",
                "-q",
                "-O",
                "-",
                "http://10.96.0.10/",
            ]);
            assert!(
                ok && out.starts_with("pod-"),
                "{} -> ClusterIP: {out}",
                ns.name
            );
        }
    }
    let (ok, out) = c_ns.exec(&[
        "timeout",
        "5",
        "busybox",
        "wget",
        "-q",
        "-O",
        "-",
        "http://10.96.0.11/",
    ]);
    assert!(
        !ok && !out.contains("timed out"),
        "empty Service refuses: {out}"
    );

    // The pod network rewrites its chains; the proxy's stay.
    net.teardown(&c).await.expect("teardown c");
    let rules = ruleset(&table);
    assert!(
        rules.contains("map proxy_ips") && rules.contains("numgen random mod 2"),
        "{rules}"
    );
    assert_eq!(
        http_get_retry(SocketAddr::from((web_ip, 80))).map(|b| b.starts_with("pod-")),
        Ok(true)
    );

    // Only one endpoint left, then none: stale chains are deleted by the cleanup transaction.
    let one = vec![port(
        "web",
        web_ip,
        30980,
        vec![SocketAddrV4::new(ips[1], 80)],
    )];
    let second = render::render(&table, f.config.cluster_cidr, &one, &first.chains);
    skiff_net::nft::apply(&second.script)
        .await
        .expect("second sync");
    let stale: BTreeSet<String> = first.chains.difference(&second.chains).cloned().collect();
    assert!(!stale.is_empty());
    let del = render::cleanup(&table, &stale).expect("stale chains");
    skiff_net::nft::apply(&del).await.expect("cleanup");
    for _ in 0..5 {
        assert_eq!(
            http_get_retry(SocketAddr::from((web_ip, 80))).map(|b| b.trim().to_string()),
            Ok("pod-b".into())
        );
    }
    let rules = ruleset(&table);
    for c in &stale {
        assert!(!rules.contains(c.as_str()), "{c} deleted: {rules}");
    }
    net.cleanup_all().await.expect("cleanup");
}

#[tokio::test]
async fn udp_cluster_ip_reaches_a_listener_and_replies_come_from_the_service() {
    let f = NetFixture::new(13);
    let server = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let ep_port = server.local_addr().expect("addr").port();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        if let Ok((n, from)) = server.recv_from(&mut buf) {
            let mut reply = b"pong:".to_vec();
            reply.extend_from_slice(&buf[..n]);
            let _ = server.send_to(&reply, from);
        }
    });
    let svc_ip = Ipv4Addr::new(10, 96, 13, 53);
    let dns = ProxiedPort {
        protocol: Protocol::Udp,
        port: 53,
        node_port: None,
        ..port(
            "dns",
            svc_ip,
            0,
            vec![SocketAddrV4::new(Ipv4Addr::LOCALHOST, ep_port)],
        )
    };
    let r = render::render(
        &f.config.nft_table,
        f.config.cluster_cidr,
        &[dns],
        &BTreeSet::new(),
    );
    skiff_net::nft::apply(&r.script).await.expect("rules apply");
    let client = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
    // Connected: only datagrams from the Service address itself are accepted.
    client.connect((svc_ip, 53)).expect("connect");
    client
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    client.send(b"ping").expect("send");
    let mut buf = [0u8; 64];
    let n = client
        .recv(&mut buf)
        .expect("reply from the Service address");
    assert_eq!(&buf[..n], b"pong:ping");
    let _ = echo.join();
}
