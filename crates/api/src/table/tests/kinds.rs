//! Asserted rows of core, networking, RBAC, storage and other kinds.

use serde_json::{Value, json};

use super::{ago, names, now, res, texts};
use crate::table::{cells, columns};

pub(super) fn meta(name: &str, age_secs: i64) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": ago(age_secs)})
}

#[test]
fn every_printer_fills_every_column() {
    let kinds: &[(&'static str, &'static str)] = &[
        ("", "Pod"),
        ("", "PodTemplate"),
        ("", "Service"),
        ("", "Endpoints"),
        ("", "Node"),
        ("", "Namespace"),
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "ServiceAccount"),
        ("", "PersistentVolume"),
        ("", "PersistentVolumeClaim"),
        ("", "ResourceQuota"),
        ("", "LimitRange"),
        ("", "ReplicationController"),
        ("", "ComponentStatus"),
        ("", "Event"),
        ("events.k8s.io", "Event"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "DaemonSet"),
        ("apps", "StatefulSet"),
        ("apps", "ControllerRevision"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("policy", "PodDisruptionBudget"),
        ("networking.k8s.io", "Ingress"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("networking.k8s.io", "IPAddress"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("coordination.k8s.io", "Lease"),
        ("node.k8s.io", "RuntimeClass"),
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
        ),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("example.com", "Widget"),
    ];
    let empty = json!({});
    for (group, kind) in kinds {
        let r = res(group, kind);
        let cols = columns(&r);
        assert!(!cols.is_empty(), "{group}/{kind}");
        assert!(
            cols.iter().any(|c| c.format == "name"),
            "{group}/{kind} has a name column"
        );
        assert_eq!(
            cells(&r, &empty, now()).len(),
            cols.len(),
            "{group}/{kind} cells match columns"
        );
    }
}

#[test]
fn service_rows() {
    let svc = |spec: Value, status: Value| json!({"metadata": meta("s", 60), "spec": spec, "status": status});
    let cluster = svc(
        json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
            "selector": {"app": "web"}}),
        json!({}),
    );
    assert_eq!(
        texts("", "Service", &cluster),
        [
            "s",
            "ClusterIP",
            "10.96.0.10",
            "<none>",
            "80/TCP,53/UDP",
            "60s",
            "app=web"
        ]
    );
    let node_port = svc(
        json!({"type": "NodePort", "clusterIPs": ["10.96.1.1"],
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}),
        json!({}),
    );
    let t = texts("", "Service", &node_port);
    assert_eq!((t[4].as_str(), t[6].as_str()), ("80:30080/TCP", "<none>"));
    let pending = svc(
        json!({"type": "LoadBalancer", "clusterIPs": ["10.96.1.2"],
            "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]}),
        json!({}),
    );
    assert_eq!(texts("", "Service", &pending)[3], "<pending>");
    let lb = svc(
        json!({"type": "LoadBalancer", "clusterIPs": ["10.96.1.2"], "externalIPs": ["1.2.3.4"]}),
        json!({"loadBalancer": {"ingress": [{"ip": "192.168.1.9"}, {"hostname": "lb.example.com"}]}}),
    );
    assert_eq!(
        texts("", "Service", &lb)[3],
        "192.168.1.9,lb.example.com,1.2.3.4"
    );
    let ext = svc(
        json!({"type": "ExternalName", "externalName": "db.example.com"}),
        json!({}),
    );
    let t = texts("", "Service", &ext);
    assert_eq!(
        (t[2].as_str(), t[3].as_str(), t[4].as_str()),
        ("<none>", "db.example.com", "<none>")
    );
    let headless = svc(
        json!({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}),
        json!({}),
    );
    assert_eq!(texts("", "Service", &headless)[2], "None");
}

#[test]
fn endpoints_and_endpoint_slice_rows() {
    let ep = json!({"metadata": meta("web", 5), "subsets": [
        {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "fd00::3"}, {"ip": "10.0.0.4"}],
         "ports": [{"port": 8080}]}]});
    assert_eq!(
        texts("", "Endpoints", &ep),
        [
            "web",
            "10.0.0.1:8080,10.0.0.2:8080,[fd00::3]:8080 + 1 more...",
            "5s"
        ]
    );
    let none = json!({"metadata": meta("empty", 5)});
    assert_eq!(texts("", "Endpoints", &none)[1], "<none>");
    let slice = json!({"metadata": meta("web-abc", 5), "addressType": "IPv4",
        "ports": [{"port": 8080, "name": "http"}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}]});
    assert_eq!(
        texts("discovery.k8s.io", "EndpointSlice", &slice),
        ["web-abc", "IPv4", "8080", "10.0.0.1,10.0.0.2", "5s"]
    );
    let bare = json!({"metadata": meta("x", 5), "addressType": "IPv4"});
    let t = texts("discovery.k8s.io", "EndpointSlice", &bare);
    assert_eq!((t[2].as_str(), t[3].as_str()), ("<unset>", "<unset>"));
}

#[test]
fn node_row() {
    let n = json!({"metadata": {"name": "n1", "creationTimestamp": ago(10 * 86400),
            "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.1.0.1"}],
            "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Debian GNU/Linux 13",
                "kernelVersion": "6.18.0", "containerRuntimeVersion": "skiff://0.1.0"}}});
    assert_eq!(
        texts("", "Node", &n),
        [
            "n1",
            "Ready,SchedulingDisabled",
            "control-plane,edge",
            "10d",
            "v1.33.0",
            "10.1.0.1",
            "<none>",
            "Debian GNU/Linux 13",
            "6.18.0",
            "skiff://0.1.0"
        ]
    );
    let bare = json!({"metadata": {"name": "n2"}});
    assert_eq!(
        texts("", "Node", &bare),
        [
            "n2",
            "Unknown",
            "<none>",
            "<unknown>",
            "",
            "<none>",
            "<none>",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ]
    );
}

#[test]
fn namespace_configmap_secret_serviceaccount_rows() {
    let ns = json!({"metadata": {"name": "kube-system", "creationTimestamp": ago(50 * 86400)},
        "status": {"phase": "Active"}});
    assert_eq!(
        texts("", "Namespace", &ns),
        ["kube-system", "Active", "50d"]
    );
    let cm = json!({"metadata": meta("cfg", 90), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    assert_eq!(texts("", "ConfigMap", &cm), ["cfg", "3", "90s"]);
    let sec = json!({"metadata": meta("tls", 90), "type": "kubernetes.io/tls",
        "data": {"tls.crt": "", "tls.key": ""}});
    assert_eq!(
        texts("", "Secret", &sec),
        ["tls", "kubernetes.io/tls", "2", "90s"]
    );
    let mixed = json!({"metadata": meta("m", 90), "data": {"a": "MQ=="},
        "stringData": {"a": "1", "b": "2"}});
    assert_eq!(texts("", "Secret", &mixed), ["m", "Opaque", "2", "90s"]);
    let sa = json!({"metadata": meta("default", 90)});
    assert_eq!(texts("", "ServiceAccount", &sa), ["default", "0", "90s"]);
}

#[test]
fn persistent_volume_and_claim_rows() {
    let pv = json!({"metadata": {"name": "pv1", "creationTimestamp": ago(3600)},
        "spec": {"capacity": {"storage": "1024Mi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "local",
            "claimRef": {"namespace": "default", "name": "data"}, "volumeMode": "Filesystem"},
        "status": {"phase": "Bound"}});
    assert_eq!(
        texts("", "PersistentVolume", &pv),
        [
            "pv1",
            "1Gi",
            "RWO,RWX",
            "Retain",
            "Bound",
            "default/data",
            "local",
            "<unset>",
            "",
            "60m",
            "Filesystem"
        ]
    );
    let pvc = json!({"metadata": meta("data", 3600),
        "spec": {"volumeName": "pv1", "storageClassName": "local", "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Bound", "capacity": {"storage": "1.5Gi"}, "accessModes": ["ReadWriteOnce"]}});
    assert_eq!(
        texts("", "PersistentVolumeClaim", &pvc),
        [
            "data",
            "Bound",
            "pv1",
            "1536Mi",
            "RWO",
            "local",
            "<unset>",
            "60m",
            "Filesystem"
        ]
    );
    let pending = json!({"metadata": meta("new", 5), "spec": {}, "status": {"phase": "Pending"}});
    assert_eq!(
        texts("", "PersistentVolumeClaim", &pending),
        ["new", "Pending", "", "", "", "", "<unset>", "5s", "<unset>"]
    );
}

#[test]
fn resource_quota_and_limit_range_rows() {
    let rq = json!({"metadata": meta("q", 60),
        "status": {"hard": {"pods": "10", "requests.cpu": "1", "limits.memory": "2Gi"},
            "used": {"pods": "2", "requests.cpu": "500m"}}});
    assert_eq!(
        texts("", "ResourceQuota", &rq),
        [
            "q",
            "pods: 2/10, requests.cpu: 500m/1",
            "limits.memory: 0/2Gi",
            "60s"
        ]
    );
    let lr = json!({"metadata": {"name": "limits", "creationTimestamp": "2024-05-01T08:30:00Z"}});
    assert_eq!(names("", "LimitRange"), ["Name", "Created At"]);
    assert_eq!(
        texts("", "LimitRange", &lr),
        ["limits", "2024-05-01T08:30:00Z"]
    );
    assert_eq!(columns(&res("", "LimitRange"))[1].type_, "date");
}

#[test]
fn ingress_and_ingress_class_and_network_policy_rows() {
    let ing = json!({"metadata": meta("web", 60),
        "spec": {"ingressClassName": "skiff", "tls": [{"hosts": ["a.example.com"]}],
            "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}, {}, {"host": "c.example.com"},
                {"host": "d.example.com"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}}});
    assert_eq!(
        texts("networking.k8s.io", "Ingress", &ing),
        [
            "web",
            "skiff",
            "a.example.com,b.example.com,c.example.com + 2 more...",
            "10.0.0.9",
            "80, 443",
            "60s"
        ]
    );
    let plain = json!({"metadata": meta("any", 60), "spec": {"rules": [{}]}});
    assert_eq!(
        texts("networking.k8s.io", "Ingress", &plain),
        ["any", "<none>", "*", "", "80", "60s"]
    );
    let class = json!({"metadata": {"name": "skiff", "creationTimestamp": ago(60)},
        "spec": {"controller": "skiff.dev/ingress",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "Params", "name": "p"}}});
    assert_eq!(
        texts("networking.k8s.io", "IngressClass", &class),
        [
            "skiff",
            "skiff.dev/ingress",
            "Params.k8s.example.com/p",
            "60s"
        ]
    );
    let np = json!({"metadata": meta("deny", 60), "spec": {"podSelector": {}}});
    assert_eq!(
        texts("networking.k8s.io", "NetworkPolicy", &np),
        ["deny", "<none>", "60s"]
    );
}

#[test]
fn rbac_rows() {
    let rb = json!({"metadata": meta("read", 60),
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "jane"}, {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "bot", "namespace": "ci"},
            {"kind": "User", "name": "joe"}]});
    assert_eq!(
        texts("rbac.authorization.k8s.io", "RoleBinding", &rb),
        [
            "read",
            "ClusterRole/view",
            "60s",
            "jane, joe",
            "devs",
            "ci/bot"
        ]
    );
    assert_eq!(
        names("rbac.authorization.k8s.io", "ClusterRole"),
        ["Name", "Created At"]
    );
}

#[test]
fn storage_scheduling_coordination_rows() {
    let sc = json!({"metadata": {"name": "local", "creationTimestamp": ago(60),
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "skiff.dev/local-path", "volumeBindingMode": "WaitForFirstConsumer"});
    assert_eq!(
        texts("storage.k8s.io", "StorageClass", &sc),
        [
            "local (default)",
            "skiff.dev/local-path",
            "Delete",
            "WaitForFirstConsumer",
            "false",
            "60s"
        ]
    );
    let pc = json!({"metadata": {"name": "high", "creationTimestamp": ago(60)}, "value": 1000,
        "globalDefault": false, "preemptionPolicy": "PreemptLowerPriority"});
    assert_eq!(
        texts("scheduling.k8s.io", "PriorityClass", &pc),
        ["high", "1000", "false", "60s", "PreemptLowerPriority"]
    );
    let lease =
        json!({"metadata": meta("kube-scheduler", 60), "spec": {"holderIdentity": "node-1_abc"}});
    assert_eq!(
        texts("coordination.k8s.io", "Lease", &lease),
        ["kube-scheduler", "node-1_abc", "60s"]
    );
}

#[test]
fn core_event_rows() {
    let ev = json!({"metadata": meta("web.17a", 400),
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
        "reason": "Pulled", "type": "Normal", "message": "Pulled image \"nginx\"\n",
        "source": {"component": "kubelet", "host": "n1"},
        "firstTimestamp": ago(400), "lastTimestamp": ago(30), "count": 4});
    assert_eq!(
        texts("", "Event", &ev),
        [
            "30s",
            "Normal",
            "Pulled",
            "pod/web",
            "spec.containers{app}",
            "kubelet, n1",
            "Pulled image \"nginx\"",
            "6m40s",
            "4",
            "web.17a"
        ]
    );
    assert_eq!(
        names("", "Event"),
        [
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject",
            "Source",
            "Message",
            "First Seen",
            "Count",
            "Name"
        ]
    );
    let new_style = json!({"metadata": meta("x", 10), "eventTime": "2024-05-10T11:59:50.123456Z",
        "involvedObject": {"kind": "Node", "name": "n1"}, "reason": "Starting", "type": "Normal",
        "reportingComponent": "", "reportingController": "skiff", "reportingInstance": "n1",
        "series": {"count": 3, "lastObservedTime": "2024-05-10T11:59:58.000000Z"}});
    let t = texts("", "Event", &new_style);
    assert_eq!(
        (t[0].as_str(), t[5].as_str(), t[7].as_str(), t[8].as_str()),
        ("2s", "skiff, n1", "9s", "3")
    );
}

#[test]
fn events_k8s_io_rows_use_v1_fields() {
    let ev = json!({"metadata": meta("web.17b", 100),
        "regarding": {"kind": "Deployment", "name": "web"},
        "reason": "ScalingReplicaSet", "type": "Normal", "note": "Scaled up",
        "eventTime": ago(100), "reportingController": "deployment-controller",
        "reportingInstance": ""});
    assert_eq!(
        texts("events.k8s.io", "Event", &ev),
        [
            "100s",
            "Normal",
            "ScalingReplicaSet",
            "deployment/web",
            "",
            "deployment-controller",
            "Scaled up",
            "100s",
            "1",
            "web.17b"
        ]
    );
}

#[test]
fn misc_kinds_rows() {
    let vwc = json!({"metadata": {"name": "policy", "creationTimestamp": ago(60)},
        "webhooks": [{"name": "a"}, {"name": "b"}]});
    assert_eq!(
        texts(
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
            &vwc
        ),
        ["policy", "2", "60s"]
    );
    let csr = json!({"metadata": {"name": "csr-1", "creationTimestamp": ago(60)},
        "spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "admin",
            "expirationSeconds": 86400},
        "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "AAA="}});
    assert_eq!(
        texts("certificates.k8s.io", "CertificateSigningRequest", &csr),
        [
            "csr-1",
            "60s",
            "kubernetes.io/kube-apiserver-client",
            "admin",
            "24h",
            "Approved,Issued"
        ]
    );
    let rc = json!({"metadata": {"name": "runc", "creationTimestamp": ago(60)}, "handler": "runc"});
    assert_eq!(
        texts("node.k8s.io", "RuntimeClass", &rc),
        ["runc", "runc", "60s"]
    );
    let tmpl = json!({"metadata": meta("t", 1), "template": {"metadata": {"labels": {"a": "b"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]}}});
    assert_eq!(texts("", "PodTemplate", &tmpl), ["t", "c", "i", "a=b"]);
    let api = json!({"metadata": {"name": "v1beta1.metrics.k8s.io", "creationTimestamp": ago(60)},
        "spec": {"service": {"namespace": "kube-system", "name": "metrics-server"}},
        "status": {"conditions": [{"type": "Available", "status": "False",
            "reason": "MissingEndpoints"}]}});
    assert_eq!(
        texts("apiregistration.k8s.io", "APIService", &api),
        [
            "v1beta1.metrics.k8s.io",
            "kube-system/metrics-server",
            "False (MissingEndpoints)",
            "60s"
        ]
    );
    let local = json!({"metadata": {"name": "v1.apps"}, "spec": {},
        "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Local"}]}});
    assert_eq!(
        texts("apiregistration.k8s.io", "APIService", &local)[1..3],
        ["Local", "True"]
    );
    let widget = json!({"metadata": {"name": "w"}});
    assert_eq!(
        texts("example.com", "Widget", &widget),
        ["w", "0001-01-01T00:00:00Z"]
    );
}
