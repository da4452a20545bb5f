//! The replication configuration between the domain ([`ReplicationConfig`]) and the AWS SDK: one [`expand`]
//! (what crossrepl sends) and one [`flatten`] (what S3 returns), one pair per nested structure.

use aws_sdk_s3::types::{
    AccessControlTranslation, DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination,
    EncryptionConfiguration, ExistingObjectReplication, ExistingObjectReplicationStatus, Metrics, MetricsStatus,
    OwnerOverride, ReplicaModifications, ReplicaModificationsStatus, ReplicationConfiguration, ReplicationRule,
    ReplicationRuleAndOperator, ReplicationRuleFilter, ReplicationRuleStatus, ReplicationTime, ReplicationTimeStatus,
    ReplicationTimeValue, SourceSelectionCriteria, SseKmsEncryptedObjects, SseKmsEncryptedObjectsStatus, StorageClass,
    Tag,
};

use crate::domain::replication::{ReplicationConfig, Rule};

type BuildResult<T> = Result<T, String>;

fn built(e: aws_sdk_s3::error::BuildError) -> String {
    e.to_string()
}

fn enabled(on: bool) -> &'static str {
    if on { "Enabled" } else { "Disabled" }
}

fn is_enabled(status: &str) -> bool {
    status == "Enabled"
}

/// The SDK form of a configuration (V2 rules only: crossrepl never writes V1).
pub fn expand(cfg: &ReplicationConfig) -> BuildResult<ReplicationConfiguration> {
    let rules = cfg.rules.iter().map(expand_rule).collect::<BuildResult<Vec<_>>>()?;
    ReplicationConfiguration::builder().role(&cfg.role).set_rules(Some(rules)).build().map_err(built)
}

/// The domain form of a configuration S3 returned.
pub fn flatten(cfg: &ReplicationConfiguration) -> ReplicationConfig {
    ReplicationConfig { role: cfg.role().to_string(), rules: cfg.rules().iter().map(flatten_rule).collect() }
}

fn expand_rule(r: &Rule) -> BuildResult<ReplicationRule> {
    let mut rule = ReplicationRule::builder()
        .set_id(r.id.clone())
        .set_priority(r.priority)
        .status(ReplicationRuleStatus::from(enabled(r.enabled)))
        .filter(expand_filter(r)?)
        .delete_marker_replication(
            DeleteMarkerReplication::builder()
                .status(DeleteMarkerReplicationStatus::from(enabled(r.delete_markers)))
                .build(),
        )
        .destination(expand_destination(r)?)
        .set_source_selection_criteria(expand_source_selection(r)?);
    if r.existing_objects {
        let status = ExistingObjectReplicationStatus::Enabled;
        rule = rule
            .existing_object_replication(ExistingObjectReplication::builder().status(status).build().map_err(built)?);
    }
    rule.build().map_err(built)
}

fn flatten_rule(r: &ReplicationRule) -> Rule {
    let non_empty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    let filter = r.filter();
    let and = filter.and_then(ReplicationRuleFilter::and);
    // V1 rules carry the prefix on the rule itself: deprecated in the SDK, still returned by S3.
    #[allow(deprecated)]
    let v1_prefix = r.prefix();
    let prefix = filter.and_then(ReplicationRuleFilter::prefix).or(and.and_then(|a| a.prefix())).or(v1_prefix);
    let mut tags: Vec<(String, String)> = filter
        .and_then(ReplicationRuleFilter::tag)
        .into_iter()
        .chain(and.map(ReplicationRuleAndOperator::tags).unwrap_or_default())
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    tags.sort();
    // Without DeleteMarkerReplication, V1 rules replicate delete markers and V2 rules do not.
    let delete_markers = match r.delete_marker_replication().and_then(DeleteMarkerReplication::status) {
        Some(s) => is_enabled(s.as_str()),
        None => filter.is_none(),
    };
    let (sse_kms_objects, replica_modifications) = flatten_source_selection(r.source_selection_criteria());
    let mut rule = Rule {
        id: non_empty(r.id()),
        priority: r.priority(),
        enabled: is_enabled(r.status().as_str()),
        v2: filter.is_some(),
        prefix: prefix.unwrap_or_default().to_string(),
        tags,
        delete_markers,
        bucket: String::new(),
        account: None,
        storage_class: None,
        owner_override: false,
        replica_kms_key: None,
        replication_time: None,
        metrics: None,
        sse_kms_objects,
        replica_modifications,
        existing_objects: r.existing_object_replication().is_some_and(|e| is_enabled(e.status().as_str())),
    };
    if let Some(d) = r.destination() {
        flatten_destination(d, &mut rule);
    }
    rule
}

/// `Prefix` alone (possibly empty) when there are no tags; `Tag` for one tag and no prefix; otherwise `And`
/// with the tags and the prefix if any.
fn expand_filter(r: &Rule) -> BuildResult<ReplicationRuleFilter> {
    let mut tags = r
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(built))
        .collect::<BuildResult<Vec<_>>>()?;
    Ok(if tags.is_empty() {
        ReplicationRuleFilter::builder().prefix(&r.prefix).build()
    } else if tags.len() == 1 && r.prefix.is_empty() {
        ReplicationRuleFilter::builder().set_tag(tags.pop()).build()
    } else {
        let prefix = (!r.prefix.is_empty()).then(|| r.prefix.clone());
        let and = ReplicationRuleAndOperator::builder().set_prefix(prefix).set_tags(Some(tags)).build();
        ReplicationRuleFilter::builder().and(and).build()
    })
}

fn expand_destination(r: &Rule) -> BuildResult<Destination> {
    let mut dest = Destination::builder().bucket(&r.bucket).set_account(r.account.clone());
    if let Some(class) = &r.storage_class {
        dest = dest.storage_class(StorageClass::from(class.as_str()));
    }
    if r.owner_override {
        let owner = AccessControlTranslation::builder().owner(OwnerOverride::Destination).build().map_err(built)?;
        dest = dest.access_control_translation(owner);
    }
    if let Some(key) = &r.replica_kms_key {
        dest = dest.encryption_configuration(EncryptionConfiguration::builder().replica_kms_key_id(key).build());
    }
    let minutes = |m: &Option<i32>| ReplicationTimeValue::builder().set_minutes(*m).build();
    if let Some(m) = &r.replication_time {
        let status = ReplicationTimeStatus::Enabled;
        dest =
            dest.replication_time(ReplicationTime::builder().status(status).time(minutes(m)).build().map_err(built)?);
    }
    if let Some(m) = &r.metrics {
        let threshold = m.map(|m| minutes(&Some(m)));
        let metrics = Metrics::builder().status(MetricsStatus::Enabled).set_event_threshold(threshold);
        dest = dest.metrics(metrics.build().map_err(built)?);
    }
    dest.build().map_err(built)
}

fn flatten_destination(d: &Destination, rule: &mut Rule) {
    let non_empty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    rule.bucket = d.bucket().to_string();
    rule.account = non_empty(d.account());
    rule.storage_class = d.storage_class().map(|c| c.as_str().to_string());
    rule.owner_override = d.access_control_translation().is_some_and(|t| *t.owner() == OwnerOverride::Destination);
    rule.replica_kms_key =
        non_empty(d.encryption_configuration().and_then(EncryptionConfiguration::replica_kms_key_id));
    rule.replication_time = d
        .replication_time()
        .filter(|t| is_enabled(t.status().as_str()))
        .map(|t| t.time().and_then(ReplicationTimeValue::minutes));
    rule.metrics = d
        .metrics()
        .filter(|m| is_enabled(m.status().as_str()))
        .map(|m| m.event_threshold().and_then(ReplicationTimeValue::minutes));
}

fn expand_source_selection(r: &Rule) -> BuildResult<Option<SourceSelectionCriteria>> {
    if !r.sse_kms_objects && !r.replica_modifications {
        return Ok(None);
    }
    let mut ssc = SourceSelectionCriteria::builder();
    if r.sse_kms_objects {
        let status = SseKmsEncryptedObjectsStatus::Enabled;
        ssc = ssc.sse_kms_encrypted_objects(SseKmsEncryptedObjects::builder().status(status).build().map_err(built)?);
    }
    if r.replica_modifications {
        let status = ReplicaModificationsStatus::Enabled;
        ssc = ssc.replica_modifications(ReplicaModifications::builder().status(status).build().map_err(built)?);
    }
    Ok(Some(ssc.build()))
}

/// (SSE-KMS objects selected, replica modifications selected).
fn flatten_source_selection(ssc: Option<&SourceSelectionCriteria>) -> (bool, bool) {
    let Some(ssc) = ssc else { return (false, false) };
    (
        ssc.sse_kms_encrypted_objects().is_some_and(|s| is_enabled(s.status().as_str())),
        ssc.replica_modifications().is_some_and(|s| is_enabled(s.status().as_str())),
    )
}

#[cfg(test)]
#[path = "s3_replication_tests.rs"]
mod tests;
