//! resource.Quantity parsing and formatting.
