//! The scheduler process: watches feed a single scheduling loop (on its own thread) that owns
//! the cache and queue; bindings, deletions and events run concurrently on the runtime.

pub mod events;
mod watch;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, Preconditions};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use crate::algorithm::{Algorithm, schedule_one};
use crate::cache::Cache;
use crate::config::SchedulerConfig;
use crate::framework::{Code, Framework, PostFilterResult, Status};
use crate::plugins::volume_binding;
use crate::podinfo::PodInfo;
use crate::queue::{QueuedPod, SchedulingQueue};
use events::Recorder;

/// How long PreBind waits for a pod's claims to be bound (upstream's bindTimeoutSeconds).
const VOLUME_BIND_TIMEOUT: Duration = Duration::from_secs(600);

/// What the loop learns from watches and from finished bindings.
pub enum Update {
    Pod(Box<Pod>),
    PodDeleted(String),
    PodsResynced(HashSet<String>),
    Node(Box<Node>),
    NodeDeleted(String),
    NodesResynced(HashSet<String>),
    PriorityClass(String, i32),
    PriorityClassDeleted(String),
    Claim(Box<PersistentVolumeClaim>),
    ClaimDeleted(String),
    Volume(Box<PersistentVolume>),
    VolumeDeleted(String),
    StorageClass(Box<StorageClass>),
    StorageClassDeleted(String),
    /// A relist of claims, volumes or classes saw these keys; the rest are gone.
    StorageResynced(crate::volumes::StorageKind, HashSet<String>),
    Bound {
        qp: QueuedPod,
        node: String,
        status: Status,
    },
    Noop,
}

/// Run the scheduler until the returned future is dropped or every watch ends.
pub async fn run(client: kube::Client, config: SchedulerConfig) -> anyhow::Result<()> {
    let fw = Arc::new(config.framework()?);
    let (tx, rx) = std::sync::mpsc::channel::<Update>();
    let mut tasks = watch::start(&client, &tx);
    let (recorder, rec_task) = Recorder::start(client.clone(), config.scheduler_name.clone());
    tasks.push(rec_task);
    let stop = Arc::new(AtomicBool::new(false));
    let _guard = Guard {
        tasks,
        stop: stop.clone(),
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(42);
    let mut l = Loop {
        queue: SchedulingQueue::new(config.pod_initial_backoff, config.pod_max_backoff),
        algo: Algorithm::new(config.percentage_of_nodes_to_score, seed),
        cache: Cache::default(),
        classes: HashMap::new(),
        binds: Arc::new(Semaphore::new(config.bind_concurrency.max(1))),
        handle: Handle::current(),
        tx,
        client,
        fw,
        recorder,
        config,
        stop,
    };
    tokio::task::spawn_blocking(move || l.run(rx)).await?;
    Ok(())
}

struct Guard {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Loop {
    queue: SchedulingQueue,
    algo: Algorithm,
    cache: Cache,
    classes: HashMap<String, i32>,
    binds: Arc<Semaphore>,
    handle: Handle,
    tx: Sender<Update>,
    client: kube::Client,
    fw: Arc<Framework>,
    recorder: Recorder,
    config: SchedulerConfig,
    stop: Arc<AtomicBool>,
}

impl Loop {
    fn run(&mut self, rx: Receiver<Update>) {
        let mut last_leftover_flush = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            // Apply what happened, then schedule what is ready.
            let now = Instant::now();
            let wait = match self.queue.next_backoff_expiry() {
                Some(t) => t
                    .saturating_duration_since(now)
                    .min(Duration::from_millis(100)),
                None => Duration::from_millis(100),
            };
            match rx.recv_timeout(wait) {
                Ok(u) => self.apply(u),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            while let Ok(u) = rx.try_recv() {
                self.apply(u);
            }
            let now = Instant::now();
            self.queue.flush_backoff(now);
            if now.duration_since(last_leftover_flush) > Duration::from_secs(30) {
                self.queue
                    .flush_unschedulable_leftover(now, self.config.max_in_unschedulable);
                last_leftover_flush = now;
            }
            let mut n = 0;
            while let Some(qp) = self.queue.pop() {
                self.schedule(qp);
                n += 1;
                if n % 64 == 0 {
                    while let Ok(u) = rx.try_recv() {
                        self.apply(u);
                    }
                    if self.stop.load(Ordering::SeqCst) {
                        return;
                    }
                }
            }
        }
    }

    fn ours(&self, p: &PodInfo) -> bool {
        p.scheduler_name() == self.config.scheduler_name
    }

    fn apply(&mut self, u: Update) {
        let now = Instant::now();
        match u {
            Update::Pod(p) => {
                let info = Arc::new(PodInfo::new(*p, &self.classes));
                if !info.node_name().is_empty() {
                    self.queue.delete(&info.key);
                    self.cache.add_or_update_pod(info);
                } else if self.ours(&info) && !info.terminating {
                    if !self.cache.is_assumed_or_bound(&info.key) {
                        self.queue.update(info, now);
                    }
                } else {
                    self.queue.delete(&info.key);
                }
            }
            Update::PodDeleted(key) => {
                self.queue.delete(&key);
                self.cache.remove_pod(&key);
                self.queue.move_all_to_active_or_backoff(now);
            }
            Update::PodsResynced(seen) => {
                for k in self
                    .cache
                    .bound_pod_keys()
                    .into_iter()
                    .chain(self.queue.keys())
                {
                    if !seen.contains(&k) {
                        self.queue.delete(&k);
                        self.cache.remove_pod(&k);
                    }
                }
            }
            Update::Node(n) => {
                self.cache.upsert_node(*n);
                self.queue.move_all_to_active_or_backoff(now);
            }
            Update::NodeDeleted(name) => self.cache.remove_node(&name),
            Update::NodesResynced(seen) => {
                let gone: Vec<String> = self
                    .cache
                    .nodes
                    .iter()
                    .filter(|n| !seen.contains(&n.name))
                    .map(|n| n.name.clone())
                    .collect();
                for n in gone {
                    self.cache.remove_node(&n);
                }
            }
            Update::PriorityClass(name, v) => {
                self.classes.insert(name, v);
            }
            Update::PriorityClassDeleted(name) => {
                self.classes.remove(&name);
            }
            Update::Claim(c) => {
                let key = crate::volumes::key_of(&c.metadata);
                Arc::make_mut(&mut self.cache.volumes)
                    .claims
                    .insert(key, *c);
                self.queue.move_all_to_active_or_backoff(now);
            }
            Update::ClaimDeleted(key) => {
                Arc::make_mut(&mut self.cache.volumes).claims.remove(&key);
            }
            Update::Volume(v) => {
                let key = crate::volumes::key_of(&v.metadata);
                Arc::make_mut(&mut self.cache.volumes)
                    .volumes
                    .insert(key, *v);
                self.queue.move_all_to_active_or_backoff(now);
            }
            Update::VolumeDeleted(key) => {
                Arc::make_mut(&mut self.cache.volumes).volumes.remove(&key);
            }
            Update::StorageClass(c) => {
                let key = crate::volumes::key_of(&c.metadata);
                Arc::make_mut(&mut self.cache.volumes)
                    .classes
                    .insert(key, *c);
                self.queue.move_all_to_active_or_backoff(now);
            }
            Update::StorageClassDeleted(key) => {
                Arc::make_mut(&mut self.cache.volumes).classes.remove(&key);
            }
            Update::StorageResynced(kind, seen) => {
                Arc::make_mut(&mut self.cache.volumes).retain(kind, &seen);
            }
            Update::Bound { qp, node, status } => self.bound(qp, node, status, now),
            Update::Noop => {}
        }
    }

    fn bound(&mut self, qp: QueuedPod, node: String, status: Status, now: Instant) {
        let info = qp.info.clone();
        match status.code {
            Code::Success => {
                self.queue.done(&info.key);
                self.recorder.pod_event(
                    &info,
                    "Normal",
                    "Scheduled",
                    format!("Successfully assigned {} to {node}", info.key),
                );
            }
            // Already bound elsewhere: the watch brings the truth.
            Code::Skip => {
                self.queue.done(&info.key);
                self.cache.forget(&info.key);
            }
            _ => {
                self.cache.forget(&info.key);
                let msg = if status.plugin == volume_binding::NAME {
                    format!(
                        "running PreBind plugin {:?}: {}",
                        status.plugin,
                        status.message()
                    )
                } else {
                    format!("Binding rejected: {}", status.message())
                };
                self.recorder
                    .pod_event(&info, "Warning", "FailedScheduling", msg);
                self.queue.add_unschedulable(qp, true, now);
            }
        }
    }

    fn schedule(&mut self, qp: QueuedPod) {
        let info = qp.info.clone();
        match schedule_one(&self.fw, &mut self.algo, &self.cache, &info) {
            Ok(d) => {
                let mut pod = info.pod.clone();
                if let Some(s) = pod.spec.as_mut() {
                    s.node_name = Some(d.node.clone());
                }
                let mut assumed = (*info).clone();
                assumed.pod = pod;
                self.cache.assume(Arc::new(assumed), &d.node);
                let permit = match self.binds.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => match self.handle.block_on(self.binds.clone().acquire_owned()) {
                        Ok(p) => p,
                        Err(_) => return,
                    },
                };
                let claims = if self.fw.filter_names().contains(&volume_binding::NAME) {
                    volume_binding::claims_to_bind(&info, &self.cache.volumes)
                } else {
                    Vec::new()
                };
                let (fw, client, tx) = (self.fw.clone(), self.client.clone(), self.tx.clone());
                self.handle.spawn(async move {
                    let mut status = Status::success();
                    if !claims.is_empty() {
                        status = volume_binding::pre_bind(
                            &client,
                            &qp.info.namespace,
                            &claims,
                            &d.node,
                            VOLUME_BIND_TIMEOUT,
                        )
                        .await
                        .with_plugin(volume_binding::NAME);
                    }
                    if status.is_success() {
                        status = match fw.binder() {
                            Some(b) => b.bind(&client, &qp.info, &d.node).await,
                            None => Status::error("no bind plugin"),
                        };
                    }
                    drop(permit);
                    let _ = tx.send(Update::Bound {
                        qp,
                        node: d.node,
                        status,
                    });
                });
            }
            Err(f) => {
                let (reason, message) = match &f.error {
                    Some(e) => ("SchedulerError", e.clone()),
                    None if self.cache.nodes.is_empty() => (
                        "Unschedulable",
                        "no nodes available to schedule pods".to_string(),
                    ),
                    None => ("Unschedulable", f.fit.to_string()),
                };
                let nominated = f.post_filter.as_ref().map(|r| r.nominated_node.clone());
                if let Some(r) = &f.post_filter {
                    self.preempt(&info, r);
                }
                self.recorder
                    .pod_event(&info, "Warning", "FailedScheduling", message.clone());
                if !events::has_condition(&info, reason, &message) || nominated.is_some() {
                    let client = self.client.clone();
                    let p = info.clone();
                    let reason = reason.to_string();
                    self.handle.spawn(async move {
                        events::patch_unschedulable(
                            client,
                            &p,
                            &reason,
                            &message,
                            nominated.as_deref(),
                        )
                        .await;
                    });
                }
                self.queue
                    .add_unschedulable(qp, f.error.is_some(), Instant::now());
            }
        }
    }

    /// Carry out a preemption decision: nominate, evict victims, drop weaker nominations.
    fn preempt(&mut self, pod: &Arc<PodInfo>, r: &PostFilterResult) {
        self.cache.nominate(pod.clone(), &r.nominated_node);
        for p in &r.clear_nominations {
            self.cache.clear_nomination(&p.key);
            let (client, p) = (self.client.clone(), p.clone());
            self.handle
                .spawn(async move { events::patch_nominated(client, &p, None).await });
        }
        for v in &r.victims {
            self.cache.mark_evicting(&v.key);
            self.recorder.pod_event(
                v,
                "Normal",
                "Preempted",
                format!("Preempted by pod {} on node {}", pod.uid, r.nominated_node),
            );
            let (client, v) = (self.client.clone(), v.clone());
            let component = self.config.scheduler_name.clone();
            self.handle.spawn(async move {
                events::patch_disruption_target(client.clone(), &v, &component).await;
                let api: Api<Pod> = Api::namespaced(client, &v.namespace);
                let dp = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: Some(v.uid.clone()),
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                if let Err(e) = api.delete(&v.name, &dp).await {
                    tracing::debug!("deleting preemption victim {}: {e}", v.key);
                }
            });
        }
    }
}
