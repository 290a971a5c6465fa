//! Key-range helpers: prefix bounds compared as bytes, never with SQL `LIKE`.

/// Exclusive upper bound of every key that starts with `prefix`.
///
/// Keys are UTF-8, which never contains the byte 0xFF, so `[0xFF]` bounds every key and
/// incrementing the last byte of a non-empty prefix never overflows.
pub(crate) fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while end.last() == Some(&0xFF) {
        end.pop();
    }
    match end.last_mut() {
        Some(last) => *last += 1,
        None => end.push(0xFF),
    }
    end
}

/// Inclusive lower bound of a range under `prefix` that starts strictly after `start_after`.
///
/// The smallest string greater than `s` is `s` followed by NUL.
pub(crate) fn range_start(prefix: &str, start_after: Option<&str>) -> String {
    match start_after {
        Some(after) if after >= prefix => {
            let mut start = String::with_capacity(after.len() + 1);
            start.push_str(after);
            start.push('\0');
            start
        }
        _ => prefix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_byte() {
        assert_eq!(prefix_end("/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end(""), vec![0xFF]);
        assert_eq!(prefix_end("a_"), b"a`".to_vec());
    }

    #[test]
    fn every_key_with_prefix_is_inside_bounds() {
        for (prefix, key) in [
            ("/a_b/", "/a_b/x"),
            ("/a%", "/a%\u{10FFFF}"),
            ("", "\u{10FFFF}"),
        ] {
            assert!(key.as_bytes() >= prefix.as_bytes());
            assert!(key.as_bytes() < prefix_end(prefix).as_slice());
        }
        assert!("/a_c".as_bytes() >= prefix_end("/a_b").as_slice());
    }

    #[test]
    fn range_start_skips_start_after() {
        assert_eq!(range_start("/p/", None), "/p/");
        assert_eq!(range_start("/p/", Some("/p/x")), "/p/x\0");
        assert_eq!(range_start("/p/", Some("/a")), "/p/");
        assert!("/p/x" < range_start("/p/", Some("/p/x")).as_str());
        assert!("/p/x0" > range_start("/p/", Some("/p/x")).as_str());
    }
}
