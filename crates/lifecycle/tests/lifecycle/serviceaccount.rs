//! The default ServiceAccount of every namespace, and pods defaulted to it.

use super::harness::{cluster, eventually, fast};

#[test]
fn new_namespace_gets_a_default_service_account_and_pods_use_it() {
    let c = cluster(fast());
    c.k.ok(&["create", "namespace", "team"]);
    assert!(eventually(20, || c.exists(&["sa", "default", "-n", "team"])));
    c.k.ok(&["delete", "sa", "default", "-n", "team"]);
    assert!(
        eventually(20, || c.exists(&["sa", "default", "-n", "team"])),
        "not re-created"
    );
    c.k.ok(&[
        "run",
        "p",
        "-n",
        "team",
        "--image=busybox",
        "--restart=Never",
    ]);
    assert_eq!(
        c.jsonpath(&["pod", "p", "-n", "team"], "{.spec.serviceAccountName}"),
        "default"
    );
    assert_eq!(
        c.jsonpath(&["pod", "p", "-n", "team"], "{.spec.serviceAccount}"),
        "default"
    );
    // Every bootstrap namespace has one too.
    assert!(eventually(20, || c.exists(&[
        "sa",
        "default",
        "-n",
        "kube-system"
    ])));
}
