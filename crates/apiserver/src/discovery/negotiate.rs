//! Accept-header negotiation between the legacy and the aggregated discovery formats.

use super::DiscoveryVersion;

/// Picks the aggregated discovery format the client asked for, honouring order and `q`.
/// Returns the version and the exact `Content-Type` to answer with (client-go recognises the
/// aggregated form by it), or `None` when the legacy document should be served.
pub fn negotiate(accept_header: &str) -> Option<(DiscoveryVersion, &'static str)> {
    let mut ranges: Vec<(f32, usize, MediaRange<'_>)> = accept_header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let range = MediaRange::parse(part)?;
            (range.q > 0.0).then_some((range.q, i, range))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, range) in ranges {
        let json = range.essence.eq_ignore_ascii_case("application/json");
        if json
            && range.param("g") == Some("apidiscovery.k8s.io")
            && range.param("as") == Some("APIGroupDiscoveryList")
        {
            match range.param("v") {
                Some("v2") => {
                    return Some((DiscoveryVersion::V2, DiscoveryVersion::V2.content_type()));
                }
                Some("v2beta1") => {
                    return Some((
                        DiscoveryVersion::V2Beta1,
                        DiscoveryVersion::V2Beta1.content_type(),
                    ));
                }
                _ => continue,
            }
        }
        let plain = range.params.is_empty() || range.params.iter().all(|(k, _)| *k == "q");
        let wildcard =
            range.essence == "*/*" || range.essence.eq_ignore_ascii_case("application/*");
        if (json && plain) || wildcard {
            return None;
        }
    }
    None
}

/// One element of an Accept header.
struct MediaRange<'a> {
    essence: &'a str,
    params: Vec<(&'a str, &'a str)>,
    q: f32,
}

impl<'a> MediaRange<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.split(';');
        let essence = parts.next()?.trim();
        if essence.is_empty() {
            return None;
        }
        let mut params = Vec::new();
        let mut q = 1.0;
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim().trim_matches('"'));
            if k == "q" {
                q = v.parse().unwrap_or(0.0);
            }
            params.push((k, v));
        }
        Some(MediaRange { essence, params, q })
    }

    fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }
}
