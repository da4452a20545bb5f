//! The schema of `crossrepl_destination`: attributes, their defaults, checks and derived values.

use framework::{Attr, BlockSpec, ResourceSchema, Value, planmodifier, validator};

use crate::domain::arn::{AccountId, check_iam_name, check_iam_name_pattern, check_iam_path, check_organization_id};
use crate::domain::grants::role_name_for_bucket;
use crate::resources::{checks, grant};

/// The role names organization mode admits by default: those `crossrepl_source` gives its roles.
pub const DEFAULT_ROLE_NAME_PATTERN: &str = "crossrepl-*";

/// The resource type's name.
pub const TYPE_NAME: &str = "crossrepl_destination";

/// The schema.
pub fn schema() -> ResourceSchema {
    BlockSpec::new(
        "Lets a source account's replication role (or, in organization mode, every replication role of an AWS \
         Organization) replicate into an existing bucket of this account: turns versioning on and adds the role to \
         crossrepl's statement in the bucket policy, leaving every other statement alone. One statement admits \
         every source role of the bucket, each by its exact ARN (`aws:PrincipalArn`) and its account by a fixed \
         value (`aws:PrincipalAccount`, which keeps the policy non-public for S3 Block Public Access), so about \
         250 sources fit in S3's 20 KB (see [Fan-in](../guides/fan-in.md)); the role need not exist yet and a \
         re-created role still matches. The per-source statements of earlier releases, and a hand-written grant to \
         the same role (principal the role ARN, only replication actions on this bucket, no condition) as an \
         imported hashicorp/aws setup has, are replaced in the same write, so the role stays admitted throughout. \
         With `source_organization_id`, one statement admits every role named like `source_role_name_pattern` in \
         any account of the organization, whatever their number.",
    )
    .attr(Attr::string("id").computed().describe("`<bucket>,<source_account_id>` (organization mode: `<bucket>,<source_organization_id>`), also the import id."))
    .attr(Attr::string("bucket").required().force_new().validate(checks::bucket_name("Invalid bucket name")).describe("Name of the destination bucket. It must already exist in this provider's account. Changing it replaces the resource."))
    .attr(Attr::string("source_account_id").validate(validator::string("Invalid source account id", "a 12-digit account id.", |v| v.parse::<AccountId>().map(|_| ()))).describe("12-digit id of the account that owns the source bucket and the replication role. Set this or `source_organization_id`."))
    .attr(Attr::string("source_bucket").validate(checks::bucket_name("Invalid source bucket name")).describe("Name of the source bucket; the replication role's name is derived from it exactly as `crossrepl_source` derives it. Required with `source_account_id`."))
    .attr(Attr::string("source_organization_id").validate(validator::string("Invalid organization id", "an AWS Organizations id (`o-` and 10 to 32 lowercase letters or digits).", check_organization_id)).describe("Organization mode: admit the replication roles of every account of this AWS Organization whose name matches `source_role_name_pattern`, in one statement whatever the number of accounts (`aws:PrincipalOrgID`). Trade-off: any account of the organization that can create a role with a matching name can then write replicas into this bucket; admit roles one by one (`source_account_id`) where that is too broad. Set this or `source_account_id`."))
    .attr(Attr::string("source_role_name_pattern").optional_computed().validate(validator::string("Invalid role name pattern", "an IAM name in which `*` and `?` may appear, not `*` alone.", check_iam_name_pattern)).plan_modifier(planmodifier::derive_from("source_organization_id", "Default in organization mode: `crossrepl-*`, the names `crossrepl_source` gives its roles.", |_| Some(DEFAULT_ROLE_NAME_PATTERN.to_owned()))).describe("Organization mode: names of the admitted replication roles, with the wildcards `*` and `?` (under `source_role_path`)."))
    .attr(Attr::string("source_role_name").optional_computed().validate(validator::string("Invalid role name", "an IAM name (1 to 64 letters, digits and `+=,.@_-`).", check_iam_name)).plan_modifier(planmodifier::derive_from("source_bucket", "Default: derived from `source_bucket` as `crossrepl_source` derives it.", |b| Some(role_name_for_bucket(b)))).describe("Name of the replication role, when `crossrepl_source` sets `role_name` (not in organization mode)."))
    .attr(Attr::string("source_role_path").default(Value::from("/")).validate(validator::string("Invalid role path", "an IAM path (`/` or `/a/b/`).", check_iam_path)).describe("Path of the replication role, when `crossrepl_source` sets `role_path`."))
    .attr(Attr::bool("accept_owner_override").default(Value::Bool(false)).describe("Let the replication role make this account the owner of replicas (`s3:ObjectOwnerOverrideToBucketOwner`), for a `crossrepl_source` destination with `owner_override = true`. Off, the bucket policy does not grant it (\"Changing the replica owner\", https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-change-owner.html)."))
    .attr(Attr::bool("enable_versioning").default(Value::Bool(true)).describe("Turn versioning on when it is off. With `false`, apply fails unless versioning is already enabled. Versioning is never turned off again: S3 cannot, once replication used it."))
    .attr(Attr::string("bucket_arn").computed().describe("ARN of the destination bucket, for `crossrepl_source`'s `destination.bucket_arn`."))
    .attr(Attr::string("account_id").computed().describe("Id of the destination account, for `crossrepl_source`'s `destination.account_id`."))
    .attr(Attr::string("source_role_arn").computed().describe("ARN of the replication role the bucket policy admits (null in organization mode)."))
    .attr(Attr::string_set("replica_kms_key_arns").validate(validator::each_string("Invalid KMS key ARN", "key ARNs (not aliases) of existing, enabled, symmetric encryption keys of this account in the bucket's region.", checks::kms_key_arn)).describe("KMS keys of this account that encrypt replicas in this bucket: the `replica_kms_key_arn` of `crossrepl_source` destinations, and this bucket's default SSE-KMS key (`default_kms_key_arn`). crossrepl merges one statement into each key's policy that lets the source account's replication role use the key through S3 for this bucket only (`kms:Encrypt`, `kms:Decrypt`, and `kms:GenerateDataKey` on the default key), and leaves every other statement alone (see the [KMS guide](../guides/kms.md)). For a key of another account, add the statement of the function `replica_key_policy_statement` to its policy there. Import leaves it empty: list the keys again after an import."))
    .attr(Attr::string("default_kms_key_arn").computed().describe("ARN of the KMS key this bucket's default encryption names (SSE-KMS); null for SSE-S3 or the AWS managed key `aws/s3` named by alias or not at all. Replicas of unencrypted and SSE-S3 objects are encrypted with it, so it belongs in `replica_kms_key_arns`."))
    .attr(Attr::string("kms_statement_sid").computed().describe("Sid of the statement in the key policy of each key of `replica_kms_key_arns` (null when there are none). Empty after a refresh that found it missing or changed in one of them; the next apply restores it."))
    .attr(Attr::string("statement_sid").computed().describe("Sid of the bucket-policy statement that admits the role: `CrossreplReplicationRoles`, shared by every source of the bucket (those with `accept_owner_override` are also listed in `CrossreplReplicationOwnerOverride`); in organization mode the organization's own statement. After a refresh: the Sid of the per-source statements of an earlier release, which the next apply replaces, or null when the role is not admitted as configured; the next apply restores it."))
    .attr(Attr::nested_single("grant", grant::attributes(true)).computed().describe("What this destination admits and what its bucket demands of replicas, for `crossrepl_source`'s `destination.grant`: the source then checks at plan time that it uses the admitted role, asks only for what is granted, and grants its role what the bucket's Object Lock and default encryption need."))
    .build(0)
}
