//! Helpers shared by the workload controllers: hashing, ownership, expectations, pods, events.

pub mod apply;
pub mod backoff;
pub mod events;
pub mod expectations;
pub mod hash;
pub mod history;
pub mod informer;
pub mod owner;
pub mod pod;
pub mod runner;
pub mod selector;
pub mod time;

#[cfg(test)]
pub(crate) mod fixtures;
