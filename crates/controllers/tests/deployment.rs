//! Deployment and ReplicaSet controllers against a real `skiff server`, driven by kubectl.

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};

const WEB: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx:1
"#;

async fn wait_live(c: &Cluster, n: usize) -> Vec<Pod> {
    let client = c.client.clone();
    wait_for(&format!("{n} live web pods"), 30, || {
        let client = client.clone();
        async move {
            let v = live_pods(&client, "default", "app=web").await;
            (v.len() == n).then_some(v)
        }
    })
    .await
}

async fn replica_sets(c: &Cluster) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    let mut v = api
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    v.sort_by_key(|r| r.name_any());
    v
}

fn image_of(rs: &ReplicaSet) -> String {
    rs.spec
        .template
        .as_ref()
        .and_then(|t| t.spec.as_ref())
        .and_then(|s| s.containers[0].image.clone())
        .unwrap_or_default()
}

/// Marks pods ready until the deployment's rollout is complete, checking on every round
/// that surge and unavailability stay within maxSurge 1 / maxUnavailable 0 of `replicas`.
async fn roll_until_done(c: &Cluster, replicas: usize, image: &str) {
    let deps: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    for _ in 0..150 {
        let pods = live_pods(&c.client, "default", "app=web").await;
        assert!(
            pods.len() <= replicas + 1,
            "maxSurge exceeded: {} pods",
            pods.len()
        );
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        // pods are made ready only by this loop, so readiness never drops below the floor
        assert!(
            ready + 1 >= replicas.min(pods.len()),
            "too few ready: {ready}"
        );
        ready_all(&c.client, "default", "app=web").await;
        let d = deps.get("web").await.expect("deployment");
        let s = d.status.clone().unwrap_or_default();
        let done = s.updated_replicas == Some(replicas as i32)
            && s.available_replicas == Some(replicas as i32)
            && s.replicas == Some(replicas as i32)
            && s.observed_generation >= d.metadata.generation;
        let rss = replica_sets(c).await;
        let new_ok = rss.iter().any(|r| {
            image_of(r) == image
                && r.status.as_ref().and_then(|s| s.available_replicas) == Some(replicas as i32)
        });
        if done && new_ok {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("rollout to {image} did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_lifecycle_with_kubectl() {
    let c = cluster(&[]).await;
    apply(&c, WEB);
    let pods = wait_live(&c, 3).await;
    for p in &pods {
        assert!(p.name_any().starts_with("web-"), "{}", p.name_any());
        let owner = p.owner_references().first().cloned().unwrap_or_default();
        assert_eq!(owner.kind, "ReplicaSet");
        assert_eq!(owner.controller, Some(true));
        assert!(p.labels().contains_key("pod-template-hash"));
    }
    let rss = replica_sets(&c).await;
    assert_eq!(rss.len(), 1);
    let rs_name = rss[0].name_any();
    let ann = rss[0].annotations();
    assert_eq!(
        ann.get("deployment.kubernetes.io/revision")
            .map(String::as_str),
        Some("1")
    );

    // a deleted pod is replaced
    let api: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let victim = pods[0].name_any();
    api.delete(&victim, &DeleteParams::default())
        .await
        .expect("delete pod");
    let client = c.client.clone();
    let victim2 = victim.clone();
    wait_for("a replacement pod", 30, || {
        let client = client.clone();
        let victim = victim2.clone();
        async move {
            let v = live_pods(&client, "default", "app=web").await;
            (v.len() == 3 && v.iter().all(|p| p.name_any() != victim)).then_some(())
        }
    })
    .await;

    // kubectl scale up and down
    kubectl(&c, &["scale", "deployment/web", "--replicas=5"]);
    wait_live(&c, 5).await;
    kubectl(&c, &["scale", "deployment/web", "--replicas=2"]);
    wait_live(&c, 2).await;

    // rollout status finishes once pods are ready
    ready_all(&c.client, "default", "app=web").await;
    let out = c
        .kubectl
        .run(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "rollout status: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("successfully rolled out"), "{text}");

    // an image change rolls out within maxSurge 1 / maxUnavailable 0
    kubectl(&c, &["set", "image", "deployment/web", "c=nginx:2"]);
    roll_until_done(&c, 2, "nginx:2").await;
    let rss = replica_sets(&c).await;
    assert_eq!(
        rss.len(),
        2,
        "{:?}",
        rss.iter().map(|r| r.name_any()).collect::<Vec<_>>()
    );
    let old = rss
        .iter()
        .find(|r| r.name_any() == rs_name)
        .expect("old rs");
    assert_eq!(old.spec.replicas, Some(0));
    let hist = kubectl(&c, &["rollout", "history", "deployment/web"]);
    assert!(hist.contains('1') && hist.contains('2'), "{hist}");
    let events = kubectl(
        &c,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=web",
        ],
    );
    assert!(events.contains("ScalingReplicaSet"), "{events}");

    // kubectl rollout undo goes back to the first ReplicaSet
    kubectl(&c, &["rollout", "undo", "deployment/web"]);
    roll_until_done(&c, 2, "nginx:1").await;
    let rss = replica_sets(&c).await;
    assert_eq!(rss.len(), 2, "undo reuses the old ReplicaSet");
    let back = rss
        .iter()
        .find(|r| r.name_any() == rs_name)
        .expect("first rs");
    assert_eq!(back.spec.replicas, Some(2));
    assert_eq!(
        back.annotations()
            .get("deployment.kubernetes.io/revision")
            .map(String::as_str),
        Some("3")
    );
    let out = kubectl(
        &c,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    assert!(out.contains("successfully rolled out"), "{out}");

    // pause / resume / restart
    kubectl(&c, &["rollout", "pause", "deployment/web"]);
    kubectl(&c, &["rollout", "resume", "deployment/web"]);
    kubectl(&c, &["rollout", "restart", "deployment/web"]);
    roll_until_done(&c, 2, "nginx:1").await;
    assert_eq!(
        replica_sets(&c).await.len(),
        3,
        "restart makes a new ReplicaSet"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicaset_adopts_orphans_and_releases_changed_pods() {
    let c = cluster(&["replicaset"]).await;
    apply(
        &c,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: orphan, labels: {app: web}}
spec: {containers: [{name: c, image: nginx}]}
"#,
    );
    apply(
        &c,
        r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
"#,
    );
    let pods = wait_live(&c, 2).await;
    assert!(pods.iter().any(|p| p.name_any() == "orphan"));
    let api: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let client = c.client.clone();
    wait_for("orphan adopted", 30, || {
        let api = api.clone();
        async move {
            let p = api.get("orphan").await.ok()?;
            let r = p.owner_references().first()?.clone();
            (r.kind == "ReplicaSet" && r.name == "web" && r.block_owner_deletion == Some(true))
                .then_some(())
        }
    })
    .await;
    // relabel: released, and replaced
    kubectl(&c, &["label", "pod", "orphan", "app=other", "--overwrite"]);
    wait_for("released + replaced", 30, || {
        let api = api.clone();
        let client = client.clone();
        async move {
            let p = api.get("orphan").await.ok()?;
            let web = live_pods(&client, "default", "app=web").await;
            (p.owner_references().is_empty() && web.len() == 2).then_some(())
        }
    })
    .await;
    ready_all(&c.client, "default", "app=web").await;
    let rs_api: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    wait_for("status ready 2", 30, || {
        let rs_api = rs_api.clone();
        async move {
            let rs = rs_api.get("web").await.ok()?;
            let s = rs.status?;
            (s.replicas == 2
                && s.ready_replicas == Some(2)
                && s.available_replicas == Some(2)
                && s.fully_labeled_replicas == Some(2)
                && s.observed_generation == rs.metadata.generation)
                .then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_deployment_replaces_all_pods_at_once() {
    let c = cluster(&["deployment", "replicaset"]).await;
    apply(
        &c,
        &WEB.replace(
            "  strategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n",
            "  strategy: {type: Recreate}\n",
        ),
    );
    let first = wait_live(&c, 3).await;
    ready_all(&c.client, "default", "app=web").await;
    kubectl(&c, &["set", "image", "deployment/web", "c=nginx:2"]);
    // never old and new pods together: the new ones come after the old are gone
    let client = c.client.clone();
    let old: Vec<String> = first.iter().map(|p| p.name_any()).collect();
    let pods = wait_for("3 new pods", 40, || {
        let client = client.clone();
        let old = old.clone();
        async move {
            let v = live_pods(&client, "default", "app=web").await;
            let mixed = v.iter().any(|p| old.contains(&p.name_any()))
                && v.iter().any(|p| !old.contains(&p.name_any()));
            assert!(!mixed, "old and new pods side by side under Recreate");
            (v.len() == 3 && v.iter().all(|p| !old.contains(&p.name_any()))).then_some(v)
        }
    })
    .await;
    for p in &pods {
        let image = p.spec.as_ref().and_then(|s| s.containers[0].image.clone());
        assert_eq!(image.as_deref(), Some("nginx:2"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_rollout_exceeds_progress_deadline() {
    let c = cluster(&["deployment", "replicaset"]).await;
    apply(
        &c,
        &WEB.replace(
            "  replicas: 3\n",
            "  replicas: 1\n  progressDeadlineSeconds: 2\n",
        ),
    );
    wait_live(&c, 1).await;
    // pods never become ready: the deadline passes
    let deps: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let cond = wait_for("ProgressDeadlineExceeded", 30, || {
        let deps = deps.clone();
        async move {
            let s = deps.get("web").await.ok()?.status?;
            s.conditions?.into_iter().find(|c| {
                c.type_.as_deref() == Some("Progressing")
                    && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            })
        }
    })
    .await;
    assert_eq!(cond.status.as_deref(), Some("False"));
    let out = c
        .kubectl
        .run(&["rollout", "status", "deployment/web", "--timeout=20s"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("exceeded its progress deadline"), "{err}");
    let avail = deps.get("web").await.ok().and_then(|d| {
        d.status?
            .conditions?
            .into_iter()
            .find(|c| c.type_.as_deref() == Some("Available"))
    });
    assert_eq!(
        avail.and_then(|c| c.reason).as_deref(),
        Some("MinimumReplicasUnavailable")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_controller_keeps_its_replicas() {
    let c = cluster(&["replicationcontroller"]).await;
    apply(
        &c,
        r#"
apiVersion: v1
kind: ReplicationController
metadata: {name: web}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
"#,
    );
    let pods = wait_live(&c, 2).await;
    let owner = pods[0]
        .owner_references()
        .first()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (owner.kind.as_str(), owner.api_version.as_str()),
        ("ReplicationController", "v1")
    );
    kubectl(&c, &["scale", "rc/web", "--replicas=3"]);
    wait_live(&c, 3).await;
}
