use super::*;
use crate::domain::policy::POLICY_VERSION;
use crate::domain::policy::merge::*;
use crate::domain::policy::tests::{SAMPLE, condition, encode};

const ACCOUNT: &str = "111111111111";
const ROLE: &str = "arn:aws:iam::111111111111:role/crossrepl-acme-data";

fn parse(text: &str) -> PolicyDocument {
    PolicyDocument::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn strings(v: &Option<OneOrMany<String>>) -> Vec<&str> {
    v.as_ref().map(|v| v.0.iter().map(String::as_str).collect()).unwrap_or_default()
}

fn by_sid<'a>(doc: &'a PolicyDocument, sid: &str) -> &'a Statement {
    doc.statements.iter().find(|s| s.sid.as_deref() == Some(sid)).unwrap_or_else(|| panic!("no {sid}"))
}

fn role_input(destinations: Vec<DestinationGrant>, source_keys: &[&str]) -> RolePolicyInput {
    RolePolicyInput {
        partition: "aws".into(),
        source_bucket: "acme-data".into(),
        region: "us-east-1".into(),
        destinations,
        source_kms_key_arns: source_keys.iter().map(|k| (*k).to_owned()).collect(),
    }
}

fn dest(bucket: &str, owner_override: bool, key: Option<&str>) -> DestinationGrant {
    DestinationGrant {
        bucket_arn: format!("arn:aws:s3:::{bucket}"),
        owner_override,
        replica_kms_key_arn: key.map(str::to_owned),
        default_kms_key_arn: None,
    }
}

fn grant(account: &str, role_arn: &str) -> DestinationGrantInput {
    DestinationGrantInput {
        partition: "aws".into(),
        destination_bucket: "acme-dr-copy".into(),
        source_account_id: account.into(),
        source_role_arn: role_arn.into(),
        owner_override: false,
    }
}

fn assert_no_wildcards(doc: &PolicyDocument) {
    let json = doc.to_json();
    assert!(!json.replace("/*", "").contains('*'), "wildcard in {json}");
}

#[test]
fn trust_policy_is_scoped_to_the_source_bucket_and_account() {
    let doc = replication_trust_policy("aws", ACCOUNT, "acme-data");
    assert_eq!(doc.version.as_deref(), Some(POLICY_VERSION));
    let [s] = doc.statements.as_slice() else { panic!("one statement") };
    assert_eq!(s.effect, Effect::Allow);
    assert_eq!(s.principal, Some(Principal::service("s3.amazonaws.com")));
    assert_eq!(strings(&s.action), ["sts:AssumeRole"]);
    assert_eq!(s.resource, None);
    assert_eq!(condition(s, "StringEquals", "aws:SourceAccount"), [ACCOUNT]);
    assert_eq!(condition(s, "ArnLike", "aws:SourceArn"), ["arn:aws:s3:::acme-data"]);
    assert_eq!(s.condition.as_ref().unwrap().0.len(), 2);
    assert_no_wildcards(&doc);
    let cn = replication_trust_policy("aws-cn", ACCOUNT, "acme-data");
    assert_eq!(condition(&cn.statements[0], "ArnLike", "aws:SourceArn"), ["arn:aws-cn:s3:::acme-data"]);
    // It survives the round trip through IAM's encoding.
    assert!(parse(&encode(&doc.to_json())).semantically_equal(&doc));
}

#[test]
fn role_policy_basic_statements() {
    let doc = replication_role_policy(&role_input(vec![dest("dst-b", false, None), dest("dst-a", false, None)], &[]))
        .unwrap();
    let sids: Vec<_> = doc.statements.iter().map(|s| s.sid.as_deref().unwrap()).collect();
    assert_eq!(sids, ["SourceBucket", "SourceObjects", "DestinationObjects"]);
    assert!(doc.statements.iter().all(|s| s.effect == Effect::Allow && s.principal.is_none()));
    let bucket = by_sid(&doc, "SourceBucket");
    assert_eq!(strings(&bucket.action), ["s3:GetReplicationConfiguration", "s3:ListBucket"]);
    assert_eq!(strings(&bucket.resource), ["arn:aws:s3:::acme-data"]);
    let objects = by_sid(&doc, "SourceObjects");
    assert_eq!(
        strings(&objects.action),
        [
            "s3:GetObjectVersionForReplication",
            "s3:GetObjectVersionAcl",
            "s3:GetObjectVersionTagging",
            "s3:GetObjectRetention",
            "s3:GetObjectLegalHold"
        ]
    );
    assert_eq!(strings(&objects.resource), ["arn:aws:s3:::acme-data/*"]);
    let dst = by_sid(&doc, "DestinationObjects");
    assert_eq!(strings(&dst.action), ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]);
    assert_eq!(strings(&dst.resource), ["arn:aws:s3:::dst-a/*", "arn:aws:s3:::dst-b/*"]);
    assert!(!doc.to_json().contains("kms:") && !doc.to_json().contains(OWNER_OVERRIDE_ACTION));
    assert_no_wildcards(&doc);
}

#[test]
fn role_policy_is_deterministic_sorted_and_deduplicated() {
    let a = role_input(vec![dest("dst-b", true, None), dest("dst-a", false, None), dest("dst-b", true, None)], &[]);
    let mut b = a.clone();
    b.destinations.reverse();
    let (da, db) = (replication_role_policy(&a).unwrap(), replication_role_policy(&b).unwrap());
    assert_eq!(da.to_json(), db.to_json());
    assert_eq!(da.to_json(), replication_role_policy(&a).unwrap().to_json());
    assert_eq!(strings(&by_sid(&da, "DestinationObjects").resource), ["arn:aws:s3:::dst-a/*", "arn:aws:s3:::dst-b/*"]);
}

#[test]
fn owner_override_only_for_destinations_that_ask() {
    let doc = replication_role_policy(&role_input(
        vec![dest("plain", false, None), dest("owned", true, None), dest("owned2", true, None)],
        &[],
    ))
    .unwrap();
    let s = by_sid(&doc, "DestinationOwnerOverride");
    assert_eq!(strings(&s.action), [OWNER_OVERRIDE_ACTION]);
    assert_eq!(strings(&s.resource), ["arn:aws:s3:::owned/*", "arn:aws:s3:::owned2/*"]);
    assert!(!strings(&by_sid(&doc, "DestinationObjects").action).contains(&OWNER_OVERRIDE_ACTION));
    assert_eq!(doc.to_json().matches(OWNER_OVERRIDE_ACTION).count(), 1);
    assert_no_wildcards(&doc);
}

#[test]
fn kms_statements_only_when_keys_are_given() {
    let src_key = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let dst_key = "arn:aws:kms:eu-west-1:222222222222:key/abcd";
    let dst_key2 = "arn:aws:kms:us-west-2:222222222222:key/ef01";
    let doc = replication_role_policy(&role_input(
        vec![dest("dr-1", false, Some(dst_key)), dest("plain", false, None), dest("dr-2", false, Some(dst_key2))],
        &[src_key, src_key],
    ))
    .unwrap();
    let sids: Vec<_> = doc.statements.iter().map(|s| s.sid.as_deref().unwrap()).collect();
    assert_eq!(
        sids,
        ["SourceBucket", "SourceObjects", "DestinationObjects", "SourceKmsDecrypt", "ReplicaKms1", "ReplicaKms2"]
    );
    let decrypt = by_sid(&doc, "SourceKmsDecrypt");
    assert_eq!(strings(&decrypt.action), ["kms:Decrypt"]);
    assert_eq!(strings(&decrypt.resource), [src_key]);
    assert_eq!(condition(decrypt, "StringLike", "kms:ViaService"), ["s3.us-east-1.amazonaws.com"]);
    assert_eq!(
        condition(decrypt, "StringLike", "kms:EncryptionContext:aws:s3:arn"),
        ["arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/*"]
    );
    let encrypt = by_sid(&doc, "ReplicaKms1");
    // kms:Decrypt too: replicas under an S3 Bucket Key need it.
    assert_eq!(strings(&encrypt.action), ["kms:Decrypt", "kms:Encrypt"]);
    assert_eq!(strings(&encrypt.resource), [dst_key]);
    assert_eq!(condition(encrypt, "StringLike", "kms:ViaService"), ["s3.eu-west-1.amazonaws.com"]);
    assert_eq!(
        condition(encrypt, "StringLike", "kms:EncryptionContext:aws:s3:arn"),
        ["arn:aws:s3:::dr-1", "arn:aws:s3:::dr-1/*"]
    );
    let encrypt2 = by_sid(&doc, "ReplicaKms2");
    assert_eq!(strings(&encrypt2.resource), [dst_key2]);
    assert_eq!(condition(encrypt2, "StringLike", "kms:ViaService"), ["s3.us-west-2.amazonaws.com"]);
    assert_no_wildcards(&doc);

    // Only the source key: no Encrypt; only a replica key: no source key.
    let only_src = replication_role_policy(&role_input(vec![dest("plain", false, None)], &[src_key])).unwrap();
    assert!(only_src.to_json().contains("\"kms:Decrypt\"") && !only_src.to_json().contains("\"kms:Encrypt\""));
    let only_dst = replication_role_policy(&role_input(vec![dest("dr", false, Some(dst_key))], &[])).unwrap();
    assert!(!only_dst.to_json().contains("SourceKmsDecrypt") && only_dst.to_json().contains("\"kms:Encrypt\""));
    assert!(!doc.to_json().contains("kms:GenerateDataKey"));
}

#[test]
fn destination_default_key_generates_data_keys() {
    let key = "arn:aws:kms:eu-west-1:222222222222:key/abcd";
    let with_default = |replica: Option<&str>| DestinationGrant {
        default_kms_key_arn: Some(key.into()),
        ..dest("dr", false, replica)
    };
    let doc = replication_role_policy(&role_input(vec![with_default(None)], &[])).unwrap();
    let s = by_sid(&doc, "ReplicaKms1");
    // GenerateDataKey for replicas of objects that are not SSE-KMS; Decrypt under a Bucket Key.
    assert_eq!(strings(&s.action), ["kms:Decrypt", "kms:GenerateDataKey"]);
    assert_eq!(strings(&s.resource), [key]);
    assert_eq!(
        condition(s, "StringLike", "kms:EncryptionContext:aws:s3:arn"),
        ["arn:aws:s3:::dr", "arn:aws:s3:::dr/*"]
    );
    // The same key as replica key too: one statement with the union of actions.
    let both = replication_role_policy(&role_input(vec![with_default(Some(key))], &[])).unwrap();
    assert_eq!(strings(&by_sid(&both, "ReplicaKms1").action), ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]);
    assert!(both.statements.iter().all(|s| s.sid.as_deref() != Some("ReplicaKms2")));
}

#[test]
fn replica_key_shared_by_destinations_is_one_statement() {
    let key = "arn:aws:kms:eu-west-1:222222222222:key/abcd";
    let doc = replication_role_policy(&role_input(vec![dest("b", false, Some(key)), dest("a", false, Some(key))], &[]))
        .unwrap();
    let s = by_sid(&doc, "ReplicaKms1");
    assert_eq!(
        condition(s, "StringLike", "kms:EncryptionContext:aws:s3:arn"),
        ["arn:aws:s3:::a", "arn:aws:s3:::a/*", "arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    );
    assert!(doc.statements.iter().all(|s| s.sid.as_deref() != Some("ReplicaKms2")));
}

#[test]
fn several_rules_into_one_bucket_grant_it_once() {
    let (k1, k2) = ("arn:aws:kms:eu-west-1:222222222222:key/k1", "arn:aws:kms:eu-west-1:222222222222:key/k2");
    let two = role_input(vec![dest("dr", true, Some(k1)), dest("dr", false, Some(k2))], &[]);
    let doc = replication_role_policy(&two).unwrap();
    assert_eq!(strings(&by_sid(&doc, "DestinationObjects").resource), ["arn:aws:s3:::dr/*"]);
    assert_eq!(strings(&by_sid(&doc, "DestinationOwnerOverride").resource), ["arn:aws:s3:::dr/*"]);
    // Each replica key once, each with the bucket as its context once.
    for (sid, key) in [("ReplicaKms1", k1), ("ReplicaKms2", k2)] {
        let s = by_sid(&doc, sid);
        assert_eq!(strings(&s.resource), [key]);
        assert_eq!(
            condition(s, "StringLike", "kms:EncryptionContext:aws:s3:arn"),
            ["arn:aws:s3:::dr", "arn:aws:s3:::dr/*"]
        );
    }
    // The same two rules with one key are the document of one rule with that key and owner override.
    let same_key = role_input(vec![dest("dr", true, Some(k1)), dest("dr", false, Some(k1))], &[]);
    let one = role_input(vec![dest("dr", true, Some(k1))], &[]);
    assert_eq!(replication_role_policy(&same_key).unwrap().to_json(), replication_role_policy(&one).unwrap().to_json());
}

#[test]
fn role_policy_is_partition_aware() {
    let mut input = role_input(
        vec![DestinationGrant {
            bucket_arn: "arn:aws-cn:s3:::dr".into(),
            owner_override: false,
            replica_kms_key_arn: Some("arn:aws-cn:kms:cn-north-1:222222222222:key/k".into()),
            default_kms_key_arn: None,
        }],
        &["arn:aws-cn:kms:cn-northwest-1:111111111111:key/s"],
    );
    input.partition = "aws-cn".into();
    input.region = "cn-northwest-1".into();
    let doc = replication_role_policy(&input).unwrap();
    assert_eq!(strings(&by_sid(&doc, "SourceBucket").resource), ["arn:aws-cn:s3:::acme-data"]);
    let decrypt = by_sid(&doc, "SourceKmsDecrypt");
    assert_eq!(condition(decrypt, "StringLike", "kms:ViaService"), ["s3.cn-northwest-1.amazonaws.com.cn"]);
    let encrypt = by_sid(&doc, "ReplicaKms1");
    assert_eq!(condition(encrypt, "StringLike", "kms:ViaService"), ["s3.cn-north-1.amazonaws.com.cn"]);
    assert!(!doc.to_json().contains("arn:aws:"));
}

#[test]
fn role_policy_rejects_unusable_input() {
    let cases = [
        role_input(vec![dest("*", false, None)], &[]),
        role_input(vec![dest("a/b", false, None)], &[]),
        role_input(vec![DestinationGrant { bucket_arn: "acme-dr".into(), ..dest("x", false, None) }], &[]),
        role_input(vec![DestinationGrant { bucket_arn: "arn:aws-cn:s3:::dr".into(), ..dest("x", false, None) }], &[]),
        role_input(vec![dest("dr", false, Some("arn:aws:kms:eu-west-1:222222222222:key/*"))], &[]),
        role_input(vec![dest("dr", false, Some("arn:aws:kms::222222222222:key/k"))], &[]),
        role_input(vec![dest("dr", false, Some("arn:aws:s3:::dr"))], &[]),
        role_input(vec![dest("dr", false, Some("arn:aws:kms:eu-west-1:222222222222:alias/replicas"))], &[]),
        role_input(
            vec![DestinationGrant { default_kms_key_arn: Some("alias/x".into()), ..dest("dr", false, None) }],
            &[],
        ),
        role_input(vec![], &["not-an-arn"]),
        RolePolicyInput { source_bucket: "*".into(), ..role_input(vec![], &[]) },
        RolePolicyInput { region: String::new(), ..role_input(vec![], &["arn:aws:kms:us-east-1:111111111111:key/k"]) },
    ];
    for input in &cases {
        let err = replication_role_policy(input).expect_err(&format!("{input:?}"));
        let message = err.to_string();
        assert!(message.starts_with("invalid "), "{message}");
    }
    let err = replication_role_policy(&cases[4]).unwrap_err().to_string();
    assert!(err.contains("arn:aws:kms:eu-west-1:222222222222:key/*") && err.contains("key/<key id>"), "{err}");
    let alias = replication_role_policy(&cases[7]).unwrap_err().to_string();
    assert!(alias.contains("alias"), "{alias}");
}

#[test]
fn destination_statements_match_the_spec() {
    let statements = destination_statements(&grant(ACCOUNT, ROLE));
    let prefix = destination_sid_prefix(&grant(ACCOUNT, ROLE));
    let [objects, bucket] = statements.as_slice() else { panic!("two statements") };
    assert_eq!(objects.sid.as_deref(), Some(prefix.as_str()));
    assert_eq!(bucket.sid, Some(format!("{prefix}Bucket")));
    for s in [objects, bucket] {
        assert_eq!(s.effect, Effect::Allow);
        assert_eq!(s.principal, Some(Principal::aws("arn:aws:iam::111111111111:root")));
        assert_eq!(condition(s, "ArnEquals", "aws:PrincipalArn"), [ROLE]);
        assert_eq!(s.condition.as_ref().unwrap().0.len(), 1);
    }
    assert_eq!(strings(&objects.action), ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]);
    assert_eq!(strings(&objects.resource), ["arn:aws:s3:::acme-dr-copy/*"]);
    // Read-only on the bucket: no s3:PutBucketVersioning, with which the source account could suspend versioning.
    assert_eq!(strings(&bucket.action), ["s3:GetBucketVersioning"]);
    let accepting = destination_statements(&DestinationGrantInput { owner_override: true, ..grant(ACCOUNT, ROLE) });
    assert_eq!(
        strings(&accepting[0].action),
        ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"]
    );
    assert_eq!(accepting[0].sid, objects.sid);
    assert_eq!(strings(&bucket.resource), ["arn:aws:s3:::acme-dr-copy"]);
    let doc = merge_statements(None, &statements);
    assert_no_wildcards(&doc);
    // S3 returns the account root as a bare id in some cases and with lists: still equal.
    let json = doc.to_json().replace("\"arn:aws:iam::111111111111:root\"", "[\"111111111111\"]");
    assert!(statements_match(&parse(&json), &statements));
    let gov = destination_statements(&DestinationGrantInput { partition: "aws-us-gov".into(), ..grant(ACCOUNT, ROLE) });
    assert_eq!(gov[0].principal, Some(Principal::aws("arn:aws-us-gov:iam::111111111111:root")));
    assert_eq!(strings(&gov[1].resource), ["arn:aws-us-gov:s3:::acme-dr-copy"]);
}

#[test]
fn destination_sid_is_stable_alphanumeric_and_distinct() {
    let prefix = destination_sid_prefix(&grant(ACCOUNT, ROLE));
    assert_eq!(prefix, destination_sid_prefix(&grant(ACCOUNT, ROLE)));
    // Pinned: the Sid is persisted in bucket policies and must never change between releases.
    assert_eq!(prefix, format!("CrossreplReplication111111111111{:016x}", fnv1a64(b"crossrepl-acme-data")));
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert!(prefix.len() + BUCKET_SID_SUFFIX.len() <= 100);
    assert!(prefix.bytes().all(|b| b.is_ascii_alphanumeric()));
    // The role name counts, not its path; account and name both count.
    let with_path = grant(ACCOUNT, "arn:aws:iam::111111111111:role/some/path/crossrepl-acme-data");
    assert_eq!(destination_sid_prefix(&with_path), prefix);
    assert_ne!(destination_sid_prefix(&grant("222222222222", ROLE)), prefix);
    assert_ne!(destination_sid_prefix(&grant(ACCOUNT, &format!("{ROLE}2"))), prefix);
}

#[test]
fn destination_role_arns_finds_our_statements_for_an_account() {
    let other_role = "arn:aws:iam::111111111111:role/other";
    let mut ours = destination_statements(&grant(ACCOUNT, ROLE));
    ours.extend(destination_statements(&grant(ACCOUNT, other_role)));
    ours.extend(destination_statements(&grant("222222222222", ROLE)));
    let doc = merge_statements(Some(parse(SAMPLE)), &ours);
    assert_eq!(destination_role_arns(&doc, ACCOUNT), [ROLE, other_role]);
    assert_eq!(destination_role_arns(&doc, "222222222222"), [ROLE]);
    assert!(destination_role_arns(&doc, "333333333333").is_empty());
}

fn foreign(sid: &str) -> Statement {
    Statement {
        sid: Some(sid.into()),
        principal: Some(Principal::Any),
        condition: Some(Condition::default().with("Bool", "aws:SecureTransport", vec!["false".into()])),
        ..Statement { effect: Effect::Deny, ..allow(sid, &["s3:*"], vec!["arn:aws:s3:::acme-dr-copy/*".into()]) }
    }
}

/// The destination statement of the usual hand-written hashicorp/aws setup.
const HAND_WRITTEN: &str = r#"{"Version":"2012-10-17","Statement":[
    {"Sid":"ReplicateIn","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/s3-replication-configuration"},
     "Action":["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags","s3:ObjectOwnerOverrideToBucketOwner"],
     "Resource":"arn:aws:s3:::acme-dr-copy/*"},
    {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/s3-replication-configuration"]},
     "Action":["s3:List*","s3:GetBucketVersioning","s3:PutBucketVersioning"],"Resource":"arn:aws:s3:::acme-dr-copy"},
    {"Sid":"Other","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/s3-replication-configuration"},
     "Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-dr-copy/*"}]}"#;
const OLD_ROLE: &str = "arn:aws:iam::111111111111:role/s3-replication-configuration";

#[test]
fn hand_written_grants_are_recognised_exactly() {
    let doc = parse(HAND_WRITTEN);
    let superseded = |s: &Statement| is_superseded_grant(s, "aws", "acme-dr-copy", OLD_ROLE);
    assert_eq!(doc.statements.iter().map(superseded).collect::<Vec<_>>(), [true, true, false]);
    assert!(!is_superseded_grant(&doc.statements[0], "aws", "other-bucket", OLD_ROLE));
    assert!(!is_superseded_grant(&doc.statements[0], "aws", "acme-dr-copy", ROLE));
    // Anything more or less than a plain grant to that one role is left alone.
    let base = doc.statements[0].clone();
    let variants = [
        Statement {
            condition: Some(Condition::default().with("Bool", "aws:SecureTransport", vec!["true".into()])),
            ..base.clone()
        },
        Statement { effect: Effect::Deny, ..base.clone() },
        Statement { principal: Some(Principal::Any), ..base.clone() },
        Statement { principal: Some(Principal::aws(format!("arn:aws:iam::{ACCOUNT}:root"))), ..base.clone() },
        Statement { action: Some(OneOrMany(vec!["s3:ReplicateObject".into(), "s3:*".into()])), ..base.clone() },
        Statement { resource: Some(OneOrMany::one("arn:aws:s3:::acme-dr-copy-2/*".into())), ..base.clone() },
        Statement { resource: Some(OneOrMany::one("*".into())), ..base.clone() },
        Statement { sid: Some(format!("CrossreplReplication{ACCOUNT}0123456789abcdef")), ..base.clone() },
    ];
    for v in &variants {
        assert!(!superseded(v), "{}", serde_json::to_string(v).unwrap());
    }
    // Action case does not matter to IAM.
    let lower = Statement { action: Some(OneOrMany::one("S3:replicateobject".into())), ..base };
    assert!(superseded(&lower));
}

#[test]
fn hand_written_grants_name_their_role_and_are_removed_alone() {
    let doc = parse(HAND_WRITTEN);
    assert_eq!(hand_written_grant_roles(&doc, "aws", "acme-dr-copy", ACCOUNT), [OLD_ROLE]);
    assert!(hand_written_grant_roles(&doc, "aws", "acme-dr-copy", "222222222222").is_empty());
    assert!(hand_written_grant_roles(&doc, "aws", "elsewhere", ACCOUNT).is_empty());
    let rest = remove_superseded_grants(doc.clone(), "aws", "acme-dr-copy", OLD_ROLE).expect("one statement left");
    assert_eq!(rest.statements, [doc.statements[2].clone()]);
    let only = PolicyDocument::new(doc.statements[..2].to_vec());
    assert_eq!(remove_superseded_grants(only, "aws", "acme-dr-copy", OLD_ROLE), None);
}

#[test]
fn merge_creates_a_new_document() {
    let ours = destination_statements(&grant(ACCOUNT, ROLE));
    let doc = merge_statements(None, &ours);
    assert_eq!(doc.version.as_deref(), Some("2012-10-17"));
    assert_eq!(doc.statements, ours);
    assert!(statements_match(&doc, &ours));
}

#[test]
fn merge_keeps_foreign_statements_and_replaces_ours_in_place() {
    let old = destination_statements(&grant(ACCOUNT, ROLE));
    let mut stale = old.clone();
    stale[0].action = Some(OneOrMany::one("s3:ReplicateObject".into()));
    let unnamed = Statement { sid: None, ..foreign("x") };
    let existing = PolicyDocument {
        version: Some("2012-10-17".into()),
        id: Some("ForeignId".into()),
        statements: vec![foreign("First"), stale[0].clone(), unnamed.clone(), stale[1].clone(), foreign("Last")],
    };
    assert!(!statements_match(&existing, &old));
    let merged = merge_statements(Some(existing.clone()), &old);
    assert_eq!(merged.id.as_deref(), Some("ForeignId"));
    assert_eq!(merged.statements, [foreign("First"), old[0].clone(), unnamed, old[1].clone(), foreign("Last")]);
    assert!(statements_match(&merged, &old));
    // Idempotent.
    assert_eq!(merge_statements(Some(merged.clone()), &old), merged);

    // A second source (fan-in) is appended; the first stays.
    let second = destination_statements(&grant("222222222222", "arn:aws:iam::222222222222:role/r"));
    let fan_in = merge_statements(Some(merged.clone()), &second);
    assert_eq!(fan_in.statements[..5], merged.statements[..]);
    assert_eq!(fan_in.statements[5..], second[..]);
    assert!(statements_match(&fan_in, &old) && statements_match(&fan_in, &second));
}

#[test]
fn merge_keeps_the_existing_version_and_collapses_duplicate_sids() {
    let ours = destination_statements(&grant(ACCOUNT, ROLE));
    let existing =
        PolicyDocument { version: None, id: None, statements: vec![ours[0].clone(), foreign("F"), ours[0].clone()] };
    assert!(statements_match(&existing, &ours[..1]));
    let mut broken = existing.clone();
    broken.statements[2].resource = Some(OneOrMany::one("arn:aws:s3:::elsewhere/*".into()));
    assert!(!statements_match(&broken, &ours[..1]), "a second, different meaning of our Sid is drift");
    let merged = merge_statements(Some(broken), &ours);
    assert_eq!(merged.version, None);
    assert_eq!(merged.statements, [ours[0].clone(), foreign("F"), ours[1].clone()]);
}

#[test]
fn remove_deletes_only_ours() {
    let ours = destination_statements(&grant(ACCOUNT, ROLE));
    let sids: Vec<String> = ours.iter().filter_map(|s| s.sid.clone()).collect();
    let doc = merge_statements(Some(PolicyDocument::new(vec![foreign("A"), foreign("B")])), &ours);
    assert_eq!(find_statements(&doc, &sids), ours.iter().collect::<Vec<_>>());
    let left = remove_statements(doc, &sids).expect("foreign statements remain");
    assert_eq!(left.statements, [foreign("A"), foreign("B")]);
    assert!(find_statements(&left, &sids).is_empty());
    assert!(!statements_match(&left, &ours));

    let only_ours = merge_statements(None, &ours);
    assert_eq!(remove_statements(only_ours.clone(), &sids), None);
    assert_eq!(remove_statements(only_ours.clone(), &sids[..1]).unwrap().statements, ours[1..]);
    assert_eq!(remove_statements(only_ours.clone(), &[]), Some(only_ours));
}

#[test]
fn drift_check_is_semantic() {
    let ours = destination_statements(&grant(ACCOUNT, ROLE));
    let doc = merge_statements(Some(parse(SAMPLE)), &ours);
    // As S3 might return it: URL-encoded, reordered lists, principal rewritten.
    let mut returned = doc.clone();
    returned.statements.reverse();
    for s in &mut returned.statements {
        if let Some(a) = &mut s.action {
            a.0.reverse();
        }
    }
    assert!(statements_match(&parse(&encode(&returned.to_json())), &ours));
    let mut changed = doc.clone();
    changed.statements[1].resource = Some(OneOrMany::one("arn:aws:s3:::acme-dr-copy".into()));
    assert!(!statements_match(&changed, &ours));
    let unnamed: Vec<Statement> = ours.iter().map(|s| Statement { sid: None, ..s.clone() }).collect();
    assert!(!statements_match(&doc, &unnamed));
    assert!(statements_match(&merge_statements(None, &unnamed), &unnamed));
}

fn bucket_names() -> Vec<String> {
    let mut names = vec!["abc".to_owned(), "a.b-c".to_owned(), "x".repeat(63)];
    let mut state = 0x1234_5678_u64;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789.-";
    for _ in 0..3000 {
        let len = 3 + next() % 61;
        names.push((0..len).map(|_| alphabet[next() % alphabet.len()] as char).collect());
    }
    // Long names sharing a prefix that survives truncation.
    let shared = "acme-production-replication-bucket-for-region-us-east";
    for suffix in 0..500 {
        names.push(format!("{shared}-{suffix}"));
        names.push(format!("{shared}{suffix:x}"));
    }
    // Lengths around the truncation threshold.
    for len in 40..=63 {
        names.push("b".repeat(len));
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn derived_names_are_valid_deterministic_and_distinct() {
    let names = bucket_names();
    for derive in [role_name_for_bucket, policy_name_for_bucket] {
        let mut seen = std::collections::HashMap::new();
        for bucket in &names {
            let name = derive(bucket);
            assert_eq!(name, derive(bucket));
            assert!(!name.is_empty() && name.len() <= MAX_IAM_NAME_LEN, "{name}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)), "{name}");
            assert!(name.starts_with("crossrepl-"), "{name}");
            if let Some(other) = seen.insert(name.clone(), bucket) {
                panic!("{bucket} and {other} both give {name}");
            }
        }
    }
}

#[test]
fn derived_names_keep_short_buckets_readable() {
    assert_eq!(role_name_for_bucket("acme-data"), "crossrepl-acme-data");
    assert_eq!(policy_name_for_bucket("acme.data"), "crossrepl-policy-acme.data");
    let exact = "b".repeat(MAX_IAM_NAME_LEN - ROLE_NAME_PREFIX.len());
    assert_eq!(role_name_for_bucket(&exact), format!("crossrepl-{exact}"));
    let long = format!("{exact}b");
    let shortened = role_name_for_bucket(&long);
    assert_eq!(shortened.len(), MAX_IAM_NAME_LEN);
    assert!(shortened.starts_with("crossrepl-bbbb"));
    assert_eq!(shortened.as_bytes()[MAX_IAM_NAME_LEN - 9], b'_');
    // Characters a bucket name cannot have never reach IAM.
    let odd = role_name_for_bucket("Acme/Data*");
    assert!(odd.starts_with("crossrepl-Acme-Data-_"), "{odd}");
}

#[test]
fn role_policy_size_is_checked_and_says_how_many_fit() {
    // Distinct replica keys make each destination expensive.
    let input = |n: usize| {
        let dests = (0..n)
            .map(|i| {
                dest(
                    &format!("acme-dr-{i:03}"),
                    false,
                    Some(&format!("arn:aws:kms:eu-west-1:222222222222:key/k{i:03}")),
                )
            })
            .collect();
        role_input(dests, &["arn:aws:kms:us-east-1:111111111111:key/s"])
    };
    let check = |n: usize| check_role_policy_size(&input(n), &replication_role_policy(&input(n)).unwrap());
    assert_eq!(check(5), Ok(()));
    let err = check(40).unwrap_err();
    assert!(err.contains("6144"), "{err}");
    let fit: usize = err.split(": ").nth(1).and_then(|t| t.split(' ').next()).unwrap().parse().unwrap();
    // Exact: that many fit, one more does not.
    assert_eq!(check(fit), Ok(()));
    assert!(check(fit + 1).is_err());
}

#[test]
fn trust_check_needs_s3_allowed_to_assume_the_role() {
    let trust = |json: &str| trusts_s3(&parse(json));
    // crossrepl's own trust policy, and a plain one in string form, pass.
    assert!(trusts_s3(&replication_trust_policy("aws", ACCOUNT, "acme-data")));
    assert!(trust(
        r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}}"#
    ));
    assert!(trust(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","s3.amazonaws.com"]},"Action":["sts:*"]}]}"#
    ));
    // Negative controls: another service, another action, a Deny, no statement for S3.
    assert!(!trust(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
    ));
    assert!(!trust(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:TagSession"}]}"#
    ));
    assert!(!trust(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"},
            {"Effect":"Deny","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
    ));
    assert!(!trust(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#
    ));
}
