//! Subresources: pods/binding assigns a node once; status updates leave the spec alone.

use crate::cluster;

const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}"#;

#[test]
fn binding_assigns_a_node_once() {
    let (_s, k) = cluster("1.33");
    k.ok_stdin(&["create", "-f", "-"], Some(POD));
    let binding = r#"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"node-a"}}"#;
    k.ok_stdin(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/pods/p/binding",
            "-f",
            "-",
        ],
        Some(binding),
    );
    assert_eq!(
        k.ok(&["get", "pod", "p", "-o", "jsonpath={.spec.nodeName}"]),
        "node-a"
    );
    let cond = k.ok(&[
        "get",
        "pod",
        "p",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].status}",
    ]);
    assert_eq!(cond, "True");
    let err = k.fails_stdin(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/pods/p/binding",
            "-f",
            "-",
        ],
        Some(binding),
    );
    assert!(err.contains("already assigned"), "{err}");
}

#[test]
fn status_updates_do_not_touch_the_spec() {
    let (_s, k) = cluster("1.33");
    k.ok_stdin(&["create", "-f", "-"], Some(POD));
    let patch = r#"{"spec":{"activeDeadlineSeconds":5},"status":{"phase":"Running"}}"#;
    k.ok(&[
        "patch",
        "pod",
        "p",
        "--subresource=status",
        "--type=merge",
        "-p",
        patch,
    ]);
    assert_eq!(
        k.ok(&["get", "pod", "p", "-o", "jsonpath={.status.phase}"]),
        "Running"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "pod",
            "p",
            "-o",
            "jsonpath={.spec.activeDeadlineSeconds}"
        ]),
        ""
    );
    // And the main resource ignores status.
    k.ok(&[
        "patch",
        "pod",
        "p",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Failed"}}"#,
    ]);
    assert_eq!(
        k.ok(&["get", "pod", "p", "-o", "jsonpath={.status.phase}"]),
        "Running"
    );
}
