//! In-memory store for tests.
