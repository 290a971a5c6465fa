//! Skiff's scheduler: a client of the API like kube-scheduler. It watches pods and nodes,
//! runs a framework of plugins (filters, scores, preemption) over an incrementally updated
//! cache, and binds pods through the `pods/binding` subresource.

pub mod algorithm;
pub mod cache;
pub mod config;
pub mod error;
pub mod fit_error;
pub mod framework;
pub mod nodeinfo;
pub mod plugins;
pub mod podinfo;
pub mod queue;
pub mod resources;
pub mod run;
#[cfg(test)]
mod testutil;
pub mod volumes;

pub use config::{Plugins, SchedulerConfig};
pub use error::Error;
pub use run::{Update, run};
