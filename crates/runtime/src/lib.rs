//! Skiff's container runtime behind a CRI-shaped trait.

pub mod helper;
