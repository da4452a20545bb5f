//! Plan: the computed ARNs of a source, and the read-only plan-time checks of what apply would trip over.

use framework::Known;
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use super::destinations;
use super::model::{Desired, DestinationBlock, SourceModel};
use super::ownership::{self, Claim, Occupants};
use crate::aws::{AwsClients, iam, s3};
use crate::domain::arn::{Partition, bucket_arn, policy_arn, role_arn};
use crate::domain::grants;
use crate::domain::replication::{DestinationSpec, derived_rule_ids};
use crate::resources::preflight_bucket;

/// The planned `id`, `bucket_arn`, `role_arn` and `policy_arn`: known when the names they derive from are (and,
/// for the role and policy, the account), unknown otherwise.
pub fn computed_arns(planned: &mut SourceModel, partition: &Partition, account: Option<&str>) {
    let names =
        (planned.bucket.known(), planned.role_name.known(), planned.policy_name.known(), planned.role_path.known());
    let (Some(bucket), Some(role), Some(policy), Some(path)) = names else { return unknown_arns(planned) };
    let (role_arn_, policy_arn_) = match account {
        Some(a) => {
            (Known::Value(role_arn(partition, a, path, role)), Known::Value(policy_arn(partition, a, path, policy)))
        }
        None => (Known::Unknown, Known::Unknown),
    };
    planned.id = Known::Value(bucket.clone());
    planned.bucket_arn = Known::Value(bucket_arn(partition, bucket));
    planned.role_arn = role_arn_;
    planned.policy_arn = policy_arn_;
}

/// The derived `rule_id` of every block whose configuration leaves it out (see [`derived_rule_ids`]): it depends
/// on the blocks before it, which no per-attribute plan rule sees; unknown while it cannot be known yet. And
/// `metrics` where left out: the block's `replication_time_control`.
pub fn derived_ids(planned: &mut SourceModel, config: &SourceModel) {
    let (Known::Value(blocks), Some(configured)) = (&mut planned.destination, config.destination.known()) else {
        return;
    };
    let arns: Vec<Option<&str>> = blocks.iter().map(|b| b.bucket_arn.known().map(String::as_str)).collect();
    let ids = derived_rule_ids(&arns);
    for ((block, id), c) in blocks.iter_mut().zip(ids).zip(configured) {
        if c.rule_id.is_null() {
            block.rule_id = id.map_or(Known::Unknown, Known::Value);
        }
        if c.metrics.is_null() {
            block.metrics = block.replication_time_control.clone();
        }
    }
}

/// All computed ARNs unknown (the provider is not configured yet, or the names are not known).
pub fn unknown_arns(planned: &mut SourceModel) {
    (planned.id, planned.bucket_arn, planned.role_arn, planned.policy_arn) =
        (Known::Unknown, Known::Unknown, Known::Unknown, Known::Unknown);
}

/// Plan-time checks, read-only, in one round of concurrent calls: on create (`prior` None), the bucket (exists,
/// this account's, versioned or allowed to be) and a replication configuration crossrepl does not own; on create
/// or when they change, the role and policy names (taken by something crossrepl did not create), and replica KMS
/// keys in another region than their destination bucket. Read failures skip a check: apply reports them.
pub async fn preflight(
    aws: &AwsClients,
    label: &str,
    planned: &SourceModel,
    prior: Option<&SourceModel>,
    account: &str,
    partition: &Partition,
) -> Diagnostics {
    let (Some(bucket), Some(role_name), Some(policy_name), Some(path)) =
        (planned.bucket.known(), planned.role_name.known(), planned.policy_name.known(), planned.role_path.known())
    else {
        return Diagnostics::new();
    };
    let create = prior.is_none();
    let changed = |f: fn(&SourceModel) -> &Known<String>| prior.is_none_or(|p| f(p) != f(planned));
    let policy_arn = policy_arn(partition, account, path, policy_name);
    let keys = new_replica_keys(planned, prior);
    let regions = futures_util::future::join_all(keys.iter().map(|(_, b, _)| s3::bucket_region(aws, b)));
    let enable = planned.enable_versioning.known() != Some(&false);
    let bucket_check = async {
        if !create {
            return Diagnostics::new();
        }
        preflight_bucket(aws, label, account, bucket, enable, AttributePath::attr("bucket")).await
    };
    let replication = async { if create { s3::replication(aws, bucket).await.ok().flatten() } else { None } };
    let role = async { if changed(|m| &m.role_name) { iam::role(aws, role_name).await.ok().flatten() } else { None } };
    let policy_tags = async {
        let moved = changed(|m| &m.policy_name) || changed(|m| &m.role_path);
        if moved { iam::policy_tags(aws, &policy_arn).await.ok() } else { None }
    };
    let our_role = role_arn(partition, account, path, role_name);
    let destinations = async {
        if !create && prior.is_some_and(|p| p.destination == planned.destination && p.role_arn == planned.role_arn) {
            return Diagnostics::new();
        }
        let facts = destinations::SourceFacts { account, role_arn: &our_role, settings: None };
        destinations::check(aws, label, planned, facts, enable).await
    };
    let (mut ds, replication, role, policy_tags, regions, destination_ds) =
        tokio::join!(bucket_check, replication, role, policy_tags, regions, destinations);
    ds.extend(destination_ds);
    let occupants =
        Occupants { role_tags: role.map(|r| r.tags), policy_tags, configuration_role: replication.map(|c| c.role) };
    let claim = Claim { label, bucket, role_name, role_arn: &our_role, policy_arn: &policy_arn };
    ds.extend(Diagnostics(ownership::refusals(&claim, &occupants)));
    for ((i, dest_bucket, key), region) in keys.iter().zip(regions) {
        if let Ok(Some(region)) = region {
            ds.0.extend(key_region(label, *i, dest_bucket, key, &region));
        }
    }
    ds
}

/// A replica key must be in its destination bucket's region.
fn key_region(label: &str, i: usize, dest_bucket: &str, key: &str, region: &str) -> Option<Diagnostic> {
    let key_region = key.split(':').nth(3).unwrap_or_default();
    (region != key_region).then(|| {
        Diagnostic::error(
            format!("{label}: replica KMS key is in {key_region}, destination bucket in {region}"),
            format!(
                "S3 encrypts replicas in {dest_bucket} with a key of the destination bucket's region ({region}); \
                 {key} is in {key_region}. Use a key in {region}."
            ),
        )
        .at(AttributePath::attr("destination").with_index(i).with_attr("replica_kms_key_arn"))
    })
}

/// Replica keys to check: (block index, destination bucket name, key) of known keys not planned (with the same
/// destination bucket) before.
fn new_replica_keys(planned: &SourceModel, prior: Option<&SourceModel>) -> Vec<(usize, String, String)> {
    let pair = |d: &DestinationBlock| Some((d.bucket_arn.known()?.clone(), d.replica_kms_key_arn.known()?.clone()));
    let blocks = |m: &SourceModel| m.destination.known().cloned().unwrap_or_default();
    let before: Vec<(String, String)> = prior.map(blocks).unwrap_or_default().iter().filter_map(pair).collect();
    blocks(planned)
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let (arn, key) = pair(d)?;
            let name = DestinationSpec { bucket_arn: arn.clone(), ..Default::default() }.bucket_name()?.to_string();
            (!before.contains(&(arn, key.clone()))).then_some((i, name, key))
        })
        .collect()
}

/// The role's policy fits IAM's limit on managed policies; else an error on `destination` saying how many fit.
pub fn policy_size(label: &str, want: &Desired) -> Result<(), Diagnostic> {
    grants::check_role_policy_size(&want.permissions_input, &want.permissions).map_err(|msg| {
        Diagnostic::error(format!("{label}: the role's policy would be too large"), msg)
            .at(AttributePath::attr("destination"))
    })
}
