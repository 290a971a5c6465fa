//! Field selectors: which fields each kind supports and their values.
