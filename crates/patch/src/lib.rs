//! Patches on raw JSON objects: JSON patch, merge patch, strategic merge patch, server-side apply.

mod schema;
