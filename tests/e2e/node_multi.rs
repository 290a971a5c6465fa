//! Two real nodes on this machine: the server's embedded agent and a `skiff agent` joined to
//! it. A DaemonSet follows the nodes; a node whose agent dies turns NotReady and its
//! Deployment pods come back on the other node.

use skiff_testkit::{Kubectl, SkiffAgent};

use crate::eventually;
use crate::node_pods::{NodeCluster, node_cluster_with, node_ready_status, wait_node_ready};

/// A server with its node, plus a second node. The agent is declared first so that it goes
/// first when the value drops.
pub struct TwoNodes {
    pub agent: SkiffAgent,
    pub c: NodeCluster,
}

impl TwoNodes {
    pub fn server_node(&self) -> String {
        self.c
            .server
            .node
            .as_ref()
            .map(|n| n.node_name.clone())
            .unwrap_or_default()
    }
}

/// A two-node cluster (extra `skiff server` flags in `args`), both nodes Ready.
pub fn two_nodes(version: &str, args: &[&str]) -> TwoNodes {
    let c = node_cluster_with(version, args);
    let agent = SkiffAgent::join(&c.server).expect("skiff agent joins");
    wait_node_ready(&c.k, agent.node_name(), 60);
    TwoNodes { agent, c }
}

/// Running pods matching `selector` that are not being deleted: (name, node).
pub fn running_on(k: &Kubectl, selector: &str) -> Vec<(String, String)> {
    let out = k.ok(&[
        "get",
        "pods",
        "-l",
        selector,
        "--field-selector=status.phase=Running",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.metadata.deletionTimestamp}{\"\\n\"}{end}",
    ]);
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 2).then(|| (f[0].to_string(), f[1].to_string()))
        })
        .collect()
}

fn nodes_of(pods: &[(String, String)]) -> Vec<String> {
    let mut v: Vec<String> = pods.iter().map(|(_, n)| n.clone()).collect();
    v.sort();
    v
}

fn daemonset(image: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ds
spec:
  selector:
    matchLabels:
      app: ds
  template:
    metadata:
      labels:
        app: ds
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: {image}
        command: ["sh", "-c", "echo on $NODE; exec sleep 3600"]
        env:
        - name: NODE
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
"#
    )
}

crate::kubectl_test!(daemonset_runs_one_pod_per_node_and_follows_new_nodes, |v| {
    let t = two_nodes(v, &[]);
    let k = &t.c.k;
    k.ok_stdin(&["apply", "-f", "-"], Some(&daemonset(&t.c.image)));
    let mut want = vec![t.server_node(), t.agent.node_name().to_string()];
    want.sort();
    eventually(90, || {
        let pods = running_on(k, "app=ds");
        (nodes_of(&pods) == want).then_some(())
    });
    let out = k.run(&["rollout", "status", "ds/ds", "--timeout=60s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts = "jsonpath={.status.desiredNumberScheduled} {.status.currentNumberScheduled} {.status.numberReady}";
    assert_eq!(k.ok(&["get", "ds", "ds", "-o", counts]), "2 2 2");

    // The second node's kubelet API serves its pod's logs and exec.
    let agent_node = t.agent.node_name().to_string();
    let on_agent = running_on(k, "app=ds")
        .into_iter()
        .find(|(_, n)| *n == agent_node)
        .map(|(p, _)| p)
        .unwrap_or_default();
    assert_eq!(
        k.ok(&["logs", &on_agent]).trim(),
        format!("on {agent_node}")
    );
    assert_eq!(
        k.ok(&["exec", &on_agent, "--", "sh", "-c", "echo $NODE"])
            .trim(),
        agent_node
    );

    // A third node joins: it gets its own pod, the others keep theirs.
    let before = running_on(k, "app=ds");
    let third = SkiffAgent::join(&t.c.server).expect("a third node joins");
    wait_node_ready(k, third.node_name(), 60);
    want.push(third.node_name().to_string());
    want.sort();
    eventually(90, || {
        let pods = running_on(k, "app=ds");
        (nodes_of(&pods) == want).then_some(())
    });
    let after = running_on(k, "app=ds");
    for p in &before {
        assert!(after.contains(p), "{p:?} was replaced: {after:?}");
    }
    eventually(30, || {
        (k.ok(&["get", "ds", "ds", "-o", counts]) == "3 3 3").then_some(())
    });
});

fn tolerant_deployment(image: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 1
      tolerations:
      - key: node.kubernetes.io/unreachable
        operator: Exists
        effect: NoExecute
        tolerationSeconds: 2
      - key: node.kubernetes.io/not-ready
        operator: Exists
        effect: NoExecute
        tolerationSeconds: 2
      containers:
      - name: c
        image: {image}
        command: ["sh", "-c", "sleep 3600"]
"#
    )
}

/// One kubectl version: the test waits on the node monitor, not on the client. The grace
/// period is twice the kubelet's 10 s heartbeat, so the live node never looks dead under load.
#[test]
fn dead_node_turns_not_ready_and_its_pods_move() {
    let mut t = two_nodes("1.33", &["--node-monitor-grace-period=20s"]);
    let server_node = t.server_node();
    let agent_node = t.agent.node_name().to_string();
    let k = &t.c.k;
    // Every replica on the agent's node first.
    k.ok(&["cordon", &server_node]);
    k.ok_stdin(
        &["apply", "-f", "-"],
        Some(&tolerant_deployment(&t.c.image)),
    );
    let out = k.run(&["rollout", "status", "deploy/web", "--timeout=90s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        nodes_of(&running_on(k, "app=web")),
        [agent_node.clone(), agent_node.clone()]
    );
    k.ok(&["uncordon", &server_node]);

    t.agent.kill();
    let killed = std::time::Instant::now();
    let k = &t.c.k;
    eventually(60, || {
        (node_ready_status(k, &agent_node) == "Unknown").then_some(())
    });
    // the last heartbeat came at most 10 s before the kill: not before grace - 10 s
    assert!(
        killed.elapsed() >= std::time::Duration::from_secs(8),
        "NotReady only after the grace period, not in {:?}",
        killed.elapsed()
    );
    let reason = k.ok(&[
        "get",
        "node",
        &agent_node,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}",
    ]);
    assert_eq!(reason, "NodeStatusUnknown");
    let row = k.ok(&["get", "node", &agent_node, "--no-headers"]);
    assert!(row.contains(" NotReady "), "{row}");
    eventually(30, || {
        let taints = k.ok(&[
            "get",
            "node",
            &agent_node,
            "-o",
            "jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}",
        ]);
        taints
            .contains("node.kubernetes.io/unreachable:NoExecute")
            .then_some(())
    });
    eventually(90, || {
        let pods = running_on(k, "app=web");
        (nodes_of(&pods) == [server_node.clone(), server_node.clone()]).then_some(())
    });
    let out = k.run(&["rollout", "status", "deploy/web", "--timeout=60s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the evicted pods are being deleted; with no kubelet to confirm, they stay Terminating
    let evicted = k.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "--field-selector",
        &format!("spec.nodeName={agent_node}"),
        "-o",
        "jsonpath={range .items[*]}{.metadata.deletionTimestamp} {end}",
    ]);
    assert_eq!(evicted.split_whitespace().count(), 2, "{evicted}");
}
