//! Tests of the proxied ports and their rendered rules (checked by `nft -c` as root).

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

use super::model::build;
use super::render::{self, cleanup, render, service_chain};
use crate::types::Protocol;

fn svc(v: serde_json::Value) -> Service {
    serde_json::from_value(v).expect("service")
}

fn slice(v: serde_json::Value) -> EndpointSlice {
    serde_json::from_value(v).expect("slice")
}

fn web() -> Service {
    svc(json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "NodePort", "clusterIP": "10.43.0.10", "externalIPs": ["192.0.2.50"],
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080,
                            "protocol": "TCP"},
                           {"name": "dns", "port": 53, "protocol": "UDP"}]}
    }))
}

fn web_slice(endpoints: serde_json::Value) -> EndpointSlice {
    slice(json!({
        "metadata": {"name": "web-abc", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                  {"name": "dns", "port": 5353, "protocol": "UDP"}],
        "endpoints": endpoints
    }))
}

fn ep(ip: &str, ready: bool, serving: bool, terminating: bool) -> serde_json::Value {
    json!({"addresses": [ip],
           "conditions": {"ready": ready, "serving": serving, "terminating": terminating}})
}

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().expect("socket address")
}

#[test]
fn ready_endpoints_are_used_per_port_name_and_protocol() {
    let s = web();
    let sl = web_slice(json!([
        ep("10.42.0.5", true, true, false),
        ep("10.42.0.6", false, false, false),
        ep("10.42.0.7", false, true, true)
    ]));
    let ports = build(&[&s], &[&sl]);
    assert_eq!(ports.len(), 2);
    let http = &ports[0];
    assert_eq!(http.port, 80);
    assert_eq!(http.protocol, Protocol::Tcp);
    assert_eq!(http.node_port, Some(30080));
    assert_eq!(
        http.addresses,
        [Ipv4Addr::new(10, 43, 0, 10), Ipv4Addr::new(192, 0, 2, 50)]
    );
    assert_eq!(http.endpoints, [sa("10.42.0.5:8080")]);
    assert_eq!(ports[1].protocol, Protocol::Udp);
    assert_eq!(ports[1].endpoints, [sa("10.42.0.5:5353")]);
}

#[test]
fn terminating_but_serving_endpoints_are_a_fallback_only() {
    let s = web();
    let sl = web_slice(json!([
        ep("10.42.0.7", false, true, true),
        ep("10.42.0.8", false, false, true)
    ]));
    let ports = build(&[&s], &[&sl]);
    assert_eq!(ports[0].endpoints, [sa("10.42.0.7:8080")]);
}

#[test]
fn headless_external_name_and_foreign_slices_are_ignored() {
    let headless = svc(json!({"metadata": {"name": "h", "namespace": "default"},
        "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}));
    let ext = svc(json!({"metadata": {"name": "e", "namespace": "default"},
        "spec": {"type": "ExternalName", "externalName": "example.com"}}));
    let s = web();
    let other_ns = slice(json!({
        "metadata": {"name": "x", "namespace": "other",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 1, "protocol": "TCP"}],
        "endpoints": [ep("10.42.0.9", true, true, false)]}));
    let ports = build(&[&headless, &ext, &s], &[&other_ns]);
    assert_eq!(ports.len(), 2);
    assert!(
        ports
            .iter()
            .all(|p| p.service == "web" && p.endpoints.is_empty())
    );
}

#[test]
fn rules_balance_over_endpoints_and_reject_without_any() {
    let s = web();
    let sl = web_slice(json!([
        ep("10.42.0.5", true, true, false),
        ep("10.42.0.6", true, true, false)
    ]));
    let mut ports = build(&[&s], &[&sl]);
    ports[1].endpoints.clear();
    let cidr = "10.42.0.0/16".parse().expect("cidr");
    let r = render("skiff", cidr, &ports, &BTreeSet::new());
    let text = &r.script;
    let svc_chain = service_chain(&ports[0]);
    assert!(!text.contains("delete table"), "{text}");
    assert!(
        text.contains("numgen random mod 2 vmap { 0 : goto ep-"),
        "{text}"
    );
    assert!(
        text.contains("meta l4proto tcp dnat to 10.42.0.5:8080"),
        "{text}"
    );
    assert!(
        text.contains("meta l4proto tcp dnat to 10.42.0.6:8080"),
        "{text}"
    );
    assert!(
        text.contains("ip saddr 10.42.0.5 jump proxy_mark_masq"),
        "{text}"
    );
    assert!(
        text.contains("ip saddr != 10.42.0.0/16 jump proxy_mark_masq"),
        "{text}"
    );
    assert!(
        text.contains(&format!("10.43.0.10 . tcp . 80 : goto {svc_chain}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("192.0.2.50 . tcp . 80 : goto {svc_chain}")),
        "{text}"
    );
    assert!(text.contains("tcp . 30080 : goto svcnp-"), "{text}");
    assert!(
        text.contains(
            "add element ip skiff proxy_no_endpoints { 10.43.0.10 . udp . 53 : goto proxy_reject"
        ),
        "{text}"
    );
    assert!(
        text.contains("type nat hook output priority -100"),
        "{text}"
    );
    assert!(
        text.contains("type filter hook forward priority -1"),
        "{text}"
    );
    // Two endpoint chains, the service chain and the NodePort chain.
    assert_eq!(r.chains.len(), 4, "{:?}", r.chains);
}

#[test]
fn previous_chains_are_flushed_and_stale_ones_deleted_later() {
    let s = web();
    let sl = web_slice(json!([ep("10.42.0.5", true, true, false)]));
    let ports = build(&[&s], &[&sl]);
    let cidr = "10.42.0.0/16".parse().expect("cidr");
    let first = render("skiff", cidr, &ports, &BTreeSet::new());
    let second = render("skiff", cidr, &[], &first.chains);
    for c in &first.chains {
        assert!(
            second
                .script
                .contains(&format!("flush chain ip skiff {c}\n")),
            "{}",
            second.script
        );
    }
    assert!(second.chains.is_empty());
    let stale: BTreeSet<String> = first.chains.difference(&second.chains).cloned().collect();
    let del = cleanup("skiff", &stale).unwrap_or_default();
    assert_eq!(del.lines().count(), first.chains.len());
    assert!(cleanup("skiff", &BTreeSet::new()).is_none());
    assert!(first.chains.iter().all(|c| render::is_dynamic_chain(c)));
}

#[test]
fn rendered_rules_are_accepted_by_nft() {
    let s = web();
    let sl = web_slice(json!([
        ep("10.42.0.5", true, true, false),
        ep("10.42.0.6", true, true, false)
    ]));
    let mut ports = build(&[&s], &[&sl]);
    ports[1].endpoints.clear();
    let cidr = "10.42.0.0/16".parse().expect("cidr");
    let r = render("skiff_check", cidr, &ports, &BTreeSet::new());
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
        stdin.write_all(r.script.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("nft");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        r.script
    );
}
