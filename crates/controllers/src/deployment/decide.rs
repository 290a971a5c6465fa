//! What a Deployment sync does, as a pure function of the Deployment and its ReplicaSets:
//! upstream's sync/rolloutRolling/rolloutRecreate phases over an in-memory copy.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::util::*;
use crate::util::hash::{POD_TEMPLATE_HASH_LABEL, equal_ignore_hash, pod_template_hash};
use crate::util::owner::Owner;
use crate::util::time::secs;

mod rollout;

/// The state a sync reads.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    pub d: &'a Deployment,
    /// The ReplicaSets this Deployment controls (after adoption/release).
    pub rss: Vec<ReplicaSet>,
    /// UIDs of ReplicaSets that still have pods not terminated (Recreate waits for them).
    pub rs_with_running_pods: HashSet<String>,
    pub now: i64,
}

/// One API action.
#[derive(Clone, Debug, PartialEq)]
pub enum Act {
    /// Create this ReplicaSet.
    CreateRs(ReplicaSet),
    /// Replace this ReplicaSet (replicas and annotations changed).
    UpdateRs(ReplicaSet),
    /// Delete an old ReplicaSet (revision history cleanup).
    DeleteRs { name: String, uid: String },
    /// Merge these annotations into the Deployment's metadata.
    Annotate(BTreeMap<String, String>),
    /// Record a Normal event.
    Event { reason: String, message: String },
}

/// The decision of one sync.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub acts: Vec<Act>,
    /// The status to write, when it differs from the current one.
    pub status: Option<DeploymentStatus>,
    /// Sync again after this many seconds (progress deadline).
    pub requeue_after: Option<i64>,
}

struct World<'a> {
    d: &'a Deployment,
    status: DeploymentStatus,
    rss: Vec<ReplicaSet>,
    new: Option<usize>,
    running: &'a HashSet<String>,
    acts: Vec<Act>,
    now: i64,
}

fn created(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .creation_timestamp
        .as_ref()
        .map(secs)
        .unwrap_or(i64::MAX)
}

fn name(rs: &ReplicaSet) -> String {
    rs.metadata.name.clone().unwrap_or_default()
}

/// Decides one sync of `input.d`.
pub fn decide(input: Input<'_>) -> Plan {
    let d = input.d;
    let mut rss = input.rss;
    rss.sort_by(|a, b| created(a).cmp(&created(b)).then(name(a).cmp(&name(b))));
    let mut w = World {
        d,
        status: d.status.clone().unwrap_or_default(),
        rss,
        new: None,
        running: &input.rs_with_running_pods,
        acts: vec![],
        now: input.now,
    };
    w.new = w.rss.iter().position(|rs| {
        rs.spec
            .template
            .as_ref()
            .is_some_and(|t| equal_ignore_hash(t, &d.spec.template))
    });
    let mut requeue = None;
    if d.metadata.deletion_timestamp.is_some() {
        w.sync_status();
    } else {
        w.check_paused_condition();
        if d.spec.paused == Some(true) || w.is_scaling_event() {
            w.sync(false);
        } else if is_rolling(d) {
            w.rollout_rolling();
            requeue = w.requeue_stuck();
        } else {
            w.rollout_recreate();
            requeue = w.requeue_stuck();
        }
    }
    let status =
        (Some(&w.status) != d.status.as_ref() || d.status.is_none()).then(|| w.status.clone());
    Plan {
        acts: w.acts,
        status,
        requeue_after: requeue,
    }
}

impl World<'_> {
    fn max_old_revision(&self) -> i64 {
        self.rss
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != self.new)
            .map(|(_, r)| revision(r))
            .max()
            .unwrap_or(0)
    }

    fn old_indices(&self) -> Vec<usize> {
        (0..self.rss.len())
            .filter(|i| Some(*i) != self.new)
            .collect()
    }

    fn active_old(&self) -> Vec<usize> {
        self.old_indices()
            .into_iter()
            .filter(|i| rs_replicas(&self.rss[*i]) > 0)
            .collect()
    }

    fn annotate_revision(&mut self, rev: &str) {
        let cur = self
            .d
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION));
        if cur.map(String::as_str) != Some(rev) {
            self.acts.push(Act::Annotate(BTreeMap::from([(
                REVISION.to_string(),
                rev.to_string(),
            )])));
        }
    }

    /// upstream getAllReplicaSetsAndSyncRevision: syncs the new ReplicaSet's annotations,
    /// creating it when asked.
    fn sync_revision(&mut self, create: bool) {
        let new_revision = self.max_old_revision() + 1;
        if let Some(i) = self.new {
            let mut rs = self.rss[i].clone();
            let mut changed = set_new_rs_annotations(self.d, &mut rs, new_revision, true);
            if rs.spec.min_ready_seconds != self.d.spec.min_ready_seconds {
                rs.spec.min_ready_seconds = self.d.spec.min_ready_seconds;
                changed = true;
            }
            if changed {
                self.acts.push(Act::UpdateRs(rs.clone()));
                self.rss[i] = rs;
            }
            let rev = self.rss[i]
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                .cloned()
                .unwrap_or_default();
            self.annotate_revision(&rev);
            if has_progress_deadline(self.d) && condition(&self.status, PROGRESSING).is_none() {
                let msg = format!("Found new replica set {:?}", name(&self.rss[i]));
                set_condition(
                    &mut self.status,
                    new_condition(PROGRESSING, "True", FOUND_NEW_RS, msg, self.now),
                );
            }
            return;
        }
        if !create {
            return;
        }
        let d = self.d;
        let hash = pod_template_hash(&d.spec.template, self.status.collision_count);
        let mut template = d.spec.template.clone();
        template
            .metadata
            .get_or_insert_with(ObjectMeta::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.clone());
        let mut selector = d.spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.clone());
        let owner = Owner::of("apps/v1", "Deployment", &d.metadata);
        let dname = d.metadata.name.clone().unwrap_or_default();
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(format!("{dname}-{hash}")),
                namespace: d.metadata.namespace.clone(),
                labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
                owner_references: Some(vec![owner.controller_ref()]),
                ..Default::default()
            },
            spec: ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: d.spec.min_ready_seconds,
                selector,
                template: Some(template),
            },
            status: None,
        };
        set_new_rs_annotations(d, &mut rs, new_revision, false);
        self.rss.push(rs);
        let i = self.rss.len() - 1;
        self.new = Some(i);
        let count = self.new_rs_new_replicas(i);
        self.rss[i].spec.replicas = Some(count);
        self.acts.push(Act::CreateRs(self.rss[i].clone()));
        if count > 0 {
            self.acts.push(Act::Event {
                reason: "ScalingReplicaSet".into(),
                message: format!("Scaled up replica set {} to {count}", name(&self.rss[i])),
            });
        }
        self.annotate_revision(&new_revision.to_string());
        if has_progress_deadline(d) {
            let msg = format!("Created new replica set {:?}", name(&self.rss[i]));
            set_condition(
                &mut self.status,
                new_condition(PROGRESSING, "True", NEW_RS_CREATED, msg, self.now),
            );
        }
    }

    /// How many replicas the new ReplicaSet may have now.
    fn new_rs_new_replicas(&self, i: usize) -> i32 {
        let d = self.d;
        let cur = rs_replicas(&self.rss[i]);
        if !is_rolling(d) {
            return replicas(d);
        }
        let total: i32 = self.rss.iter().map(rs_replicas).sum();
        let max_total = replicas(d) + max_surge(d);
        if total >= max_total {
            return cur;
        }
        let up = (max_total - total).min(replicas(d) - cur);
        cur + up.max(0)
    }

    /// Scales a ReplicaSet, refreshing its replicas annotations; true if anything changed.
    fn scale(&mut self, i: usize, to: i32) -> bool {
        let d = self.d;
        let rs = &mut self.rss[i];
        let from = rs_replicas(rs);
        let resize = from != to;
        let annotated = set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d));
        if !resize && !annotated {
            return false;
        }
        rs.spec.replicas = Some(to);
        let rs = rs.clone();
        self.acts.push(Act::UpdateRs(rs.clone()));
        if resize {
            let op = if from < to { "up" } else { "down" };
            self.acts.push(Act::Event {
                reason: "ScalingReplicaSet".into(),
                message: format!("Scaled {op} replica set {} to {to} from {from}", name(&rs)),
            });
        }
        resize
    }

    fn check_paused_condition(&mut self) {
        if !has_progress_deadline(self.d) {
            return;
        }
        let cur = condition(&self.status, PROGRESSING).and_then(|c| c.reason.clone());
        if cur.as_deref() == Some(TIMED_OUT) {
            return;
        }
        let paused_cond = cur.as_deref() == Some(PAUSED);
        let paused = self.d.spec.paused == Some(true);
        if paused && !paused_cond {
            set_condition(
                &mut self.status,
                new_condition(
                    PROGRESSING,
                    "Unknown",
                    PAUSED,
                    "Deployment is paused".into(),
                    self.now,
                ),
            );
        } else if !paused && paused_cond {
            set_condition(
                &mut self.status,
                new_condition(
                    PROGRESSING,
                    "Unknown",
                    RESUMED,
                    "Deployment is resumed".into(),
                    self.now,
                ),
            );
        }
    }

    fn is_scaling_event(&mut self) -> bool {
        let n = replicas(self.d);
        let idx: Vec<usize> = (0..self.rss.len())
            .filter(|i| rs_replicas(&self.rss[*i]) > 0)
            .collect();
        idx.iter()
            .any(|i| desired_annotation(&self.rss[*i]).is_some_and(|v| v != n))
    }

    /// upstream sync: scaling (and cleanup when paused), then the status.
    fn sync(&mut self, _create: bool) {
        self.sync_revision(false);
        self.scale_all();
        if self.d.spec.paused == Some(true) {
            self.cleanup();
        }
        self.sync_status();
    }

    fn scale_all(&mut self) {
        let d = self.d;
        let n = replicas(d);
        let mut old = self.old_indices();
        old.sort_by(|a, b| created(&self.rss[*b]).cmp(&created(&self.rss[*a])));
        let active: Vec<usize> = (0..self.rss.len())
            .filter(|i| rs_replicas(&self.rss[*i]) > 0)
            .collect();
        // one active (or only the newest) ReplicaSet: it takes the whole size
        let target = match active.len() {
            0 => self.new.or(old.first().copied()),
            1 => Some(active[0]),
            _ => None,
        };
        if let Some(i) = target {
            self.scale(i, n);
            return;
        }
        // the new ReplicaSet is saturated: old ones go to zero
        if let Some(i) = self.new
            && rs_replicas(&self.rss[i]) == n
            && rs_available(&self.rss[i]) >= n
        {
            for j in self.active_old() {
                self.scale(j, 0);
            }
            return;
        }
        if !is_rolling(d) {
            return;
        }
        // proportional scaling across the active ReplicaSets
        let total: i32 = active.iter().map(|i| rs_replicas(&self.rss[*i])).sum();
        let allowed = if n > 0 { n + max_surge(d) } else { 0 };
        let to_add = allowed - total;
        let mut order = active.clone();
        if to_add > 0 {
            order.sort_by(|a, b| {
                rs_replicas(&self.rss[*b])
                    .cmp(&rs_replicas(&self.rss[*a]))
                    .then(created(&self.rss[*b]).cmp(&created(&self.rss[*a])))
            });
        } else {
            order.sort_by(|a, b| {
                rs_replicas(&self.rss[*b])
                    .cmp(&rs_replicas(&self.rss[*a]))
                    .then(created(&self.rss[*a]).cmp(&created(&self.rss[*b])))
            });
        }
        let mut added = 0;
        let mut sizes: Vec<(usize, i32)> = Vec::new();
        for i in &order {
            let rs = &self.rss[*i];
            let p = self.proportion(rs, to_add, added);
            sizes.push((*i, rs_replicas(rs) + p));
            added += p;
        }
        for (k, (i, size)) in sizes.into_iter().enumerate() {
            let mut size = size;
            if k == 0 && to_add != 0 {
                size = (size + to_add - added).max(0);
            }
            self.scale(i, size);
        }
    }

    fn proportion(&self, rs: &ReplicaSet, to_add: i32, added: i32) -> i32 {
        if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let d = self.d;
        let fraction = if replicas(d) == 0 {
            -rs_replicas(rs)
        } else {
            let dr = replicas(d) + max_surge(d);
            let annotated = max_annotation(rs)
                .unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
            if annotated == 0 {
                0
            } else {
                let size = f64::from(rs_replicas(rs)) * f64::from(dr) / f64::from(annotated);
                size.round() as i32 - rs_replicas(rs)
            }
        };
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    fn all_refs(&self) -> Vec<&ReplicaSet> {
        self.rss.iter().collect()
    }

    fn sync_status(&mut self) {
        let new = self.new.map(|i| &self.rss[i]);
        self.status = calculate_status(self.d, &self.status, &self.all_refs(), new, self.now);
    }
}
