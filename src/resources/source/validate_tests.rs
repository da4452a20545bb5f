use tfplugin::{Diagnostic, Diagnostics, Number, Value};

use crate::aws::AwsClients;
use crate::domain::replication::{MAX_DESTINATIONS, MAX_RULE_ID_LEN, REPLICATION_STORAGE_CLASSES};
use crate::resources::source::SourceResource;

const KEY: &str = "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY2: &str = "arn:aws:kms:us-east-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab";

fn arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// A `destination` block value as the engine sends it: every attribute present, null unless given.
fn block(bucket: &str, mut given: Vec<(&str, Value)>) -> Value {
    if !given.iter().any(|(k, _)| *k == "bucket_arn") {
        given.push(("bucket_arn", Value::string(arn(bucket))));
    }
    crate::resources::source::schema::schema().object(Some("destination"), given)
}

fn tags(pairs: &[(&str, &str)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), Value::string(*v))).collect())
}

/// Validates a source configuration with `dests` as the engine would: the schema's validators, then the checks
/// across attributes. `source` is the source bucket (unknown when `None`).
fn validate_destinations(source: Option<&str>, dests: &[Value]) -> Diagnostics {
    let bucket = source.map_or(Value::Unknown, Value::from);
    let config = crate::resources::source::schema::schema()
        .object(None, vec![("bucket", bucket), ("destination", Value::List(dests.to_vec()))]);
    framework::erase::<AwsClients, _>(SourceResource).validate(&config)
}

/// `(path, summary)` of every diagnostic; all must be errors.
fn errors(ds: &Diagnostics) -> Vec<(String, String)> {
    assert!(ds.0.iter().all(Diagnostic::is_error), "{ds:?}");
    ds.0.iter()
        .map(|d| (d.attribute.as_ref().map(ToString::to_string).unwrap_or_default(), d.summary.clone()))
        .collect()
}

/// The attribute paths of the diagnostics for one block alone (source bucket `src`).
fn paths_for(b: Value) -> Vec<String> {
    errors(&validate_destinations(Some("src"), &[b])).into_iter().map(|(p, _)| p).collect()
}

fn paths_for_all(dests: &[Value]) -> Vec<String> {
    errors(&validate_destinations(Some("src"), dests)).into_iter().map(|(p, _)| p).collect()
}

#[test]
fn valid_destinations_have_no_diagnostics() {
    let dests = [
        block("dst-a", vec![("account_id", "222222222222".into()), ("owner_override", true.into())]),
        block(
            "dst-b",
            vec![
                ("tags", tags(&[("env", "prod")])),
                ("delete_marker_replication", false.into()),
                ("storage_class", "DEEP_ARCHIVE".into()),
                ("replica_kms_key_arn", KEY.into()),
                ("source_kms_key_arns", Value::Set(vec![KEY2.into()])),
                ("priority", Value::int(0)),
            ],
        ),
        block("dst-c", vec![("priority", Value::int(i64::from(i32::MAX)))]),
    ];
    assert_eq!(validate_destinations(Some("src"), &dests), Diagnostics::new());
    assert_eq!(validate_destinations(None, &[]), Diagnostics::new());
}

#[test]
fn rejects_malformed_bucket_arns() {
    for bad in [
        "acme-dr",
        "arn:aws:s3:::Acme",
        "arn:aws:s3:::acme/*",
        "arn:aws:s3:us-east-1::acme",
        "arn:aws:s3::111111111111:acme",
        "arn:amazon:s3:::acme",
        "arn:aws:iam:::acme",
        "arn:aws:s3:::ac..me",
    ] {
        let ds = validate_destinations(Some("src"), &[block("x", vec![("bucket_arn", bad.into())])]);
        assert_eq!(
            errors(&ds),
            vec![("destination[0].bucket_arn".into(), "Invalid destination bucket ARN".into())],
            "{bad}"
        );
    }
}

#[test]
fn rejects_the_source_bucket_but_not_several_rules_into_one_bucket() {
    let ds = validate_destinations(Some("src"), &[block("dst-a", vec![]), block("src", vec![])]);
    assert_eq!(
        errors(&ds),
        vec![("destination[1].bucket_arn".into(), "Destination bucket is the source bucket".into())]
    );
    // logs/ to GLACIER and data/ to STANDARD, both into dst-a: two rules, distinct derived ids and priorities.
    let logs = block("dst-a", vec![("prefix", "logs/".into()), ("storage_class", "GLACIER".into())]);
    let data = block("dst-a", vec![("prefix", "data/".into()), ("storage_class", "STANDARD".into())]);
    assert!(validate_destinations(Some("src"), &[logs.clone(), block("dst-b", vec![]), data.clone()]).0.is_empty());
    // The same name in another partition counts as the same bucket: numbered, no error.
    let cn = block("x", vec![("bucket_arn", "arn:aws-cn:s3:::dst-a".into()), ("prefix", "cn/".into())]);
    assert!(paths_for_all(&[logs.clone(), cn]).is_empty());
    // The negative control: an explicit id equal to the second block's derived id collides, blamed on its ARN.
    let taken = block("dst-b", vec![("rule_id", "crossrepl-dst-a#2".into())]);
    assert_eq!(paths_for_all(&[logs, taken, data]), ["destination[2].bucket_arn"]);
}

/// The warnings of planning a new source with `dests` (unconfigured provider: no AWS calls).
async fn plan_warnings(dests: &[Value]) -> Vec<(String, String)> {
    let config = crate::resources::source::schema::schema()
        .object(None, vec![("bucket", "src".into()), ("destination", Value::List(dests.to_vec()))]);
    let resource = framework::erase::<AwsClients, _>(SourceResource);
    assert!(resource.validate(&config).0.is_empty(), "validation stays quiet: engines call it more than once");
    let ds = resource.plan(None, &Value::Null, &config, &config).await.diagnostics;
    assert!(!ds.has_errors(), "{ds:?}");
    ds.0.iter().map(|d| (d.attribute.as_ref().unwrap().to_string(), d.detail.clone())).collect()
}

#[tokio::test]
async fn warns_about_overlapping_rules_into_one_bucket() {
    let warnings = |dests: &[Value]| {
        let dests = dests.to_vec();
        async move { plan_warnings(&dests).await }
    };
    let logs = block("dst-a", vec![("prefix", "logs/".into()), ("storage_class", "GLACIER".into())]);
    let all = block("dst-a", vec![]);
    // Everything (priority 2 by position) wins over logs/ (1): the warning is on the loser and names the winner.
    let w = warnings(&[logs.clone(), all.clone()]).await;
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].0, "destination[0].priority");
    assert!(w[0].1.contains("destination[1] (priority 2) wins"), "{}", w[0].1);
    // Explicit priorities on both: the user chose, no warning. Disjoint prefixes, or another bucket: none either.
    let with_p = |b: &Value, p: i64| {
        let Value::Object(mut m) = b.clone() else { unreachable!() };
        m.insert("priority".into(), Value::int(p));
        Value::Object(m)
    };
    assert!(warnings(&[with_p(&logs, 10), with_p(&all, 1)]).await.is_empty());
    assert!(warnings(&[logs.clone(), block("dst-a", vec![("prefix", "data/".into())])]).await.is_empty());
    assert!(warnings(&[logs, block("dst-b", vec![])]).await.is_empty());
}

#[test]
fn rejects_bad_account_ids() {
    for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
        assert_eq!(paths_for(block("dst-a", vec![("account_id", bad.into())])), ["destination[0].account_id"], "{bad}");
    }
}

#[test]
fn checks_priorities() {
    let at = |p: Value| paths_for(block("dst-a", vec![("priority", p)]));
    assert_eq!(at(Value::int(-1)), ["destination[0].priority"]);
    assert_eq!(at(Value::int(i64::from(i32::MAX) + 1)), ["destination[0].priority"]);
    assert_eq!(at(Value::Number(Number::Float(1.5))), ["destination[0].priority"]);
    assert!(at(Value::int(5)).is_empty());

    let explicit =
        [block("dst-a", vec![("priority", Value::int(9))]), block("dst-b", vec![("priority", Value::int(9))])];
    let ds = validate_destinations(None, &explicit);
    assert_eq!(errors(&ds), vec![("destination[1].priority".into(), "Duplicate replication rule priority".into())]);
    // destination[0] gets 1 by order; destination[1] sets 1 explicitly.
    let mixed = [block("dst-a", vec![]), block("dst-b", vec![("priority", Value::int(1))])];
    assert_eq!(paths_for_all(&mixed), ["destination[1].priority"]);
    // destination[0] sets 2 explicitly; destination[1] gets 2 by order.
    let mixed = [block("dst-a", vec![("priority", Value::int(2))]), block("dst-b", vec![])];
    let ds = validate_destinations(None, &mixed);
    assert_eq!(errors(&ds)[0].0, "destination[1].priority");
    assert!(ds.0[0].detail.contains("by its position"));
}

#[test]
fn checks_rule_ids() {
    let at = |id: Value| paths_for(block("dst-a", vec![("rule_id", id)]));
    assert!(at("allfiles".into()).is_empty());
    assert!(at(Value::Unknown).is_empty());
    assert_eq!(at("".into()), ["destination[0].rule_id"]);
    assert_eq!(at("x".repeat(MAX_RULE_ID_LEN + 1).into()), ["destination[0].rule_id"]);
    let twice = [block("dst-a", vec![("rule_id", "r".into())]), block("dst-b", vec![("rule_id", "r".into())])];
    let ds = validate_destinations(None, &twice);
    assert_eq!(errors(&ds), vec![("destination[1].rule_id".into(), "Duplicate replication rule id".into())]);
    // An explicit id equal to another block's derived id collides too; the derived one is blamed on its ARN.
    let mixed = [block("dst-a", vec![("rule_id", "crossrepl-dst-b".into())]), block("dst-b", vec![])];
    assert_eq!(paths_for_all(&mixed), ["destination[1].bucket_arn"]);
}

#[test]
fn checks_storage_classes() {
    for ok in REPLICATION_STORAGE_CLASSES {
        assert!(paths_for(block("dst-a", vec![("storage_class", ok.into())])).is_empty(), "{ok}");
    }
    for bad in ["OUTPOSTS", "EXPRESS_ONEZONE", "FSX_OPENZFS", "SNOW", "standard", "COLD"] {
        let ds = validate_destinations(None, &[block("dst-a", vec![("storage_class", bad.into())])]);
        assert_eq!(
            errors(&ds),
            vec![("destination[0].storage_class".into(), "Invalid replication storage class".into())]
        );
    }
}

#[test]
fn owner_override_needs_account_id() {
    assert_eq!(paths_for(block("dst-a", vec![("owner_override", true.into())])), ["destination[0].owner_override"]);
    let with_account = block("dst-a", vec![("owner_override", true.into()), ("account_id", "222222222222".into())]);
    assert!(paths_for(with_account).is_empty());
    assert!(paths_for(block("dst-a", vec![("owner_override", false.into())])).is_empty());
}

#[test]
fn replication_time_control_needs_metrics() {
    let rtc = |metrics: Option<bool>| {
        let mut attrs = vec![("replication_time_control", Value::Bool(true))];
        attrs.extend(metrics.map(|m| ("metrics", Value::Bool(m))));
        paths_for(block("dst-a", attrs))
    };
    assert_eq!(rtc(Some(false)), ["destination[0].metrics"]);
    assert!(rtc(Some(true)).is_empty());
    assert!(rtc(None).is_empty(), "metrics left out follows replication_time_control");
    assert!(paths_for(block("dst-a", vec![("metrics", true.into())])).is_empty(), "metrics without RTC");
}

#[test]
fn tag_filters_refuse_delete_marker_replication() {
    // delete_marker_replication defaults to true.
    let ds = validate_destinations(None, &[block("dst-a", vec![("tags", tags(&[("env", "prod")]))])]);
    assert_eq!(
        errors(&ds),
        vec![(
            "destination[0].delete_marker_replication".into(),
            "Delete-marker replication cannot be used with a tag filter".into()
        )]
    );
    assert!(ds.0[0].detail.contains("delete_marker_replication = false"));
    let explicit = block("dst-a", vec![("tags", tags(&[("e", "p")])), ("delete_marker_replication", true.into())]);
    assert_eq!(paths_for(explicit), ["destination[0].delete_marker_replication"]);
    let off = block("dst-a", vec![("tags", tags(&[("e", "p")])), ("delete_marker_replication", false.into())]);
    assert!(paths_for(off).is_empty());
    assert!(paths_for(block("dst-a", vec![("tags", tags(&[]))])).is_empty());
}

#[test]
fn checks_kms_keys() {
    for bad in [
        "alias/replica",
        "arn:aws:kms:eu-west-1:222222222222:alias/aws/s3",
        "arn:aws:kms:eu-west-1:222222222222:alias/",
        "arn:aws:kms:eu-west-1:2222:alias/replica",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:2222:key/abc",
        "arn:aws:kms:nowhere:222222222222:key/abc",
        "arn:aws:kms:eu-west-1:222222222222:key/",
        "arn:aws:s3:eu-west-1:222222222222:key/abc",
    ] {
        let sources = ("source_kms_key_arns", Value::Set(vec![KEY2.into()]));
        let ds = validate_destinations(None, &[block("dst-a", vec![("replica_kms_key_arn", bad.into()), sources])]);
        assert_eq!(errors(&ds), vec![("destination[0].replica_kms_key_arn".into(), "Invalid KMS key ARN".into())]);
    }
    let ds = validate_destinations(None, &[block("dst-a", vec![("replica_kms_key_arn", "alias/replica".into())])]);
    assert!(ds.0[0].detail.contains("alias"));
    // A replica key by alias ARN is accepted (S3 takes it; plan resolves it for the policies); a source key is
    // not: the role's policy must name the key, and nothing resolves source keys.
    let sources = ("source_kms_key_arns", Value::Set(vec![KEY2.into()]));
    let alias = "arn:aws:kms:eu-west-1:222222222222:alias/team/replicas";
    assert!(paths_for(block("dst-a", vec![("replica_kms_key_arn", alias.into()), sources])).is_empty());
    let source_alias = ("source_kms_key_arns", Value::Set(vec![alias.into()]));
    assert_eq!(
        paths_for(block("dst-a", vec![("replica_kms_key_arn", KEY.into()), source_alias])),
        ["destination[0].source_kms_key_arns"]
    );

    let set = block(
        "dst-a",
        vec![
            ("replica_kms_key_arn", KEY.into()),
            ("source_kms_key_arns", Value::Set(vec![KEY2.into(), "alias/x".into()])),
        ],
    );
    assert_eq!(paths_for(set), ["destination[0].source_kms_key_arns"]);
    let list = block(
        "dst-a",
        vec![
            ("replica_kms_key_arn", KEY.into()),
            ("source_kms_key_arns", Value::List(vec![KEY2.into(), "alias/x".into()])),
        ],
    );
    assert_eq!(paths_for(list), ["destination[0].source_kms_key_arns[1]"]);

    let no_replica = block("dst-a", vec![("source_kms_key_arns", Value::Set(vec![KEY2.into()]))]);
    let ds = validate_destinations(None, &[no_replica]);
    assert_eq!(
        errors(&ds),
        vec![("destination[0].source_kms_key_arns".into(), "source_kms_key_arns needs replica_kms_key_arn".into())]
    );
    assert!(paths_for(block("dst-a", vec![("source_kms_key_arns", Value::Set(vec![]))])).is_empty());
    // S3 refuses a replica key on a rule that selects no SSE-KMS objects.
    for sources in [Value::Null, Value::Set(vec![])] {
        let replica_only = block("dst-a", vec![("replica_kms_key_arn", KEY.into()), ("source_kms_key_arns", sources)]);
        assert_eq!(
            errors(&validate_destinations(None, &[replica_only])),
            vec![("destination[0].replica_kms_key_arn".into(), "replica_kms_key_arn needs source_kms_key_arns".into())]
        );
    }
    let unknown = block("dst-a", vec![("replica_kms_key_arn", KEY.into()), ("source_kms_key_arns", Value::Unknown)]);
    assert!(paths_for(unknown).is_empty());
}

#[test]
fn checks_filter_lengths() {
    assert!(paths_for(block("dst-a", vec![("prefix", "p".repeat(1024).into())])).is_empty());
    assert_eq!(paths_for(block("dst-a", vec![("prefix", "p".repeat(1025).into())])), ["destination[0].prefix"]);
    let no_dmr = ("delete_marker_replication", Value::from(false));
    let long_key = "k".repeat(129);
    let t = tags(&[("", "v"), (&long_key, "v"), ("ok", &"v".repeat(257)), ("fine", &"v".repeat(256))]);
    assert_eq!(
        paths_for(block("dst-a", vec![("tags", t), no_dmr])),
        [
            r#"destination[0].tags[""]"#.to_string(),
            format!("destination[0].tags[{long_key:?}]"),
            r#"destination[0].tags["ok"]"#.into()
        ]
    );
}

#[test]
fn limits_the_number_of_destinations() {
    let many: Vec<Value> = (0..=MAX_DESTINATIONS).map(|i| block(&format!("dst-{i}"), vec![])).collect();
    assert_eq!(paths_for_all(&many), ["destination"]);
    assert!(paths_for_all(&many[..MAX_DESTINATIONS]).is_empty());
}

#[test]
fn skips_unknown_values() {
    let unknown = |attr: &str| block("dst-a", vec![(attr, Value::Unknown)]);
    for attr in ["bucket_arn", "account_id", "priority", "storage_class", "replica_kms_key_arn", "prefix", "tags"] {
        assert!(paths_for(unknown(attr)).is_empty(), "{attr}");
    }
    // An attribute that decides another check, unknown.
    assert!(
        paths_for(block("dst-a", vec![("owner_override", true.into()), ("account_id", Value::Unknown)])).is_empty()
    );
    assert!(
        paths_for(block("dst-a", vec![("tags", tags(&[("e", "p")])), ("delete_marker_replication", Value::Unknown)]))
            .is_empty()
    );
    assert!(
        paths_for(block(
            "dst-a",
            vec![("source_kms_key_arns", Value::Set(vec![KEY2.into()])), ("replica_kms_key_arn", Value::Unknown)]
        ))
        .is_empty()
    );
    assert!(paths_for(block("dst-a", vec![("source_kms_key_arns", Value::Unknown)])).is_empty());
    // Unknown bucket ARNs and priorities take no part in duplicate checks.
    let dup = [
        block("dst-a", vec![("priority", Value::int(2))]),
        block("dst-b", vec![("bucket_arn", Value::Unknown), ("priority", Value::Unknown)]),
    ];
    assert!(paths_for_all(&dup).is_empty());
    // Unknown source bucket: nothing to compare.
    assert!(errors(&validate_destinations(None, &[block("src", vec![])])).is_empty());
    // Known parts of a block with unknown parts are still checked.
    assert_eq!(
        paths_for(block("dst-a", vec![("prefix", Value::Unknown), ("account_id", "1".into())])),
        ["destination[0].account_id"]
    );
}

/// Validates a source configuration with top-level attributes `given` and one valid destination.
fn validate_top(given: Vec<(&str, Value)>) -> Vec<(String, String)> {
    let mut attrs = vec![("bucket", Value::from("src")), ("destination", Value::List(vec![block("dst", vec![])]))];
    attrs.extend(given);
    let config = crate::resources::source::schema::schema().object(None, attrs);
    errors(&framework::erase::<AwsClients, _>(SourceResource).validate(&config))
}

#[test]
fn role_arn_refuses_role_only_settings() {
    const ROLE: &str = "arn:aws:iam::111111111111:role/platform/replication";
    let paths = |given| validate_top(given).into_iter().map(|(p, _)| p).collect::<Vec<_>>();
    // Negative controls: role_arn alone, and every role-only setting without role_arn, are accepted.
    assert!(paths(vec![("role_arn", ROLE.into())]).is_empty());
    assert!(paths(vec![("role_arn", ROLE.into()), ("role_path", "/".into())]).is_empty());
    let role_only = || {
        vec![
            ("role_name", Value::from("r")),
            ("policy_name", "p".into()),
            ("role_path", "/team/".into()),
            ("permissions_boundary", "arn:aws:iam::111111111111:policy/b".into()),
            ("tags", tags(&[("team", "x")])),
        ]
    };
    assert!(paths(role_only()).is_empty());
    let mut with_role = role_only();
    with_role.push(("role_arn", ROLE.into()));
    assert_eq!(paths(with_role), ["role_name", "policy_name", "role_path", "permissions_boundary", "tags"]);
    // An unknown role_arn (another resource's output) is an existing role too.
    assert_eq!(paths(vec![("role_arn", Value::Unknown), ("role_name", "r".into())]), ["role_name"]);
    // Not a role ARN: refused by the schema's validator.
    assert_eq!(paths(vec![("role_arn", "arn:aws:iam::111111111111:user/u".into())]), ["role_arn"]);
}
