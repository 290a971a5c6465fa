use super::*;
use crate::pod::plan::tests::{ctr, pod};
use serde_json::json;

struct Fixture {
    waiting: BTreeMap<String, Waiting>,
    probes: BTreeMap<String, ProbeFlags>,
    image_ids: BTreeMap<String, String>,
    ips: Vec<IpAddr>,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            waiting: BTreeMap::new(),
            probes: BTreeMap::new(),
            image_ids: BTreeMap::new(),
            ips: vec!["10.42.0.7".parse().unwrap()],
        }
    }
    fn compute(&self, p: &Pod, cs: &[ContainerStatus]) -> PodStatus {
        compute(&Input {
            pod: p,
            containers: cs,
            sandbox_ready: true,
            waiting: &self.waiting,
            probes: &self.probes,
            image_ids: &self.image_ids,
            pod_ips: &self.ips,
            host_ip: "192.168.0.2".parse().unwrap(),
            phase_override: None,
            reason: None,
            now: Utc::now(),
        })
    }
}

fn cond<'a>(st: &'a PodStatus, t: &str) -> &'a PodCondition {
    st.conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == t)
        .unwrap()
}

#[test]
fn pending_pod_waits_in_container_creating_or_pod_initializing() {
    let f = Fixture::new();
    let p = pod(
        json!({"initContainers": [{"name": "i"}], "containers": [{"name": "a", "image": "busybox"}]}),
    );
    let st = f.compute(&p, &[]);
    assert_eq!(st.phase.as_deref(), Some("Pending"));
    let a = &st.container_statuses.as_ref().unwrap()[0];
    assert_eq!(
        a.state
            .as_ref()
            .unwrap()
            .waiting
            .as_ref()
            .unwrap()
            .reason
            .as_deref(),
        Some("PodInitializing")
    );
    let init = cond(&st, "Initialized");
    assert_eq!(init.status, "False");
    assert_eq!(init.reason.as_deref(), Some("ContainersNotInitialized"));
    assert_eq!(
        init.message.as_deref(),
        Some("containers with incomplete status: [i]")
    );
    assert_eq!(cond(&st, "PodScheduled").status, "True");
    assert_eq!(cond(&st, "PodReadyToStartContainers").status, "True");
    assert_eq!(st.pod_ip.as_deref(), Some("10.42.0.7"));
    assert_eq!(st.host_ip.as_deref(), Some("192.168.0.2"));
    assert_eq!(st.qos_class.as_deref(), Some("BestEffort"));

    let p = pod(json!({"containers": [{"name": "a"}]}));
    let st = f.compute(&p, &[]);
    let a = &st.container_statuses.as_ref().unwrap()[0];
    assert_eq!(
        a.state
            .as_ref()
            .unwrap()
            .waiting
            .as_ref()
            .unwrap()
            .reason
            .as_deref(),
        Some("ContainerCreating")
    );
}

#[test]
fn running_ready_and_unready_containers() {
    let mut f = Fixture::new();
    let p = pod(json!({"containers": [{"name": "a", "image": "img"}, {"name": "b"}]}));
    let cs = [
        ctr("a", 0, ContainerState::Running, None, None),
        ctr("b", 0, ContainerState::Running, None, None),
    ];
    f.probes.insert(
        "a-0".into(),
        ProbeFlags {
            ready: true,
            started: true,
        },
    );
    f.probes.insert(
        "b-0".into(),
        ProbeFlags {
            ready: false,
            started: true,
        },
    );
    f.image_ids.insert("img".into(), "repo@sha256:1".into());
    let st = f.compute(&p, &cs);
    assert_eq!(st.phase.as_deref(), Some("Running"));
    let ready = cond(&st, "Ready");
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(
        ready.message.as_deref(),
        Some("containers with unready status: [b]")
    );
    let a = &st.container_statuses.as_ref().unwrap()[0];
    assert!(a.ready);
    assert_eq!(a.container_id.as_deref(), Some("skiff://a-0"));
    assert_eq!(a.image_id, "repo@sha256:1");
    f.probes.insert(
        "b-0".into(),
        ProbeFlags {
            ready: true,
            started: true,
        },
    );
    let st = f.compute(&p, &cs);
    assert_eq!(cond(&st, "Ready").status, "True");
    assert_eq!(cond(&st, "ContainersReady").status, "True");
}

#[test]
fn crash_loop_shows_waiting_with_last_state_and_restart_count() {
    let mut f = Fixture::new();
    let p = pod(json!({"containers": [{"name": "a"}]}));
    let now = Utc::now();
    let cs = [
        ctr("a", 0, ContainerState::Exited, Some(1), Some(now)),
        ctr("a", 1, ContainerState::Exited, Some(2), Some(now)),
    ];
    f.waiting.insert(
        "a".into(),
        Waiting {
            reason: "CrashLoopBackOff".into(),
            message: "back-off 10s".into(),
        },
    );
    let st = f.compute(&p, &cs);
    assert_eq!(
        st.phase.as_deref(),
        Some("Running"),
        "restartPolicy Always keeps it Running"
    );
    let a = &st.container_statuses.as_ref().unwrap()[0];
    assert_eq!(a.restart_count, 1);
    assert_eq!(
        a.state
            .as_ref()
            .unwrap()
            .waiting
            .as_ref()
            .unwrap()
            .reason
            .as_deref(),
        Some("CrashLoopBackOff")
    );
    let last = a.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!((last.exit_code, last.reason.as_deref()), (2, Some("Error")));
}

#[test]
fn succeeded_init_containers_are_ready_failed_ones_are_not() {
    let f = Fixture::new();
    let p = pod(json!({
        "initContainers": [{"name": "ok"}, {"name": "bad"}],
        "containers": [{"name": "a"}]
    }));
    let now = Utc::now();
    let cs = [
        ctr("ok", 0, ContainerState::Exited, Some(0), Some(now)),
        ctr("bad", 0, ContainerState::Exited, Some(1), Some(now)),
    ];
    let st = f.compute(&p, &cs);
    let init = st.init_container_statuses.as_ref().unwrap();
    assert!(init[0].ready, "exit 0: ready");
    assert!(!init[1].ready, "exit 1: not ready");
}

#[test]
fn terminal_phases() {
    let f = Fixture::new();
    let now = Utc::now();
    let ok = [ctr("a", 0, ContainerState::Exited, Some(0), Some(now))];
    let bad = [ctr("a", 0, ContainerState::Exited, Some(1), Some(now))];
    let p = |policy: &str| pod(json!({"restartPolicy": policy, "containers": [{"name": "a"}]}));
    let st = f.compute(&p("Never"), &ok);
    assert_eq!(st.phase.as_deref(), Some("Succeeded"));
    assert_eq!(cond(&st, "Ready").reason.as_deref(), Some("PodCompleted"));
    let t = st.container_statuses.as_ref().unwrap()[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(t.reason.as_deref(), Some("Completed"));
    assert_eq!(
        f.compute(&p("Never"), &bad).phase.as_deref(),
        Some("Failed")
    );
    assert_eq!(
        f.compute(&p("OnFailure"), &bad).phase.as_deref(),
        Some("Running")
    );
    assert_eq!(
        f.compute(&p("OnFailure"), &ok).phase.as_deref(),
        Some("Succeeded")
    );
}

#[test]
fn transition_times_are_kept_while_status_holds() {
    let f = Fixture::new();
    let mut p = pod(json!({"containers": [{"name": "a"}]}));
    let first = f.compute(&p, &[]);
    p.status = Some(first.clone());
    std::thread::sleep(std::time::Duration::from_millis(5));
    let second = f.compute(&p, &[]);
    assert_eq!(first, second);
}

#[test]
fn qos_classes() {
    let guaranteed = pod(
        json!({"containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}),
    );
    assert_eq!(qos_class(&guaranteed), "Guaranteed");
    let burstable =
        pod(json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}]}));
    assert_eq!(qos_class(&burstable), "Burstable");
    let mixed = pod(json!({"containers": [
        {"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}, {"name": "b"}]}));
    assert_eq!(qos_class(&mixed), "Burstable");
    assert_eq!(
        qos_class(&pod(json!({"containers": [{"name": "a"}]}))),
        "BestEffort"
    );
}
