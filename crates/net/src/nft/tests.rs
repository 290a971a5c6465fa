//! Tests of the rendered ruleset (checked by `nft -c` where nft is usable).

use std::net::Ipv4Addr;

use super::*;
use crate::types::Protocol;

fn cfg() -> NetConfig {
    NetConfig {
        bridge: "skiff0".into(),
        nft_table: "skiff".into(),
        ..NetConfig::default()
    }
}

#[test]
fn empty_ruleset_replaces_the_table_and_masquerades_only_leaving_traffic() {
    let s = render(&cfg(), &[]);
    assert!(s.starts_with("table ip skiff {"), "{s}");
    assert!(
        !s.contains("delete table"),
        "other chains of the table survive: {s}"
    );
    assert!(s.contains("flush chain ip skiff hostports\n"), "{s}");
    assert!(
        s.contains("ip saddr 10.42.0.0/24 ip daddr != { 10.42.0.0/16, 10.43.0.0/16 } masquerade"),
        "{s}"
    );
    assert!(s.contains("type nat hook output priority -100"), "{s}");
    assert!(
        s.contains("ct status dnat ip saddr 127.0.0.0/8 oifname \"skiff0\" masquerade"),
        "{s}"
    );
    assert!(!s.contains("dnat to"));
}

#[test]
fn host_ports_become_dnat_rules_with_protocol_and_host_ip() {
    let pod = PodKey::new("web", "a", "u1");
    let mut udp = HostPort::tcp(5353, 53);
    udp.protocol = Protocol::Udp;
    udp.host_ip = Some(Ipv4Addr::new(192, 0, 2, 2));
    let ports = [HostPort::tcp(80, 8080), udp];
    let s = render(
        &cfg(),
        &[PodPorts {
            pod: &pod,
            ip: Ipv4Addr::new(10, 42, 0, 7),
            host_ports: &ports,
        }],
    );
    assert!(
        s.contains("tcp dport 80 dnat to 10.42.0.7:8080 comment \"web/a\""),
        "{s}"
    );
    assert!(
        s.contains("ip daddr 192.0.2.2 udp dport 5353 dnat to 10.42.0.7:53"),
        "{s}"
    );
}

#[test]
fn nested_cidrs_are_not_listed_twice() {
    let c = NetConfig {
        service_cidr: "10.42.128.0/17".parse().expect("cidr"),
        ..cfg()
    };
    let s = render(&c, &[]);
    assert!(s.contains("ip daddr != { 10.42.0.0/16 }"), "{s}");
}

#[test]
fn comments_cannot_break_out_of_their_quotes() {
    let pod = PodKey::new("ns\"; drop", "x\ny", "u");
    assert_eq!(comment_for(&pod), "nsdrop/xy");
}

#[test]
fn rendered_ruleset_is_accepted_by_nft() {
    // `nft -c` checks without applying; it needs CAP_NET_ADMIN, so skip quietly without it.
    let pod = PodKey::new("web", "a", "u1");
    let ports = [HostPort::tcp(80, 8080)];
    let s = render(
        &cfg(),
        &[PodPorts {
            pod: &pod,
            ip: Ipv4Addr::new(10, 42, 0, 7),
            host_ports: &ports,
        }],
    );
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let mut child = match std::process::Command::new("nft")
        .args(["-c", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => return,
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(s.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("nft");
    assert!(
        out.status.success(),
        "{}\n{s}",
        String::from_utf8_lossy(&out.stderr)
    );
}
