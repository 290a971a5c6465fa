//! The rollout phases of a Deployment sync: RollingUpdate and Recreate steps, history
//! cleanup and the rollout status with its Progressing condition.

use super::super::util::*;
use super::{Act, World, created, name};
use crate::util::time::secs;

impl World<'_> {
    pub(super) fn rollout_rolling(&mut self) {
        self.sync_revision(true);
        let scaled = self.reconcile_new() || self.reconcile_old();
        if !scaled && self.complete_now() {
            self.cleanup();
        }
        self.sync_rollout_status();
    }

    pub(super) fn reconcile_new(&mut self) -> bool {
        let Some(i) = self.new else { return false };
        let n = replicas(self.d);
        let cur = rs_replicas(&self.rss[i]);
        if cur == n {
            return false;
        }
        let to = if cur > n {
            n
        } else {
            self.new_rs_new_replicas(i)
        };
        self.scale(i, to)
    }

    pub(super) fn reconcile_old(&mut self) -> bool {
        let old = self.old_indices();
        let old_pods: i32 = old.iter().map(|i| rs_replicas(&self.rss[*i])).sum();
        if old_pods == 0 {
            return false;
        }
        let all_pods: i32 = self.rss.iter().map(rs_replicas).sum();
        let min_available = replicas(self.d) - max_unavailable(self.d);
        let new_unavailable = self
            .new
            .map(|i| rs_replicas(&self.rss[i]) - rs_available(&self.rss[i]))
            .unwrap_or(0);
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        // first old replicas that are not available anyway
        let mut cleaned = 0;
        for i in self.active_old() {
            if cleaned >= max_scaled_down {
                break;
            }
            let rs = &self.rss[i];
            let (r, a) = (rs_replicas(rs), rs_available(rs));
            if r == a {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(r - a);
            self.scale(i, r - down);
            cleaned += down;
        }
        // then available ones, down to minAvailable
        let available: i32 = self.rss.iter().map(rs_available).sum();
        let mut scaled = 0;
        if available > min_available {
            let total_down = available - min_available;
            for i in self.active_old() {
                if scaled >= total_down {
                    break;
                }
                let r = rs_replicas(&self.rss[i]);
                let down = r.min(total_down - scaled);
                self.scale(i, r - down);
                scaled += down;
            }
        }
        cleaned + scaled > 0
    }

    pub(super) fn rollout_recreate(&mut self) {
        self.sync_revision(false);
        let mut scaled_down = false;
        for i in self.active_old() {
            scaled_down |= self.scale(i, 0);
        }
        if scaled_down {
            self.sync_rollout_status();
            return;
        }
        let old = self.old_indices();
        let old_status_pods: i32 = old
            .iter()
            .map(|i| {
                self.rss[*i]
                    .status
                    .as_ref()
                    .map(|s| s.replicas)
                    .unwrap_or(0)
            })
            .sum();
        let running = old.iter().any(|i| {
            self.rss[*i]
                .metadata
                .uid
                .as_ref()
                .is_some_and(|u| self.running.contains(u))
        });
        if old_status_pods > 0 || running {
            self.sync_rollout_status();
            return;
        }
        if self.new.is_none() {
            self.sync_revision(true);
        }
        if let Some(i) = self.new {
            let n = replicas(self.d);
            self.scale(i, n);
        }
        if self.complete_now() {
            self.cleanup();
        }
        self.sync_rollout_status();
    }

    /// DeploymentComplete on the status this sync would compute.
    pub(super) fn complete_now(&self) -> bool {
        let new = self.new.map(|i| &self.rss[i]);
        let s = calculate_status(self.d, &self.status, &self.all_refs(), new, self.now);
        is_complete(self.d, &s)
    }

    /// Deletes the oldest unused ReplicaSets beyond revisionHistoryLimit.
    pub(super) fn cleanup(&mut self) {
        let Some(limit) = self.d.spec.revision_history_limit else {
            return;
        };
        let mut cleanable: Vec<usize> = self
            .old_indices()
            .into_iter()
            .filter(|i| self.rss[*i].metadata.deletion_timestamp.is_none())
            .collect();
        let diff = cleanable.len() as i64 - i64::from(limit);
        if diff <= 0 {
            return;
        }
        cleanable.sort_by(|a, b| {
            revision(&self.rss[*a])
                .cmp(&revision(&self.rss[*b]))
                .then(created(&self.rss[*a]).cmp(&created(&self.rss[*b])))
        });
        for i in cleanable.into_iter().take(diff as usize) {
            let rs = &self.rss[i];
            let st = rs.status.clone().unwrap_or_default();
            if st.replicas != 0
                || rs_replicas(rs) != 0
                || rs.metadata.generation.unwrap_or(0) > st.observed_generation.unwrap_or(0)
            {
                continue;
            }
            self.acts.push(Act::DeleteRs {
                name: name(rs),
                uid: rs.metadata.uid.clone().unwrap_or_default(),
            });
        }
    }

    pub(super) fn sync_rollout_status(&mut self) {
        let d = self.d;
        let old = d.status.clone().unwrap_or_default();
        let new_rs = self.new.map(|i| self.rss[i].clone());
        let mut s = calculate_status(d, &self.status, &self.all_refs(), new_rs.as_ref(), self.now);
        if !has_progress_deadline(d) {
            remove_condition(&mut s, PROGRESSING);
        }
        let cur = condition(&s, PROGRESSING).cloned();
        let complete_already = s.replicas == s.updated_replicas
            && cur.as_ref().and_then(|c| c.reason.as_deref()) == Some(NEW_RS_AVAILABLE);
        if has_progress_deadline(d) && !complete_already {
            let rs_name = new_rs.as_ref().map(name).unwrap_or_default();
            if is_complete(d, &s) {
                let msg = format!("ReplicaSet {rs_name:?} has successfully progressed.");
                set_condition(
                    &mut s,
                    new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, msg, self.now),
                );
            } else if is_progressing(&old, &s) {
                let msg = if new_rs.is_some() {
                    format!("ReplicaSet {rs_name:?} is progressing.")
                } else {
                    "Deployment is progressing.".to_string()
                };
                let mut c = new_condition(PROGRESSING, "True", RS_UPDATED, msg, self.now);
                if let Some(cur) = cur.as_ref().filter(|c| c.status.as_deref() == Some("True")) {
                    c.last_transition_time = cur.last_transition_time.clone();
                }
                remove_condition(&mut s, PROGRESSING);
                s.conditions.get_or_insert_with(Vec::new).push(c);
            } else if timed_out(d, &s, self.now) {
                let msg = format!("ReplicaSet {rs_name:?} has timed out progressing.");
                set_condition(
                    &mut s,
                    new_condition(PROGRESSING, "False", TIMED_OUT, msg, self.now),
                );
            }
        }
        self.status = s;
    }

    /// When the rollout is still progressing, when to look again for the deadline.
    pub(super) fn requeue_stuck(&self) -> Option<i64> {
        if !has_progress_deadline(self.d) || is_complete(self.d, &self.status) {
            return None;
        }
        let c = condition(&self.status, PROGRESSING)?;
        if c.status.as_deref() != Some("True") || c.reason.as_deref() == Some(NEW_RS_AVAILABLE) {
            return None;
        }
        let from = c.last_update_time.as_ref().map(secs)?;
        let at = from + i64::from(self.d.spec.progress_deadline_seconds.unwrap_or(600));
        Some((at - self.now).max(1))
    }
}
