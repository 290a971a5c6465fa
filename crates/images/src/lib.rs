//! OCI image store: content-addressed blobs, image records, layer snapshots.
