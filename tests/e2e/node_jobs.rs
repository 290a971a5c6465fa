//! Jobs and CronJobs on a real node: a Job completes its completions exactly, a failing Job
//! stops at its backoffLimit, a CronJob fires on schedule and `kubectl create job --from`.

use skiff_testkit::Kubectl;

use crate::eventually;
use crate::node_pods::node_cluster;

fn jobs(image: &str) -> String {
    format!(
        r#"apiVersion: batch/v1
kind: Job
metadata:
  name: twice
spec:
  completions: 2
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: {image}
        command: ["sh", "-c", "echo done"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: doomed
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: {image}
        command: ["sh", "-c", "echo trying; exit 3"]
"#
    )
}

fn wait_for(k: &Kubectl, what: &str, condition: &str, secs: u64) {
    let out = k.run(&[
        "wait",
        &format!("--for=condition={condition}"),
        what,
        &format!("--timeout={secs}s"),
    ]);
    assert!(
        out.status.success(),
        "{what} not {condition}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&k.run(&["describe", what]).stdout)
    );
}

fn pod_count(k: &Kubectl, selector: &str) -> usize {
    k.ok(&["get", "pods", "-l", selector, "-o", "name"])
        .lines()
        .count()
}

crate::kubectl_test!(jobs_complete_or_stop_at_their_backoff_limit, |v| {
    let c = node_cluster(v);
    let k = &c.k;
    k.ok_stdin(&["apply", "-f", "-"], Some(&jobs(&c.image)));
    wait_for(k, "job/twice", "complete", 60);
    let counts = "jsonpath={.status.succeeded} {.status.failed} {.status.active}";
    assert_eq!(k.ok(&["get", "job", "twice", "-o", counts]), "2 0 0");
    assert_eq!(pod_count(k, "job-name=twice"), 2);
    assert!(
        !k.ok(&[
            "get",
            "job",
            "twice",
            "-o",
            "jsonpath={.status.completionTime}"
        ])
        .is_empty()
    );
    assert_eq!(k.ok(&["logs", "job/twice"]).trim(), "done");
    // every pod's tracking finalizer is gone once it is counted
    let fins = k.ok(&[
        "get",
        "pods",
        "-l",
        "job-name=twice",
        "-o",
        "jsonpath={.items[*].metadata.finalizers}",
    ]);
    assert!(fins.trim().is_empty(), "{fins}");

    // backoffLimit 1: the first failure is retried (after the 10 s backoff), the second ends it
    wait_for(k, "job/doomed", "failed", 75);
    let failed = "jsonpath={.status.conditions[?(@.type==\"Failed\")].reason}";
    assert_eq!(
        k.ok(&["get", "job", "doomed", "-o", failed]),
        "BackoffLimitExceeded"
    );
    assert_eq!(k.ok(&["get", "job", "doomed", "-o", counts]), "0 2 0");
    assert_eq!(pod_count(k, "job-name=doomed"), 2);
    // nothing more happens: no third pod, counts unchanged
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(pod_count(k, "job-name=doomed"), 2);
    assert_eq!(k.ok(&["get", "job", "twice", "-o", counts]), "2 0 0");
});

fn cronjob(image: &str) -> String {
    format!(
        r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "*/1 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: {image}
            command: ["sh", "-c", "echo tick"]
"#
    )
}

/// Jobs owned by CronJob `tick`, by name.
fn jobs_of_tick(k: &Kubectl) -> Vec<String> {
    let out = k.ok(&[
        "get",
        "jobs",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}{\"\\n\"}{end}",
    ]);
    out.lines()
        .filter_map(|l| l.strip_suffix(" CronJob/tick"))
        .map(str::to_string)
        .collect()
}

// A schedule of every minute fires at the next minute boundary (at most 60 s away): the
// manual run is checked while waiting for it.
crate::kubectl_test!(cronjob_fires_on_schedule_and_on_demand, |v| {
    let c = node_cluster(v);
    let k = &c.k;
    k.ok_stdin(&["apply", "-f", "-"], Some(&cronjob(&c.image)));
    let created = std::time::SystemTime::now();

    k.ok(&["create", "job", "tick-manual", "--from=cronjob/tick"]);
    let instantiate = "jsonpath={.metadata.annotations.cronjob\\.kubernetes\\.io/instantiate}";
    assert_eq!(
        k.ok(&["get", "job", "tick-manual", "-o", instantiate]),
        "manual"
    );
    wait_for(k, "job/tick-manual", "complete", 60);
    assert_eq!(k.ok(&["logs", "job/tick-manual"]).trim(), "tick");

    let scheduled = eventually(75, || {
        jobs_of_tick(k).into_iter().find(|j| j != "tick-manual")
    });
    // named after the scheduled minute, which is after the CronJob was created
    let minute: u64 = scheduled
        .strip_prefix("tick-")
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("scheduled job name {scheduled}"));
    let created_secs = created
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    assert!(
        minute * 60 + 1 >= created_secs && minute * 60 <= created_secs + 61,
        "{scheduled} for a CronJob created at {created_secs}"
    );
    wait_for(k, &format!("job/{scheduled}"), "complete", 60);
    let last = k.ok(&[
        "get",
        "cronjob",
        "tick",
        "-o",
        "jsonpath={.status.lastScheduleTime}",
    ]);
    assert!(last.ends_with(":00Z"), "lastScheduleTime {last}");
    eventually(30, || {
        let ok = k.ok(&[
            "get",
            "cronjob",
            "tick",
            "-o",
            "jsonpath={.status.lastSuccessfulTime}",
        ]);
        (!ok.is_empty()).then_some(())
    });
});
