//! What a DaemonSet sync does, as a pure function of the set, the nodes, its pods and
//! revisions: one pod per eligible node, rolling update bounded by maxUnavailable, status.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::nodes::{add_default_tolerations, pin_to_node, should_run, target_node};
use crate::deployment::util::scaled_value;
use crate::util::history::{self, REVISION_LABEL};
use crate::util::owner::Owner;
use crate::util::pod;
use crate::util::time::secs;

/// The state a sync reads.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    pub ds: &'a DaemonSet,
    pub nodes: &'a [Node],
    /// Pods the set controls.
    pub pods: &'a [Pod],
    /// Revisions the set controls.
    pub revisions: &'a [ControllerRevision],
    pub now: i64,
}

/// The decision of one sync.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub create_revision: Option<ControllerRevision>,
    pub renumber_revision: Option<ControllerRevision>,
    pub delete_revisions: Vec<String>,
    /// Pods to create, each pinned to its node.
    pub create: Vec<Pod>,
    pub delete: Vec<Pod>,
    pub status: DaemonSetStatus,
    /// Sync again after this many seconds (minReadySeconds).
    pub requeue_after: Option<i64>,
}

fn created(p: &Pod) -> i64 {
    p.metadata
        .creation_timestamp
        .as_ref()
        .map(secs)
        .unwrap_or(0)
}

/// The pod a DaemonSet runs on `node`.
pub fn pod_for(ds: &DaemonSet, node: &str, hash: &str) -> Pod {
    let name = ds.metadata.name.clone().unwrap_or_default();
    let ns = ds.metadata.namespace.clone().unwrap_or_default();
    let owner = Owner::of("apps/v1", "DaemonSet", &ds.metadata);
    let mut p = pod::from_template(
        &ds.spec.template,
        &ns,
        Some(format!("{name}-")),
        None,
        owner.controller_ref(),
    );
    p.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(REVISION_LABEL.into(), hash.to_string());
    if let Some(spec) = p.spec.as_mut() {
        add_default_tolerations(spec);
        pin_to_node(spec, node);
    }
    p
}

/// Decides one sync.
pub fn decide(input: Input<'_>) -> Plan {
    let ds = input.ds;
    let now = input.now;
    let mut plan = Plan::default();
    let ns = ds.metadata.namespace.clone().unwrap_or_default();
    let owner = Owner::of("apps/v1", "DaemonSet", &ds.metadata);
    let old = ds.status.clone().unwrap_or_default();
    let template = &ds.spec.template;
    let spec = template.spec.clone().unwrap_or_default();
    let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);

    // the update revision
    let mut revs: Vec<ControllerRevision> = input.revisions.to_vec();
    revs.sort_by_key(|r| r.revision.unwrap_or(0));
    let max_rev = revs.last().and_then(|r| r.revision).unwrap_or(0);
    let cur = match revs.iter().position(|r| history::holds(r, template)) {
        Some(i) => {
            if i + 1 != revs.len() {
                let mut r = revs[i].clone();
                r.revision = Some(max_rev + 1);
                plan.renumber_revision = Some(r);
            }
            revs[i].clone()
        }
        None => {
            let labels = template.metadata.as_ref().and_then(|m| m.labels.clone());
            let r = history::new_revision(
                &owner,
                &ns,
                labels,
                template,
                max_rev + 1,
                old.collision_count,
            );
            plan.create_revision = Some(r.clone());
            revs.push(r.clone());
            r
        }
    };
    let hash = cur
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(REVISION_LABEL))
        .cloned()
        .unwrap_or_default();

    let mut by_node: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    for p in input.pods {
        if let Some(n) = p.spec.as_ref().and_then(target_node) {
            by_node.entry(n).or_default().push(p);
        }
    }
    let mut st = DaemonSetStatus {
        observed_generation: ds.metadata.generation,
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
        ..Default::default()
    };
    let deleting = ds.metadata.deletion_timestamp.is_some();
    // (node's pod, available) for nodes where it should run: the rolling update's view
    let mut placed: Vec<(&Pod, bool)> = Vec::new();
    let mut unavailable_nodes = 0;
    let mut available = 0;
    let mut updated = 0;
    for node in input.nodes {
        let nname = node.metadata.name.clone().unwrap_or_default();
        let (run, cont) = should_run(&spec, node);
        let pods = by_node.get(&nname).cloned().unwrap_or_default();
        let mut live: Vec<&Pod> = pods
            .iter()
            .copied()
            .filter(|p| !pod::is_terminating(p))
            .collect();
        live.sort_by_key(|p| created(p));
        if run {
            st.desired_number_scheduled += 1;
        }
        if !live.is_empty() {
            if run {
                st.current_number_scheduled += 1;
            } else {
                st.number_misscheduled += 1;
            }
        }
        if deleting {
            continue;
        }
        if cont {
            let (failed, running): (Vec<&Pod>, Vec<&Pod>) =
                live.iter().partition(|p| pod::phase(p) == "Failed");
            plan.delete.extend(failed.into_iter().cloned());
            if running.len() > 1 {
                plan.delete
                    .extend(running[1..].iter().map(|p| (*p).clone()));
            }
            match running.first() {
                Some(p) if run => {
                    let ok = pod::is_available(p, min_ready, now);
                    if pod::is_ready(p) {
                        st.number_ready += 1;
                    }
                    if ok {
                        available += 1;
                    } else {
                        unavailable_nodes += 1;
                        if let Some(d) = pod::until_available(p, min_ready, now) {
                            plan.requeue_after = Some(plan.requeue_after.map_or(d, |r| r.min(d)));
                        }
                    }
                    if p.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(REVISION_LABEL))
                        == Some(&hash)
                    {
                        updated += 1;
                    }
                    placed.push((p, ok));
                }
                Some(_) => {}
                None if run => {
                    unavailable_nodes += 1;
                    plan.create.push(pod_for(ds, &nname, &hash));
                }
                None => {}
            }
        } else {
            plan.delete.extend(live.into_iter().cloned());
        }
    }
    st.number_available = Some(available);
    st.number_unavailable = Some(st.desired_number_scheduled - available);
    st.updated_number_scheduled = Some(updated);

    // rolling update: old pods go, unavailable ones at once, the rest within maxUnavailable
    let strategy = ds.spec.update_strategy.as_ref();
    let rolling = strategy
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate");
    if rolling && !deleting {
        let mu = strategy
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.max_unavailable.clone())
            .unwrap_or(IntOrString::Int(1));
        let max_unavailable = scaled_value(&mu, st.desired_number_scheduled, true)
            .unwrap_or(1)
            .max(1);
        let mut budget = max_unavailable - unavailable_nodes;
        for (p, ok) in placed {
            let old_rev = p
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(REVISION_LABEL))
                != Some(&hash);
            if !old_rev {
                continue;
            }
            if !ok {
                plan.delete.push(p.clone());
            } else if budget > 0 {
                plan.delete.push(p.clone());
                budget -= 1;
            }
        }
    }
    // history beyond the limit, keeping revisions in use
    let limit = ds.spec.revision_history_limit.unwrap_or(10).max(0) as usize;
    let live_hashes: Vec<&str> = input
        .pods
        .iter()
        .filter_map(|p| {
            p.metadata
                .labels
                .as_ref()?
                .get(REVISION_LABEL)
                .map(String::as_str)
        })
        .collect();
    let unused: Vec<&ControllerRevision> = revs
        .iter()
        .filter(|r| {
            let h = r
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(REVISION_LABEL))
                .map(String::as_str);
            r.metadata.name != cur.metadata.name && !h.is_some_and(|h| live_hashes.contains(&h))
        })
        .collect();
    if unused.len() > limit {
        plan.delete_revisions = unused[..unused.len() - limit]
            .iter()
            .filter_map(|r| r.metadata.name.clone())
            .collect();
    }
    plan.status = st;
    plan
}
