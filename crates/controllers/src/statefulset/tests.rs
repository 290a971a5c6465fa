//! Decision tests of the StatefulSet controller.

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::decide::{Input, POD_INDEX_LABEL, POD_NAME_LABEL, Plan, decide};
use crate::util::history::REVISION_LABEL;

fn set(replicas: i32, image: &str, extra: serde_json::Value) -> StatefulSet {
    let mut spec = json!({
        "replicas": replicas,
        "serviceName": "web",
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "image": image}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "www"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    });
    if let (Some(m), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "s1", "generation": 1},
        "spec": spec
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

struct Sim {
    set: StatefulSet,
    pods: Vec<Pod>,
    revs: Vec<ControllerRevision>,
}

impl Sim {
    fn step(&mut self) -> Plan {
        let plan = decide(Input {
            set: &self.set,
            pods: &self.pods,
            revisions: &self.revs,
            now: 1000,
        });
        if let Some(r) = &plan.create_revision {
            self.revs.push(r.clone());
        }
        if let Some(r) = &plan.renumber_revision {
            for x in self
                .revs
                .iter_mut()
                .filter(|x| x.metadata.name == r.metadata.name)
            {
                *x = r.clone();
            }
        }
        self.revs.retain(|r| {
            !plan
                .delete_revisions
                .contains(&r.metadata.name.clone().unwrap_or_default())
        });
        for p in &plan.create {
            let mut p = p.clone();
            p.metadata.uid = p.metadata.name.clone();
            self.pods.push(p);
        }
        for d in &plan.delete {
            self.pods.retain(|p| p.metadata.name != d.metadata.name);
        }
        self.set.status = Some(plan.status.clone());
        plan
    }
    fn ready(&mut self, name: &str) {
        for p in self
            .pods
            .iter_mut()
            .filter(|p| p.metadata.name.as_deref() == Some(name))
        {
            let r = crate::util::fixtures::pod("x").ready_at(10).build();
            p.status = r.status;
        }
    }
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        v.sort();
        v
    }
}

fn names(pods: &[Pod]) -> Vec<String> {
    pods.iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

#[test]
fn ordered_ready_creates_one_at_a_time_with_identity_and_claims() {
    let mut s = Sim {
        set: set(2, "nginx:1", json!({})),
        pods: vec![],
        revs: vec![],
    };
    let plan = s.step();
    assert_eq!(names(&plan.create), ["web-0"]);
    assert!(plan.create_revision.is_some());
    let claims: Vec<_> = plan
        .claims
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    assert_eq!(claims, ["www-web-0"]);
    let p = &plan.create[0];
    let labels = p.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get(POD_NAME_LABEL).map(String::as_str),
        Some("web-0")
    );
    assert_eq!(labels.get(POD_INDEX_LABEL).map(String::as_str), Some("0"));
    assert!(
        labels
            .get(REVISION_LABEL)
            .is_some_and(|r| r.starts_with("web-"))
    );
    let spec = p.spec.clone().unwrap_or_default();
    assert_eq!(spec.hostname.as_deref(), Some("web-0"));
    assert_eq!(spec.subdomain.as_deref(), Some("web"));
    let vol = spec.volumes.unwrap_or_default();
    assert_eq!(
        vol[0]
            .persistent_volume_claim
            .as_ref()
            .map(|c| c.claim_name.as_str()),
        Some("www-web-0")
    );
    // web-0 not ready yet: nothing more
    assert!(s.step().create.is_empty());
    s.ready("web-0");
    assert_eq!(names(&s.step().create), ["web-1"]);
    s.ready("web-1");
    let plan = s.step();
    assert!(plan.create.is_empty());
    assert_eq!(plan.status.replicas, 2);
    assert_eq!(plan.status.ready_replicas, Some(2));
    assert_eq!(plan.status.current_revision, plan.status.update_revision);
}

#[test]
fn scale_down_deletes_highest_ordinal_first_and_parallel_creates_all() {
    let mut s = Sim {
        set: set(3, "nginx:1", json!({})),
        pods: vec![],
        revs: vec![],
    };
    for n in ["web-0", "web-1", "web-2"] {
        s.step();
        s.ready(n);
    }
    s.set.spec.replicas = Some(1);
    assert_eq!(names(&s.step().delete), ["web-2"]);
    assert_eq!(names(&s.step().delete), ["web-1"]);
    assert_eq!(s.names(), ["web-0"]);

    let mut p = Sim {
        set: set(3, "nginx:1", json!({"podManagementPolicy": "Parallel"})),
        pods: vec![],
        revs: vec![],
    };
    assert_eq!(names(&p.step().create), ["web-0", "web-1", "web-2"]);
}

#[test]
fn rolling_update_goes_down_from_highest_ordinal_to_partition() {
    let mut s = Sim {
        set: set(
            3,
            "nginx:1",
            json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}}),
        ),
        pods: vec![],
        revs: vec![],
    };
    for n in ["web-0", "web-1", "web-2"] {
        s.step();
        s.ready(n);
    }
    s.step();
    let first_rev = s
        .set
        .status
        .as_ref()
        .and_then(|st| st.current_revision.clone());
    s.set.spec.template = set(3, "nginx:2", json!({})).spec.template;
    let plan = s.step();
    assert_eq!(names(&plan.delete), ["web-2"]);
    assert_ne!(plan.status.update_revision, first_rev);
    let plan = s.step();
    assert_eq!(names(&plan.create), ["web-2"]);
    let image = plan.create[0]
        .spec
        .as_ref()
        .and_then(|sp| sp.containers[0].image.clone());
    assert_eq!(image.as_deref(), Some("nginx:2"));
    s.ready("web-2");
    assert_eq!(names(&s.step().delete), ["web-1"]);
    s.step();
    s.ready("web-1");
    // partition 1: web-0 keeps the old revision
    let plan = s.step();
    assert!(plan.delete.is_empty() && plan.create.is_empty());
    assert_eq!(plan.status.updated_replicas, Some(2));
    assert_eq!(plan.status.current_revision, first_rev);
    assert_eq!(s.revs.len(), 2);
}

#[test]
fn recreated_pod_below_partition_uses_current_revision() {
    let mut s = Sim {
        set: set(
            2,
            "nginx:1",
            json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
        ),
        pods: vec![],
        revs: vec![],
    };
    for n in ["web-0", "web-1"] {
        s.step();
        s.ready(n);
    }
    s.step();
    s.set.spec.template = set(2, "nginx:2", json!({})).spec.template;
    s.step();
    s.pods
        .retain(|p| p.metadata.name.as_deref() != Some("web-0"));
    let plan = s.step();
    let image = plan.create[0]
        .spec
        .as_ref()
        .and_then(|sp| sp.containers[0].image.clone());
    assert_eq!(image.as_deref(), Some("nginx:1"));
}
