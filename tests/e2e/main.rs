//! End-to-end scenarios: each module proves one user-visible behaviour with real clients.
