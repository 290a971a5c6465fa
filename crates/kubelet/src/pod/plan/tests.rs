use super::*;
use chrono::TimeDelta;
use serde_json::json;
use skiff_runtime::ContainerStatus;

pub(crate) fn pod(spec: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": spec
    }))
    .unwrap()
}

pub(crate) fn ctr(
    name: &str,
    attempt: u32,
    state: ContainerState,
    exit: Option<i32>,
    finished: Option<DateTime<Utc>>,
) -> ContainerStatus {
    ContainerStatus {
        id: format!("{name}-{attempt}"),
        sandbox_id: "sb".into(),
        name: name.into(),
        attempt,
        image: "img".into(),
        state,
        created_at: Utc::now(),
        started_at: Some(Utc::now()),
        finished_at: finished,
        exit_code: exit,
        reason: String::new(),
        message: String::new(),
        pid: None,
        log_path: Default::default(),
        cgroup_path: String::new(),
        labels: Default::default(),
        annotations: Default::default(),
    }
}

fn start(name: &str, init: bool, restart_of: Option<DateTime<Utc>>) -> Action {
    Action::Start {
        name: name.into(),
        init,
        restart_of,
    }
}

#[test]
fn init_containers_run_one_at_a_time_before_app_containers() {
    let p = pod(json!({
        "initContainers": [{"name": "i1"}, {"name": "i2"}],
        "containers": [{"name": "a"}, {"name": "b"}]
    }));
    let b = Backoff::default();
    let probes = BTreeMap::new();
    let now = Utc::now();
    let plan_of = |cs: &[ContainerStatus]| plan(&p, cs, &probes, &b, now).actions;
    assert_eq!(plan_of(&[]), vec![start("i1", true, None)]);
    assert_eq!(
        plan_of(&[ctr("i1", 0, ContainerState::Running, None, None)]),
        vec![]
    );
    assert_eq!(
        plan_of(&[ctr("i1", 0, ContainerState::Exited, Some(0), Some(now))]),
        vec![start("i2", true, None)]
    );
    assert_eq!(
        plan_of(&[
            ctr("i1", 0, ContainerState::Exited, Some(0), Some(now)),
            ctr("i2", 0, ContainerState::Exited, Some(0), Some(now)),
        ]),
        vec![start("a", false, None), start("b", false, None)]
    );
}

#[test]
fn failed_init_container_fails_the_pod_under_never_and_restarts_otherwise() {
    let now = Utc::now();
    let cs = [ctr(
        "i1",
        0,
        ContainerState::Exited,
        Some(1),
        Some(now - TimeDelta::seconds(60)),
    )];
    let never = pod(
        json!({"restartPolicy": "Never", "initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
    );
    let out = plan(&never, &cs, &BTreeMap::new(), &Backoff::default(), now);
    assert_eq!(out.actions, vec![Action::Done]);
    assert_eq!(out.phase_override, Some("Failed"));
    let always = pod(json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}));
    let out = plan(&always, &cs, &BTreeMap::new(), &Backoff::default(), now);
    assert_eq!(out.actions, vec![start("i1", true, cs[0].finished_at)]);
}

#[test]
fn restart_policies_and_crash_loop_back_off() {
    let now = Utc::now();
    let finished = now - TimeDelta::seconds(3);
    let failed = [ctr("a", 1, ContainerState::Exited, Some(2), Some(finished))];
    let ok = [ctr("a", 0, ContainerState::Exited, Some(0), Some(finished))];
    let mut b = Backoff::default();
    let probes = BTreeMap::new();
    let p = |policy: &str| pod(json!({"restartPolicy": policy, "containers": [{"name": "a"}]}));

    // Not backing off yet: restart at once.
    assert_eq!(
        plan(&p("Always"), &failed, &probes, &b, now).actions,
        vec![start("a", false, Some(finished))]
    );
    // Backing off: CrashLoopBackOff with upstream's message.
    b.next(&backoff_key("u1", "a"), finished - TimeDelta::seconds(1));
    let out = plan(&p("Always"), &failed, &probes, &b, now);
    assert!(out.actions.is_empty());
    assert_eq!(
        out.waiting["a"],
        Waiting {
            reason: "CrashLoopBackOff".into(),
            message: "back-off 10s restarting failed container=a pod=web_default(u1)".into()
        }
    );
    // OnFailure restarts failures only; Never never.
    let b0 = Backoff::default();
    assert_eq!(
        plan(&p("OnFailure"), &failed, &probes, &b0, now).actions,
        vec![start("a", false, Some(finished))]
    );
    assert_eq!(
        plan(&p("OnFailure"), &ok, &probes, &b0, now).actions,
        vec![Action::Done]
    );
    assert_eq!(
        plan(&p("Never"), &failed, &probes, &b0, now).actions,
        vec![Action::Done]
    );
    assert_eq!(
        plan(&p("Always"), &ok, &probes, &b0, now).actions,
        vec![start("a", false, Some(finished))]
    );
}

#[test]
fn failed_liveness_and_changed_definitions_kill() {
    let now = Utc::now();
    let p = pod(json!({"containers": [{"name": "a"}, {"name": "b", "image": "new"}]}));
    let mut b_old = ctr("b", 0, ContainerState::Running, None, None);
    b_old
        .annotations
        .insert(CONTAINER_HASH.into(), "stale".into());
    let cs = [ctr("a", 0, ContainerState::Running, None, None), b_old];
    let probes = BTreeMap::from([(
        "a-0".to_string(),
        ProbeResults {
            liveness_failed: true,
            ..Default::default()
        },
    )]);
    let out = plan(&p, &cs, &probes, &Backoff::default(), now);
    assert_eq!(
        out.actions,
        vec![
            Action::Kill {
                id: "a-0".into(),
                name: "a".into(),
                message: "Container a failed liveness probe, will be restarted".into()
            },
            Action::Kill {
                id: "b-0".into(),
                name: "b".into(),
                message: "Container b definition changed, will be restarted".into()
            },
        ]
    );
}

#[test]
fn sidecars_start_before_the_next_init_container_and_keep_running() {
    let now = Utc::now();
    let p = pod(json!({
        "initContainers": [
            {"name": "side", "restartPolicy": "Always", "startupProbe": {"exec": {"command": ["true"]}}},
            {"name": "i2"}],
        "containers": [{"name": "a"}]
    }));
    let side = ctr("side", 0, ContainerState::Running, None, None);
    let not_started = BTreeMap::from([(
        "side-0".to_string(),
        ProbeResults {
            started: Some(false),
            ..Default::default()
        },
    )]);
    let b = Backoff::default();
    assert!(
        plan(&p, std::slice::from_ref(&side), &not_started, &b, now)
            .actions
            .is_empty()
    );
    let started = BTreeMap::from([(
        "side-0".to_string(),
        ProbeResults {
            started: Some(true),
            ..Default::default()
        },
    )]);
    assert_eq!(
        plan(&p, std::slice::from_ref(&side), &started, &b, now).actions,
        vec![start("i2", true, None)]
    );
}

#[test]
fn go_durations() {
    use std::time::Duration;
    assert_eq!(go_duration(Duration::from_secs(10)), "10s");
    assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
    assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
}
