//! Pods on this node: one worker per pod (an explicit state machine), the pure planning and
//! status computation it relies on, and the runtime configurations it builds.

mod actions;
pub use actions::image_id;
pub mod api;
pub mod backoff;
pub mod config;
pub mod plan;
mod report;
pub mod status;
mod sync;
mod teardown;
pub mod termination;
pub mod worker;

pub use worker::{Ctx, Next, State, Worker};
