//! Completion indexes of Indexed Jobs and their text form ("1,3-5,7") in status.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;

/// Annotation and label carrying a pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// The completion index of a pod (annotation first, then label), if valid.
pub fn of_pod(p: &Pod) -> Option<i32> {
    let m = &p.metadata;
    let v = m
        .annotations
        .as_ref()
        .and_then(|a| a.get(COMPLETION_INDEX))
        .or_else(|| m.labels.as_ref().and_then(|l| l.get(COMPLETION_INDEX)))?;
    v.parse().ok().filter(|i: &i32| *i >= 0)
}

/// Formats indexes as ranges: {1,3,4,5,7} → "1,3-5,7".
pub fn format(set: &BTreeSet<i32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(",")
}

/// Parses the range form; bad parts and indexes at or above `completions` are skipped.
pub fn parse(s: &str, completions: i32) -> BTreeSet<i32> {
    let mut set = BTreeSet::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
            None => (part.parse::<i32>(), part.parse::<i32>()),
        };
        if let (Ok(a), Ok(b)) = (a, b) {
            for i in a.max(0)..=b.min(completions - 1) {
                set.insert(i);
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        let s: BTreeSet<i32> = [1, 3, 4, 5, 7].into();
        assert_eq!(format(&s), "1,3-5,7");
        assert_eq!(parse("1,3-5,7", 10), s);
        assert_eq!(parse("0-9,x", 3), [0, 1, 2].into());
        assert_eq!(format(&BTreeSet::new()), "");
    }
}
