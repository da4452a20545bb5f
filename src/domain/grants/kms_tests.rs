//! The replica-key statement of the destination account's key policies.

use super::*;
use crate::domain::policy::merge::{find_statements, merge_statements, remove_statements};

const SOURCE: &str = "111111111111";
const ROLE: &str = "arn:aws:iam::111111111111:role/crossrepl-acme-data";
const KEY: &str = "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn grant(partition: &str, role: &str) -> DestinationGrantInput {
    DestinationGrantInput {
        partition: partition.into(),
        destination_bucket: "acme-dr-copy".into(),
        source_account_id: SOURCE.into(),
        source_role_arn: role.into(),
        owner_override: false,
    }
}

fn values<'a>(s: &'a Statement, op: &str, key: &str) -> Vec<&'a str> {
    s.condition.as_ref().unwrap().0[op][key].0.iter().map(String::as_str).collect()
}

fn actions(s: &Statement) -> Vec<&str> {
    s.action.as_ref().unwrap().0.iter().map(String::as_str).collect()
}

#[test]
fn replica_key_statement_admits_only_the_role_through_s3_for_the_bucket() {
    let s = replica_key_statement(&grant("aws", ROLE), KEY, false).unwrap();
    assert_eq!(s.sid.as_deref(), Some(format!("{}Kms", destination_sid_prefix(&grant("aws", ROLE))).as_str()));
    assert_eq!(s.effect, Effect::Allow);
    assert_eq!(s.principal, Some(Principal::aws("arn:aws:iam::111111111111:root")));
    assert_eq!(actions(&s), ["kms:Encrypt", "kms:Decrypt"]);
    assert_eq!(s.resource.as_ref().unwrap().0, ["*"]);
    assert_eq!(values(&s, "ArnEquals", "aws:PrincipalArn"), [ROLE]);
    assert_eq!(values(&s, "StringEquals", "kms:ViaService"), ["s3.eu-west-1.amazonaws.com"]);
    assert_eq!(
        values(&s, "StringLike", "kms:EncryptionContext:aws:s3:arn"),
        ["arn:aws:s3:::acme-dr-copy", "arn:aws:s3:::acme-dr-copy/*"]
    );
    assert_eq!(s.condition.as_ref().unwrap().0.len(), 3);
    assert!(s.not_principal.is_none() && s.not_action.is_none() && s.not_resource.is_none());
}

#[test]
fn the_default_key_also_generates_data_keys() {
    let s = replica_key_statement(&grant("aws", ROLE), KEY, true).unwrap();
    assert_eq!(actions(&s), ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]);
}

#[test]
fn replica_key_statement_follows_the_partition() {
    let role = "arn:aws-cn:iam::111111111111:role/crossrepl-acme-data";
    let key = "arn:aws-cn:kms:cn-north-1:222222222222:key/1234abcd";
    let s = replica_key_statement(&grant("aws-cn", role), key, false).unwrap();
    assert_eq!(values(&s, "StringEquals", "kms:ViaService"), ["s3.cn-north-1.amazonaws.com.cn"]);
    assert_eq!(s.principal, Some(Principal::aws("arn:aws-cn:iam::111111111111:root")));
    assert_eq!(values(&s, "StringLike", "kms:EncryptionContext:aws:s3:arn")[0], "arn:aws-cn:s3:::acme-dr-copy");
}

#[test]
fn replica_key_statement_refuses_aliases_other_partitions_and_bad_buckets() {
    let alias = "arn:aws:kms:eu-west-1:222222222222:alias/replicas";
    let e = replica_key_statement(&grant("aws", ROLE), alias, false).unwrap_err();
    assert!(e.to_string().contains("alias"), "{e}");
    let cn_key = "arn:aws-cn:kms:cn-north-1:222222222222:key/1234abcd";
    let e = replica_key_statement(&grant("aws", ROLE), cn_key, false).unwrap_err();
    assert!(e.to_string().contains("partition aws"), "{e}");
    let bad_bucket = DestinationGrantInput { destination_bucket: "a*".into(), ..grant("aws", ROLE) };
    assert!(replica_key_statement(&bad_bucket, KEY, false).is_err());
}

#[test]
fn replica_key_sids_are_per_role_and_apart_from_the_bucket_statements() {
    let ours = replica_key_sid(&grant("aws", ROLE));
    let other_role = replica_key_sid(&grant("aws", "arn:aws:iam::111111111111:role/crossrepl-other"));
    assert_ne!(ours, other_role);
    let bucket_sids: Vec<_> = destination_statements(&grant("aws", ROLE)).into_iter().filter_map(|s| s.sid).collect();
    assert!(!bucket_sids.contains(&ours), "{bucket_sids:?}");
    assert!(ours.len() <= 51 && ours.chars().all(|c| c.is_ascii_alphanumeric()), "{ours}");
}

#[test]
fn merged_into_a_key_policy_it_keeps_the_other_statements() {
    let default_policy = PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions",
        "Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"kms:*","Resource":"*"}]}"#,
    )
    .unwrap();
    let ours = replica_key_statement(&grant("aws", ROLE), KEY, false).unwrap();
    let merged = merge_statements(Some(default_policy.clone()), std::slice::from_ref(&ours));
    assert_eq!(merged.id.as_deref(), Some("key-default-1"));
    assert_eq!(merged.statements, vec![default_policy.statements[0].clone(), ours.clone()]);
    let sid = vec![ours.sid.clone().unwrap()];
    assert_eq!(find_statements(&merged, &sid).len(), 1);
    assert_eq!(remove_statements(merged, &sid), Some(default_policy));
}
