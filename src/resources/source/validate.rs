//! Checks across the `destination` blocks and their attributes, against the rules S3 enforces, so that mistakes
//! surface at plan time even where LocalStack would accept them. Each attribute's own checks are the schema's
//! validators; unknown values are skipped (they are checked again once known). Each diagnostic names
//! `destination[i].<attribute>`.

use std::collections::HashMap;

use framework::Known;
use tfplugin::{AttributePath, Diagnostic, Diagnostics, Number};

use super::model::{DestinationBlock, SourceModel};
use crate::domain::arn::BucketArn;
use crate::domain::replication::{
    DestinationSpec, MAX_DESTINATIONS, derived_rule_ids, effective_priority, overlapping_rules, position_priority,
};

/// The path `destination[i].<attr>`.
fn path(i: usize, attr: &str) -> AttributePath {
    AttributePath::attr("destination").with_index(i).with_attr(attr)
}

/// Every check across attributes of a source configuration (defaults filled in).
pub fn validate(config: &SourceModel) -> Diagnostics {
    let mut ds = role_only_settings(config);
    let Known::Value(blocks) = &config.destination else { return ds };
    if blocks.len() > MAX_DESTINATIONS {
        ds.push(
            Diagnostic::error(
                "Too many destination blocks",
                format!(
                    "S3 allows at most {MAX_DESTINATIONS} replication rules per bucket, and each destination block \
                     is one rule; this configuration has {}. Remove destination blocks.",
                    blocks.len()
                ),
            )
            .at(AttributePath::attr("destination")),
        );
    }
    not_the_source(blocks, config.bucket.known().map(String::as_str), &mut ds);
    unique_priorities(blocks, &mut ds);
    unique_rule_ids(blocks, &mut ds);
    for (i, d) in blocks.iter().enumerate() {
        requirements(i, d, &mut ds);
    }
    ds
}

/// With `role_arn` set (an existing role), the settings of the role crossrepl would create are errors, each at its
/// attribute: nothing would use them. `role_path` is checked against its default `/`, the only value that cannot
/// be told from leaving it out.
fn role_only_settings(config: &SourceModel) -> Diagnostics {
    let mut ds = Diagnostics::new();
    if config.role_arn.is_null() {
        return ds;
    }
    let set = [
        ("role_name", !config.role_name.is_null()),
        ("policy_name", !config.policy_name.is_null()),
        ("role_path", config.role_path.known().is_some_and(|p| p != "/")),
        ("permissions_boundary", !config.permissions_boundary.is_null()),
        ("tags", !config.tags.is_null()),
    ];
    for (attr, _) in set.into_iter().filter(|(_, set)| *set) {
        let detail = format!(
            "{attr} configures the role and policy crossrepl creates, but role_arn names an existing role that \
             crossrepl never changes. Remove {attr}, or remove role_arn to let crossrepl create and manage the role."
        );
        ds.push(
            Diagnostic::error(format!("{attr} cannot be used with role_arn"), detail).at(AttributePath::attr(attr)),
        );
    }
    ds
}

/// No valid destination bucket ARN names the source bucket. Several blocks may name the same bucket: each is a
/// rule of its own (for instance `logs/` to GLACIER and `data/` to STANDARD).
fn not_the_source(blocks: &[DestinationBlock], source: Option<&str>, ds: &mut Diagnostics) {
    for (i, d) in blocks.iter().enumerate() {
        let Some(arn) = d.bucket_arn.known().and_then(|a| a.parse::<BucketArn>().ok()) else { continue };
        let name = arn.bucket.as_str();
        if source == Some(name) {
            let detail = format!(
                "Bucket {name:?} cannot replicate to itself. Point bucket_arn at a different bucket, or remove this \
                 destination block."
            );
            ds.push(Diagnostic::error("Destination bucket is the source bucket", detail).at(path(i, "bucket_arn")));
        }
    }
}

/// Rules into the same bucket whose filters can select the same object: S3 replicates such an object by the
/// rule with the higher priority only (see [`overlapping_rules`]), so the other rule's settings (storage class,
/// replica key, ...) do not apply to it. A warning on the losing block of `planned`, naming the winner, unless
/// `config` sets both priorities (then the choice is the user's). Blocks not fully known are left out. Part of
/// the plan, not of [`validate`]: engines validate a configuration more than once, and a warning would repeat.
pub fn overlaps(planned: &SourceModel, config: &SourceModel) -> Diagnostics {
    let mut ds = Diagnostics::new();
    let (Known::Value(blocks), Known::Value(configured)) = (&planned.destination, &config.destination) else {
        return ds;
    };
    let known: Vec<(usize, DestinationSpec)> =
        blocks.iter().enumerate().filter_map(|(i, b)| Some((i, b.spec().ok()?))).collect();
    let only: Vec<DestinationSpec> = known.iter().map(|(_, s)| s.clone()).collect();
    let explicit = |i: usize| configured.get(i).is_some_and(|c| !c.priority.is_null());
    for (a, b) in overlapping_rules(&only) {
        let ((i, x), (j, y)) = (&known[a], &known[b]);
        if explicit(*i) && explicit(*j) {
            continue;
        }
        let (pi, pj) = (effective_priority(*i, x), effective_priority(*j, y));
        let (winner, loser, (pw, pl)) = if pj > pi { (*j, *i, (pj, pi)) } else { (*i, *j, (pi, pj)) };
        let detail = format!(
            "destination[{i}] and destination[{j}] replicate into the same bucket and their filters (prefix, tags) \
             can select the same object. S3 replicates such an object by the rule with the higher priority only: \
             destination[{winner}] (priority {pw}) wins over destination[{loser}] (priority {pl}), whose settings \
             then do not apply to it. Set priority on both blocks to choose, or make the prefixes disjoint."
        );
        ds.push(Diagnostic::warning("Overlapping rules into one bucket", detail).at(path(loser, "priority")));
    }
    ds
}

/// Each rule's effective priority (explicit, or by position) is unique; invalid priorities are the
/// validator's to report.
fn unique_priorities(blocks: &[DestinationBlock], ds: &mut Diagnostics) {
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for (i, d) in blocks.iter().enumerate() {
        let (priority, explicit) = match &d.priority {
            Known::Unknown => continue,
            Known::Null => (i64::from(position_priority(i)), false),
            Known::Value(Number::Int(p)) if (0..=i64::from(i32::MAX)).contains(p) => (*p, true),
            Known::Value(_) => continue,
        };
        if let Some(first) = seen.get(&priority) {
            let how = if explicit { "is set to" } else { "gets by its position (index + 1)" };
            let detail = format!(
                "This destination {how} priority {priority}, which destination[{first}] already has; S3 needs every \
                 rule's priority to be unique. Set a different, explicit priority on one of them (blocks without one \
                 get their position + 1)."
            );
            ds.push(Diagnostic::error("Duplicate replication rule priority", detail).at(path(i, "priority")));
        } else {
            seen.insert(priority, i);
        }
    }
}

/// No two rules get the same id, explicit or derived (see [`derived_rule_ids`]: derived ids never collide with
/// each other, so a collision involves an explicit `rule_id`).
fn unique_rule_ids(blocks: &[DestinationBlock], ds: &mut Diagnostics) {
    let arns: Vec<Option<&str>> = blocks.iter().map(|d| d.bucket_arn.known().map(String::as_str)).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, (d, derived)) in blocks.iter().zip(derived_rule_ids(&arns)).enumerate() {
        let (id, explicit) = match (&d.rule_id, derived) {
            (Known::Value(id), _) if !id.is_empty() && id.chars().count() <= 255 => (id.clone(), true),
            (Known::Null, Some(id)) => (id, false),
            _ => continue,
        };
        if let Some(first) = seen.insert(id.clone(), i) {
            let detail = format!(
                "This destination's rule id would be {id:?}, which destination[{first}] already has; S3 needs every \
                 rule id to be unique. Set a different rule_id on one of them."
            );
            let at = path(i, if explicit { "rule_id" } else { "bucket_arn" });
            ds.push(Diagnostic::error("Duplicate replication rule id", detail).at(at));
        }
    }
}

/// What one attribute of a block needs of another.
fn requirements(i: usize, d: &DestinationBlock, ds: &mut Diagnostics) {
    if d.replication_time_control == Known::Value(true) && d.metrics == Known::Value(false) {
        // "ReplicationTime ... Must be specified together with a Metrics block" ("Destination",
        // <https://docs.aws.amazon.com/AmazonS3/latest/API/API_Destination.html>).
        ds.push(
            Diagnostic::error(
                "replication_time_control needs metrics",
                "S3 Replication Time Control reports through replication metrics, and S3 accepts it only with \
                 metrics enabled. Remove metrics = false (metrics then follows replication_time_control), or set \
                 replication_time_control = false.",
            )
            .at(path(i, "metrics")),
        );
    }
    if d.owner_override == Known::Value(true) && d.account_id.is_null() {
        ds.push(
            Diagnostic::error(
                "owner_override needs account_id",
                "S3 transfers replica ownership only to a named account (AccessControlTranslation requires \
                 Destination.Account). Set account_id to the destination bucket owner's account id, or set \
                 owner_override = false.",
            )
            .at(path(i, "owner_override")),
        );
    }
    if d.source_kms_key_arns.known().is_some_and(|keys| !keys.0.is_empty()) && d.replica_kms_key_arn.is_null() {
        ds.push(
            Diagnostic::error(
                "source_kms_key_arns needs replica_kms_key_arn",
                "Replicating SSE-KMS encrypted objects requires a key to encrypt the replicas with. Set \
                 replica_kms_key_arn to a key in the destination bucket's region (its key policy must allow the \
                 source account), or remove source_kms_key_arns.",
            )
            .at(path(i, "source_kms_key_arns")),
        );
    }
    if d.replica_kms_key_arn.known().is_some() && d.selects_no_sse_kms() {
        // S3 refuses a rule with a replica key unless it selects SSE-KMS objects (`SseKmsEncryptedObjects`):
        // PutBucketReplication answers InvalidRequest (hashicorp/terraform-provider-aws#26241).
        ds.push(
            Diagnostic::error(
                "replica_kms_key_arn needs source_kms_key_arns",
                "S3 accepts a replica key only on a rule that replicates SSE-KMS encrypted objects, and the role \
                 needs kms:Decrypt on the keys those objects are encrypted with. List them in \
                 source_kms_key_arns, or remove replica_kms_key_arn (replicas of unencrypted and SSE-S3 objects \
                 then get the destination bucket's default encryption).",
            )
            .at(path(i, "replica_kms_key_arn")),
        );
    }
    let tagged = d.tags.known().is_some_and(|t| !t.is_empty());
    if tagged && d.delete_marker_replication == Known::Value(true) {
        ds.push(
            Diagnostic::error(
                "Delete-marker replication cannot be used with a tag filter",
                "S3 rejects delete-marker replication on rules that filter by tags, and delete_marker_replication \
                 defaults to true. Set delete_marker_replication = false in this destination block, or remove \
                 its tags.",
            )
            .at(path(i, "delete_marker_replication")),
        );
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
