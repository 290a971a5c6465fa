//! End-to-end scenarios (see e2e/).
