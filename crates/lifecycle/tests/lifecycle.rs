//! Lifecycle controllers against a real `skiff server`, driven by real kubectl.
//! Needs `cargo build -p skiff` first (the testkit spawns target/debug/skiff).

mod lifecycle {
    mod drain;
    mod gc;
    pub mod harness;
    mod nodes;
    mod serviceaccount;
}
