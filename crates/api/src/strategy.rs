//! Write strategies: what create/update/status-update may change; generation bumps.
