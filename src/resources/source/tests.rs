use framework::{AnyResource, AttrValue, Known};
use tfplugin::{AttributePath, Value};

use super::SourceResource;
use super::model::{Desired, DestinationBlock, SourceModel};
use super::schema::{MAX_USER_TAGS, schema};
use crate::aws::AwsClients;
use crate::domain::arn::PARTITIONS;
use crate::domain::replication::DestinationSpec;

fn resource() -> std::sync::Arc<dyn AnyResource<AwsClients>> {
    framework::erase(SourceResource)
}

fn validate_config(c: &Value) -> tfplugin::Diagnostics {
    resource().validate(c)
}

fn config(pairs: Vec<(&str, Value)>) -> Value {
    schema().object(None, pairs)
}

fn dest(pairs: Vec<(&str, Value)>) -> Value {
    schema().object(Some("destination"), pairs)
}

#[tokio::test]
async fn plan_derives_names_rule_ids_and_priorities() {
    let c = config(vec![
        ("bucket", "acme-data".into()),
        (
            "destination",
            Value::List(vec![
                dest(vec![("bucket_arn", "arn:aws:s3:::dr-one".into())]),
                dest(vec![("bucket_arn", Value::Unknown)]),
            ]),
        ),
    ]);
    let out = resource().plan(None, &Value::Null, &c, &c).await;
    assert!(out.diagnostics.is_empty());
    let p = &out.planned;
    assert_eq!(p.get("role_name").as_str(), Some("crossrepl-acme-data"));
    assert_eq!(p.get("policy_name").as_str(), Some("crossrepl-policy-acme-data"));
    let d = p.get("destination").as_elements().unwrap();
    assert_eq!(d[0].get("rule_id").as_str(), Some("crossrepl-dr-one"));
    assert_eq!(d[0].get("priority"), &Value::int(1));
    assert_eq!(d[0].get("delete_marker_replication"), &Value::Bool(true));
    assert!(d[1].get("rule_id").is_unknown());
    assert_eq!(d[1].get("priority"), &Value::int(2));
}

#[tokio::test]
async fn plan_numbers_the_derived_ids_of_later_rules_into_one_bucket() {
    let into = |bucket: &str, id: Option<&str>| {
        let mut attrs = vec![("bucket_arn", Value::from(format!("arn:aws:s3:::{bucket}")))];
        attrs.extend(id.map(|i| ("rule_id", Value::from(i))));
        dest(attrs)
    };
    // `proposed` stands for what the engine proposes: the configuration with prior computed values carried over.
    let plan = |dests: Vec<Value>, proposed: Vec<Value>| async move {
        let c = config(vec![("bucket", "acme-data".into()), ("destination", Value::List(dests))]);
        let p = config(vec![("bucket", "acme-data".into()), ("destination", Value::List(proposed))]);
        let out = resource().plan(None, &Value::Null, &p, &c).await;
        assert!(!out.diagnostics.has_errors(), "{:?}", out.diagnostics);
        let ids = out.planned.get("destination").as_elements().unwrap().iter().map(|d| d.get("rule_id").clone());
        ids.collect::<Vec<_>>()
    };
    let dests = vec![into("dr", None), into("other", None), into("dr", None), into("dr", Some("mine"))];
    let ids = plan(dests.clone(), dests).await;
    assert_eq!(ids, ["crossrepl-dr".into(), "crossrepl-other".into(), "crossrepl-dr#2".into(), Value::from("mine")]);
    // A proposal carrying a stale id for a block whose configuration leaves it out still gets the derived one.
    let ids = plan(vec![into("dr", None), into("dr", None)], vec![into("dr", None), into("dr", Some("crossrepl-dr"))]);
    assert_eq!(ids.await, [Value::from("crossrepl-dr"), "crossrepl-dr#2".into()]);
}

#[tokio::test]
async fn plan_derives_metrics_from_replication_time_control_unless_set() {
    let metrics = |attrs: Vec<(&'static str, Value)>| async move {
        let mut attrs = attrs;
        attrs.push(("bucket_arn", "arn:aws:s3:::dr".into()));
        let c = config(vec![("bucket", "acme-data".into()), ("destination", Value::List(vec![dest(attrs)]))]);
        let out = resource().plan(None, &Value::Null, &c, &c).await;
        out.planned.get("destination").as_elements().unwrap()[0].get("metrics").clone()
    };
    assert_eq!(metrics(vec![]).await, Value::Bool(false));
    assert_eq!(metrics(vec![("replication_time_control", true.into())]).await, Value::Bool(true));
    assert_eq!(metrics(vec![("metrics", true.into())]).await, Value::Bool(true));
}

#[test]
fn a_state_without_metrics_reads_as_replication_time_control() {
    // A state written before `metrics` existed: null there, the rule it made has metrics exactly with RTC.
    let block = |rtc: bool, metrics: Known<bool>| {
        let spec = DestinationSpec {
            bucket_arn: "arn:aws:s3:::dr".into(),
            replication_time_control: rtc,
            ..Default::default()
        };
        DestinationBlock { metrics, ..DestinationBlock::from_spec(spec, None, "r".into(), &[]) }
    };
    assert!(block(true, Known::Null).spec().unwrap().metrics);
    assert!(!block(false, Known::Null).spec().unwrap().metrics);
    assert!(block(false, Known::Value(true)).spec().unwrap().metrics);
    assert!(block(false, Known::Unknown).spec().is_err());
}

#[tokio::test]
async fn plan_keeps_configured_rule_ids_and_derives_unset_priorities_from_position() {
    let block = |extra: Vec<(&str, Value)>| {
        let mut attrs = vec![("bucket_arn", Value::from("arn:aws:s3:::dr-one"))];
        attrs.extend(extra);
        config(vec![("bucket", "acme-data".into()), ("destination", Value::List(vec![dest(attrs)]))])
    };
    // An imported rule: its own id and priority 0 in the prior state.
    let prior = block(vec![("rule_id", "allfiles".into()), ("priority", Value::int(0))]);
    let kept = block(vec![("rule_id", "allfiles".into()), ("priority", Value::int(0))]);
    let out = resource().plan(None, &prior, &kept, &kept).await;
    let d = &out.planned.get("destination").as_elements().unwrap()[0];
    assert_eq!((d.get("rule_id").as_str(), d.get("priority")), (Some("allfiles"), &Value::int(0)));
    // Unset in the configuration: the documented defaults, not the prior values.
    let unset = block(vec![]);
    let out = resource().plan(None, &prior, &prior, &unset).await;
    let d = &out.planned.get("destination").as_elements().unwrap()[0];
    assert_eq!((d.get("rule_id").as_str(), d.get("priority")), (Some("crossrepl-dr-one"), &Value::int(1)));
}

#[test]
fn validation_covers_the_resource_and_its_destinations() {
    let c = config(vec![
        ("bucket", "acme-data".into()),
        ("role_path", "bad".into()),
        ("tags", Value::Map([("aws:x".to_string(), Value::from("y"))].into())),
        (
            "destination",
            Value::List(vec![dest(vec![
                ("bucket_arn", "arn:aws:s3:::acme-data".into()),
                ("owner_override", true.into()),
            ])]),
        ),
    ]);
    let paths: Vec<String> =
        validate_config(&c).0.iter().filter_map(|d| d.attribute.as_ref()).map(|p| p.to_string()).collect();
    assert!(paths.contains(&"role_path".to_string()), "{paths:?}");
    let tags = |n: usize| Value::Map((0..n).map(|i| (format!("k{i}"), Value::from("v"))).collect());
    let too_many = config(vec![("bucket", "acme-data".into()), ("tags", tags(MAX_USER_TAGS + 1))]);
    assert_eq!(validate_config(&too_many).0[0].attribute, Some(AttributePath::attr("tags")));
    let enough = config(vec![("bucket", "acme-data".into()), ("tags", tags(MAX_USER_TAGS))]);
    assert!(validate_config(&enough).is_empty());
    assert!(paths.contains(&"tags[\"aws:x\"]".to_string()), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("destination[0]")), "{paths:?}");
}

#[tokio::test]
async fn a_replica_key_alias_goes_to_s3_as_written_and_to_the_role_policy_as_its_key() {
    let alias = "arn:aws:kms:us-east-1:222222222222:alias/replicas";
    let key = "arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let c = config(vec![
        ("bucket", "acme-data".into()),
        (
            "destination",
            Value::List(vec![dest(vec![
                ("bucket_arn", "arn:aws:s3:::dr-one".into()),
                ("replica_kms_key_arn", alias.into()),
                ("source_kms_key_arns", Value::Set(vec![KEY_SRC.into()])),
            ])]),
        ),
    ]);
    let mut m = SourceModel::from_value(&resource().plan(None, &Value::Null, &c, &c).await.planned).unwrap();
    let desired = |m: &SourceModel| Desired::from_model(m, &PARTITIONS[0], "111111111111", "us-east-1");
    // Not resolved yet (no provider configuration at plan time): no documents to write.
    assert!(desired(&m).err().is_some_and(|e| e.contains("replica_kms_key_target_arn")));
    blocks_of(&mut m)[0].replica_kms_key_target_arn = Known::Value(key.into());
    let d = desired(&m).unwrap();
    assert_eq!(d.configuration.rules[0].replica_kms_key.as_deref(), Some(alias), "S3 gets what the user wrote");
    let json = d.permissions.to_json();
    assert!(json.contains(key) && !json.contains(":alias/"), "{json}");
    // A key ARN is its own target, whatever the attribute holds.
    blocks_of(&mut m)[0].replica_kms_key_arn = Known::Value(key.into());
    blocks_of(&mut m)[0].replica_kms_key_target_arn = Known::Null;
    assert_eq!(blocks_of(&mut m)[0].replica_key_target().unwrap().as_deref(), Some(key));
}

const KEY_SRC: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn blocks_of(m: &mut SourceModel) -> &mut Vec<DestinationBlock> {
    let Known::Value(blocks) = &mut m.destination else { unreachable!() };
    blocks
}

#[tokio::test]
async fn desired_documents_are_scoped_to_the_exact_arns() {
    let c = config(vec![
        ("bucket", "acme-data".into()),
        ("role_name", "r".into()),
        ("policy_name", "p".into()),
        ("role_path", "/".into()),
        (
            "destination",
            Value::List(vec![dest(vec![
                ("bucket_arn", "arn:aws:s3:::dr-one".into()),
                ("account_id", "222222222222".into()),
            ])]),
        ),
    ]);
    let m = SourceModel::from_value(&resource().plan(None, &Value::Null, &c, &c).await.planned).unwrap();
    let d = Desired::from_model(&m, &PARTITIONS[0], "111111111111", "us-east-1").unwrap();
    assert_eq!(d.role_arn, "arn:aws:iam::111111111111:role/r");
    assert_eq!(d.policy_arn, "arn:aws:iam::111111111111:policy/p");
    let json = d.permissions.to_json();
    assert!(json.contains("arn:aws:s3:::dr-one/*") && json.contains("arn:aws:s3:::acme-data/*"), "{json}");
    assert_eq!(d.configuration.role, "arn:aws:iam::111111111111:role/r");
    assert_eq!(d.configuration.rules.len(), 1);
    assert_eq!(d.configuration.rules[0].account.as_deref(), Some("222222222222"));
}

#[tokio::test]
async fn every_partition_gets_its_own_arns() {
    let regions = [
        "us-east-1",
        "cn-north-1",
        "us-gov-west-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "eu-isoe-west-1",
        "us-isof-south-1",
        "eusc-de-east-1",
    ];
    for (partition, region) in PARTITIONS.iter().zip(regions) {
        assert_eq!(crate::domain::arn::Partition::of_region(region), partition, "{region}");
        let bucket_arn = format!("arn:{partition}:s3:::dr-one");
        let c = config(vec![
            ("bucket", "acme-data".into()),
            ("destination", Value::List(vec![dest(vec![("bucket_arn", bucket_arn.into())])])),
        ]);
        let m = SourceModel::from_value(&resource().plan(None, &Value::Null, &c, &c).await.planned).unwrap();
        let d = Desired::from_model(&m, partition, "111111111111", region).unwrap();
        let documents = [d.role_arn, d.policy_arn, d.trust.to_json(), d.permissions.to_json()].join(" ");
        let foreign = documents.matches("arn:").count() - documents.matches(&format!("arn:{partition}:")).count();
        assert_eq!(foreign, 0, "{region}: {documents}");
        assert!(
            documents.contains(&format!("arn:{partition}:iam::111111111111:role/crossrepl-acme-data")),
            "{documents}"
        );
    }
}

fn existing_objects(pairs: Vec<(&str, Value)>) -> Value {
    schema().object(Some("existing_objects"), pairs)
}

/// A source with one destination and an `existing_objects` block with the given trigger and computed job values.
fn with_job(trigger: &str, job_id: Value, status: Value) -> Value {
    let block = existing_objects(vec![
        ("report_bucket_arn", "arn:aws:s3:::acme-reports".into()),
        ("triggers_replace", Value::object(vec![("run", trigger.into())])),
        ("job_id", job_id),
        ("job_status", status),
    ]);
    config(vec![
        ("bucket", "acme-data".into()),
        ("destination", Value::List(vec![dest(vec![("bucket_arn", "arn:aws:s3:::dr-one".into())])])),
        ("existing_objects", Value::List(vec![block])),
    ])
}

#[tokio::test]
async fn a_job_is_planned_only_for_a_new_block_or_a_changed_trigger() {
    let job = |planned: &Value| planned.get("existing_objects").as_elements().unwrap()[0].get("job_id").clone();
    let config = with_job("1", Value::Null, Value::Null);
    let created = resource().plan(None, &Value::Null, &config, &config).await;
    assert!(job(&created.planned).is_unknown(), "a new block starts a job");
    let block = &created.planned.get("existing_objects").as_elements().unwrap()[0];
    assert_eq!(block.get("report_prefix").as_str(), Some("crossrepl-batch-replication"));
    assert_eq!(block.get("replication_statuses"), &Value::Set(vec!["NONE".into()]));

    let prior = with_job("1", "job-1".into(), "Complete".into());
    let unchanged = resource().plan(None, &prior, &prior, &config).await;
    assert_eq!(job(&unchanged.planned), Value::from("job-1"), "nothing changed: no job");

    let changed = with_job("2", Value::Null, Value::Null);
    let proposed = with_job("2", "job-1".into(), "Complete".into()); // the engine carries computed values over
    let rerun = resource().plan(None, &prior, &proposed, &changed).await;
    assert!(job(&rerun.planned).is_unknown(), "a changed trigger starts a job");
    let status = rerun.planned.get("existing_objects").as_elements().unwrap()[0].get("job_status").clone();
    assert!(status.is_unknown());
}

#[test]
fn a_state_records_no_job_and_no_batch_role_until_they_exist() {
    let planned = with_job("1", Value::Unknown, Value::Unknown);
    let mut m = SourceModel::from_value(&planned).unwrap();
    m.role_name = Known::Value("crossrepl-acme-data".into());
    m.policy_name = Known::Value("crossrepl-policy-acme-data".into());
    m.role_path = Known::Value("/".into());
    m.tags = Known::Null;
    m.enable_versioning = Known::Value(true);
    if let Known::Value(blocks) = &mut m.existing_objects {
        blocks[0].report_prefix = Known::Value("r".into());
        blocks[0].replication_statuses = Known::Value(framework::Set(vec![Known::Value("NONE".into())]));
        (blocks[0].role_arn, blocks[0].job_failure_reasons) = (Known::Unknown, Known::Unknown);
    }
    if let Known::Value(ds) = &mut m.destination {
        ds[0].delete_marker_replication = Known::Value(true);
        ds[0].owner_override = Known::Value(false);
        ds[0].replication_time_control = Known::Value(false);
        ds[0].replica_modifications = Known::Value(false);
        ds[0].enabled = Known::Value(true);
    }
    let want = Desired::from_model(&m, &PARTITIONS[0], "111111111111", "us-east-1").unwrap();
    let batch = want.batch.as_ref().expect("the block asks for a batch role");
    assert_eq!(batch.role_arn, "arn:aws:iam::111111111111:role/crossrepl-batch-acme-data");
    assert_eq!(batch.trigger, "run=1\n");
    let state = want.state(&m, &PARTITIONS[0], false, false, &[false]);
    let block = &state.existing_objects.known().unwrap()[0];
    for v in [&block.role_arn, &block.job_id, &block.job_status, &block.job_failure_reasons] {
        assert!(v.is_null(), "{v:?}");
    }
}
