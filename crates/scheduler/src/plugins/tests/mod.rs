//! Logic tests on hollow nodes: every plugin through the whole framework, no API server.

mod filters;
mod preemption;
mod scores;
mod volumes;
