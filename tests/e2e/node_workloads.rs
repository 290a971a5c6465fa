//! Workloads on a real node: a Deployment's pods run, replace themselves, scale, and go with
//! it; a restart of the server restarts no container.

use crate::eventually;
use crate::node_pods::node_cluster;

fn deployment(image: &str, replicas: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: {image}
        command: ["sh", "-c", "echo ok > /tmp/index.html; httpd -f -p 8080 -h /tmp"]
        readinessProbe:
          httpGet:
            path: /index.html
            port: 8080
          periodSeconds: 1
"#
    )
}

fn running_pods(k: &skiff_testkit::Kubectl) -> Vec<String> {
    let out = k.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "--field-selector=status.phase=Running",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    out.split_whitespace().map(str::to_string).collect()
}

crate::kubectl_test!(deployment_runs_heals_scales_and_cascades, |v| {
    let c = node_cluster(v);
    c.k.ok_stdin(&["apply", "-f", "-"], Some(&deployment(&c.image, 3)));
    let out =
        c.k.run(&["rollout", "status", "deploy/web", "--timeout=120s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(running_pods(&c.k).len(), 3);
    let victim = running_pods(&c.k)[0].clone();
    c.k.ok(&["delete", "pod", &victim, "--wait=false"]);
    eventually(90, || {
        let pods = running_pods(&c.k);
        (pods.len() == 3 && !pods.contains(&victim)).then_some(())
    });
    c.k.ok(&["scale", "deploy/web", "--replicas=5"]);
    eventually(90, || (running_pods(&c.k).len() == 5).then_some(()));
    c.k.ok(&["scale", "deploy/web", "--replicas=2"]);
    eventually(90, || (running_pods(&c.k).len() == 2).then_some(()));
    c.k.ok(&["delete", "deploy", "web"]);
    eventually(90, || {
        let left = c.k.ok(&["get", "rs,pods", "-l", "app=web", "-o", "name"]);
        left.trim().is_empty().then_some(())
    });
});

#[test]
fn server_restart_restarts_no_container() {
    let mut c = node_cluster("1.33");
    c.k.ok_stdin(&["apply", "-f", "-"], Some(&deployment(&c.image, 2)));
    let out =
        c.k.run(&["rollout", "status", "deploy/web", "--timeout=120s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = |k: &skiff_testkit::Kubectl| {
        k.ok(&["get", "pods", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.containerStatuses[0].containerID}/{.status.containerStatuses[0].restartCount} {end}"])
    };
    let before = ids(&c.k);
    c.server.restart().expect("server restarts");
    std::thread::sleep(std::time::Duration::from_secs(5));
    eventually(60, || (running_pods(&c.k).len() == 2).then_some(()));
    assert_eq!(
        ids(&c.k),
        before,
        "same containers, same restart counts after a server restart"
    );
}
