use framework::{AnyResource, AttrValue, Known};
use tfplugin::Value;

use super::DestinationResource;
use super::model::{self, Desired, DestinationModel};
use super::schema::schema;
use crate::aws::AwsClients;
use crate::domain::arn::PARTITIONS;

fn resource() -> std::sync::Arc<dyn AnyResource<AwsClients>> {
    framework::erase(DestinationResource)
}

fn config(pairs: Vec<(&str, Value)>) -> Value {
    schema().object(None, pairs)
}

#[test]
fn validation_names_attributes() {
    let c = config(vec![
        ("bucket", "Bad_Bucket".into()),
        ("source_account_id", "123".into()),
        ("source_bucket", "ok-bucket".into()),
        ("source_role_path", "nope".into()),
    ]);
    let paths: Vec<String> =
        resource().validate(&c).0.iter().map(|d| d.attribute.as_ref().unwrap().to_string()).collect();
    assert_eq!(paths, vec!["bucket", "source_account_id", "source_role_path"]);
    let unknown = config(vec![("bucket", Value::Unknown), ("source_account_id", Value::Unknown)]);
    assert!(resource().validate(&unknown).is_empty());
}

#[tokio::test]
async fn plan_without_client_derives_role_name_and_keeps_the_rest_unknown() {
    let c = config(vec![
        ("bucket", "dst".into()),
        ("source_account_id", "111111111111".into()),
        ("source_bucket", "src".into()),
    ]);
    let out = resource().plan(None, &Value::Null, &c, &c).await;
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(out.planned.get("source_role_name").as_str(), Some("crossrepl-src"));
    assert_eq!(out.planned.get("source_role_path").as_str(), Some("/"));
    assert_eq!(out.planned.get("enable_versioning"), &Value::Bool(true));
    assert!(out.planned.get("statement_sid").is_unknown());
}

#[test]
fn desired_statements_follow_the_role() {
    let c = config(vec![
        ("bucket", "dst".into()),
        ("source_account_id", "111111111111".into()),
        ("source_role_name", "crossrepl-src".into()),
        ("source_role_path", "/".into()),
        ("accept_owner_override", false.into()),
    ]);
    let d = Desired::from_model(&DestinationModel::from_value(&c).unwrap(), &PARTITIONS[0]).unwrap();
    assert_eq!(d.source_role_arn, "arn:aws:iam::111111111111:role/crossrepl-src");
    assert_eq!(d.sids.len(), 2);
    assert!(d.sids.contains(&d.sid));
}

#[test]
fn replica_keys_are_validated_as_key_arns() {
    let c = config(vec![
        ("bucket", "dst".into()),
        ("source_account_id", "111111111111".into()),
        ("source_bucket", "src".into()),
        ("replica_kms_key_arns", Value::Set(vec!["arn:aws:kms:us-east-1:222222222222:alias/replicas".into()])),
    ]);
    let ds = resource().validate(&c).0;
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0].attribute.as_ref().unwrap().to_string(), "replica_kms_key_arns");
    assert!(ds[0].detail.contains("alias"), "{}", ds[0].detail);
}

#[test]
fn the_key_statement_follows_the_default_key_and_its_sid_the_key_list() {
    const KEY: &str = "arn:aws:kms:us-east-1:222222222222:key/1234abcd";
    let keys = |ks: &[&str]| Value::Set(ks.iter().map(|k| Value::from(*k)).collect());
    let c = config(vec![
        ("bucket", "dst".into()),
        ("source_account_id", "111111111111".into()),
        ("source_role_name", "crossrepl-src".into()),
        ("source_role_path", "/".into()),
        ("replica_kms_key_arns", keys(&[KEY, KEY])),
        ("accept_owner_override", false.into()),
    ]);
    let mut m = DestinationModel::from_value(&c).unwrap();
    let d = Desired::from_model(&m, &PARTITIONS[0]).unwrap();
    assert_eq!(d.kms_keys, [KEY]);
    assert!(!d.kms_statement(KEY).unwrap().action.unwrap().0.contains(&"kms:GenerateDataKey".to_string()));
    let all = model::InPlace::ALL;
    assert_eq!(d.state(&m, Known::Null, all, Known::Unknown).kms_statement_sid, Known::Value(d.kms_sid.clone()));
    let missing = model::InPlace { bucket_policy: true, key_policies: false };
    assert_eq!(d.state(&m, Known::Null, missing, Known::Unknown).kms_statement_sid, Known::Null);

    m.default_kms_key_arn = Known::Value(KEY.into());
    let d = Desired::from_model(&m, &PARTITIONS[0]).unwrap();
    assert!(d.kms_statement(KEY).unwrap().action.unwrap().0.contains(&"kms:GenerateDataKey".to_string()));

    // No keys: no Sid to show (and nothing to be missing); keys not known yet: not known either.
    m.replica_kms_key_arns = Known::Null;
    assert_eq!(d.state(&m, Known::Null, all, Known::Unknown).kms_statement_sid, Known::Null);
    m.replica_kms_key_arns = Known::Value(framework::Set(Vec::new()));
    assert_eq!(d.state(&m, Known::Null, all, Known::Unknown).kms_statement_sid, Known::Null);
    m.replica_kms_key_arns = Known::Unknown;
    assert_eq!(d.state(&m, Known::Null, all, Known::Unknown).kms_statement_sid, Known::Unknown);
}
