//! The `skiff` binary: argument parsing and wiring only.

fn main() {}
