use super::*;

fn res() -> LinuxResources {
    LinuxResources {
        cpu_request_millis: Some(250),
        cpu_limit_millis: Some(500),
        memory_limit_bytes: Some(64 << 20),
        pids_limit: Some(32),
    }
}

#[test]
fn conversions_match_kubelet() {
    assert_eq!(millis_to_shares(0), 2);
    assert_eq!(millis_to_shares(1000), 1024);
    assert_eq!(millis_to_shares(250), 256);
    assert_eq!(millis_to_quota(500), 50_000);
    assert_eq!(millis_to_quota(1), 1000);
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(1024), 39);
    assert_eq!(shares_to_weight(262_144), 10_000);
}

#[test]
fn detect_picks_v2_when_cgroup_controllers_exists() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(detect(dir.path()).version(), "v1");
    std::fs::write(dir.path().join("cgroup.controllers"), "cpu memory pids").unwrap();
    assert_eq!(detect(dir.path()).version(), "v2");
}

#[test]
fn v1_writes_limits_per_controller() {
    let dir = tempfile::tempdir().unwrap();
    for c in ["memory", "cpu", "cpuacct", "pids"] {
        std::fs::create_dir(dir.path().join(c)).unwrap();
    }
    let d = V1::new(dir.path().to_path_buf());
    d.create("skiff/pod-a/c1", Some(&res())).unwrap();
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    assert_eq!(
        read("memory/skiff/pod-a/c1/memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(read("cpu/skiff/pod-a/c1/cpu.shares"), "256");
    assert_eq!(read("cpu/skiff/pod-a/c1/cpu.cfs_quota_us"), "50000");
    assert_eq!(read("pids/skiff/pod-a/c1/pids.max"), "32");
    assert_eq!(d.procs_files("skiff/pod-a/c1").len(), 4);
    assert!(d.procs_files("skiff/pod-a/c1")[0].ends_with("tasks"));
    std::fs::write(
        dir.path().join("memory/skiff/pod-a/c1/memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    )
    .unwrap();
    assert_eq!(d.oom_kills("skiff/pod-a/c1"), 2);
    std::fs::write(
        dir.path()
            .join("memory/skiff/pod-a/c1/memory.usage_in_bytes"),
        "1000\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("memory/skiff/pod-a/c1/memory.stat"),
        "cache 5\ntotal_inactive_file 300\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("cpuacct/skiff/pod-a/c1/cpuacct.usage"),
        "12345\n",
    )
    .unwrap();
    let s = d.stats("skiff/pod-a/c1").unwrap();
    assert_eq!(
        (s.memory_working_set_bytes, s.cpu_usage_nanos),
        (700, 12345)
    );
}

#[test]
fn v2_enables_controllers_and_writes_limits() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cgroup.controllers"),
        "cpuset cpu io memory pids",
    )
    .unwrap();
    std::fs::write(dir.path().join("cgroup.subtree_control"), "").unwrap();
    let d = V2::new(dir.path().to_path_buf());
    d.create("skiff/c1", Some(&res())).unwrap();
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    assert_eq!(read("cgroup.subtree_control"), "+cpu +memory +pids");
    assert_eq!(read("skiff/c1/memory.max"), (64u64 << 20).to_string());
    assert_eq!(read("skiff/c1/cpu.max"), "50000 100000");
    assert_eq!(read("skiff/c1/cpu.weight"), "10");
    assert_eq!(read("skiff/c1/pids.max"), "32");
    std::fs::write(
        dir.path().join("skiff/c1/memory.events"),
        "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n",
    )
    .unwrap();
    assert_eq!(d.oom_kills("skiff/c1"), 1);
    std::fs::write(dir.path().join("skiff/c1/memory.oom.group"), "0").unwrap();
    d.kill_whole_on_oom("skiff/c1").unwrap();
    assert_eq!(
        read("skiff/c1/memory.oom.group"),
        "1",
        "OOM takes the whole container"
    );
    std::fs::write(
        dir.path().join("skiff/c1/cpu.stat"),
        "usage_usec 7\nnr_throttled 3\n",
    )
    .unwrap();
    let s = d.stats("skiff/c1").unwrap();
    assert_eq!((s.cpu_usage_nanos, s.cpu_nr_throttled), (7000, 3));
}
