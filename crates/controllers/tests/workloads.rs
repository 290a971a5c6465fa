//! StatefulSet, Job, CronJob and DaemonSet controllers against a real `skiff server`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use skiff_controllers::util::time::ShiftedClock;

async fn has_pod(c: &Cluster, name: &str) -> Option<Pod> {
    let api: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    api.get_opt(name).await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_creates_in_order_with_claims() {
    let c = cluster(&["statefulset"]).await;
    apply(
        &c,
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: nginx}]}
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"#,
    );
    let web0 = wait_for("web-0", 30, || has_pod(&c, "web-0")).await;
    let labels = web0.labels().clone();
    assert_eq!(
        labels
            .get("statefulset.kubernetes.io/pod-name")
            .map(String::as_str),
        Some("web-0")
    );
    assert_eq!(
        labels
            .get("apps.kubernetes.io/pod-index")
            .map(String::as_str),
        Some("0")
    );
    assert!(labels.contains_key("controller-revision-hash"));
    let spec = web0.spec.clone().unwrap_or_default();
    assert_eq!(spec.hostname.as_deref(), Some("web-0"));
    assert_eq!(spec.subdomain.as_deref(), Some("web"));
    // web-1 waits for web-0 to be Running and Ready
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        has_pod(&c, "web-1").await.is_none(),
        "web-1 created before web-0 was ready"
    );
    mark_ready(&c.client, &web0).await;
    let web1 = wait_for("web-1", 30, || has_pod(&c, "web-1")).await;
    mark_ready(&c.client, &web1).await;
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), "default");
    let mut names: Vec<String> = pvcs
        .list(&ListParams::default())
        .await
        .map(|l| l.items.iter().map(|p| p.name_any()).collect())
        .unwrap_or_default();
    names.sort();
    assert_eq!(names, ["www-web-0", "www-web-1"]);
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    wait_for("statefulset status", 30, || {
        let sets = sets.clone();
        async move {
            let s = sets.get("web").await.ok()?.status?;
            (s.replicas == 2
                && s.ready_replicas == Some(2)
                && s.current_replicas == Some(2)
                && s.updated_replicas == Some(2)
                && s.current_revision.is_some()
                && s.current_revision == s.update_revision)
                .then_some(())
        }
    })
    .await;
    let out = kubectl(
        &c,
        &["rollout", "status", "statefulset/web", "--timeout=30s"],
    );
    assert!(
        out.contains("roll out complete") || out.contains("rolling update complete"),
        "{out}"
    );

    // a new image rolls from the highest ordinal down
    kubectl(&c, &["set", "image", "statefulset/web", "c=nginx:2"]);
    wait_for("statefulset rolled to nginx:2", 60, || {
        let sets = sets.clone();
        let client = c.client.clone();
        async move {
            ready_all(&client, "default", "app=db").await;
            let s = sets.get("web").await.ok()?.status?;
            let pods = live_pods(&client, "default", "app=db").await;
            let all_new = pods.len() == 2
                && pods.iter().all(|p| {
                    p.spec
                        .as_ref()
                        .and_then(|s| s.containers[0].image.as_deref())
                        == Some("nginx:2")
                });
            (all_new && s.updated_replicas == Some(2) && s.current_revision == s.update_revision)
                .then_some(())
        }
    })
    .await;
    let hist = kubectl(&c, &["rollout", "history", "statefulset/web"]);
    assert!(hist.contains('1') && hist.contains('2'), "{hist}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_complete_or_stop_at_backoff_limit() {
    let c = cluster(&["job", "ttl-after-finished"]).await;
    apply(
        &c,
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: ok}
spec:
  completions: 2
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#,
    );
    let pods = wait_for("2 job pods", 30, || {
        let client = c.client.clone();
        async move {
            let v = live_pods(&client, "default", "job-name=ok").await;
            (v.len() == 2).then_some(v)
        }
    })
    .await;
    for p in &pods {
        let fins = p.finalizers().to_vec();
        assert!(
            fins.contains(&"batch.kubernetes.io/job-tracking".to_string()),
            "{fins:?}"
        );
        set_phase(&c.client, p, "Succeeded").await;
    }
    let out = kubectl(
        &c,
        &[
            "wait",
            "--for=condition=complete",
            "job/ok",
            "--timeout=30s",
        ],
    );
    assert!(out.contains("condition met"), "{out}");
    let jobs: Api<Job> = Api::namespaced(c.client.clone(), "default");
    let s = jobs
        .get("ok")
        .await
        .expect("job")
        .status
        .unwrap_or_default();
    assert_eq!(s.succeeded, Some(2));
    assert!(s.completion_time.is_some());
    assert!(
        s.conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "SuccessCriteriaMet")
    );
    let api: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    for p in &pods {
        let p = api.get(&p.name_any()).await.expect("pod");
        assert!(p.finalizers().is_empty(), "tracking finalizer removed");
    }

    apply(
        &c,
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: bad}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#,
    );
    // each pod fails; the second failure goes beyond backoffLimit 1
    let mut failed = Vec::new();
    for round in 0..2 {
        let p = wait_for(&format!("bad pod #{round}"), 40, || {
            let client = c.client.clone();
            let failed = failed.clone();
            async move {
                live_pods(&client, "default", "job-name=bad")
                    .await
                    .into_iter()
                    .find(|p| !failed.contains(&p.name_any()))
            }
        })
        .await;
        set_phase(&c.client, &p, "Failed").await;
        failed.push(p.name_any());
    }
    let out = kubectl(
        &c,
        &["wait", "--for=condition=failed", "job/bad", "--timeout=30s"],
    );
    assert!(out.contains("condition met"), "{out}");
    let j = jobs.get("bad").await.expect("job");
    let s = j.status.unwrap_or_default();
    assert_eq!(s.failed, Some(2));
    let reason = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Failed")
        .and_then(|c| c.reason.clone());
    assert_eq!(reason.as_deref(), Some("BackoffLimitExceeded"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let left = live_pods(&c.client, "default", "job-name=bad").await;
    assert!(
        left.iter().all(|p| failed.contains(&p.name_any())),
        "no new pod after failure"
    );

    // ttlSecondsAfterFinished: the finished Job is deleted (in the foreground)
    apply(
        &c,
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: short}
spec:
  ttlSecondsAfterFinished: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#,
    );
    let p = wait_for("short pod", 30, || {
        let client = c.client.clone();
        async move {
            live_pods(&client, "default", "job-name=short")
                .await
                .into_iter()
                .next()
        }
    })
    .await;
    set_phase(&c.client, &p, "Succeeded").await;
    wait_for("ttl deletion of job/short", 30, || {
        let jobs = jobs.clone();
        async move {
            match jobs.get_opt("short").await {
                Ok(None) => Some(()),
                Ok(Some(j)) => j.metadata.deletion_timestamp.map(|_| ()),
                Err(_) => None,
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cronjob_every_minute_creates_a_job() {
    let c = cluster(&["job"]).await;
    apply(
        &c,
        r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox}]
"#,
    );
    // a clock two seconds short of the first schedule after the CronJob's creation
    let cjs: Api<CronJob> = Api::namespaced(c.client.clone(), "default");
    let created = cjs
        .get("tick")
        .await
        .ok()
        .and_then(|cj| cj.metadata.creation_timestamp)
        .map(|t| t.0.as_second())
        .unwrap_or(0);
    let first = created - created.rem_euclid(60) + 60;
    let shift = first - 2 - k8s_openapi::jiff::Timestamp::now().as_second();
    let client = c.client.clone();
    let cron = tokio::spawn(async move {
        let clock = Arc::new(ShiftedClock(shift));
        let _ = skiff_controllers::cronjob::run_with_clock(client, clock).await;
    });
    let jobs: Api<Job> = Api::namespaced(c.client.clone(), "default");
    let job = wait_for("a job from the cronjob", 20, || {
        let jobs = jobs.clone();
        async move {
            jobs.list(&ListParams::default())
                .await
                .ok()?
                .items
                .into_iter()
                .next()
        }
    })
    .await;
    let name = job.name_any();
    let minutes: i64 = name
        .strip_prefix("tick-")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(minutes > 0, "{name}");
    let ann = job
        .annotations()
        .get("batch.kubernetes.io/cronjob-scheduled-timestamp")
        .cloned();
    let ts = chrono::DateTime::parse_from_rfc3339(&ann.unwrap_or_default())
        .map(|t| t.timestamp())
        .unwrap_or(0);
    assert_eq!(ts, minutes * 60);
    assert_eq!(
        job.owner_references().first().map(|r| r.kind.as_str()),
        Some("CronJob")
    );
    let cjs: Api<CronJob> = Api::namespaced(c.client.clone(), "default");
    wait_for("cronjob status", 20, || {
        let cjs = cjs.clone();
        let name = name.clone();
        async move {
            let s = cjs.get("tick").await.ok()?.status?;
            let active = s.active?.first()?.name.clone()?;
            (active == name && s.last_schedule_time.is_some()).then_some(())
        }
    })
    .await;
    cron.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonset_lands_one_pod_per_node() {
    let c = cluster(&["daemonset"]).await;
    fake_node(&c.client, "n1", serde_json::json!({"role": "worker"})).await;
    fake_node(&c.client, "n2", serde_json::json!({"role": "worker"})).await;
    fake_node(&c.client, "n3", serde_json::json!({"role": "edge"})).await;
    apply(
        &c,
        r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {role: worker}
      containers: [{name: c, image: busybox}]
"#,
    );
    let target = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(skiff_controllers::daemonset::nodes::target_node)
            .unwrap_or_default()
    };
    let pods = wait_for("2 daemon pods", 30, || {
        let client = c.client.clone();
        async move {
            let v = live_pods(&client, "default", "app=agent").await;
            (v.len() == 2).then_some(v)
        }
    })
    .await;
    let mut nodes: Vec<String> = pods.iter().map(target).collect();
    nodes.sort();
    assert_eq!(nodes, ["n1", "n2"]);
    // the scheduler binds them, the kubelet starts them
    for p in &pods {
        bind(&c.client, p, &target(p)).await;
        mark_ready(&c.client, p).await;
    }
    let sets: Api<DaemonSet> = Api::namespaced(c.client.clone(), "default");
    wait_for("daemonset status", 30, || {
        let sets = sets.clone();
        async move {
            let s = sets.get("agent").await.ok()?.status?;
            (s.desired_number_scheduled == 2
                && s.current_number_scheduled == 2
                && s.number_ready == 2
                && s.number_available == Some(2)
                && s.updated_number_scheduled == Some(2)
                && s.number_misscheduled == 0)
                .then_some(())
        }
    })
    .await;
    let bound = has_pod(&c, &pods[0].name_any())
        .await
        .and_then(|p| p.spec?.node_name);
    assert_eq!(bound, Some(target(&pods[0])));
    let out = kubectl(
        &c,
        &["rollout", "status", "daemonset/agent", "--timeout=30s"],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    // a new eligible node gets its pod
    fake_node(&c.client, "n4", serde_json::json!({"role": "worker"})).await;
    wait_for("pod on n4", 30, || {
        let client = c.client.clone();
        async move {
            let v = live_pods(&client, "default", "app=agent").await;
            v.iter().any(|p| target(p) == "n4").then_some(())
        }
    })
    .await;
}
