use super::*;
use crate::testutil::pod;
use serde_json::json;

fn q() -> SchedulingQueue {
    SchedulingQueue::new(Duration::from_secs(1), Duration::from_secs(10))
}

fn p(name: &str, prio: i32) -> Arc<PodInfo> {
    Arc::new(pod(name, "1", "1", json!({"spec": {"priority": prio}})))
}

#[test]
fn pops_by_priority_then_arrival() {
    let mut q = q();
    let t = Instant::now();
    q.add(p("low", 1), t);
    q.add(p("high", 10), t + Duration::from_millis(1));
    q.add(p("low2", 1), t + Duration::from_millis(2));
    let order: Vec<String> = std::iter::from_fn(|| q.pop())
        .map(|qp| qp.info.name.clone())
        .collect();
    assert_eq!(order, ["high", "low", "low2"]);
}

#[test]
fn exponential_backoff_capped() {
    let q = q();
    let d: Vec<u64> = (1..=6).map(|a| q.backoff_duration(a).as_secs()).collect();
    assert_eq!(d, [1, 2, 4, 8, 10, 10]);
}

#[test]
fn unschedulable_waits_for_an_event_then_backs_off() {
    let mut q = q();
    let t = Instant::now();
    q.add(p("a", 0), t);
    let qp = q.pop().expect("pod");
    q.add_unschedulable(qp, false, t);
    assert_eq!(q.lens(), (0, 0, 1));
    q.flush_backoff(t + Duration::from_secs(60));
    assert!(q.pop().is_none(), "no event, no retry");
    // A node appears within the backoff: the pod waits out its backoff first.
    q.move_all_to_active_or_backoff(t + Duration::from_millis(500));
    assert_eq!(q.lens(), (0, 1, 0));
    q.flush_backoff(t + Duration::from_millis(900));
    assert!(q.pop().is_none());
    q.flush_backoff(t + Duration::from_millis(1000));
    let qp = q.pop().expect("retried after 1s");
    assert_eq!(qp.attempts, 2);
    // Second failure: 2s backoff.
    q.add_unschedulable(qp, true, t + Duration::from_secs(1));
    assert_eq!(q.next_backoff_expiry(), Some(t + Duration::from_secs(3)));
}

#[test]
fn event_during_cycle_sends_failure_to_backoff() {
    let mut q = q();
    let t = Instant::now();
    q.add(p("a", 0), t);
    let qp = q.pop().expect("pod");
    q.move_all_to_active_or_backoff(t);
    q.add_unschedulable(qp, false, t);
    assert_eq!(q.lens(), (0, 1, 0));
}

#[test]
fn leftover_unschedulable_flushed_and_deleted_pods_vanish() {
    let mut q = q();
    let t = Instant::now();
    q.add(p("a", 0), t);
    let qp = q.pop().expect("pod");
    q.add_unschedulable(qp, false, t);
    q.flush_unschedulable_leftover(t + Duration::from_secs(301), Duration::from_secs(300));
    assert!(q.pop().is_some());
    q.delete("default/a");
    q.add(p("b", 0), t);
    q.delete("default/b");
    assert!(q.pop().is_none());
}
