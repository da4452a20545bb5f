//! The schema of `crossrepl_source`: attributes, their defaults, checks and derived values.

use framework::{Attr, BlockSpec, ResourceSchema, Value, planmodifier, validator};
use tfplugin::Number;

use crate::domain::arn::{BucketArn, RoleArn, check_iam_name, check_iam_path, check_policy_arn};
use crate::domain::grants::{policy_name_for_bucket, role_name_for_bucket};
use crate::domain::replication::{
    MAX_DESTINATIONS, MAX_PREFIX_LEN, MAX_RULE_ID_LEN, REPLICATION_STORAGE_CLASSES, position_priority,
};
use crate::resources::{checks, grant};

/// The resource type's name.
pub const TYPE_NAME: &str = "crossrepl_source";

/// Tag crossrepl puts on the role and the policy it creates, naming the source bucket. It is how a re-run after
/// an interrupted create (a killed provider or engine, a lost answer) recognises its own role and policy instead
/// of refusing them as foreign. It never shows in the `tags` attribute.
pub const OWNER_TAG: &str = "crossrepl:source-bucket";

/// IAM's 50 tags per role or policy, less the ownership tag.
pub const MAX_USER_TAGS: usize = 49;

/// The schema.
pub fn schema() -> ResourceSchema {
    BlockSpec::new(
        "Replicates an existing bucket of this account to one or more destination buckets: creates the \
         replication role and its least-privilege policy (or uses an existing role given by `role_arn`), turns \
         versioning on (on the source bucket and on \
         destination buckets of this account), and writes the replication \
         configuration (one rule per `destination`). Never adopts a role, policy or replication configuration \
         it did not create: import them instead.",
    )
    .attr(Attr::string("id").computed().describe("The source bucket name, also the import id."))
    .attr(Attr::string("bucket").required().force_new().validate(checks::bucket_name("Invalid bucket name")).describe("Name of the source bucket. It must already exist in this provider's account and region. Changing it replaces the resource."))
    .attr(Attr::string("role_name").optional_computed().validate(validator::string("Invalid role name", "an IAM name (1 to 64 letters, digits and `+=,.@_-`).", check_iam_name)).plan_modifier(planmodifier::derive_from("bucket", "Default: `crossrepl-<bucket>`, shortened with a hash past 64 characters.", |b| Some(role_name_for_bucket(b)))).describe("Name of the replication role."))
    .attr(Attr::string("policy_name").optional_computed().validate(validator::string("Invalid policy name", "an IAM name (1 to 64 letters, digits and `+=,.@_-`).", check_iam_name)).plan_modifier(planmodifier::derive_from("bucket", "Default: `crossrepl-policy-<bucket>`, shortened with a hash past 64 characters.", |b| Some(policy_name_for_bucket(b)))).describe("Name of the role's managed policy."))
    .attr(Attr::string("role_path").default(Value::from("/")).validate(validator::string("Invalid role path", "an IAM path (`/` or `/a/b/`).", check_iam_path)).describe("IAM path of the role and the policy."))
    .attr(Attr::string("permissions_boundary").validate(validator::string("Invalid permissions boundary", "an IAM policy ARN.", check_policy_arn)).describe("ARN of a managed policy to set as the role's permissions boundary."))
    .attr(Attr::string_map("tags").validate(validator::max_size(MAX_USER_TAGS, "Too many tags", too_many_tags)).validate(validator::each_entry("Invalid tag", "keys of 1 to 128 characters, not starting with `aws:`, values of at most 256.", check_iam_tag)).describe("Tags for the role and the policy."))
    .attr(Attr::bool("enable_versioning").default(Value::Bool(true)).describe("Turn versioning on when it is off, on the source bucket and on destination buckets of this account (a destination without `account_id`). With `false`, apply fails unless versioning is already enabled. Versioning stays enabled on destroy: S3 cannot turn it off."))
    .attr(Attr::string("role_arn").optional_computed().validate(validator::string("Invalid role ARN", "an IAM role ARN `arn:<partition>:iam::<account>:role/<name>`.", check_role_arn)).describe("ARN of the replication role. Set it to use an existing role of the source bucket's account (managed elsewhere): crossrepl then manages versioning and the replication configuration only, never creates, changes, tags or deletes that role or any policy, and checks at plan time (iam:GetRole) that the role's trust policy lets `s3.amazonaws.com` assume it; `role_name`, `policy_name`, `role_path`, `permissions_boundary` and `tags` must then be left out. Setting it on a source whose role crossrepl created deletes that role and its policy on the next apply (after the configuration names the new role); removing it makes crossrepl create its own and leave the other role alone. Left out: the ARN of the role crossrepl creates, empty after a refresh that found that role missing or its trust policy changed."))
    .attr(Attr::string("policy_arn").computed().describe("ARN of the role's policy. Empty after a refresh that found it missing, changed or detached, and always with `role_arn` set (no policy is managed then)."))
    .attr(Attr::string("bucket_arn").computed().describe("ARN of the source bucket."))
    .list_block("destination", destination_block(), 1, MAX_DESTINATIONS as i64)
    .single_block("existing_objects", existing_objects_block())
    .single_block("verify", verify_block())
    .build(0)
}

fn destination_block() -> BlockSpec {
    BlockSpec::new("One replication rule: where replicas of (part of) the bucket go. Several blocks may name the same destination bucket, e.g. `logs/` to `GLACIER` and `data/` to `STANDARD`.")
        .attr(Attr::string("bucket_arn").required().validate(validator::string("Invalid destination bucket ARN", "an S3 bucket ARN `arn:<partition>:s3:::<bucket>`.", check_bucket_arn)).describe("ARN of the destination bucket, e.g. `crossrepl_destination.dr.bucket_arn`."))
        .attr(Attr::string("account_id").validate(validator::string("Invalid account id", "a 12-digit account id.", check_destination_account)).describe("Account owning the destination bucket, e.g. `crossrepl_destination.dr.account_id`. Omit for same-account replication."))
        .attr(Attr::string("prefix").validate(validator::string("Replication prefix too long", "at most 1,024 characters.", check_prefix)).describe("Replicate only keys with this prefix. Default: every object."))
        .attr(Attr::string_map("tags").validate(validator::each_entry("Invalid tag filter key", "keys of 1 to 128 characters,", check_tag_key)).validate(validator::each_entry("Invalid tag filter value", "values of at most 256 characters.", check_tag_value)).describe("Replicate only objects carrying all these tags (requires `delete_marker_replication = false`)."))
        .attr(Attr::string("storage_class").validate(validator::string("Invalid replication storage class", "a storage class S3 replicates into.", check_storage_class)).describe("Storage class of the replicas (`STANDARD`, `STANDARD_IA`, `ONEZONE_IA`, `INTELLIGENT_TIERING`, `GLACIER`, `GLACIER_IR`, `DEEP_ARCHIVE`, `REDUCED_REDUNDANCY`). Default: the source object's class."))
        .attr(Attr::bool("delete_marker_replication").default(Value::Bool(true)).describe("Replicate delete markers."))
        .attr(Attr::bool("owner_override").default(Value::Bool(false)).describe("Make the destination account own the replicas (needs `account_id`)."))
        .attr(Attr::string("replica_kms_key_arn").validate(validator::string("Invalid KMS key ARN", "a KMS key ARN or alias ARN.", checks::kms_key_or_alias_arn)).describe("KMS key ARN or alias ARN (in the destination's region) to encrypt replicas with. S3 gets it as written; an alias is resolved to its key (kms:DescribeKey) for the role's policy, which must name the key ARN, so the provider's credentials need kms:DescribeKey on it."))
        .attr(Attr::string("replica_kms_key_target_arn").computed().describe("The key ARN behind `replica_kms_key_arn`: that ARN itself, or the key an alias points to, read at plan time and on refresh (an alias pointed at another key shows as a change)."))
        .attr(Attr::string_set("source_kms_key_arns").validate(validator::each_string("Invalid KMS key ARN", "KMS key ARNs (not aliases).", checks::kms_key_arn)).describe("KMS key ARNs source objects are encrypted with; set to replicate SSE-KMS objects (needs `replica_kms_key_arn`)."))
        .attr(Attr::bool("replication_time_control").default(Value::Bool(false)).describe("S3 Replication Time Control (15 minutes), with replication metrics."))
        .attr(Attr::bool("metrics").optional_computed().describe("S3 Replication metrics for this rule (in CloudWatch), also without replication time control. Default: the value of `replication_time_control`; time control always comes with metrics, so `metrics = false` with `replication_time_control = true` is refused."))
        .attr(Attr::bool("replica_modifications").default(Value::Bool(false)).describe("Replicate metadata changes made on replicas (for two-way replication)."))
        .attr(Attr::number("priority").optional_computed().validate(validator::value("Invalid replication rule priority", "a whole number from 0 to 2147483647.", check_priority)).plan_modifier(planmodifier::from_position("Default: the block's position (1, 2, ...), so appending a destination changes no other rule.", |i| Value::int(i64::from(position_priority(i))))).describe("Rule priority, unique among the rules. S3 replicates an object that several rules into the same bucket select by the rule with the highest priority only; plan warns about such overlaps unless both blocks set `priority`."))
        .attr(Attr::bool("enabled").default(Value::Bool(true)).describe("Whether the rule is enabled."))
        .attr(Attr::string("rule_id").optional_computed().validate(validator::string("Invalid replication rule id", "1 to 255 characters.", check_rule_id)).describe("Id of the replication rule. Default: `crossrepl-<destination bucket>`, and `crossrepl-<destination bucket>#<n>` for the n-th block into the same bucket. Set it to keep an existing rule's id when adopting a hand-written setup (see the migration guide). Empty after a refresh that found the rule missing or changed; the next apply restores it."))
        .attr(Attr::nested_single("grant", grant::attributes(false)).describe("The destination's grant, `crossrepl_destination.<name>.grant`: what it admits and what its bucket demands. With it, plan checks that the destination admits this source's role and accepts owner override when asked, that a source bucket with Object Lock replicates into one with Object Lock, and the role gets the destination's default SSE-KMS key. Without it, a cross-account destination is not checked (a warning says so). For a destination not managed by crossrepl, write the object by hand."))
}

/// Default `existing_objects.report_prefix`.
pub const DEFAULT_REPORT_PREFIX: &str = "crossrepl-batch-replication";

fn existing_objects_block() -> BlockSpec {
    BlockSpec::new("Replicate the objects the bucket already holds: after the replication configuration is in place, apply starts an S3 Batch Replication job (S3 Batch Operations, operation `S3ReplicateObject`, with a manifest S3 generates from the objects eligible for replication, by `replication_statuses` and the rules' prefixes) as a batch role crossrepl creates (`crossrepl-batch-<bucket>`, trusted by `batchoperations.s3.amazonaws.com`, tagged and deleted like the replication role). One job per apply that adds this block or changes `triggers_replace`; never on an apply that changes nothing. Destroy deletes the batch role, never replicas or reports. Not importable: import leaves it out. AWS charges per job and per object: see the existing-objects guide.")
        .attr(Attr::string("report_bucket_arn").required().validate(validator::string("Invalid report bucket ARN", "an S3 bucket ARN `arn:<partition>:s3:::<bucket>`.", check_bucket_arn)).describe("ARN of the bucket the job writes its completion report to (CSV, every task), in the source bucket's account; the batch role may write under `report_prefix` only."))
        .attr(Attr::string("report_prefix").default(Value::from(DEFAULT_REPORT_PREFIX)).validate(validator::string("Invalid report prefix", "at most 512 characters, without `*` or `?`.", check_report_prefix)).describe("Key prefix of the completion report. S3 writes it under `<prefix>/job-<job id>/`."))
        .attr(Attr::string_set("replication_statuses").default(Value::Set(vec![Value::from("NONE")])).validate(validator::each_string("Invalid replication status", "`NONE` (never replicated) or `FAILED`.", check_selectable_status)).describe("Which objects the job replicates, by replication status: `NONE` (never replicated: the objects written before replication was set up) and/or `FAILED` (failed replication, e.g. after a permission was fixed). Default `[\"NONE\"]`."))
        .attr(Attr::string_map("triggers_replace").describe("Arbitrary values; changing any of them starts a new job on the next apply (like `terraform_data`'s `triggers_replace`). Changing another argument of this block starts none."))
        .attr(Attr::string("role_arn").computed().describe("ARN of the batch role crossrepl created; empty after a refresh that found it missing or changed (the next apply restores it)."))
        .attr(Attr::string("job_id").computed().describe("Id of the last job crossrepl started; empty when starting it failed (the next apply starts it)."))
        .attr(Attr::string("job_status").computed().describe("That job's status, read again on every refresh: `New`, `Preparing`, `Ready`, `Active`, `Complete`, `Failed`, `Cancelled`, ... `Complete` means the job ran; its completion report lists each object's outcome."))
        .attr(Attr::string("job_failure_reasons").computed().describe("Why that job failed, as S3 reports it (`<code>: <reason>`, several joined by `; `); empty unless it failed."))
}

fn verify_block() -> BlockSpec {
    BlockSpec::new("Prove at apply that S3 replicates: after the configuration is in place, apply writes for each enabled rule one tiny canary object in the source bucket that this rule's filter selects (key `<rule prefix><prefix><rule id>/<time>`, tagged with the rule's tag filter, for a rule with `source_kms_key_arns` one canary under each source key, SSE-KMS, with `-k<n>` after `<time>` when there are several, else SSE-S3), polls its replication status (HeadObject `x-amz-replication-status`) until `COMPLETED` within `timeout`, then deletes that version from the source bucket (deleting a version is not replicated). `FAILED` fails the apply, naming the rule and the destination and what crossrepl checked from the source account; a status still `PENDING` (or none yet) when `timeout` runs out fails it as a timeout (S3 keeps objects PENDING through temporary failures). A canary that other rules select too is replicated by them as well, and S3 reports one combined status: plan says which rules cannot be verified separately. `COMPLETED` proves that objects replicate, not their tags (S3 replicates an object without its tags when the role lacks `s3:GetObjectVersionTagging`) nor delete markers (a canary is never one). Runs on create, when this block is added, when `destination`, the role or its policy changes, when `triggers_replace` changes, and after a check that did not pass; never on an apply that changes nothing. Each check leaves one small replica per canary under the prefix in each destination bucket (crossrepl never writes to the destination account): expire them with a lifecycle rule on the prefix there. Refused when the source bucket has a default Object Lock retention (the canary version could not be deleted). AWS charges per canary and check one PUT, one HEAD per poll, one DELETE, and the replication itself: see the README.")
        .attr(Attr::string("prefix").default(Value::from(crate::domain::canary::DEFAULT_PREFIX)).validate(validator::string("Invalid canary prefix", "1 to 512 characters, without `*` or `?`.", check_canary_prefix)).describe("Key part of the canary objects after each rule's own prefix (so that the rule's filter selects them)."))
        .attr(Attr::string("timeout").default(Value::from(crate::domain::canary::DEFAULT_TIMEOUT)).validate(validator::string("Invalid verify timeout", "a duration like `90s`, `2m` or `1m30s`, from 1s to 1h.", |t| crate::domain::canary::parse_timeout(t).map(|_| ()))).describe("How long apply waits for every canary's status to be `COMPLETED` (or `FAILED`), e.g. `2m` or `1m30s`; at most `1h`."))
        .attr(Attr::string_map("triggers_replace").describe("Arbitrary values; changing any of them runs the check on the next apply."))
        .attr(Attr::string("checked_at").computed().describe("When the last check ran (RFC 3339, UTC)."))
        .attr(Attr::string_map("results").computed().describe("The last check's result per rule id (for a rule with several canaries, the worst of theirs): `COMPLETED`, `FAILED`, `TIMEOUT` (still `PENDING` when `timeout` ran out), `ERROR` (the canary could not be written or read), or `NOT_VERIFIED` (disabled, or its canary is replicated by another rule into the same bucket). A result other than `COMPLETED` or `NOT_VERIFIED` runs the check again on the next apply."))
}

fn check_canary_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() || prefix.chars().count() > 512 || prefix.contains(['*', '?']) {
        return Err(format!(
            "{prefix:?} cannot be used as the canary prefix: use 1 to 512 characters without `*` or `?`, e.g. \
             \".crossrepl/canary/\" (the default), so that a lifecycle rule in the destination can expire the replicas."
        ));
    }
    Ok(())
}

pub(crate) fn check_report_prefix(prefix: &str) -> Result<(), String> {
    if prefix.chars().count() > 512 || prefix.contains(['*', '?']) {
        return Err(format!(
            "{prefix:?} cannot be used as a report prefix: S3 Batch Operations accepts at most 512 characters, and \
             the batch role's policy names the prefix, so it may not hold `*` or `?`. Choose another prefix."
        ));
    }
    Ok(())
}

pub(crate) fn check_selectable_status(status: &str) -> Result<(), String> {
    if crate::domain::batch::SELECTABLE_STATUSES.contains(&status) {
        return Ok(());
    }
    Err(format!(
        "{status:?} is not a status crossrepl replicates existing objects by. Use \"NONE\" (never replicated) and/or \
         \"FAILED\"; objects with COMPLETED or REPLICA are already in the destination."
    ))
}

fn too_many_tags(n: usize) -> String {
    format!(
        "IAM allows 50 tags per role or policy, and crossrepl adds its ownership tag ({OWNER_TAG}); set at most \
         {MAX_USER_TAGS}, not {n}."
    )
}

fn check_iam_tag(key: &str, value: &Value) -> Result<(), String> {
    let value_ok = value.as_str().is_none_or(|s| s.len() <= 256);
    if key.is_empty() || key.len() > 128 || key.starts_with("aws:") || !value_ok {
        return Err("IAM tag keys have 1 to 128 characters and may not start with `aws:`; values at most 256.".into());
    }
    Ok(())
}

pub(crate) fn check_role_arn(arn: &str) -> Result<(), String> {
    arn.parse::<RoleArn>()
        .map(|_| ())
        .map_err(|why| format!("{why}. Use the ARN of an existing role, or leave role_arn out."))
}

pub(crate) fn check_bucket_arn(arn: &str) -> Result<(), String> {
    arn.parse::<BucketArn>().map(|_| ()).map_err(|why| {
        format!(
            "{arn:?} is not a valid S3 bucket ARN: {why}. Use the form arn:aws:s3:::bucket-name, for example \
             crossrepl_destination.<name>.bucket_arn."
        )
    })
}

fn check_destination_account(id: &str) -> Result<(), String> {
    id.parse::<crate::domain::arn::AccountId>().map(|_| ()).map_err(|why| {
        format!(
            "{why} Use the destination bucket owner's account id, for example crossrepl_destination.<name>.account_id."
        )
    })
}

fn check_prefix(prefix: &str) -> Result<(), String> {
    let len = prefix.chars().count();
    if len > MAX_PREFIX_LEN {
        return Err(format!("The prefix has {len} characters; S3 accepts at most {MAX_PREFIX_LEN}. Shorten it."));
    }
    Ok(())
}

fn check_tag_key(key: &str, _: &Value) -> Result<(), String> {
    let len = key.chars().count();
    if !(1..=128).contains(&len) {
        return Err(format!("Tag keys have 1 to 128 characters; this one has {len}. Use a shorter, non-empty key."));
    }
    Ok(())
}

fn check_tag_value(key: &str, value: &Value) -> Result<(), String> {
    if value.as_str().is_some_and(|v| v.chars().count() > 256) {
        return Err(format!(
            "The value of tag {key:?} is longer than 256 characters, the most S3 accepts. Shorten it."
        ));
    }
    Ok(())
}

fn check_storage_class(class: &str) -> Result<(), String> {
    if REPLICATION_STORAGE_CLASSES.contains(&class) {
        return Ok(());
    }
    Err(format!(
        "{class:?} is not a storage class S3 replicates into. Use one of {}, or omit storage_class to keep each \
         source object's class.",
        REPLICATION_STORAGE_CLASSES.join(", ")
    ))
}

fn check_priority(v: &Value) -> Result<(), String> {
    match v.as_number() {
        Some(Number::Int(p)) if (0..=i64::from(i32::MAX)).contains(p) => Ok(()),
        Some(n) => {
            Err(format!("Priority {n} is not a whole number from 0 to {}. Use a value in that range.", i32::MAX))
        }
        None => Ok(()),
    }
}

fn check_rule_id(id: &str) -> Result<(), String> {
    let len = id.chars().count();
    if id.is_empty() || len > MAX_RULE_ID_LEN {
        return Err(format!("A rule id has 1 to {MAX_RULE_ID_LEN} characters; this one has {len}."));
    }
    Ok(())
}
