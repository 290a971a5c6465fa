//! The service proxy of a node (kube-proxy's role): from Services and EndpointSlices, nftables
//! rules in the node's own table that send ClusterIP, external IP and NodePort traffic to a
//! random ready endpoint, and reject traffic to Services without one.
//!
//! `model.rs` turns API objects into the ports to proxy (pure), `render.rs` turns those into
//! one `nft -f` transaction (pure), `run.rs` watches the API and applies the rules.

pub mod model;
pub mod render;
mod run;
#[cfg(test)]
mod tests;

pub use model::{ProxiedPort, build};
pub use run::{ProxyConfig, run};
