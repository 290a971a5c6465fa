//! What a StatefulSet sync does, as a pure function of the set, its pods and revisions:
//! stable ordinals, ordered or parallel creation and deletion, claims per pod, rolling
//! update with partition, and the status.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::util::history::{self, REVISION_LABEL};
use crate::util::owner::Owner;
use crate::util::pod;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// The state a sync reads.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    pub set: &'a StatefulSet,
    /// Pods the set controls.
    pub pods: &'a [Pod],
    /// Revisions the set controls.
    pub revisions: &'a [ControllerRevision],
    pub now: i64,
}

/// The decision of one sync.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// A revision to create (the update revision is new).
    pub create_revision: Option<ControllerRevision>,
    /// An existing revision equal to the template, renumbered as the latest.
    pub renumber_revision: Option<ControllerRevision>,
    /// Old revisions beyond revisionHistoryLimit.
    pub delete_revisions: Vec<String>,
    /// Claims to create (if missing) before the pods.
    pub claims: Vec<PersistentVolumeClaim>,
    pub create: Vec<Pod>,
    pub delete: Vec<Pod>,
    pub status: StatefulSetStatus,
}

/// The ordinal of a pod of `set_name` (`<set>-<n>`).
pub fn ordinal(set_name: &str, p: &Pod) -> Option<i32> {
    let n = p.metadata.name.as_deref()?;
    n.strip_prefix(set_name)?.strip_prefix('-')?.parse().ok()
}

fn revision_of(p: &Pod) -> Option<&str> {
    p.metadata
        .labels
        .as_ref()?
        .get(REVISION_LABEL)
        .map(String::as_str)
}

fn healthy(p: &Pod, min_ready: i32, now: i64) -> bool {
    pod::is_active(p) && pod::phase(p) == "Running" && pod::is_available(p, min_ready, now)
}

/// The claim of template `claim` for the pod of `ordinal`.
pub fn claim_name(claim: &str, set: &str, ordinal: i32) -> String {
    format!("{claim}-{set}-{ordinal}")
}

/// The pod of `ordinal` from `template` at `revision`: stable name, hostname/subdomain,
/// identity labels, one claim per volumeClaimTemplate.
pub fn new_pod(set: &StatefulSet, template: &PodTemplateSpec, revision: &str, ordinal: i32) -> Pod {
    let name = set.metadata.name.clone().unwrap_or_default();
    let ns = set.metadata.namespace.clone().unwrap_or_default();
    let pname = format!("{name}-{ordinal}");
    let owner = Owner::of("apps/v1", "StatefulSet", &set.metadata);
    let mut p = pod::from_template(
        template,
        &ns,
        None,
        Some(pname.clone()),
        owner.controller_ref(),
    );
    let labels = p.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME_LABEL.into(), pname.clone());
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
    labels.insert(REVISION_LABEL.into(), revision.to_string());
    if let Some(spec) = p.spec.as_mut() {
        spec.hostname = Some(pname);
        spec.subdomain = set.spec.service_name.clone().filter(|s| !s.is_empty());
        let vols = spec.volumes.get_or_insert_with(Vec::new);
        for c in set.spec.volume_claim_templates.iter().flatten() {
            let cname = c.metadata.name.clone().unwrap_or_default();
            vols.retain(|v| v.name != cname);
            vols.push(Volume {
                name: cname.clone(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim_name(&cname, &name, ordinal),
                    read_only: None,
                }),
                ..Default::default()
            });
        }
    }
    p
}

/// The claims of the pod of `ordinal`.
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<PersistentVolumeClaim> {
    let name = set.metadata.name.clone().unwrap_or_default();
    set.spec
        .volume_claim_templates
        .iter()
        .flatten()
        .map(|c| {
            let cname = c.metadata.name.clone().unwrap_or_default();
            let mut labels = c.metadata.labels.clone().unwrap_or_default();
            labels.extend(set.spec.selector.match_labels.clone().unwrap_or_default());
            PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(claim_name(&cname, &name, ordinal)),
                    namespace: set.metadata.namespace.clone(),
                    labels: Some(labels),
                    annotations: c.metadata.annotations.clone(),
                    ..Default::default()
                },
                spec: c.spec.clone(),
                status: None,
            }
        })
        .collect()
}

/// Decides one sync.
pub fn decide(input: Input<'_>) -> Plan {
    let set = input.set;
    let spec = &set.spec;
    let name = set.metadata.name.clone().unwrap_or_default();
    let ns = set.metadata.namespace.clone().unwrap_or_default();
    let old = set.status.clone().unwrap_or_default();
    let mut plan = Plan::default();
    let owner = Owner::of("apps/v1", "StatefulSet", &set.metadata);

    // revisions: find or make the update revision
    let mut revs: Vec<ControllerRevision> = input.revisions.to_vec();
    revs.sort_by_key(|r| r.revision.unwrap_or(0));
    let max_rev = revs.last().and_then(|r| r.revision).unwrap_or(0);
    let update = match revs.iter().position(|r| history::holds(r, &spec.template)) {
        Some(i) => {
            if i + 1 != revs.len() {
                let mut r = revs[i].clone();
                r.revision = Some(max_rev + 1);
                plan.renumber_revision = Some(r.clone());
                revs[i] = r;
            }
            revs[i].clone()
        }
        None => {
            let r = history::new_revision(
                &owner,
                &ns,
                spec.template
                    .metadata
                    .as_ref()
                    .and_then(|m| m.labels.clone()),
                &spec.template,
                max_rev + 1,
                old.collision_count,
            );
            plan.create_revision = Some(r.clone());
            revs.push(r.clone());
            r
        }
    };
    let update_name = update.metadata.name.clone().unwrap_or_default();
    let current_name = old
        .current_revision
        .clone()
        .filter(|c| revs.iter().any(|r| r.metadata.name.as_ref() == Some(c)))
        .unwrap_or_else(|| update_name.clone());
    let current = revs
        .iter()
        .find(|r| r.metadata.name.as_ref() == Some(&current_name))
        .cloned()
        .unwrap_or_else(|| update.clone());
    let current_template = history::template_of(&current).unwrap_or_else(|| spec.template.clone());

    let replicas = spec.replicas.unwrap_or(1).max(0);
    let start = spec
        .ordinals
        .as_ref()
        .and_then(|o| o.start)
        .unwrap_or(0)
        .max(0);
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let monotonic = spec.pod_management_policy.as_deref() != Some("Parallel");
    let strategy = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.clone())
        .unwrap_or_else(|| "RollingUpdate".into());
    let partition = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);

    let mut slots: Vec<Option<Pod>> = vec![None; replicas as usize];
    let mut condemned: Vec<(i32, Pod)> = Vec::new();
    for p in input.pods {
        match ordinal(&name, p) {
            Some(o) if o >= start && o < start + replicas => {
                slots[(o - start) as usize] = Some(p.clone())
            }
            Some(o) => condemned.push((o, p.clone())),
            None => {}
        }
    }
    condemned.sort_by_key(|c| std::cmp::Reverse(c.0));

    // status from what exists
    let mut st = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
        current_revision: Some(current_name.clone()),
        update_revision: Some(update_name.clone()),
        ..Default::default()
    };
    let mut n_ready = 0;
    let mut n_avail = 0;
    let mut n_cur = 0;
    let mut n_upd = 0;
    for p in input.pods.iter().filter(|p| ordinal(&name, p).is_some()) {
        st.replicas += 1;
        if pod::is_ready(p) && pod::is_active(p) {
            n_ready += 1;
            if pod::is_available(p, min_ready, input.now) {
                n_avail += 1;
            }
        }
        if revision_of(p) == Some(current_name.as_str()) {
            n_cur += 1;
        }
        if revision_of(p) == Some(update_name.as_str()) {
            n_upd += 1;
        }
    }
    st.ready_replicas = Some(n_ready);
    st.available_replicas = Some(n_avail);
    st.current_replicas = Some(n_cur);
    st.updated_replicas = Some(n_upd);

    let versioned = |o: i32| -> Pod {
        let use_current = strategy == "RollingUpdate" && o < partition;
        if use_current && current_name != update_name {
            new_pod(set, &current_template, &current_name, o)
        } else {
            new_pod(set, &spec.template, &update_name, o)
        }
    };
    if set.metadata.deletion_timestamp.is_none() {
        manage(
            &mut plan, set, &slots, &condemned, start, monotonic, min_ready, input.now, &versioned,
        );
        if plan.create.is_empty() && plan.delete.is_empty() && strategy == "RollingUpdate" {
            for i in (0..slots.len()).rev() {
                if (i as i32 + start) < partition {
                    break;
                }
                let Some(p) = &slots[i] else { break };
                if revision_of(p) != Some(update_name.as_str()) && !pod::is_terminating(p) {
                    plan.delete.push(p.clone());
                    break;
                }
                if !healthy(p, min_ready, input.now) {
                    break;
                }
            }
        }
    }
    // a finished rolling update makes the update revision current
    if strategy == "RollingUpdate"
        && st.updated_replicas == Some(st.replicas)
        && st.ready_replicas == Some(st.replicas)
        && st.replicas == replicas
    {
        st.current_replicas = st.updated_replicas;
        st.current_revision = st.update_revision.clone();
    }
    // history beyond the limit, keeping revisions in use
    let limit = spec.revision_history_limit.unwrap_or(10).max(0) as usize;
    let live: Vec<&str> = input.pods.iter().filter_map(revision_of).collect();
    let keep = |r: &ControllerRevision| {
        let n = r.metadata.name.as_deref().unwrap_or("");
        n == update_name || Some(n) == st.current_revision.as_deref() || live.contains(&n)
    };
    let unused: Vec<&ControllerRevision> = revs.iter().filter(|r| !keep(r)).collect();
    if unused.len() > limit {
        plan.delete_revisions = unused[..unused.len() - limit]
            .iter()
            .filter_map(|r| r.metadata.name.clone())
            .collect();
    }
    plan.status = st;
    plan
}

#[allow(clippy::too_many_arguments)]
fn manage(
    plan: &mut Plan,
    set: &StatefulSet,
    slots: &[Option<Pod>],
    condemned: &[(i32, Pod)],
    start: i32,
    monotonic: bool,
    min_ready: i32,
    now: i64,
    versioned: &dyn Fn(i32) -> Pod,
) {
    let mut first_unhealthy: Option<&Pod> = None;
    for (i, slot) in slots.iter().enumerate() {
        let o = i as i32 + start;
        match slot {
            None => {
                plan.claims.extend(claims_for(set, o));
                plan.create.push(versioned(o));
                if monotonic {
                    return;
                }
            }
            Some(p)
                if matches!(pod::phase(p), "Failed" | "Succeeded") && !pod::is_terminating(p) =>
            {
                // a finished pod is replaced under the same name
                plan.delete.push(p.clone());
                if monotonic {
                    return;
                }
            }
            Some(p) if pod::is_terminating(p) => {
                if monotonic {
                    return;
                }
            }
            Some(p) => {
                if !healthy(p, min_ready, now) {
                    first_unhealthy.get_or_insert(p);
                    if monotonic {
                        return;
                    }
                }
            }
        }
    }
    for (_, p) in condemned {
        if pod::is_terminating(p) {
            if monotonic {
                return;
            }
            continue;
        }
        if monotonic && first_unhealthy.is_some() {
            return;
        }
        plan.delete.push(p.clone());
        if monotonic {
            return;
        }
    }
}
