//! What a pod is given before its app starts: environment and files from ConfigMaps and
//! Secrets (kept current in the running pod), and init containers that run first.

use crate::eventually;
use crate::node_pods::{apply, describe, node_cluster, pod_field, wait_ready};

fn config_and_pod(image: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  greeting: hello
  color: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
stringData:
  password: s3cret
  user: admin
---
apiVersion: v1
kind: Pod
metadata:
  name: configured
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: {image}
    command: ["sleep", "3600"]
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef:
          name: app-config
          key: greeting
    - name: PASSWORD
      valueFrom:
        secretKeyRef:
          name: app-secret
          key: password
    envFrom:
    - prefix: CFG_
      configMapRef:
        name: app-config
    - prefix: SEC_
      secretRef:
        name: app-secret
    volumeMounts:
    - name: config
      mountPath: /etc/config
    - name: secret
      mountPath: /etc/secret
  volumes:
  - name: config
    configMap:
      name: app-config
  - name: secret
    secret:
      secretName: app-secret
"#
    )
}

crate::kubectl_test!(configmap_and_secret_reach_env_and_files, |v| {
    let c = node_cluster(v);
    apply(&c.k, &config_and_pod(&c.image));
    wait_ready(&c.k, "configured", 90);
    let env = c.k.ok(&["exec", "configured", "--", "env"]);
    for want in [
        "GREETING=hello",
        "PASSWORD=s3cret",
        "CFG_greeting=hello",
        "CFG_color=blue",
        "SEC_password=s3cret",
        "SEC_user=admin",
    ] {
        assert!(env.lines().any(|l| l == want), "{want} in env:\n{env}");
    }
    let cat = |path: &str| c.k.ok(&["exec", "configured", "--", "cat", path]);
    assert_eq!(cat("/etc/config/greeting"), "hello");
    assert_eq!(cat("/etc/config/color"), "blue");
    assert_eq!(cat("/etc/secret/password"), "s3cret");
    assert_eq!(cat("/etc/secret/user"), "admin");

    c.k.ok(&[
        "patch",
        "configmap",
        "app-config",
        "-p",
        r#"{"data":{"greeting":"bonjour"}}"#,
    ]);
    eventually(60, || {
        let out =
            c.k.run(&["exec", "configured", "--", "cat", "/etc/config/greeting"]);
        (String::from_utf8_lossy(&out.stdout) == "bonjour").then_some(())
    });
    assert_eq!(
        pod_field(
            &c.k,
            "configured",
            "{.status.containerStatuses[0].restartCount}"
        ),
        "0",
        "the file changed in place, without a restart"
    );
    let env = c.k.ok(&["exec", "configured", "--", "env"]);
    assert!(
        env.lines().any(|l| l == "GREETING=hello"),
        "environment stays as the container started with:\n{env}"
    );
});

fn with_init(image: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: initialized
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: work
    emptyDir: {{}}
  initContainers:
  - name: prepare
    image: {image}
    command: ["sh", "-c", "sleep 1; echo prepared-by-init > /work/message"]
    volumeMounts:
    - name: work
      mountPath: /work
  containers:
  - name: app
    image: {image}
    command: ["sh", "-c", "cat /work/message; sleep 3600"]
    volumeMounts:
    - name: work
      mountPath: /work
"#
    )
}

crate::kubectl_test!(init_container_runs_to_completion_before_the_app, |v| {
    let c = node_cluster(v);
    apply(&c.k, &with_init(&c.image));
    wait_ready(&c.k, "initialized", 90);
    let init = |path: &str| {
        pod_field(
            &c.k,
            "initialized",
            &format!("{{.status.initContainerStatuses[0].{path}}}"),
        )
    };
    assert_eq!(
        init("state.terminated.reason"),
        "Completed",
        "{}",
        describe(&c.k, "initialized")
    );
    assert_eq!(init("state.terminated.exitCode"), "0");
    assert_eq!(init("ready"), "true");
    let finished = init("state.terminated.finishedAt");
    let started = pod_field(
        &c.k,
        "initialized",
        "{.status.containerStatuses[0].state.running.startedAt}",
    );
    assert!(
        !finished.is_empty() && finished <= started,
        "init finished at {finished:?}, app started at {started:?}"
    );
    let logs = eventually(30, || {
        let l = c.k.ok(&["logs", "initialized", "-c", "app"]);
        (!l.is_empty()).then_some(l)
    });
    assert_eq!(
        logs.trim(),
        "prepared-by-init",
        "the app read the init's file"
    );
    let conditions = pod_field(
        &c.k,
        "initialized",
        "{.status.conditions[?(@.type==\"Initialized\")].status}",
    );
    assert_eq!(conditions, "True");
});

crate::kubectl_test!(etc_hosts_names_the_pod, |v| {
    let c = node_cluster(v);
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: named
spec:
  hostname: web-1
  terminationGracePeriodSeconds: 1
  hostAliases:
  - ip: 10.1.2.3
    hostnames: ["alias.example"]
  containers:
  - name: c
    image: {}
    command: ["sleep", "3600"]
"#,
        c.image
    );
    apply(&c.k, &yaml);
    wait_ready(&c.k, "named", 90);
    let ip = pod_field(&c.k, "named", "{.status.podIP}");
    let hosts = c.k.ok(&["exec", "named", "--", "cat", "/etc/hosts"]);
    assert!(
        hosts.lines().any(|l| l == format!("{ip}\tweb-1")),
        "the pod's own IP and hostname:\n{hosts}"
    );
    assert!(
        hosts.lines().any(|l| l == "10.1.2.3\talias.example"),
        "{hosts}"
    );
    assert_eq!(c.k.ok(&["exec", "named", "--", "hostname"]).trim(), "web-1");
});

crate::kubectl_test!(fs_group_lets_a_non_root_user_read_its_volumes, |v| {
    let c = node_cluster(v);
    let yaml = format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: private
data:
  key: only-for-the-group
---
apiVersion: v1
kind: Pod
metadata:
  name: grouped
spec:
  terminationGracePeriodSeconds: 1
  securityContext:
    runAsUser: 1234
    runAsGroup: 2345
    fsGroup: 3456
  volumes:
  - name: cm
    configMap:
      name: private
      defaultMode: 0400
  - name: scratch
    emptyDir: {{}}
  containers:
  - name: c
    image: {}
    command: ["sleep", "3600"]
    volumeMounts:
    - name: cm
      mountPath: /cm
    - name: scratch
      mountPath: /scratch
"#,
        c.image
    );
    apply(&c.k, &yaml);
    wait_ready(&c.k, "grouped", 90);
    assert_eq!(
        c.k.ok(&["exec", "grouped", "--", "id", "-G"]).trim(),
        "2345 3456",
        "fsGroup is a supplementary group"
    );
    assert_eq!(
        c.k.ok(&["exec", "grouped", "--", "cat", "/cm/key"]),
        "only-for-the-group"
    );
    let ls = c.k.ok(&["exec", "grouped", "--", "ls", "-lL", "/cm/key"]);
    assert!(
        ls.starts_with("-r--r-----"),
        "mode 0400 plus group read: {ls}"
    );
    assert!(ls.contains(" 3456 "), "group is the fsGroup: {ls}");
    c.k.ok(&[
        "exec",
        "grouped",
        "--",
        "sh",
        "-c",
        "echo ok > /scratch/f && stat -c %g /scratch/f",
    ]);
    assert_eq!(
        c.k.ok(&["exec", "grouped", "--", "stat", "-c", "%g", "/scratch/f"])
            .trim(),
        "3456",
        "new files in an emptyDir inherit the fsGroup"
    );
});
