//! The scheduler against a real `skiff server`: hollow nodes, pods bound through
//! `pods/binding`, FailedScheduling for a pod that cannot fit, and preemption by priority.
//! Build the server first: `cargo build -p skiff`.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};
use skiff_scheduler::SchedulerConfig;

fn hollow_node(name: &str, cpu: &str) -> Node {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
            "capacity": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    }))
    .expect("node")
}

fn pod(name: &str, cpu: &str, extra: Value) -> Pod {
    let mut v = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [
            {"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu, "memory": "10Mi"}}}
        ]}
    });
    if let (Some(spec), Some(extra)) = (v["spec"].as_object_mut(), extra.as_object()) {
        for (k, x) in extra {
            spec.insert(k.clone(), x.clone());
        }
    }
    serde_json::from_value(v).expect("pod")
}

async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn node_of(pods: &Api<Pod>, name: &str) -> Option<String> {
    pods.get_opt(name).await.ok().flatten()?.spec?.node_name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_reports_and_preempts() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = skiff_testkit::SkiffServer::start().expect("skiff server (cargo build -p skiff)");
    let kc = kube::config::Kubeconfig::read_from(server.kubeconfig()).expect("kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .expect("config");
    let client = kube::Client::try_from(config).expect("client");

    let nodes: Api<Node> = Api::all(client.clone());
    for n in ["node-a", "node-b", "node-c"] {
        nodes
            .create(&PostParams::default(), &hollow_node(n, "1"))
            .await
            .expect("create node");
    }
    let classes: Api<PriorityClass> = Api::all(client.clone());
    let high: PriorityClass =
        serde_json::from_value(json!({"metadata": {"name": "high"}, "value": 1000}))
            .expect("class");
    classes
        .create(&PostParams::default(), &high)
        .await
        .expect("priority class");

    let cfg = SchedulerConfig {
        pod_initial_backoff: Duration::from_millis(100),
        pod_max_backoff: Duration::from_millis(500),
        ..Default::default()
    };
    let sched = tokio::spawn(skiff_scheduler::run(client.clone(), cfg));

    // Pods are bound, with a Scheduled event.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for i in 0..3 {
        pods.create(
            &PostParams::default(),
            &pod(&format!("web-{i}"), "100m", json!({})),
        )
        .await
        .expect("pod");
    }
    for i in 0..3 {
        let name = format!("web-{i}");
        let node = wait_for("binding", || node_of(&pods, &name)).await;
        assert!(node.starts_with("node-"), "{node}");
    }
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let scheduled = wait_for("Scheduled event", || async {
        let l = events.list(&ListParams::default()).await.ok()?;
        l.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("Scheduled")
                && e.involved_object.name.as_deref() == Some("web-0")
        })
    })
    .await;
    let msg = scheduled.message.unwrap_or_default();
    assert!(
        msg.starts_with("Successfully assigned default/web-0 to node-"),
        "{msg}"
    );
    assert_eq!(
        scheduled.source.and_then(|s| s.component).as_deref(),
        Some("default-scheduler")
    );

    // A pod that fits nowhere: the PodScheduled condition and a FailedScheduling event.
    pods.create(&PostParams::default(), &pod("huge", "10", json!({})))
        .await
        .expect("pod");
    let want = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: \
                3 No preemption victims found for incoming pod.";
    let cond = wait_for("PodScheduled=False", || async {
        let p = pods.get("huge").await.ok()?;
        p.status?
            .conditions?
            .into_iter()
            .find(|c| c.type_ == "PodScheduled")
    })
    .await;
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_deref()),
        ("False", Some("Unschedulable"))
    );
    assert_eq!(cond.message.as_deref(), Some(want));
    let failed = wait_for("FailedScheduling event", || async {
        let l = events.list(&ListParams::default()).await.ok()?;
        l.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("FailedScheduling")
                && e.involved_object.name.as_deref() == Some("huge")
        })
    })
    .await;
    assert_eq!(failed.type_.as_deref(), Some("Warning"));
    assert_eq!(failed.message.as_deref(), Some(want));
    pods.delete("huge", &Default::default())
        .await
        .expect("delete huge");

    // Fill every node with low-priority pods, then a high-priority pod preempts one of them.
    for i in 0..3 {
        pods.create(
            &PostParams::default(),
            &pod(&format!("low-{i}"), "800m", json!({})),
        )
        .await
        .expect("pod");
    }
    for i in 0..3 {
        let name = format!("low-{i}");
        wait_for("low binding", || node_of(&pods, &name)).await;
    }
    pods.create(
        &PostParams::default(),
        &pod("vip", "500m", json!({"priorityClassName": "high"})),
    )
    .await
    .expect("pod");
    let vip_node = wait_for("vip binding", || node_of(&pods, "vip")).await;
    let mut remaining = Vec::new();
    for i in 0..3 {
        if let Some(n) = node_of(&pods, &format!("low-{i}")).await {
            remaining.push(n);
        }
    }
    assert_eq!(remaining.len(), 2, "exactly one victim");
    assert!(
        !remaining.contains(&vip_node),
        "the victim was on {vip_node}"
    );
    let preempted = wait_for("Preempted event", || async {
        let l = events.list(&ListParams::default()).await.ok()?;
        l.items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("Preempted"))
    })
    .await;
    assert!(
        preempted
            .message
            .unwrap_or_default()
            .ends_with(&format!("on node {vip_node}"))
    );
    sched.abort();
}
