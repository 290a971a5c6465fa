//! Tests of JSON patch, merge patch and server-side apply.
