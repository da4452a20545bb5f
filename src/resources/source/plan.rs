//! Plan: the computed ARNs of a source, and the read-only plan-time checks of what apply would trip over.

use framework::Known;
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use super::model::{Desired, DestinationBlock, SourceModel, is_existing_role};
use super::ownership::{self, Claim, Occupants};
use super::{batch, destinations};
use crate::aws::{AwsClients, iam, s3};
use crate::domain::arn::{Partition, RoleArn, bucket_arn, policy_arn, role_arn};
use crate::domain::grants;
use crate::domain::policy::PolicyDocument;
use crate::domain::replication::{DestinationSpec, derived_rule_ids};
use crate::resources::checks::plan_read;
use crate::resources::preflight_bucket;

/// The planned `id`, `bucket_arn`, `role_arn` and `policy_arn`: known when the names they derive from are (and,
/// for the role and policy, the account), unknown otherwise.
pub fn computed_arns(planned: &mut SourceModel, partition: &Partition, account: Option<&str>) {
    if is_existing_role(planned) {
        planned.id = planned.bucket.clone();
        planned.bucket_arn = planned.bucket.known().map_or(Known::Unknown, |b| Known::Value(bucket_arn(partition, b)));
        planned.policy_arn = Known::Null;
        return;
    }
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

/// A new Batch Replication job when `existing_objects.triggers_replace` changed: the last job's id, status and
/// failure reasons are unknown until apply starts it, so the plan shows the trigger's change and why the job runs.
/// (A new block, or one whose job never started, has them unknown already: computed and null before.)
pub fn rerun_on_trigger(planned: &mut SourceModel, prior: Option<&SourceModel>) {
    let Some(before) = prior.and_then(|p| p.existing_objects.known()?.first()) else { return };
    let Known::Value(blocks) = &mut planned.existing_objects else { return };
    let Some(block) = blocks.first_mut() else { return };
    if block.triggers_replace != before.triggers_replace {
        (block.job_id, block.job_status, block.job_failure_reasons) = (Known::Unknown, Known::Unknown, Known::Unknown);
    }
}

/// All computed ARNs unknown (the provider is not configured yet, or the names are not known).
/// With an existing role, `role_arn` stays as configured and `policy_arn` is null.
pub fn unknown_arns(planned: &mut SourceModel) {
    let existing = is_existing_role(planned);
    (planned.id, planned.bucket_arn) = (Known::Unknown, Known::Unknown);
    if existing {
        planned.policy_arn = Known::Null;
    } else {
        (planned.role_arn, planned.policy_arn) = (Known::Unknown, Known::Unknown);
    }
}

/// With `role_arn` configured (an existing role), the role and policy names are null: crossrepl manages neither.
pub fn existing_role_names(planned: &mut SourceModel, config: &SourceModel) {
    if !config.role_arn.is_null() {
        (planned.role_name, planned.policy_name, planned.policy_arn) = (Known::Null, Known::Null, Known::Null);
    }
}

/// Plan-time checks, read-only, in one round of concurrent calls: on create (`prior` None), the bucket (exists,
/// this account's, versioned or allowed to be) and a replication configuration crossrepl does not own; on create
/// or when they change, the role and policy names (taken by something crossrepl did not create), and replica KMS
/// keys in another region than their destination bucket; with an existing role (`role_arn`), on every plan, that
/// role ([`existing_role`]) instead of the names; for a new `existing_objects` block, [`batch::preflight`]. A read
/// failure skips its check with a warning.
pub async fn preflight(
    aws: &AwsClients,
    label: &str,
    planned: &SourceModel,
    prior: Option<&SourceModel>,
    account: &str,
    partition: &Partition,
) -> Diagnostics {
    let existing = is_existing_role(planned);
    let Some(bucket) = planned.bucket.known() else { return Diagnostics::new() };
    // The names of the role and policy crossrepl manages; empty with an existing role.
    let names = match (planned.role_name.known(), planned.policy_name.known(), planned.role_path.known()) {
        (Some(r), Some(p), Some(path)) => (r.as_str(), p.as_str(), path.as_str()),
        _ if existing => ("", "", ""),
        _ => return Diagnostics::new(),
    };
    let (role_name, policy_name, path) = names;
    let create = prior.is_none();
    let changed = |f: fn(&SourceModel) -> &Known<String>| prior.is_none_or(|p| f(p) != f(planned));
    let policy_arn = if existing { String::new() } else { policy_arn(partition, account, path, policy_name) };
    let our_role = match planned.role_arn.known() {
        Some(arn) if existing => Some(arn.clone()),
        _ if existing => None,
        _ => Some(role_arn(partition, account, path, role_name)),
    };
    let keys = new_replica_keys(planned, prior);
    let regions = futures_util::future::join_all(keys.iter().map(|(_, b, _)| s3::bucket_region(aws, b)));
    let enable = planned.enable_versioning.known() != Some(&false);
    let bucket_check = async {
        if !create {
            return Diagnostics::new();
        }
        preflight_bucket(aws, label, account, bucket, enable, AttributePath::attr("bucket")).await
    };
    let replication = async { if create { Some(s3::replication_checked(aws, bucket).await) } else { None } };
    // Read for the apply that follows (it takes this read over instead of making its own first).
    let versioning = async {
        if create {
            let _ = s3::versioning_checked(aws, bucket).await;
        }
    };
    let role = async {
        if !existing && changed(|m| &m.role_name) { Some(iam::role_checked(aws, role_name).await) } else { None }
    };
    let policy_tags = async {
        let moved = changed(|m| &m.policy_name) || changed(|m| &m.role_path);
        if !existing && moved { Some(iam::policy_tags_checked(aws, &policy_arn).await) } else { None }
    };
    let existing_check = async {
        match &our_role {
            Some(arn) if existing => existing_role(aws, label, arn, account).await,
            _ => Diagnostics::new(),
        }
    };
    let destinations = async {
        let Some(role_arn) = &our_role else { return Diagnostics::new() };
        if !create && prior.is_some_and(|p| p.destination == planned.destination && p.role_arn == planned.role_arn) {
            return Diagnostics::new();
        }
        let facts = destinations::SourceFacts { account, role_arn, settings: None };
        destinations::check(aws, label, planned, facts, enable).await
    };
    let batch_check = async {
        let block = |m: &SourceModel| m.existing_objects.known().and_then(|b| b.first().cloned());
        match block(planned).and_then(|b| b.report_bucket_arn.known().cloned()) {
            Some(report) if prior.and_then(block).is_none() => {
                batch::preflight(aws, label, bucket, partition, &report).await
            }
            _ => Diagnostics::new(),
        }
    };
    let (mut ds, replication, role, policy_tags, regions, destination_ds, existing_ds, batch_ds, ()) = tokio::join!(
        bucket_check,
        replication,
        role,
        policy_tags,
        regions,
        destinations,
        existing_check,
        batch_check,
        versioning
    );
    ds.extend(existing_ds);
    ds.extend(batch_ds);
    ds.extend(destination_ds);
    let replication = plan_read(&mut ds, label, &format!("the replication configuration of {bucket}"), replication);
    let role = plan_read(&mut ds, label, &format!("role {role_name}"), role).flatten();
    let policy_tags = plan_read(&mut ds, label, &format!("policy {policy_arn}"), policy_tags).flatten();
    let replication = replication.flatten();
    let occupants =
        Occupants { role_tags: role.map(|r| r.tags), policy_tags, configuration_role: replication.map(|c| c.role) };
    let role_arn = our_role.unwrap_or_default();
    let claim = Claim { label, bucket, role_name, role_arn: &role_arn, policy_arn: &policy_arn };
    ds.extend(Diagnostics(ownership::refusals(&claim, &occupants)));
    for ((i, dest_bucket, key), region) in keys.iter().zip(regions) {
        if let Ok(Some(region)) = region {
            ds.0.extend(key_region(label, *i, dest_bucket, key, &region));
        }
    }
    ds
}

/// The existing role `arn` (`role_arn` set) is usable for replication of a bucket of `account`, read-only
/// (iam:GetRole): of that account, since S3 assumes the role given in the bucket's replication configuration, which
/// the bucket owner creates in its own account ("Setting up permissions for live replication", step 2,
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html>), and writing the
/// configuration passes the role, which "you can only use the PassRole permission to pass ... to a service that
/// shares the same AWS account" ("Grant a user permissions to pass a role to an AWS service",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>); existing, at
/// that path; and trusting `s3.amazonaws.com` ([`grants::trusts_s3`]). A failed read is a warning: apply does not
/// read the role.
async fn existing_role(aws: &AwsClients, label: &str, arn: &str, account: &str) -> Diagnostics {
    let at = || AttributePath::attr("role_arn");
    let Ok(parsed) = arn.parse::<RoleArn>() else { return Diagnostics::new() }; // the schema's validator reports it
    if parsed.account.as_str() != account {
        let detail = format!(
            "Role {arn} belongs to account {}, the source bucket to {account}. S3 replicates with a role of the \
             source bucket's account. Use a role of account {account}, or leave role_arn out to let crossrepl \
             create one.",
            parsed.account.as_str()
        );
        return Diagnostic::error(format!("{label}: the replication role is in another account"), detail)
            .at(at())
            .into();
    }
    let role = match iam::role(aws, &parsed.name).await {
        Ok(role) => role,
        Err(e) => {
            let detail = format!(
                "crossrepl could not read role {arn} to check that S3 may assume it ({}); apply does not check it. \
                 Grant iam:GetRole on it to the provider's credentials.",
                e.with_advice()
            );
            return Diagnostic::warning(format!("{label}: role {} not checked", parsed.name), detail).at(at()).into();
        }
    };
    let problem = match role {
        None => Some(format!(
            "No role named {} exists in account {account}. Create it first, or fix role_arn.",
            parsed.name
        )),
        Some(r) if r.arn != arn => {
            Some(format!("The role named {} is {}, not {arn}. Fix role_arn.", parsed.name, r.arn))
        }
        Some(r) if !PolicyDocument::parse(&r.trust_policy).is_ok_and(|t| grants::trusts_s3(&t)) => Some(format!(
            "The trust policy of {arn} does not let s3.amazonaws.com call sts:AssumeRole, so S3 cannot replicate \
             with it. Add a statement allowing Principal {{\"Service\": \"s3.amazonaws.com\"}} the action \
             sts:AssumeRole (provider::crossrepl::replication_trust_policy(...) returns one), or use another role."
        )),
        Some(_) => None,
    };
    problem.map_or_else(Diagnostics::new, |detail| {
        Diagnostic::error(format!("{label}: role {} cannot be used for replication", parsed.name), detail)
            .at(at())
            .into()
    })
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
