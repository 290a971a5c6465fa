//! The scheduling queue: activeQ (priority order, then arrival), backoffQ (pods waiting out an
//! exponential backoff after a failed attempt) and the unschedulable pool (pods waiting for a
//! cluster change), as upstream's PriorityQueue. Time is passed in, so tests need no clock.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::podinfo::PodInfo;

/// A pod in the queue with its attempt history.
#[derive(Clone, Debug)]
pub struct QueuedPod {
    pub info: Arc<PodInfo>,
    pub attempts: u32,
    /// When the pod (re)entered activeQ; orders equal priorities.
    pub timestamp: Instant,
    pub last_attempt: Option<Instant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Active,
    Backoff,
    Unschedulable,
}

struct Entry {
    qp: QueuedPod,
    loc: Loc,
    generation: u64,
    since: Instant,
}

#[derive(PartialEq, Eq)]
struct ActiveKey {
    priority: i32,
    timestamp: Instant,
    seq: u64,
    generation: u64,
    key: String,
}

impl Ord for ActiveKey {
    fn cmp(&self, o: &Self) -> Ordering {
        self.priority
            .cmp(&o.priority)
            .then_with(|| o.timestamp.cmp(&self.timestamp))
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

impl PartialOrd for ActiveKey {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Upstream's PriorityQueue.
pub struct SchedulingQueue {
    entries: HashMap<String, Entry>,
    active: BinaryHeap<ActiveKey>,
    backoff: BinaryHeap<Reverse<(Instant, u64, String)>>,
    seq: u64,
    generation: u64,
    initial_backoff: Duration,
    max_backoff: Duration,
    pub scheduling_cycle: u64,
    move_request_cycle: u64,
    /// Attempt counts of pods currently being scheduled (popped, not yet re-queued).
    in_flight: HashMap<String, (u64, Instant)>,
    unschedulable: usize,
}

impl SchedulingQueue {
    pub fn new(initial_backoff: Duration, max_backoff: Duration) -> SchedulingQueue {
        SchedulingQueue {
            entries: HashMap::new(),
            active: BinaryHeap::new(),
            backoff: BinaryHeap::new(),
            seq: 0,
            generation: 0,
            initial_backoff,
            max_backoff,
            scheduling_cycle: 0,
            move_request_cycle: 0,
            in_flight: HashMap::new(),
            unschedulable: 0,
        }
    }

    /// Backoff after `attempts` failures: initial * 2^(attempts-1), capped.
    pub fn backoff_duration(&self, attempts: u32) -> Duration {
        let mut d = self.initial_backoff;
        for _ in 1..attempts {
            d = d.saturating_mul(2);
            if d > self.max_backoff {
                return self.max_backoff;
            }
        }
        d.min(self.max_backoff)
    }

    fn backoff_expiry(&self, qp: &QueuedPod) -> Option<Instant> {
        qp.last_attempt
            .map(|t| t + self.backoff_duration(qp.attempts))
    }

    fn put(&mut self, qp: QueuedPod, loc: Loc, now: Instant) {
        self.generation += 1;
        self.seq += 1;
        let key = qp.info.key.clone();
        if loc == Loc::Unschedulable {
            self.unschedulable += 1;
        }
        if let Some(old) = self.entries.get(&key)
            && old.loc == Loc::Unschedulable
        {
            self.unschedulable -= 1;
        }
        match loc {
            Loc::Active => self.active.push(ActiveKey {
                priority: qp.info.priority,
                timestamp: qp.timestamp,
                seq: self.seq,
                generation: self.generation,
                key: key.clone(),
            }),
            Loc::Backoff => {
                let until = self.backoff_expiry(&qp).unwrap_or(now);
                self.backoff
                    .push(Reverse((until, self.generation, key.clone())));
            }
            Loc::Unschedulable => {}
        }
        self.entries.insert(
            key,
            Entry {
                qp,
                loc,
                generation: self.generation,
                since: now,
            },
        );
    }

    fn take(&mut self, key: &str) -> Option<Entry> {
        let e = self.entries.remove(key)?;
        if e.loc == Loc::Unschedulable {
            self.unschedulable -= 1;
        }
        Some(e)
    }

    /// A new pending pod goes to activeQ.
    pub fn add(&mut self, info: Arc<PodInfo>, now: Instant) {
        if self.in_flight.contains_key(&info.key) {
            return;
        }
        if let Some(e) = self.entries.get_mut(&info.key) {
            e.qp.info = info;
            return;
        }
        let qp = QueuedPod {
            info,
            attempts: 0,
            timestamp: now,
            last_attempt: None,
        };
        self.put(qp, Loc::Active, now);
    }

    /// The pod object changed: keep its place, but an unschedulable pod gets another try.
    pub fn update(&mut self, info: Arc<PodInfo>, now: Instant) {
        let Some(e) = self.entries.get_mut(&info.key) else {
            self.add(info, now);
            return;
        };
        // Status-only changes (such as our own condition write) do not make a pod fit.
        let changed = e.qp.info.pod.spec != info.pod.spec
            || e.qp.info.pod.metadata.labels != info.pod.metadata.labels;
        e.qp.info = info;
        if changed && e.loc == Loc::Unschedulable {
            let qp = e.qp.clone();
            self.requeue(qp, now);
        }
    }

    pub fn delete(&mut self, key: &str) {
        self.take(key);
        self.in_flight.remove(key);
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key) || self.in_flight.contains_key(key)
    }

    /// Move pods whose backoff expired to activeQ.
    pub fn flush_backoff(&mut self, now: Instant) {
        while let Some(Reverse((until, generation, key))) = self.backoff.peek().cloned() {
            if until > now {
                break;
            }
            self.backoff.pop();
            if let Some(e) = self.entries.get(&key)
                && e.generation == generation
                && e.loc == Loc::Backoff
                && let Some(e) = self.take(&key)
            {
                let mut qp = e.qp;
                qp.timestamp = now;
                self.put(qp, Loc::Active, now);
            }
        }
    }

    /// Pods unschedulable for longer than `max` are retried anyway.
    pub fn flush_unschedulable_leftover(&mut self, now: Instant, max: Duration) {
        if self.unschedulable == 0 {
            return;
        }
        let old: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| e.loc == Loc::Unschedulable && now.duration_since(e.since) >= max)
            .map(|(k, _)| k.clone())
            .collect();
        for k in old {
            if let Some(e) = self.take(&k) {
                self.requeue(e.qp, now);
            }
        }
    }

    fn requeue(&mut self, mut qp: QueuedPod, now: Instant) {
        let backing_off = self.backoff_expiry(&qp).is_some_and(|t| t > now);
        if backing_off {
            self.put(qp, Loc::Backoff, now);
        } else {
            qp.timestamp = now;
            self.put(qp, Loc::Active, now);
        }
    }

    /// A cluster change may make unschedulable pods fit: move them all to active/backoff.
    pub fn move_all_to_active_or_backoff(&mut self, now: Instant) {
        self.move_request_cycle = self.scheduling_cycle;
        if self.unschedulable == 0 {
            return;
        }
        let keys: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| e.loc == Loc::Unschedulable)
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            if let Some(e) = self.take(&k) {
                self.requeue(e.qp, now);
            }
        }
        self.move_request_cycle = self.scheduling_cycle;
    }

    /// The next pod to schedule (highest priority, then oldest), if any is active.
    pub fn pop(&mut self) -> Option<QueuedPod> {
        while let Some(k) = self.active.pop() {
            let live = self
                .entries
                .get(&k.key)
                .is_some_and(|e| e.generation == k.generation && e.loc == Loc::Active);
            if !live {
                continue;
            }
            let e = self.take(&k.key)?;
            self.scheduling_cycle += 1;
            let mut qp = e.qp;
            qp.attempts += 1;
            self.in_flight
                .insert(k.key, (self.scheduling_cycle, qp.timestamp));
            return Some(qp);
        }
        None
    }

    /// The attempt of a popped pod ended (bound or given up).
    pub fn done(&mut self, key: &str) {
        self.in_flight.remove(key);
    }

    /// A popped pod failed. Unless a move request came in while it was being scheduled, it
    /// waits in the unschedulable pool; errors and raced pods wait out their backoff.
    pub fn add_unschedulable(&mut self, mut qp: QueuedPod, error: bool, now: Instant) {
        let Some((cycle, _)) = self.in_flight.remove(&qp.info.key) else {
            return;
        };
        if self.entries.contains_key(&qp.info.key) {
            return;
        }
        qp.last_attempt = Some(now);
        if error || self.move_request_cycle >= cycle {
            self.put(qp, Loc::Backoff, now);
        } else {
            self.put(qp, Loc::Unschedulable, now);
        }
    }

    /// Keys of every queued or in-flight pod.
    pub fn keys(&self) -> Vec<String> {
        self.entries
            .keys()
            .chain(self.in_flight.keys())
            .cloned()
            .collect()
    }

    /// When the earliest backoff ends, for the caller's timer.
    pub fn next_backoff_expiry(&self) -> Option<Instant> {
        self.backoff.peek().map(|Reverse((t, _, _))| *t)
    }

    /// (active, backoff, unschedulable) sizes.
    pub fn lens(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for e in self.entries.values() {
            match e.loc {
                Loc::Active => c.0 += 1,
                Loc::Backoff => c.1 += 1,
                Loc::Unschedulable => c.2 += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests;
