use super::*;

#[test]
fn subdomain_message_is_upstreams() {
    assert_eq!(
        dns1123_subdomain("Web_1"),
        vec![r"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string()]
    );
    assert!(dns1123_subdomain("web.example-1").is_empty());
}

#[test]
fn label_message_has_upstreams_double_space() {
    let e = dns1123_label("Foo");
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"), "{}", e[0]);
    assert_eq!(
        dns1123_label(&"a".repeat(64)),
        vec!["must be no more than 63 characters".to_string()]
    );
}

#[test]
fn dns1035_requires_leading_letter() {
    assert!(!dns1035_label("1abc").is_empty());
    assert!(dns1035_label("abc-1").is_empty());
}

#[test]
fn path_segments_reject_slash_percent_and_dots() {
    assert_eq!(path_segment("a/b"), vec!["may not contain '/'".to_string()]);
    assert_eq!(path_segment(".."), vec!["may not be '..'".to_string()]);
    assert!(path_segment("system:controller:foo").is_empty());
}

#[test]
fn qualified_names_accept_prefixed_keys() {
    assert!(qualified_name("app.kubernetes.io/name").is_empty());
    assert!(qualified_name("MyName").is_empty());
    assert_eq!(
        qualified_name("/x"),
        vec!["prefix part must be non-empty".to_string()]
    );
    assert!(qualified_name("a/b/c")[0].starts_with("a qualified name must consist"));
    assert!(qualified_name("-bad")[0].starts_with("name part must consist"));
    assert_eq!(
        qualified_name(&"a".repeat(64))[0],
        "name part must be no more than 63 characters"
    );
}

#[test]
fn label_values_may_be_empty_but_not_malformed() {
    assert!(label_value("").is_empty());
    assert!(label_value("v1.2_x").is_empty());
    assert!(label_value("bad value")[0].starts_with("a valid label must be an empty string"));
}

#[test]
fn config_keys_follow_upstream_rules() {
    assert!(config_key("app.properties").is_empty());
    assert!(!config_key("bad key").is_empty());
    assert_eq!(config_key(".."), vec!["must not be '..'".to_string()]);
}

#[test]
fn port_names_are_iana_service_names() {
    assert!(port_name("http").is_empty());
    assert!(
        port_name("http-metrics-123").contains(&"must be no more than 15 characters".to_string())
    );
    assert!(port_name("8080").contains(&"must contain at least one letter (a-z)".to_string()));
}

#[test]
fn generate_name_prefix_may_end_with_dash() {
    assert!(check_name(NameRule::Subdomain, "web-", true).is_empty());
    assert!(!check_name(NameRule::Subdomain, "web-", false).is_empty());
}
