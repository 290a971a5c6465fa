//! The node IPAM controller against a real `skiff server` (build it first: `cargo build -p skiff`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, PostParams};
use skiff_net::{Ipv4Net, ipam_controller};
use skiff_testkit::SkiffServer;

async fn client(server: &SkiffServer) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(server.kubeconfig()).expect("kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .expect("config");
    kube::Client::try_from(config).expect("client")
}

async fn create_node(nodes: &Api<Node>, name: &str, pod_cidr: Option<&str>) {
    let mut spec = serde_json::json!({});
    if let Some(c) = pod_cidr {
        spec = serde_json::json!({ "podCIDR": c, "podCIDRs": [c] });
    }
    let node: Node = serde_json::from_value(serde_json::json!({
        "metadata": { "name": name, "labels": { "hollow": "true" } },
        "spec": spec,
    }))
    .expect("node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .unwrap_or_else(|e| panic!("create node {name}: {e}"));
}

/// Waits until every named node has a podCIDR; returns them by name.
async fn wait_for_cidrs(nodes: &Api<Node>, names: &[&str]) -> Vec<(String, String, Vec<String>)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut out = Vec::new();
        for name in names {
            let n = nodes.get(name).await.expect("get node");
            let spec = n.spec.unwrap_or_default();
            if let Some(c) = spec.pod_cidr {
                out.push((name.to_string(), c, spec.pod_cidrs.unwrap_or_default()));
            }
        }
        if out.len() == names.len() {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "nodes still without podCIDR: got {out:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assigns_distinct_24s_to_hollow_nodes_and_keeps_them_across_restarts() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = SkiffServer::start().expect("skiff server starts (cargo build -p skiff first)");
    let client = client(&server).await;
    let nodes: Api<Node> = Api::all(client.clone());
    let cluster: Ipv4Net = "10.42.0.0/16".parse().expect("cidr");

    // One node already carries the first /24: it keeps it and nobody else gets it.
    create_node(&nodes, "pre", Some("10.42.0.0/24")).await;
    for n in ["hollow-1", "hollow-2", "hollow-3"] {
        create_node(&nodes, n, None).await;
    }
    let ctl = tokio::spawn(ipam_controller::run(client.clone(), cluster, 24));
    let names = ["pre", "hollow-1", "hollow-2", "hollow-3"];
    let first = wait_for_cidrs(&nodes, &names).await;
    let mut seen = BTreeSet::new();
    for (name, cidr, cidrs) in &first {
        let net: Ipv4Net = cidr.parse().expect("podCIDR parses");
        assert!(
            cluster.contains(&net) && net.prefix_len() == 24,
            "{name}: {cidr}"
        );
        assert_eq!(cidrs, &vec![cidr.clone()], "{name}: podCIDRs");
        assert!(seen.insert(cidr.clone()), "{cidr} given twice: {first:?}");
    }
    assert_eq!(first[0].1, "10.42.0.0/24");

    // A node added while running gets one too.
    create_node(&nodes, "hollow-4", None).await;
    let got = wait_for_cidrs(&nodes, &["hollow-4"]).await;
    assert!(
        seen.insert(got[0].1.clone()),
        "hollow-4 reused {}",
        got[0].1
    );

    // Restart: existing assignments come back from the Nodes; a new node gets a fresh one.
    ctl.abort();
    let _ = ctl.await;
    create_node(&nodes, "hollow-5", None).await;
    let ctl = tokio::spawn(ipam_controller::run(client.clone(), cluster, 24));
    let got = wait_for_cidrs(&nodes, &["hollow-5"]).await;
    assert!(
        seen.insert(got[0].1.clone()),
        "hollow-5 reused {} after restart",
        got[0].1
    );
    let again = wait_for_cidrs(&nodes, &names).await;
    assert_eq!(again, first, "assignments changed across the restart");
    ctl.abort();
}
