use super::*;

fn groups(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn token_file_with_quoted_groups() {
    let text = "abc123,alice,1001,\"dev,ops\"\n\
                \n\
                def456,bob,1002\n\
                ghi789, carol , 1003 ,\"system:masters\"\n";
    let authn = Authenticator::from_token_csv(text).unwrap();
    assert_eq!(
        authn.authenticate(None, Some("Bearer abc123")),
        Some(UserInfo {
            name: "alice".into(),
            groups: groups(&["dev", "ops", AUTHENTICATED_GROUP]),
        })
    );
    assert_eq!(
        authn.authenticate(None, Some("Bearer def456")),
        Some(UserInfo {
            name: "bob".into(),
            groups: groups(&[AUTHENTICATED_GROUP]),
        })
    );
    // Leading spaces are ignored; trailing ones are part of the field, as in Go's csv.
    let carol = authn.authenticate(None, Some("bearer ghi789")).unwrap();
    assert_eq!(carol.name, "carol ");
    assert_eq!(
        carol.groups,
        groups(&["system:masters", AUTHENTICATED_GROUP])
    );
}

#[test]
fn token_file_escaped_quotes_and_crlf() {
    let text = "\u{feff}\"to\"\"ken\",u,1\r\nx,y,z\r\n";
    let authn = Authenticator::from_token_csv(text).unwrap();
    assert_eq!(
        authn
            .authenticate(None, Some("Bearer to\"ken"))
            .map(|u| u.name),
        Some("u".to_string())
    );
    assert_eq!(
        authn.authenticate(None, Some("Bearer x")).map(|u| u.name),
        Some("y".to_string())
    );
}

#[test]
fn token_file_bad_lines_are_clear_errors() {
    let cases = [
        ("tok,user\n", 1, "at least 3 columns"),
        ("a,b,c\n,user,1\n", 2, "empty token"),
        ("a,,1\n", 1, "empty user name"),
        ("a,b,c,\"g1,g2\n", 1, "unterminated quoted field"),
        ("a,b\"x,c\n", 1, "bare '\"'"),
        ("a,b,c,\"g\"x\n", 1, "after a quoted field"),
    ];
    for (text, line, want) in cases {
        let (got_line, reason) = Authenticator::from_token_csv(text).unwrap_err();
        assert_eq!(got_line, line, "{text:?}");
        assert!(reason.contains(want), "{text:?}: {reason}");
    }
}

#[test]
fn token_file_from_disk_and_error_mentions_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("tokens.csv");
    std::fs::write(&good, "t1,admin,1,\"system:masters\"\n").unwrap();
    let authn = Authenticator::new(Some(&good)).unwrap();
    assert_eq!(
        authn.authenticate(None, Some("Bearer t1")).unwrap().name,
        "admin"
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "t1,admin,1\nbroken\n").unwrap();
    let err = Authenticator::new(Some(&bad)).unwrap_err().to_string();
    assert!(err.contains("bad.csv"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("found 1"), "{err}");

    let missing = dir.path().join("missing.csv");
    let err = Authenticator::new(Some(&missing)).unwrap_err();
    assert!(matches!(err, AuthnError::Read { .. }), "{err}");

    let none = Authenticator::new(None).unwrap();
    assert_eq!(none.authenticate(None, Some("Bearer t1")), None);
}

#[test]
fn bearer_header_parsing() {
    assert_eq!(bearer_token("Bearer abc"), Some("abc"));
    assert_eq!(bearer_token("  bearer abc  "), Some("abc"));
    assert_eq!(bearer_token("BEARER abc extra"), Some("abc"));
    assert_eq!(bearer_token("Bearer"), None);
    assert_eq!(bearer_token("Bearer "), None);
    assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
    assert_eq!(bearer_token(""), None);
}

#[test]
fn unknown_bearer_token_is_rejected_not_anonymous() {
    let mut authn = Authenticator::default();
    authn.add_token("known", UserInfo::authenticated("u", Vec::new()));
    assert!(matches!(
        authn.authenticate_request(None, Some("Bearer nope")),
        Err(AuthnError::InvalidBearerToken)
    ));
    assert_eq!(authn.authenticate(None, Some("Bearer nope")), None);
    assert_eq!(authn.authenticate_request(None, None).unwrap(), None);
    assert_eq!(
        authn.authenticate_request(None, Some("Basic x")).unwrap(),
        None
    );
    assert_eq!(
        authn
            .authenticate_request(None, Some("Bearer known"))
            .unwrap()
            .map(|u| u.groups),
        Some(groups(&[AUTHENTICATED_GROUP]))
    );
    assert!(!format!("{authn:?}").contains("known"));
}

#[test]
fn user_from_certificate_subject() {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::OrganizationName, "system:nodes");
    dn.push(rcgen::DnType::CommonName, "system:node:n1");
    params.distinguished_name = dn;
    let cert = params.self_signed(&key).unwrap();
    let mut authn = Authenticator::default();
    authn.add_token("t", UserInfo::authenticated("token-user", Vec::new()));
    // The certificate wins over a token.
    let user = authn
        .authenticate(Some(cert.der()), Some("Bearer t"))
        .unwrap();
    assert_eq!(user.name, "system:node:n1");
    assert_eq!(user.groups, groups(&["system:nodes", AUTHENTICATED_GROUP]));
    // Garbage DER falls through to the token.
    assert_eq!(
        authn
            .authenticate(Some(b"junk"), Some("Bearer t"))
            .unwrap()
            .name,
        "token-user"
    );

    // No CN: not a user.
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::OrganizationName, "o");
    params.distinguished_name = dn;
    let cert = params.self_signed(&key).unwrap();
    assert_eq!(user_from_cert(cert.der()), None);
}
