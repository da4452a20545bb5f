//! The documents crossrepl writes for replication: the role's trust policy and permissions policy ([`role`]), the
//! destination bucket-policy statements with the hand-written grants they supersede and the replica keys'
//! key-policy statement ([`destination`]), the compact form those statements take in a bucket policy shared by a
//! fan-in ([`compact`]), the batch role of S3 Batch Replication ([`batch`]); the names it derives.

mod batch;
pub mod compact;
mod destination;
mod role;

pub use batch::*;
pub use destination::*;
pub use role::*;

use std::collections::{BTreeMap, BTreeSet};
#[cfg(test)]
use std::sync::Arc;

use crate::domain::arn::{KmsKeyArn, Partition, account_of};
use crate::domain::policy::{
    Condition, Effect, OneOrMany, PolicyDocument, PolicyError, Principal, PrincipalMap, Statement,
};

/// Longest IAM role name (and the limit crossrepl keeps for its policy names too).
pub const MAX_IAM_NAME_LEN: usize = 64;

const DESTINATION_SID_BASE: &str = "CrossreplReplication";

const BUCKET_SID_SUFFIX: &str = "Bucket";

const ROLE_NAME_PREFIX: &str = "crossrepl-";

const POLICY_NAME_PREFIX: &str = "crossrepl-policy-";

const S3_SERVICE_PRINCIPAL: &str = "s3.amazonaws.com";

const OBJECT_REPLICATION_ACTIONS: [&str; 3] = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"];

const OWNER_OVERRIDE_ACTION: &str = "s3:ObjectOwnerOverrideToBucketOwner";

/// Actions a hand-written destination grant for a replication role holds (the AWS guide's and the usual
/// hashicorp/aws setup's). A statement granting only these is what crossrepl's statements supersede.
const HAND_WRITTEN_GRANT_ACTIONS: [&str; 10] = [
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
    "s3:Replicate*",
    "s3:ObjectOwnerOverrideToBucketOwner",
    "s3:GetBucketVersioning",
    "s3:PutBucketVersioning",
    "s3:ListBucket",
    "s3:List*",
    "s3:GetObjectVersionTagging",
];

/// One destination of a replication role, as the role policy needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationGrant {
    /// `arn:<partition>:s3:::<bucket>`.
    pub bucket_arn: String,
    /// Whether replicas are owned by the destination account (`AccessControlTranslation`).
    pub owner_override: bool,
    /// KMS key replicas are encrypted with; in the destination bucket's region.
    pub replica_kms_key_arn: Option<String>,
    /// The destination bucket's default SSE-KMS key, which encrypts replicas of objects that are not SSE-KMS.
    pub default_kms_key_arn: Option<String>,
}

/// Inputs of [`replication_role_policy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePolicyInput {
    /// AWS partition (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub partition: String,
    /// Source bucket name.
    pub source_bucket: String,
    /// Source bucket region (scopes `kms:ViaService` for source keys).
    pub region: String,
    /// Every destination of the source's replication configuration.
    pub destinations: Vec<DestinationGrant>,
    /// KMS keys source objects are encrypted with; empty when SSE-KMS objects are not replicated.
    pub source_kms_key_arns: Vec<String>,
}

/// Inputs of [`destination_statements`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationGrantInput {
    /// AWS partition.
    pub partition: String,
    /// Destination bucket name.
    pub destination_bucket: String,
    /// Account that owns the source bucket and the replication role.
    pub source_account_id: String,
    /// The replication role's ARN (the role need not exist).
    pub source_role_arn: String,
    /// Whether the role may make the destination account the owner of replicas.
    pub owner_override: bool,
}

/// The replication role's trust policy: `s3.amazonaws.com` may assume it, only for this source bucket and account.
pub fn replication_trust_policy(partition: &str, source_account_id: &str, source_bucket: &str) -> PolicyDocument {
    let condition = Condition::default()
        .with("StringEquals", "aws:SourceAccount", vec![source_account_id.to_owned()])
        .with("ArnLike", "aws:SourceArn", vec![s3_arn(partition, source_bucket)]);
    PolicyDocument::new(vec![Statement {
        principal: Some(Principal::service(S3_SERVICE_PRINCIPAL)),
        condition: Some(condition),
        ..allow("S3AssumeReplicationRole", &["sts:AssumeRole"], vec![])
    }])
}

/// Whether a role's trust policy lets S3 assume the role: an `Allow` statement whose `Principal` names the service
/// `s3.amazonaws.com` (or `*`) for `sts:AssumeRole` (or a wildcard covering it). Conditions are not evaluated: S3
/// sends `aws:SourceAccount` and `aws:SourceArn` of the source bucket, and a trust policy may restrict on them
/// ("Setting up permissions for live replication", step 2,
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html>). A `Deny` for
/// the same principal and action without conditions overrides the `Allow`.
pub fn trusts_s3(trust: &PolicyDocument) -> bool {
    let names_s3 = |p: &Option<Principal>| match p {
        Some(Principal::Any) => true,
        Some(Principal::Specific(m)) => {
            m.service.as_ref().is_some_and(|s| s.0.iter().any(|x| x == S3_SERVICE_PRINCIPAL))
        }
        None => false,
    };
    let assumes = |s: &Statement| {
        s.action.as_ref().is_some_and(|a| {
            a.0.iter().any(|x| ["sts:assumerole", "sts:*", "*"].contains(&x.to_ascii_lowercase().as_str()))
        })
    };
    let matching = |effect: Effect| {
        trust.statements.iter().filter(move |s| s.effect == effect && names_s3(&s.principal) && assumes(s))
    };
    let denied = matching(Effect::Deny).any(|s| s.condition.is_none());
    !denied && matching(Effect::Allow).next().is_some()
}

/// Default replication role name for a source bucket: `crossrepl-<bucket>`, or when that is over 64 characters
/// (or the bucket name has characters outside `[a-z0-9.-]`), a truncated form ending in `_` + 8 hex digits of a
/// hash of the whole name. Deterministic; distinct buckets give distinct names.
pub fn role_name_for_bucket(bucket: &str) -> String {
    derived_name(ROLE_NAME_PREFIX, bucket)
}

/// Default permissions-policy name for a source bucket: `crossrepl-policy-<bucket>`, shortened as in
/// [`role_name_for_bucket`].
pub fn policy_name_for_bucket(bucket: &str) -> String {
    derived_name(POLICY_NAME_PREFIX, bucket)
}

fn derived_name(prefix: &str, bucket: &str) -> String {
    let plain = bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if plain && prefix.len() + bucket.len() <= MAX_IAM_NAME_LEN {
        return format!("{prefix}{bucket}");
    }
    // `_` never occurs in a bucket name, so shortened names cannot equal a plain one.
    let hash = format!("{:08x}", fnv1a64(bucket.as_bytes()) >> 32);
    let keep = MAX_IAM_NAME_LEN - prefix.len() - 1 - hash.len();
    let iam_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    let head: String = bucket.chars().map(|c| if iam_char(c) { c } else { '-' }).take(keep).collect();
    format!("{prefix}{head}_{hash}")
}

fn allow(sid: &str, actions: &[&str], resources: Vec<String>) -> Statement {
    Statement {
        sid: Some(sid.to_owned()),
        action: Some(OneOrMany(actions.iter().map(|a| (*a).to_owned()).collect())),
        resource: (!resources.is_empty()).then_some(OneOrMany(resources)),
        ..Statement::new(Effect::Allow)
    }
}

fn s3_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

fn checked_value<'a>(what: &'static str, value: &'a str) -> Result<&'a str, PolicyError> {
    let bad = value.is_empty() || value.contains(['*', '?', '/', ':']);
    if bad { Err(PolicyError::InvalidValue { what, value: value.to_owned() }) } else { Ok(value) }
}

/// `arn` itself when it is an S3 bucket ARN in `partition`.
fn checked_bucket_arn<'a>(partition: &str, arn: &'a str) -> Result<&'a str, PolicyError> {
    let name = arn.strip_prefix(&format!("arn:{partition}:s3:::")).unwrap_or_default();
    if checked_value("bucket", name).is_err() {
        let reason = format!("expected an S3 bucket ARN `arn:{partition}:s3:::<bucket>`");
        return Err(PolicyError::InvalidArn { arn: arn.to_owned(), reason });
    }
    Ok(arn)
}

/// The region of a KMS key ARN in `partition` ([`KmsKeyArn`]: alias ARNs are refused, because IAM and key policies
/// match the key ARN only: "an alias ARN in `Resource` controls access to the alias, not the key",
/// <https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html>).
fn kms_key_region<'a>(partition: &str, arn: &'a str) -> Result<&'a str, PolicyError> {
    let invalid = |reason: String| PolicyError::InvalidArn { arn: arn.to_owned(), reason };
    arn.parse::<KmsKeyArn>().map_err(invalid)?;
    if !arn.starts_with(&format!("arn:{partition}:")) {
        return Err(invalid(format!("not in partition {partition}, the source bucket's")));
    }
    Ok(arn.split(':').nth(3).unwrap_or_default())
}

/// FNV-1a, 64 bits: small, stable across releases and platforms.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod kms_tests;

#[cfg(test)]
mod compact_tests;
