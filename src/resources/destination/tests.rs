use framework::{AnyResource, AttrValue};
use tfplugin::Value;

use super::DestinationResource;
use super::model::{Desired, DestinationModel};
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
