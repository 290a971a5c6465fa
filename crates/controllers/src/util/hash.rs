//! Stable short hashes for pod templates and controller revisions (FNV-1a 32 of the JSON form).
//!
//! Upstream hashes the Go struct dump of the template; that form cannot be reproduced outside
//! Go, so Skiff hashes the canonical JSON of the typed template (fields in schema order, maps
//! sorted) with FNV-1a 32, appends the collision count like upstream, and encodes the decimal
//! value with the same consonant/digit alphabet (`rand.SafeEncodeString`), giving names such
//! as `web-7d9c5b8f4`. The value is stable across restarts and versions of Skiff.

use k8s_openapi::api::core::v1::PodTemplateSpec;

/// The label every ReplicaSet of a Deployment carries on its selector, template and pods.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-1a, 32 bits.
pub fn fnv32a(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Maps every byte of `s` onto an alphabet without vowels (no accidental words), as
/// upstream's `SafeEncodeString` does.
pub fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// Hash of raw bytes plus an optional collision count, encoded.
pub fn hash_bytes(data: &[u8], collision_count: Option<i32>) -> String {
    let mut buf = data.to_vec();
    if let Some(c) = collision_count {
        // upstream writes the count as 4 little-endian bytes of a uint32
        buf.extend_from_slice(&(c as u32).to_le_bytes());
    }
    safe_encode(&fnv32a(&buf).to_string())
}

/// The `pod-template-hash` of a template: the template without that label, hashed.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut t = template.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
    }
    let json = serde_json::to_vec(&t).unwrap_or_default();
    hash_bytes(&json, collision_count)
}

/// Whether two templates are equal once the `pod-template-hash` label is removed from both.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(m) = t.metadata.as_mut() {
            if let Some(l) = m.labels.as_mut() {
                l.remove(POD_TEMPLATE_HASH_LABEL);
                if l.is_empty() {
                    m.labels = None;
                }
            }
            if m.annotations.as_ref().is_some_and(|a| a.is_empty()) {
                m.annotations = None;
            }
        }
        serde_json::to_value(&t).unwrap_or_default()
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn template(image: &str) -> PodTemplateSpec {
        serde_json::from_value(serde_json::json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": image}]}
        }))
        .unwrap_or_default()
    }

    #[test]
    fn fnv_known_values() {
        assert_eq!(fnv32a(b""), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c_292c);
        assert_eq!(fnv32a(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn hash_is_stable_and_ignores_hash_label() {
        let a = template("nginx:1");
        let mut b = a.clone();
        b.metadata
            .get_or_insert_with(ObjectMeta::default)
            .labels
            .get_or_insert_with(Default::default)
            .insert(POD_TEMPLATE_HASH_LABEL.into(), "x".into());
        assert_eq!(pod_template_hash(&a, None), pod_template_hash(&b, None));
        assert!(equal_ignore_hash(&a, &b));
        assert_ne!(
            pod_template_hash(&a, None),
            pod_template_hash(&template("nginx:2"), None)
        );
        assert_ne!(pod_template_hash(&a, None), pod_template_hash(&a, Some(1)));
        let h = pod_template_hash(&a, None);
        assert!(h.bytes().all(|c| ALPHANUMS.contains(&c)), "{h}");
        assert!(!equal_ignore_hash(&a, &template("nginx:2")));
    }
}
