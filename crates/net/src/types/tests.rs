//! Tests of configuration validation and hostPort parsing.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::ContainerPort;

use super::*;

fn cfg() -> NetConfig {
    NetConfig::default()
}

#[test]
fn default_config_is_valid_and_gateway_is_the_first_host() {
    let c = cfg();
    c.validate().expect("valid");
    assert_eq!(c.gateway(), Ipv4Addr::new(10, 42, 0, 1));
}

#[test]
fn bad_configs_are_refused_with_a_reason() {
    let cases: Vec<(NetConfig, &str)> = vec![
        (
            NetConfig {
                bridge: "a-name-longer-than-15".into(),
                ..cfg()
            },
            "bridge name",
        ),
        (
            NetConfig {
                bridge: "".into(),
                ..cfg()
            },
            "bridge name",
        ),
        (
            NetConfig {
                nft_table: "bad table".into(),
                ..cfg()
            },
            "table name",
        ),
        (
            NetConfig {
                pod_cidr: "10.42.0.0/31".parse().expect("net"),
                ..cfg()
            },
            "too small",
        ),
        (
            NetConfig {
                pod_cidr: "10.42.0.5/24".parse().expect("net"),
                ..cfg()
            },
            "host bits",
        ),
        (
            NetConfig {
                pod_cidr: "10.99.0.0/24".parse().expect("net"),
                ..cfg()
            },
            "not inside",
        ),
        (NetConfig { mtu: 10, ..cfg() }, "MTU"),
    ];
    for (c, want) in cases {
        let err = c.validate().expect_err("invalid").to_string();
        assert!(err.contains(want), "{err} should mention {want}");
    }
}

#[test]
fn host_port_from_the_api_defaults_protocol_and_wildcard_ip() {
    let p: ContainerPort = serde_json::from_value(serde_json::json!({
        "containerPort": 80, "hostPort": 8080, "hostIP": "0.0.0.0"
    }))
    .expect("port");
    assert_eq!(
        HostPort::from_container_port(&p).expect("ok"),
        Some(HostPort::tcp(8080, 80))
    );
    let p: ContainerPort = serde_json::from_value(serde_json::json!({
        "containerPort": 53, "hostPort": 53, "protocol": "UDP", "hostIP": "192.0.2.2"
    }))
    .expect("port");
    let hp = HostPort::from_container_port(&p)
        .expect("ok")
        .expect("some");
    assert_eq!(hp.protocol, Protocol::Udp);
    assert_eq!(hp.host_ip, Some(Ipv4Addr::new(192, 0, 2, 2)));
}

#[test]
fn container_ports_without_host_port_publish_nothing() {
    let p: ContainerPort =
        serde_json::from_value(serde_json::json!({ "containerPort": 80 })).expect("port");
    assert_eq!(HostPort::from_container_port(&p).expect("ok"), None);
}

#[test]
fn malformed_host_ports_are_errors_not_panics() {
    for v in [
        serde_json::json!({ "containerPort": 80, "hostPort": 70000 }),
        serde_json::json!({ "containerPort": -1, "hostPort": 80 }),
        serde_json::json!({ "containerPort": 80, "hostPort": 80, "protocol": "ICMP" }),
        serde_json::json!({ "containerPort": 80, "hostPort": 80, "hostIP": "nope" }),
        serde_json::json!({ "containerPort": 80, "hostPort": 80, "hostIP": "fd00::1" }),
    ] {
        let p: ContainerPort = serde_json::from_value(v.clone()).expect("port");
        assert!(HostPort::from_container_port(&p).is_err(), "{v}");
    }
}

#[test]
fn protocol_uses_the_kubernetes_spelling() {
    assert_eq!("".parse::<Protocol>().expect("default"), Protocol::Tcp);
    assert_eq!("SCTP".parse::<Protocol>().expect("sctp"), Protocol::Sctp);
    assert!("tcp".parse::<Protocol>().is_err());
    assert_eq!(
        serde_json::to_string(&Protocol::Udp).expect("json"),
        "\"UDP\""
    );
}
