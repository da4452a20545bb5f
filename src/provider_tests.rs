use framework::AttrValue;

use super::*;

fn block(pairs: Vec<(&str, Value)>) -> Value {
    schema().object(None, pairs)
}

/// The checks the framework runs on a provider block: validators, then the checks across attributes.
fn check(config: &Value) -> (Diagnostics, Option<ProviderModel>) {
    framework::check(&schema().rules, config, "provider", validate)
}

fn paths(ds: &Diagnostics) -> Vec<String> {
    ds.0.iter().map(|d| d.attribute.as_ref().map(|p| p.to_string()).unwrap_or_default()).collect()
}

#[test]
fn accepts_a_full_block() {
    let cfg = block(vec![
        ("region", "eu-central-1".into()),
        ("access_key", "AKIA".into()),
        ("secret_key", "s".into()),
        ("max_retries", Value::int(3)),
        ("s3_use_path_style", true.into()),
        (
            "assume_role",
            Value::List(vec![Value::object([
                ("role_arn", Value::from("arn:aws:iam::123456789012:role/admin")),
                ("session_name", "ci-run".into()),
                ("external_id", "xyz".into()),
                ("duration", "1h30m".into()),
            ])]),
        ),
        (
            "endpoints",
            Value::List(vec![Value::object([
                ("s3", Value::from("http://127.0.0.1:4566")),
                ("iam", Value::Null),
                ("sts", "https://sts.example".into()),
            ])]),
        ),
    ]);
    let (ds, model) = check(&cfg);
    assert!(ds.is_empty(), "{ds:?}");
    let s = settings(&model.unwrap());
    assert_eq!(s.max_attempts, 4);
    assert_eq!(s.assume_role.unwrap().duration, Some(Duration::from_secs(5400)));
    assert_eq!(s.endpoints.s3.as_deref(), Some("http://127.0.0.1:4566"));
    assert!(s.s3_use_path_style);
    assert_eq!(s.static_keys, Some(("AKIA".into(), "s".into(), None)));
}

#[test]
fn defaults_of_an_empty_block() {
    let (ds, model) = check(&block(vec![]));
    assert!(ds.is_empty(), "{ds:?}");
    let s = settings(&model.unwrap());
    assert_eq!((s.max_attempts, s.s3_use_path_style, s.static_keys, s.assume_role), (26, false, None, None));
    assert_eq!(ProviderModel::from_value(&block(vec![])).unwrap().to_value(), block(vec![]));
}

#[test]
fn names_the_attribute_of_each_error() {
    let cfg = block(vec![
        ("region", "useast1".into()),
        ("access_key", "AKIA".into()),
        ("max_retries", Value::int(-1)),
        (
            "assume_role",
            Value::List(vec![Value::object([
                ("role_arn", Value::from("arn:aws:iam::123:user/x")),
                ("session_name", Value::Null),
                ("external_id", Value::Null),
                ("duration", "2d".into()),
            ])]),
        ),
        (
            "endpoints",
            Value::List(vec![Value::object([
                ("s3", Value::from("localhost:4566")),
                ("iam", Value::Null),
                ("sts", Value::Null),
            ])]),
        ),
    ]);
    let (ds, _) = check(&cfg);
    let mut got = paths(&ds);
    got.sort();
    let mut want = vec![
        "region",
        "secret_key",
        "max_retries",
        "assume_role[0].role_arn",
        "assume_role[0].duration",
        "endpoints[0].s3",
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn unknown_values_are_not_errors() {
    let cfg = block(vec![("access_key", "AKIA".into()), ("secret_key", Value::Unknown), ("region", Value::Unknown)]);
    assert!(check(&cfg).0.is_empty());
}

#[test]
fn durations() {
    assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
    assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_duration("10"), None);
    assert_eq!(parse_duration(""), None);
}

#[test]
fn credential_diagnostics_name_the_block_and_never_a_secret() {
    let (_, model) = check(&block(vec![
        ("region", "eu-west-1".into()),
        ("profile", "prod".into()),
        ("access_key", "AKIAEXAMPLEKEYID".into()),
        ("secret_key", "very-secret-value".into()),
        ("token", "session-token-value".into()),
    ]));
    let s = settings(&model.expect("a valid block"));
    let name = credentials::block_name(&s, "eu-west-1");
    assert_eq!(name, r#"provider "crossrepl" (region "eu-west-1", profile "prod", access_key set)"#);
    let problem = crate::aws::credentials::CredentialsProblem::Failed("expired".into());
    let refused = crate::aws::AwsError::local("sts", "GetCallerIdentity", "x", "refused", crate::aws::ErrorKind::Other);
    for ds in [credentials::not_usable(&name, &s, &problem), credentials::refused(&name, &refused)] {
        let text = format!("{} {}", ds.0[0].summary, ds.0[0].detail);
        assert!(text.contains(&name), "{text}");
        for secret in ["AKIAEXAMPLEKEYID", "very-secret-value", "session-token-value"] {
            assert!(!text.contains(secret), "a credential in the diagnostic: {text}");
        }
    }
    // With no static keys, the sources are listed.
    let bare = settings(&check(&block(vec![("region", "eu-west-1".into())])).1.expect("a valid block"));
    let ds = credentials::not_usable("b", &bare, &crate::aws::credentials::CredentialsProblem::NotFound("none".into()));
    assert!(ds.0[0].detail.contains("Sources tried, in order:"), "{}", ds.0[0].detail);
}
