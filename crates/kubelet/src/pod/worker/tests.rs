//! The worker's state machine against a recording fake runtime and a fake API.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use serde_json::json;
use skiff_images::ImageRecord;
use skiff_runtime::{
    AttachSession, ContainerConfig, ContainerState, ExecOptions, ExecSession, ExecSyncResult,
    PodSandboxConfig, PodSandboxStatus,
};

use super::*;
use crate::NoopNetwork;

#[derive(Default)]
struct FakeRuntime {
    calls: Mutex<Vec<String>>,
    sandboxes: Mutex<Vec<PodSandboxStatus>>,
    containers: Mutex<Vec<ContainerStatus>>,
    /// `set_pod_sandbox_ip` calls: (sandbox, IP).
    ips: Mutex<Vec<(String, IpAddr)>>,
}

fn rerr(what: &str) -> skiff_runtime::Error {
    skiff_runtime::Error::InvalidArgument(what.into())
}

impl FakeRuntime {
    fn call(&self, c: String) {
        self.calls.lock().unwrap().push(c);
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl RuntimeService for FakeRuntime {
    async fn run_pod_sandbox(&self, config: PodSandboxConfig) -> skiff_runtime::Result<String> {
        self.call(format!("run_pod_sandbox {}", config.name));
        let id = format!("sb{}", self.sandboxes.lock().unwrap().len());
        self.sandboxes.lock().unwrap().push(PodSandboxStatus {
            id: id.clone(),
            config,
            state: SandboxState::Ready,
            created_at: Utc::now(),
            netns_path: None,
            init_pid: None,
            cgroup_path: String::new(),
        });
        Ok(id)
    }
    async fn stop_pod_sandbox(&self, id: &str) -> skiff_runtime::Result<()> {
        self.call(format!("stop_pod_sandbox {id}"));
        for s in self
            .sandboxes
            .lock()
            .unwrap()
            .iter_mut()
            .filter(|s| s.id == id)
        {
            s.state = SandboxState::NotReady;
        }
        Ok(())
    }
    async fn set_pod_sandbox_ip(&self, id: &str, ip: IpAddr) -> skiff_runtime::Result<()> {
        self.ips.lock().unwrap().push((id.to_string(), ip));
        Ok(())
    }
    async fn remove_pod_sandbox(&self, id: &str) -> skiff_runtime::Result<()> {
        self.call(format!("remove_pod_sandbox {id}"));
        self.sandboxes.lock().unwrap().retain(|s| s.id != id);
        Ok(())
    }
    async fn pod_sandbox_status(&self, id: &str) -> skiff_runtime::Result<PodSandboxStatus> {
        self.sandboxes
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .ok_or_else(|| rerr("no sandbox"))
    }
    async fn list_pod_sandboxes(
        &self,
        labels: BTreeMap<String, String>,
    ) -> skiff_runtime::Result<Vec<PodSandboxStatus>> {
        Ok(self
            .sandboxes
            .lock()
            .unwrap()
            .iter()
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.config.labels.get(k) == Some(v))
            })
            .cloned()
            .collect())
    }
    async fn create_container(
        &self,
        sandbox_id: &str,
        config: ContainerConfig,
        _sandbox_config: &PodSandboxConfig,
    ) -> skiff_runtime::Result<String> {
        self.call(format!(
            "create_container {} attempt={}",
            config.name, config.attempt
        ));
        let id = format!("{}-{}", config.name, config.attempt);
        self.containers.lock().unwrap().push(ContainerStatus {
            id: id.clone(),
            sandbox_id: sandbox_id.into(),
            name: config.name.clone(),
            attempt: config.attempt,
            image: config.image.clone(),
            state: ContainerState::Created,
            created_at: Utc::now(),
            started_at: None,
            finished_at: None,
            exit_code: None,
            reason: String::new(),
            message: String::new(),
            pid: None,
            log_path: Default::default(),
            cgroup_path: String::new(),
            labels: config.labels,
            annotations: config.annotations,
        });
        Ok(id)
    }
    async fn start_container(&self, id: &str) -> skiff_runtime::Result<()> {
        self.call(format!("start_container {id}"));
        for c in self
            .containers
            .lock()
            .unwrap()
            .iter_mut()
            .filter(|c| c.id == id)
        {
            c.state = ContainerState::Running;
            c.started_at = Some(Utc::now());
        }
        Ok(())
    }
    async fn stop_container(&self, id: &str, timeout: Duration) -> skiff_runtime::Result<()> {
        self.call(format!("stop_container {id} {}s", timeout.as_secs()));
        for c in self
            .containers
            .lock()
            .unwrap()
            .iter_mut()
            .filter(|c| c.id == id)
        {
            if c.state == ContainerState::Running {
                c.state = ContainerState::Exited;
                c.exit_code = Some(143);
                c.finished_at = Some(Utc::now());
            }
        }
        Ok(())
    }
    async fn remove_container(&self, id: &str) -> skiff_runtime::Result<()> {
        self.call(format!("remove_container {id}"));
        self.containers.lock().unwrap().retain(|c| c.id != id);
        Ok(())
    }
    async fn container_status(&self, id: &str) -> skiff_runtime::Result<ContainerStatus> {
        self.containers
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or_else(|| rerr("no container"))
    }
    async fn list_containers(
        &self,
        f: ContainerFilter,
    ) -> skiff_runtime::Result<Vec<ContainerStatus>> {
        Ok(self
            .containers
            .lock()
            .unwrap()
            .iter()
            .filter(|c| f.sandbox_id.as_ref().is_none_or(|s| *s == c.sandbox_id))
            .cloned()
            .collect())
    }
    async fn wait_container(&self, id: &str) -> skiff_runtime::Result<ContainerStatus> {
        self.container_status(id).await
    }
    async fn exec(
        &self,
        _: &str,
        _: Vec<String>,
        _: ExecOptions,
    ) -> skiff_runtime::Result<ExecSession> {
        Err(rerr("exec"))
    }
    async fn exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        _: Duration,
    ) -> skiff_runtime::Result<ExecSyncResult> {
        self.call(format!("exec_sync {id} {}", cmd.join(" ")));
        Ok(ExecSyncResult {
            exit_code: 0,
            stdout: vec![],
            stderr: vec![],
        })
    }
    async fn attach(&self, _: &str) -> skiff_runtime::Result<AttachSession> {
        Err(rerr("attach"))
    }
    async fn container_stats(
        &self,
        _: &str,
    ) -> skiff_runtime::Result<skiff_runtime::ContainerStats> {
        Err(rerr("stats"))
    }
    async fn reopen_container_log(&self, _: &str) -> skiff_runtime::Result<()> {
        Ok(())
    }
}

struct FakeImages;

#[async_trait]
impl ImageService for FakeImages {
    async fn pull_image(&self, reference: &str) -> skiff_runtime::Result<ImageRecord> {
        Ok(self
            .image_status(reference)
            .await?
            .unwrap_or_else(|| unreachable!()))
    }
    async fn list_images(&self) -> skiff_runtime::Result<Vec<ImageRecord>> {
        Ok(vec![])
    }
    async fn image_status(&self, reference: &str) -> skiff_runtime::Result<Option<ImageRecord>> {
        Ok(Some(ImageRecord {
            reference: reference.into(),
            digest: "sha256:abc".into(),
            config: Default::default(),
            layers: vec![],
            id: String::new(),
            size: 1,
        }))
    }
    async fn remove_image(&self, _: &str) -> skiff_runtime::Result<()> {
        Ok(())
    }
}

#[derive(Default)]
struct FakeApi {
    configmaps: Mutex<BTreeMap<String, ConfigMap>>,
    statuses: Mutex<Vec<PodStatus>>,
    events: Mutex<Vec<(String, String)>>,
    deleted: Mutex<Vec<String>>,
}

#[async_trait]
impl PodApi for FakeApi {
    async fn configmap(&self, _: &str, name: &str) -> Result<Option<ConfigMap>> {
        Ok(self.configmaps.lock().unwrap().get(name).cloned())
    }
    async fn secret(&self, _: &str, _: &str) -> Result<Option<Secret>> {
        Ok(None)
    }
    async fn services(&self, _: &str) -> Result<Vec<Service>> {
        Ok(vec![])
    }
    async fn patch_status(&self, _: &str, _: &str, status: &PodStatus) -> Result<()> {
        self.statuses.lock().unwrap().push(status.clone());
        Ok(())
    }
    async fn delete_pod(&self, _: &str, name: &str, _: &str) -> Result<()> {
        self.deleted.lock().unwrap().push(name.into());
        Ok(())
    }
    async fn service_account_token(
        &self,
        req: &super::super::api::TokenFor,
    ) -> Result<Option<String>> {
        Ok(Some(format!("token-for-{}", req.service_account)))
    }
    fn event(&self, _: &Target, _: &str, reason: &str, message: String) {
        self.events.lock().unwrap().push((reason.into(), message));
    }
}

struct Setup {
    rt: Arc<FakeRuntime>,
    api: Arc<FakeApi>,
    ctx: Arc<Ctx>,
    _tmp: tempfile::TempDir,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let rt = Arc::new(FakeRuntime::default());
    let api = Arc::new(FakeApi::default());
    let ctx = Arc::new(Ctx {
        config: KubeletConfig::new("n1", "10.0.0.9".parse().unwrap(), tmp.path()),
        runtime: rt.clone(),
        images: Arc::new(FakeImages),
        network: Arc::new(NoopNetwork("10.42.0.3".parse().unwrap())),
        api: api.clone(),
        allocatable: BTreeMap::new(),
        restart_backoff: Mutex::default(),
        image_backoff: Mutex::default(),
    });
    Setup {
        rt,
        api,
        ctx,
        _tmp: tmp,
    }
}

fn pod(spec: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": spec
    }))
    .unwrap()
}

#[tokio::test]
async fn walks_from_preparing_to_running_and_reports_status() {
    let s = setup();
    let mut w = Worker::new(
        s.ctx.clone(),
        pod(
            json!({"containers": [{"name": "app", "image": "img:1", "imagePullPolicy": "IfNotPresent"}]}),
        ),
    );
    assert_eq!(w.state, State::Preparing);
    assert_eq!(w.step().await, Next::Now);
    assert_eq!(w.state, State::Sandbox);
    assert_eq!(w.step().await, Next::Now);
    assert_eq!(
        w.state,
        State::Running {
            sandbox: "sb0".into()
        }
    );
    w.step().await;
    assert_eq!(
        s.rt.calls(),
        vec![
            "run_pod_sandbox web",
            "create_container app attempt=0",
            "start_container app-0"
        ]
    );
    let st = s.api.statuses.lock().unwrap().last().cloned().unwrap();
    assert_eq!(st.phase.as_deref(), Some("Running"));
    assert_eq!(st.pod_ip.as_deref(), Some("10.42.0.3"));
    assert_eq!(st.host_ip.as_deref(), Some("10.0.0.9"));
    assert_eq!(
        s.rt.ips.lock().unwrap().clone(),
        vec![("sb0".to_string(), "10.42.0.3".parse().unwrap())],
        "the pod's /etc/hosts learns its IP"
    );
    let reasons: Vec<String> = s
        .api
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.0.clone())
        .collect();
    assert_eq!(reasons, vec!["Pulled", "Created", "Started"]);
    // A steady pod does nothing more.
    w.step().await;
    assert_eq!(s.rt.calls().len(), 3);
}

#[tokio::test]
async fn missing_configmap_waits_with_failed_mount_then_proceeds() {
    let s = setup();
    let mut w = Worker::new(
        s.ctx.clone(),
        pod(json!({"containers": [{"name": "app", "image": "img"}],
                   "volumes": [{"name": "cfg", "configMap": {"name": "x"}}]})),
    );
    assert_eq!(w.step().await, Next::After(Duration::from_secs(2)));
    assert_eq!(w.state, State::Preparing);
    assert_eq!(
        s.api.events.lock().unwrap().last().cloned().unwrap(),
        (
            "FailedMount".to_string(),
            "MountVolume.SetUp failed for volume \"cfg\" : configmap \"x\" not found".to_string()
        )
    );
    let st = s.api.statuses.lock().unwrap().last().cloned().unwrap();
    assert_eq!(st.phase.as_deref(), Some("Pending"));
    s.api.configmaps.lock().unwrap().insert(
        "x".into(),
        serde_json::from_value(json!({"data": {"k": "v"}})).unwrap(),
    );
    w.refresh_sources(true).await.unwrap();
    w.step().await;
    assert_eq!(w.state, State::Sandbox);
}

#[tokio::test]
async fn deletion_stops_within_grace_tears_down_and_deletes_the_object() {
    let s = setup();
    let mut p = pod(json!({"terminationGracePeriodSeconds": 7,
        "containers": [{"name": "app", "image": "img:1", "imagePullPolicy": "IfNotPresent"}]}));
    let mut w = Worker::new(s.ctx.clone(), p.clone());
    for _ in 0..3 {
        w.step().await;
    }
    p.metadata.deletion_timestamp = Some(crate::ktime(Utc::now()));
    p.metadata.deletion_grace_period_seconds = Some(7);
    w.update(Some(p));
    assert_eq!(w.step().await, Next::Done);
    assert_eq!(w.state, State::Terminated);
    let calls = s.rt.calls();
    assert!(
        calls[3] == "stop_container app-0 7s" || calls[3] == "stop_container app-0 6s",
        "SIGKILL after the rest of the grace period: {}",
        calls[3]
    );
    assert_eq!(
        calls[4..],
        [
            "stop_pod_sandbox sb0",
            "remove_container app-0",
            "remove_pod_sandbox sb0"
        ]
    );
    assert_eq!(*s.api.deleted.lock().unwrap(), vec!["web".to_string()]);
    assert!(
        s.api
            .events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.1 == "Stopping container app")
    );
}

#[tokio::test]
async fn adopts_a_running_sandbox_without_restarting_anything() {
    let s = setup();
    let p = pod(
        json!({"hostNetwork": true, "containers": [{"name": "app", "image": "img:1", "imagePullPolicy": "IfNotPresent"}]}),
    );
    // A previous agent ran the pod.
    let mut first = Worker::new(s.ctx.clone(), p.clone());
    for _ in 0..3 {
        first.step().await;
    }
    drop(first);
    let before = s.rt.calls().len();
    let mut second = Worker::new(s.ctx.clone(), p);
    for _ in 0..4 {
        second.step().await;
    }
    assert_eq!(s.rt.calls().len(), before, "{:?}", s.rt.calls());
    assert_eq!(
        second.state,
        State::Running {
            sandbox: "sb0".into()
        }
    );
    let st = s.api.statuses.lock().unwrap().last().cloned().unwrap();
    assert_eq!(st.container_statuses.unwrap()[0].restart_count, 0);
    assert_eq!(
        st.pod_ip.as_deref(),
        Some("10.0.0.9"),
        "host network pods use the node IP"
    );
}

#[tokio::test]
async fn container_config_errors_wait_with_create_container_config_error() {
    let s = setup();
    let mut w = Worker::new(
        s.ctx.clone(),
        pod(
            json!({"containers": [{"name": "app", "image": "img:1", "imagePullPolicy": "IfNotPresent",
            "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]}]}),
        ),
    );
    for _ in 0..3 {
        w.step().await;
    }
    let st = s.api.statuses.lock().unwrap().last().cloned().unwrap();
    let waiting = st.container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(
        waiting.reason.as_deref(),
        Some("CreateContainerConfigError")
    );
    assert_eq!(
        waiting.message.as_deref(),
        Some("configmap \"nope\" not found")
    );
    assert_eq!(st.phase.as_deref(), Some("Pending"));
}

#[tokio::test]
async fn projected_service_account_tokens_are_written() {
    let s = setup();
    let mut w = Worker::new(
        s.ctx.clone(),
        pod(
            json!({"serviceAccountName": "robot", "containers": [{"name": "app", "image": "img"}],
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}
            ]}}]}),
        ),
    );
    w.step().await;
    assert_eq!(w.state, State::Sandbox);
    let dir = s
        .ctx
        .config
        .pod_dir("u1")
        .join("volumes/kubernetes.io~projected/kube-api-access");
    assert_eq!(
        std::fs::read_to_string(dir.join("token")).unwrap(),
        "token-for-robot"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("namespace")).unwrap(),
        "default"
    );
}

#[tokio::test]
async fn pod_past_its_active_deadline_is_stopped_and_failed() {
    let s = setup();
    let mut w = Worker::new(
        s.ctx.clone(),
        pod(json!({"activeDeadlineSeconds": 5,
                   "containers": [{"name": "app", "image": "img:1", "imagePullPolicy": "IfNotPresent"}]})),
    );
    w.step().await;
    w.step().await;
    w.step().await;
    assert!(matches!(w.state, State::Running { .. }));
    let mut status = w.pod.status.clone().unwrap_or_default();
    status.start_time = Some(crate::ktime(Utc::now() - chrono::Duration::seconds(6)));
    w.pod.status = Some(status);
    w.step().await;
    assert_eq!(w.state, State::Finished);
    assert!(
        s.rt.calls().iter().any(|c| c.starts_with("stop_container")),
        "{:?}",
        s.rt.calls()
    );
    let st = s.api.statuses.lock().unwrap().last().cloned().unwrap();
    assert_eq!(st.phase.as_deref(), Some("Failed"));
    assert_eq!(st.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(
        st.message.as_deref(),
        Some("Pod was active on the node longer than the specified deadline")
    );
    let events = s.api.events.lock().unwrap().clone();
    assert!(
        events.iter().any(|e| e.0 == "DeadlineExceeded"),
        "{events:?}"
    );
}
