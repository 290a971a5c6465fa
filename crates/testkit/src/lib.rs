//! Test harness for end-to-end tests: real processes, real kubectl, real registry.

pub mod agent;
pub mod kubectl;
pub mod oci;
pub mod registry;
pub mod server;

pub use agent::SkiffAgent;
pub use kubectl::Kubectl;
pub use registry::free_port;
pub use server::SkiffServer;

use std::path::PathBuf;

/// Path of a binary built by this workspace (`target/<profile>/<name>`), found next to the
/// running test executable (`target/<profile>/deps/<test>`).
pub fn workspace_bin(name: &str) -> PathBuf {
    if let Ok(p) = std::env::var(format!(
        "SKIFF_TEST_BIN_{}",
        name.to_uppercase().replace('-', "_")
    )) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}
