//! Cgroup limits: memory (OOMKilled, 137), pids (fork bomb contained), CPU quota (throttling).

mod common;

use std::time::Duration;

use common::*;
use skiff_runtime::{LinuxResources, RuntimeService};

#[tokio::test]
async fn memory_limit_kills_a_hog_with_oomkilled() {
    let env = Env::new("oom");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("oom")).await.unwrap();
    let mut cfg = sh(
        "hog",
        "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
    );
    cfg.resources = LinuxResources {
        memory_limit_bytes: Some(32 << 20),
        ..Default::default()
    };
    let id = run(&rt, &sb, cfg).await;
    let st = wait(&rt, &id, 20).await;
    assert_eq!(
        (st.exit_code, st.reason.as_str()),
        (Some(137), "OOMKilled"),
        "{st:?}"
    );
    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}

#[tokio::test]
async fn pids_limit_stops_a_fork_bomb() {
    let env = Env::new("pids");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("pids")).await.unwrap();
    let mut cfg = sh(
        "bomb",
        "i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done 2>/dev/null; echo spawned; sleep 30",
    );
    cfg.resources = LinuxResources {
        pids_limit: Some(10),
        ..Default::default()
    };
    let id = run(&rt, &sb, cfg).await;
    let st = rt.container_status(&id).await.unwrap();
    let pids_dir = std::path::Path::new("/sys/fs/cgroup/pids").join(&st.cgroup_path);
    let unified = std::path::Path::new("/sys/fs/cgroup").join(&st.cgroup_path);
    let dir = if pids_dir.is_dir() { pids_dir } else { unified };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = std::fs::read_to_string(dir.join("pids.events")).unwrap_or_default();
        let max_hits: u64 = events
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if max_hits > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pids.max never hit: {events}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let current: u64 = std::fs::read_to_string(dir.join("pids.current"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(current <= 10, "pids.current {current}");
    rt.stop_container(&id, Duration::ZERO).await.unwrap();
    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}

#[tokio::test]
async fn cpu_quota_throttles() {
    let env = Env::new("cpu");
    let rt = env.open();
    let sb = rt.run_pod_sandbox(sandbox_config("cpu")).await.unwrap();
    let mut cfg = sh("spin", "while :; do :; done");
    cfg.resources = LinuxResources {
        cpu_limit_millis: Some(100),
        cpu_request_millis: Some(100),
        ..Default::default()
    };
    let id = run(&rt, &sb, cfg).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let stats = rt.container_stats(&id).await.unwrap();
    assert!(stats.cpu_nr_throttled > 0, "{stats:?}");
    // 10% of one CPU for ~0.8 s is ~80 ms; allow generous slack but far below 800 ms.
    assert!(stats.cpu_usage_nanos < 300_000_000, "{stats:?}");
    assert!(stats.memory_working_set_bytes > 0, "{stats:?}");
    rt.stop_container(&id, Duration::from_secs(1))
        .await
        .unwrap();
    rt.remove_pod_sandbox(&sb).await.unwrap();
    env.assert_clean();
}
