use framework::{AnyResource, AttrValue, Known};
use tfplugin::Value;

use super::DestinationResource;
use super::model::{self, Desired, DestinationModel};
use super::schema::schema;
use crate::aws::AwsClients;
use crate::domain::arn::PARTITIONS;
use crate::domain::policy::PolicyDocument;

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
    let unknown = config(vec![
        ("bucket", Value::Unknown),
        ("source_account_id", Value::Unknown),
        ("source_bucket", Value::Unknown),
    ]);
    assert!(resource().validate(&unknown).is_empty());
}

#[test]
fn a_destination_admits_one_role_or_an_organization_said_one_way() {
    let summaries = |pairs: Vec<(&str, Value)>| -> Vec<(String, String)> {
        let mut all = vec![("bucket", Value::from("dst"))];
        all.extend(pairs);
        let ds = resource().validate(&config(all)).0;
        ds.iter().map(|d| (d.summary.clone(), d.attribute.as_ref().unwrap().to_string())).collect()
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    let account = ("source_account_id", Value::from("111111111111"));
    let org = ("source_organization_id", Value::from("o-a1b2c3d4e5"));
    let bucket = ("source_bucket", Value::from("src"));
    // Allowed: an account with its source bucket; an organization, with or without a name pattern.
    assert!(summaries(vec![account.clone(), bucket.clone()]).is_empty());
    assert!(summaries(vec![org.clone()]).is_empty());
    assert!(summaries(vec![org.clone(), ("source_role_name_pattern", "repl-*".into())]).is_empty());
    // Refused, each at the attribute to change.
    assert_eq!(summaries(vec![]), [pair("Missing source", "source_account_id")]);
    assert_eq!(
        summaries(vec![account.clone(), bucket.clone(), org.clone()]),
        [pair("Two kinds of source", "source_organization_id")]
    );
    assert_eq!(summaries(vec![account.clone()]), [pair("Missing source bucket", "source_bucket")]);
    assert_eq!(
        summaries(vec![account, bucket.clone(), ("source_role_name_pattern", "repl-*".into())]),
        [pair("Role name pattern without an organization", "source_role_name_pattern")]
    );
    assert_eq!(
        summaries(vec![org.clone(), bucket, ("source_role_name", "r".into())]),
        [
            pair("Not used in organization mode", "source_bucket"),
            pair("Not used in organization mode", "source_role_name")
        ]
    );
    assert_eq!(summaries(vec![("source_organization_id", "o-123".into())])[0].1, "source_organization_id");
    assert_eq!(summaries(vec![org, ("source_role_name_pattern", "*".into())])[0].1, "source_role_name_pattern");
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
    assert_eq!(d.source_role_arn(), Some("arn:aws:iam::111111111111:role/crossrepl-src"));
    // The role's entry in the compact statement, found again in what it writes; per-source statements of an earlier
    // release are recognised by their own Sid (the next apply migrates them); anything else is not in place.
    let admitted = crate::domain::policy::edit::apply_all(None, &d.admit());
    assert_eq!(d.sid_in_place(admitted.as_ref()).as_deref(), Some("CrossreplReplicationRoles"));
    let model::Admission::Role(member) = &d.admission else { panic!("an account's source is a role") };
    let per_source = PolicyDocument::new(crate::domain::grants::destination_statements(member));
    let legacy = d.sid_in_place(Some(&per_source)).unwrap();
    assert!(legacy.starts_with("CrossreplReplication111111111111"), "{legacy}");
    assert_eq!(d.sid_in_place(None), None);
    let other = Desired::from_model(
        &DestinationModel {
            source_role_name: Known::Value("other".into()),
            ..DestinationModel::from_value(&c).unwrap()
        },
        &PARTITIONS[0],
    )
    .unwrap();
    assert_eq!(d.sid_in_place(crate::domain::policy::edit::apply_all(None, &other.admit()).as_ref()), None);
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
    let all = || d.all_in_place();
    assert_eq!(d.state(&m, Known::Null, all(), Known::Unknown).kms_statement_sid, Known::Value(d.kms_sid.clone()));
    let missing = model::InPlace { key_policies: false, ..all() };
    assert_eq!(d.state(&m, Known::Null, missing, Known::Unknown).kms_statement_sid, Known::Null);

    m.default_kms_key_arn = Known::Value(KEY.into());
    let d = Desired::from_model(&m, &PARTITIONS[0]).unwrap();
    assert!(d.kms_statement(KEY).unwrap().action.unwrap().0.contains(&"kms:GenerateDataKey".to_string()));

    // No keys: no Sid to show (and nothing to be missing); keys not known yet: not known either.
    m.replica_kms_key_arns = Known::Null;
    assert_eq!(d.state(&m, Known::Null, all(), Known::Unknown).kms_statement_sid, Known::Null);
    m.replica_kms_key_arns = Known::Value(framework::Set(Vec::new()));
    assert_eq!(d.state(&m, Known::Null, all(), Known::Unknown).kms_statement_sid, Known::Null);
    m.replica_kms_key_arns = Known::Unknown;
    assert_eq!(d.state(&m, Known::Null, all(), Known::Unknown).kms_statement_sid, Known::Unknown);
}

#[test]
fn organization_mode_admits_by_one_statement_and_says_so_in_the_grant() {
    let c = config(vec![
        ("bucket", "dst".into()),
        ("source_organization_id", "o-a1b2c3d4e5".into()),
        ("source_role_name_pattern", "crossrepl-*".into()),
        ("source_role_path", "/".into()),
        ("accept_owner_override", false.into()),
    ]);
    let m = DestinationModel::from_value(&c).unwrap();
    let d = Desired::from_model(&m, &PARTITIONS[0]).unwrap();
    assert_eq!(d.source_role_arn(), None);
    assert!(d.sid().starts_with("CrossreplReplicationOrg") && d.kms_sid == format!("{}Kms", d.sid()));
    let admitted = crate::domain::policy::edit::apply_all(None, &d.admit());
    assert_eq!(d.sid_in_place(admitted.as_ref()), Some(d.sid()));
    assert_eq!(d.sid_in_place(crate::domain::policy::edit::apply_all(admitted, &d.release()).as_ref()), None);
    let state = d.state(&m, Known::Value("222222222222".into()), d.all_in_place(), Known::Value(false));
    assert_eq!(state.id, Known::Value("dst,o-a1b2c3d4e5".into()));
    assert_eq!(state.source_role_arn, Known::Null);
    let grant = state.grant.known().unwrap();
    assert_eq!(grant.role_arn, Known::Null);
    assert_eq!(grant.organization_id, Known::Value("o-a1b2c3d4e5".into()));
    assert_eq!(grant.role_arn_pattern, Known::Value("arn:aws:iam::*:role/crossrepl-*".into()));
}
