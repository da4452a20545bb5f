use super::*;
use crate::domain::replication::{DestinationSpec, MAX_DESTINATIONS, effective_priority, rule_ids};

const ROLE: &str = "arn:aws:iam::111111111111:role/crossrepl-acme-data";
const KEY: &str = "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY2: &str = "arn:aws:kms:us-east-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab";

fn arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

fn spec(bucket: &str) -> DestinationSpec {
    DestinationSpec { bucket_arn: arn(bucket), ..Default::default() }
}

fn build_configuration(role: &str, dests: &[DestinationSpec]) -> Result<ReplicationConfiguration, String> {
    expand(&ReplicationConfig::from_destinations(role, dests)?)
}

fn build_one(d: DestinationSpec) -> ReplicationRule {
    let cfg = build_configuration(ROLE, &[d]).expect("builds");
    assert_eq!(cfg.role(), ROLE);
    assert_eq!(cfg.rules().len(), 1);
    cfg.rules()[0].clone()
}

fn rules_equal(a: &ReplicationRule, b: &ReplicationRule) -> bool {
    flatten_rule(a) == flatten_rule(b)
}

/// (id, priority, spec) of each rule read back, as an import sees them.
fn specs_from_configuration(cfg: &ReplicationConfiguration) -> Vec<(String, Option<i32>, DestinationSpec)> {
    let flat = flatten(cfg);
    flat.rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.clone().unwrap_or_default(), r.priority, r.to_destination(i)))
        .collect()
}

#[test]
fn builds_a_minimal_v2_rule() {
    let r = build_one(spec("dst"));
    assert_eq!(r.id(), Some("crossrepl-dst"));
    assert_eq!(r.priority(), Some(1));
    assert_eq!(*r.status(), ReplicationRuleStatus::Enabled);
    assert_eq!(r.filter(), Some(&ReplicationRuleFilter::builder().prefix("").build()));
    assert_eq!(r.delete_marker_replication().and_then(|d| d.status()), Some(&DeleteMarkerReplicationStatus::Enabled));
    let dest = r.destination().expect("destination");
    assert_eq!(dest.bucket(), arn("dst"));
    assert_eq!(dest.account(), None);
    assert_eq!(dest.storage_class(), None);
    assert!(dest.access_control_translation().is_none());
    assert!(dest.encryption_configuration().is_none());
    assert!(dest.replication_time().is_none() && dest.metrics().is_none());
    assert!(r.source_selection_criteria().is_none());
    assert!(r.existing_object_replication().is_none());
    #[allow(deprecated)]
    let v1_prefix = r.prefix();
    assert_eq!(v1_prefix, None);
}

#[test]
fn builds_each_filter_shape() {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().expect("tag");
    let prefix_only = build_one(DestinationSpec { prefix: "logs/".into(), ..spec("d") });
    assert_eq!(prefix_only.filter(), Some(&ReplicationRuleFilter::builder().prefix("logs/").build()));

    let one_tag = DestinationSpec {
        tags: [("env".to_string(), "prod".to_string())].into(),
        delete_marker_replication: false,
        ..spec("d")
    };
    let r = build_one(one_tag.clone());
    assert_eq!(r.filter(), Some(&ReplicationRuleFilter::builder().tag(tag("env", "prod")).build()));
    assert_eq!(r.delete_marker_replication().and_then(|d| d.status()), Some(&DeleteMarkerReplicationStatus::Disabled));

    let r = build_one(DestinationSpec { prefix: "logs/".into(), ..one_tag.clone() });
    let and = ReplicationRuleAndOperator::builder().prefix("logs/").tags(tag("env", "prod")).build();
    assert_eq!(r.filter(), Some(&ReplicationRuleFilter::builder().and(and).build()));

    let mut two = one_tag;
    two.tags.insert("app".into(), "web".into());
    let r = build_one(two);
    let and = ReplicationRuleAndOperator::builder().tags(tag("app", "web")).tags(tag("env", "prod")).build();
    assert_eq!(r.filter(), Some(&ReplicationRuleFilter::builder().and(and).build()));
    assert_eq!(r.filter().and_then(|f| f.and()).and_then(|a| a.prefix()), None);
}

#[test]
fn builds_destination_options() {
    let r = build_one(DestinationSpec {
        account_id: Some("222222222222".into()),
        owner_override: true,
        storage_class: Some("STANDARD_IA".into()),
        replica_kms_key_arn: Some(KEY.into()),
        source_kms_key_arns: vec![KEY2.into()],
        replication_time_control: true,
        replica_modifications: true,
        delete_marker_replication: false,
        enabled: false,
        priority: Some(42),
        ..spec("dst")
    });
    assert_eq!(*r.status(), ReplicationRuleStatus::Disabled);
    assert_eq!(r.priority(), Some(42));
    assert_eq!(r.delete_marker_replication().and_then(|d| d.status()), Some(&DeleteMarkerReplicationStatus::Disabled));
    let dest = r.destination().expect("destination");
    assert_eq!(dest.account(), Some("222222222222"));
    assert_eq!(dest.storage_class(), Some(&StorageClass::StandardIa));
    assert_eq!(dest.access_control_translation().map(|t| t.owner()), Some(&OwnerOverride::Destination));
    assert_eq!(dest.encryption_configuration().and_then(|e| e.replica_kms_key_id()), Some(KEY));
    let rt = dest.replication_time().expect("replication time");
    assert_eq!(*rt.status(), ReplicationTimeStatus::Enabled);
    assert_eq!(rt.time().and_then(|t| t.minutes()), Some(15));
    let m = dest.metrics().expect("metrics");
    assert_eq!(*m.status(), MetricsStatus::Enabled);
    assert_eq!(m.event_threshold().and_then(|t| t.minutes()), Some(15));
    let ssc = r.source_selection_criteria().expect("source selection");
    assert_eq!(ssc.sse_kms_encrypted_objects().map(|s| s.status()), Some(&SseKmsEncryptedObjectsStatus::Enabled));
    assert_eq!(ssc.replica_modifications().map(|s| s.status()), Some(&ReplicaModificationsStatus::Enabled));
    assert!(r.existing_object_replication().is_none());

    // Metrics without replication time control: no ReplicationTime, and no EventThreshold (S3 refuses one there).
    let r = build_one(DestinationSpec { metrics: true, ..spec("dst") });
    let dest = r.destination().expect("destination");
    assert!(dest.replication_time().is_none());
    let m = dest.metrics().expect("metrics");
    assert_eq!((m.status(), m.event_threshold()), (&MetricsStatus::Enabled, None));
    assert!(build_one(spec("dst")).destination().expect("destination").metrics().is_none());

    // Each selection criterion alone.
    let r = build_one(DestinationSpec { replica_modifications: true, ..spec("dst") });
    let ssc = r.source_selection_criteria().expect("source selection");
    assert!(ssc.sse_kms_encrypted_objects().is_none() && ssc.replica_modifications().is_some());
    let kms = DestinationSpec {
        replica_kms_key_arn: Some(KEY.into()),
        source_kms_key_arns: vec![KEY2.into()],
        ..spec("dst")
    };
    let r = build_one(kms);
    let ssc = r.source_selection_criteria().expect("source selection");
    assert!(ssc.sse_kms_encrypted_objects().is_some() && ssc.replica_modifications().is_none());
    // Account without owner override: no translation.
    let r = build_one(DestinationSpec { account_id: Some("222222222222".into()), ..spec("dst") });
    let dest = r.destination().expect("destination");
    assert!(dest.account().is_some() && dest.access_control_translation().is_none());
}

#[test]
fn build_refuses_malformed_configurations() {
    assert!(build_configuration(ROLE, &[]).is_err());
    let too_many: Vec<_> = (0..=MAX_DESTINATIONS).map(|i| spec(&format!("d-{i}"))).collect();
    assert!(build_configuration(ROLE, &too_many).is_err());
    assert!(build_configuration(ROLE, &too_many[..MAX_DESTINATIONS]).is_ok());
    let dup_priority = [spec("a"), DestinationSpec { priority: Some(1), ..spec("b") }];
    assert!(build_configuration(ROLE, &dup_priority).unwrap_err().contains("priority 1"));
    let same_id = [spec("a"), DestinationSpec { rule_id: Some("crossrepl-a".into()), ..spec("b") }];
    assert!(build_configuration(ROLE, &same_id).unwrap_err().contains("rule id"));
    for p in [-1, i64::from(i32::MAX) + 1] {
        assert!(build_configuration(ROLE, &[DestinationSpec { priority: Some(p), ..spec("a") }]).is_err());
    }
}

#[test]
fn round_trips_through_s3_rules() {
    let dests = vec![
        spec("plain"),
        DestinationSpec { prefix: "logs/".into(), storage_class: Some("GLACIER".into()), ..spec("prefixed") },
        // A second rule into the same bucket (another prefix and class) reads back as its own block.
        DestinationSpec { prefix: "data/".into(), storage_class: Some("STANDARD".into()), ..spec("prefixed") },
        DestinationSpec {
            tags: [("env".to_string(), "prod".to_string())].into(),
            delete_marker_replication: false,
            priority: Some(50),
            ..spec("one-tag")
        },
        DestinationSpec {
            prefix: "data/".into(),
            tags: [("a".to_string(), "1".to_string()), ("b".into(), "2".into())].into(),
            delete_marker_replication: false,
            ..spec("and-filter")
        },
        DestinationSpec {
            account_id: Some("222222222222".into()),
            owner_override: true,
            replica_kms_key_arn: Some(KEY.into()),
            source_kms_key_arns: vec![KEY2.into()],
            replication_time_control: true,
            metrics: true,
            replica_modifications: true,
            enabled: false,
            ..spec("everything")
        },
        DestinationSpec { metrics: true, ..spec("metrics-only") },
    ];
    let cfg = build_configuration(ROLE, &dests).expect("builds");
    let read = specs_from_configuration(&cfg);
    assert_eq!(read.len(), dests.len());
    let ids = rule_ids(&dests);
    assert_eq!(ids[1..3], ["crossrepl-prefixed", "crossrepl-prefixed#2"]);
    for (i, ((id, priority, spec), d)) in read.iter().zip(&dests).enumerate() {
        assert_eq!(*id, ids[i]);
        assert_eq!(*priority, Some(effective_priority(i, d)));
        assert_eq!(effective_priority(i, spec), effective_priority(i, d));
        let expected = DestinationSpec { source_kms_key_arns: Vec::new(), rule_id: Some(id.clone()), ..d.clone() };
        assert_eq!(*spec, expected, "destination[{i}]");
    }
    // Building from what was read gives equal rules (the SSE-KMS selection aside, which the keys drive).
    let again = build_configuration(ROLE, &read.iter().map(|r| r.2.clone()).collect::<Vec<_>>()).expect("builds");
    for (i, (a, b)) in cfg.rules().iter().zip(again.rules()).enumerate() {
        assert_eq!(rules_equal(a, b), dests[i].source_kms_key_arns.is_empty(), "rule {i}");
    }
}

#[test]
fn reads_v1_rules() {
    #[allow(deprecated)]
    let v1 = ReplicationRule::builder()
        .id("legacy")
        .prefix("old/")
        .status(ReplicationRuleStatus::Enabled)
        .destination(Destination::builder().bucket(arn("dst")).build().expect("destination"))
        .build()
        .expect("rule");
    let cfg = ReplicationConfiguration::builder().role(ROLE).rules(v1.clone()).build().expect("configuration");
    let read = specs_from_configuration(&cfg);
    assert_eq!(
        read,
        vec![(
            "legacy".to_string(),
            None,
            DestinationSpec { prefix: "old/".into(), rule_id: Some("legacy".into()), ..spec("dst") }
        )]
    );
    // A V1 rule is not the V2 rule crossrepl would write for it.
    let v2 = build_one(DestinationSpec { prefix: "old/".into(), priority: None, ..spec("dst") });
    assert!(!rules_equal(&v1, &v2));
    assert!(rules_equal(&v1, &v1.clone()));
}

#[test]
fn rules_compare_semantically() {
    let base = DestinationSpec {
        prefix: "p/".into(),
        tags: [("a".to_string(), "1".to_string()), ("b".into(), "2".into())].into(),
        delete_marker_replication: false,
        ..spec("dst")
    };
    let built = build_one(base.clone());
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().expect("tag");
    let dest = || Destination::builder().bucket(arn("dst")).build().expect("destination");
    let rule = |filter: ReplicationRuleFilter| {
        ReplicationRule::builder()
            .id("crossrepl-dst")
            .priority(1)
            .status(ReplicationRuleStatus::Enabled)
            .filter(filter)
            .delete_marker_replication(
                DeleteMarkerReplication::builder().status(DeleteMarkerReplicationStatus::Disabled).build(),
            )
            .destination(dest())
    };
    // Tag order.
    let reordered = ReplicationRuleAndOperator::builder().prefix("p/").tags(tag("b", "2")).tags(tag("a", "1")).build();
    let r = rule(ReplicationRuleFilter::builder().and(reordered).build()).build().expect("rule");
    assert!(rules_equal(&built, &r));

    // Empty versus absent filter prefix; one tag in And versus Tag.
    let plain = build_one(DestinationSpec { delete_marker_replication: false, ..spec("dst") });
    let empty_filter = rule(ReplicationRuleFilter::builder().build()).build().expect("rule");
    assert!(rules_equal(&plain, &empty_filter));
    let one = build_one(DestinationSpec { tags: [("a".to_string(), "1".to_string())].into(), ..base.clone() });
    let one_and = rule(
        ReplicationRuleFilter::builder()
            .and(ReplicationRuleAndOperator::builder().prefix("p/").tags(tag("a", "1")).build())
            .build(),
    );
    assert!(rules_equal(&one, &one_and.clone().build().expect("rule")));
    let tag_only = build_one(DestinationSpec {
        prefix: String::new(),
        tags: [("a".to_string(), "1".to_string())].into(),
        ..base.clone()
    });
    let and_one = rule(
        ReplicationRuleFilter::builder().and(ReplicationRuleAndOperator::builder().tags(tag("a", "1")).build()).build(),
    );
    assert!(rules_equal(&tag_only, &and_one.build().expect("rule")));

    // Absent optional structures equal their disabled form.
    let disabled_extras = rule(ReplicationRuleFilter::builder().prefix("").build())
        .source_selection_criteria(
            SourceSelectionCriteria::builder()
                .replica_modifications(
                    ReplicaModifications::builder().status(ReplicaModificationsStatus::Disabled).build().expect("rm"),
                )
                .sse_kms_encrypted_objects(
                    SseKmsEncryptedObjects::builder()
                        .status(SseKmsEncryptedObjectsStatus::Disabled)
                        .build()
                        .expect("sse"),
                )
                .build(),
        )
        .existing_object_replication(
            aws_sdk_s3::types::ExistingObjectReplication::builder()
                .status(aws_sdk_s3::types::ExistingObjectReplicationStatus::Disabled)
                .build()
                .expect("eor"),
        )
        .destination(
            Destination::builder()
                .bucket(arn("dst"))
                .account("")
                .encryption_configuration(EncryptionConfiguration::builder().build())
                .replication_time(
                    ReplicationTime::builder().status(ReplicationTimeStatus::Disabled).build().expect("rt"),
                )
                .metrics(Metrics::builder().status(MetricsStatus::Disabled).build().expect("metrics"))
                .build()
                .expect("destination"),
        )
        .build()
        .expect("rule");
    assert!(rules_equal(&plain, &disabled_extras));
    // No DeleteMarkerReplication on a V2 rule means disabled.
    let mut no_dmr = plain.clone();
    no_dmr.delete_marker_replication = None;
    assert!(rules_equal(&plain, &no_dmr));

    // Real differences.
    let differs = |f: &dyn Fn(&mut DestinationSpec)| {
        let mut d = base.clone();
        f(&mut d);
        !rules_equal(&built, &build_one(d))
    };
    assert!(differs(&|d| d.prefix = "q/".into()));
    assert!(differs(&|d| {
        d.tags.insert("a".into(), "other".into());
    }));
    assert!(differs(&|d| d.storage_class = Some("STANDARD".into())));
    assert!(differs(&|d| d.account_id = Some("222222222222".into())));
    assert!(differs(&|d| d.replica_kms_key_arn = Some(KEY.into())));
    assert!(differs(&|d| d.replication_time_control = true));
    assert!(differs(&|d| d.metrics = true));
    assert!(differs(&|d| d.replica_modifications = true));
    assert!(differs(&|d| d.enabled = false));
    assert!(differs(&|d| d.priority = Some(2)));
    assert!(differs(&|d| d.bucket_arn = arn("other")));
    assert!(!rules_equal(&plain, &build_one(spec("dst"))), "delete-marker replication differs");
    let mut other_id = built.clone();
    other_id.id = Some("manual".into());
    assert!(!rules_equal(&built, &other_id));
    let mut rtc_minutes = build_one(DestinationSpec { replication_time_control: true, ..base.clone() });
    let original = rtc_minutes.clone();
    if let Some(d) = rtc_minutes.destination.as_mut() {
        d.metrics = Some(Metrics::builder().status(MetricsStatus::Disabled).build().expect("metrics"));
    }
    assert!(!rules_equal(&original, &rtc_minutes), "metrics disabled under RTC");
}

#[test]
fn every_replication_storage_class_is_one_the_sdk_knows() {
    for ok in crate::domain::replication::REPLICATION_STORAGE_CLASSES {
        assert!(StorageClass::values().contains(&ok), "{ok}");
    }
}
