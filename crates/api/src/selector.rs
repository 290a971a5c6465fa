//! Label selectors: parse the query string form and match labels.
