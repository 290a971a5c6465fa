//! Containers outlive the process that started them (SIGKILLed), and a shared PID namespace
//! puts a pod's containers under the sandbox init.

mod common;

use std::io::BufRead;
use std::time::Duration;

use common::*;
use skiff_runtime::{ContainerState, Runtime, RuntimeService};

const ROOT_VAR: &str = "SKIFF_RT_SURVIVE_ROOT";
const CGROUP_VAR: &str = "SKIFF_RT_SURVIVE_CGROUP";

/// Run by `shim_survives_sigkill_of_the_runtime_process` in a child process: start a
/// container, report, then wait to be killed.
#[tokio::test]
#[ignore = "helper of shim_survives_sigkill_of_the_runtime_process"]
async fn child_starts_container_and_hangs() {
    let (Ok(root), Ok(cgroup)) = (std::env::var(ROOT_VAR), std::env::var(CGROUP_VAR)) else {
        return;
    };
    let mut cfg = Env::new("unused").config();
    cfg.root = root.into();
    cfg.cgroup_parent = cgroup;
    let rt = Runtime::open(cfg, images()).unwrap();
    let sb = rt
        .run_pod_sandbox(sandbox_config("survivor"))
        .await
        .unwrap();
    let id = run(&rt, &sb, sh("survivor", "echo up; exec sleep 60")).await;
    println!("READY {sb} {id}");
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[tokio::test]
async fn shim_survives_sigkill_of_the_runtime_process() {
    let env = Env::new("survive");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_starts_container_and_hangs",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROOT_VAR, &env.root)
        .env(CGROUP_VAR, &env.cgroup_parent)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = None;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(at) = line.find("READY ") {
            ready = Some(
                line[at + 6..]
                    .split_whitespace()
                    .map(String::from)
                    .collect::<Vec<_>>(),
            );
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let ids = ready.expect("child never reported READY");
    let (sb, id) = (&ids[0], &ids[1]);

    let rt = env.open();
    let st = rt.container_status(id).await.unwrap();
    assert_eq!(st.state, ContainerState::Running, "{st:?}");
    let r = rt
        .exec_sync(
            id,
            vec!["cat".into(), "/proc/1/comm".into()],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(r.stdout, b"sleep\n");
    rt.stop_container(id, Duration::ZERO).await.unwrap();
    let st = rt.container_status(id).await.unwrap();
    assert_eq!(
        (st.state, st.exit_code),
        (ContainerState::Exited, Some(137))
    );
    assert!(log_lines(&st).contains(&("stdout".into(), "up".into())));
    rt.remove_pod_sandbox(sb).await.unwrap();
    env.assert_clean();
}

#[tokio::test]
async fn shared_process_namespace_shows_other_containers() {
    let env = Env::new("sharepid");
    let rt = env.open();
    let mut cfg = sandbox_config("sharepid");
    cfg.share_process_namespace = true;
    let sb = rt.run_pod_sandbox(cfg).await.unwrap();
    let sleeper = run(&rt, &sb, sh("sleeper", "exec sleep 60")).await;
    let looker = run(
        &rt,
        &sb,
        sh("looker", "for i in $(seq 50); do pidof sleep && break; sleep 0.05; done; echo self=$$; cat /proc/1/cmdline | tr '\\0' ' '"),
    )
    .await;
    let st = wait(&rt, &looker, 10).await;
    let out: Vec<String> = log_lines(&st).into_iter().map(|(_, t)| t).collect();
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(out[0].parse::<i32>().is_ok_and(|p| p > 1), "{out:?}");
    assert_ne!(
        out[1], "self=1",
        "container is not PID 1 in a shared namespace: {out:?}"
    );
    assert!(
        out[2].contains("__runtime"),
        "PID 1 should be the sandbox init: {out:?}"
    );
    rt.stop_container(&sleeper, Duration::ZERO).await.unwrap();
    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}
