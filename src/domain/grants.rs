//! The documents crossrepl writes for replication: the role's trust policy and permissions policy, and the
//! destination bucket-policy statements (with the hand-written grants they supersede); the names it derives.

use std::collections::{BTreeMap, BTreeSet};

use super::policy::{Condition, Effect, OneOrMany, PolicyDocument, PolicyError, Principal, PrincipalMap, Statement};
use crate::domain::arn::{KmsKeyArn, Partition};

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

/// The replication role's least-privilege permissions policy (stable Sids, sorted values, no wildcards).
///
/// Every action is one the S3 user guide lists for replication ("Setting up permissions for live replication",
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html>);
/// `s3:GetObjectRetention` and `s3:GetObjectLegalHold` are always there, because Object Lock can be turned on for
/// an existing bucket at any time and replication then fails without them ("Using Object Lock with S3
/// Replication", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html>).
/// KMS conditions allow both the object ARN (`<bucket>/*`) and the bucket ARN as encryption context, so that
/// buckets using S3 Bucket Keys replicate too. Errors when a bucket name, region or ARN cannot be used.
pub fn replication_role_policy(input: &RolePolicyInput) -> Result<PolicyDocument, PolicyError> {
    let partition = input.partition.as_str();
    let source = s3_arn(partition, checked_value("source bucket name", &input.source_bucket)?);
    let dns_suffix = Partition::by_id(partition).map_or("amazonaws.com", |p| p.dns_suffix);

    let mut destinations = BTreeSet::new();
    let mut overridden = BTreeSet::new();
    let mut replica_keys = ReplicaKeys::default();
    for d in &input.destinations {
        let bucket = checked_bucket_arn(partition, &d.bucket_arn)?;
        destinations.insert(format!("{bucket}/*"));
        if d.owner_override {
            overridden.insert(format!("{bucket}/*"));
        }
        if let Some(key) = &d.replica_kms_key_arn {
            replica_keys.add(partition, key, bucket, REPLICA_KEY_ACTIONS)?;
        }
        if let Some(key) = &d.default_kms_key_arn {
            replica_keys.add(partition, key, bucket, DEFAULT_KEY_ACTIONS)?;
        }
    }
    let source_keys = input
        .source_kms_key_arns
        .iter()
        .map(|k| kms_key_region(partition, k).map(|_| k.clone()))
        .collect::<Result<BTreeSet<_>, _>>()?;

    let mut statements = vec![
        allow("SourceBucket", &["s3:GetReplicationConfiguration", "s3:ListBucket"], vec![source.clone()]),
        allow("SourceObjects", &SOURCE_OBJECT_ACTIONS, vec![format!("{source}/*")]),
    ];
    if !destinations.is_empty() {
        statements.push(allow("DestinationObjects", &OBJECT_REPLICATION_ACTIONS, destinations.into_iter().collect()));
    }
    if !overridden.is_empty() {
        statements.push(allow("DestinationOwnerOverride", &[OWNER_OVERRIDE_ACTION], overridden.into_iter().collect()));
    }
    if !source_keys.is_empty() {
        let region = checked_value("region", &input.region)?;
        let contexts = vec![source.clone(), format!("{source}/*")];
        let keys = source_keys.into_iter().collect();
        statements.push(kms_statement("SourceKmsDecrypt", &["kms:Decrypt"], keys, region, dns_suffix, contexts));
    }
    for (n, (key, use_)) in replica_keys.0.into_iter().enumerate() {
        let (sid, actions) = (format!("ReplicaKms{}", n + 1), use_.actions.into_iter().collect::<Vec<_>>());
        let contexts = use_.contexts.into_iter().collect();
        statements.push(kms_statement(&sid, &actions, vec![key.to_owned()], use_.region, dns_suffix, contexts));
    }
    Ok(PolicyDocument::new(statements))
}

/// IAM's limit on a managed policy document: "6,144 characters", not counting whitespace ("IAM and AWS STS
/// quotas", <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>).
pub const MAX_MANAGED_POLICY_CHARS: usize = 6_144;

/// Refuses the role policy `doc` made from `input` when IAM would refuse it for its size, saying how many of the
/// destinations (the first ones, in order) fit.
pub fn check_role_policy_size(input: &RolePolicyInput, doc: &PolicyDocument) -> Result<(), String> {
    let size = |d: &PolicyDocument| d.to_json().chars().filter(|c| !c.is_whitespace()).count();
    let total = size(doc);
    if total <= MAX_MANAGED_POLICY_CHARS {
        return Ok(());
    }
    let fits = |k: usize| {
        let first = RolePolicyInput { destinations: input.destinations[..k].to_vec(), ..input.clone() };
        replication_role_policy(&first).is_ok_and(|d| size(&d) <= MAX_MANAGED_POLICY_CHARS)
    };
    // The size grows with every destination: the largest k that fits, by bisection.
    let (mut lo, mut hi) = (0, input.destinations.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid) { lo = mid } else { hi = mid - 1 }
    }
    Err(format!(
        "The replication role's policy would have {total} characters, and IAM accepts at most \
         {MAX_MANAGED_POLICY_CHARS} in a managed policy: {lo} of these {} destinations fit. Replicate to fewer \
         destinations from this bucket, or share KMS keys between them.",
        input.destinations.len()
    ))
}

/// Actions on the source objects: reading a version with its ACL and tags, and its Object Lock retention and
/// legal hold (replicas carry both).
const SOURCE_OBJECT_ACTIONS: [&str; 5] = [
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionTagging",
    "s3:GetObjectRetention",
    "s3:GetObjectLegalHold",
];

/// A replica key encrypts SSE-KMS replicas (`kms:Encrypt`); under an S3 Bucket Key the role also needs
/// `kms:Decrypt` on it ("Replicating encrypted objects" and "S3 Bucket Keys and replication",
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html>).
const REPLICA_KEY_ACTIONS: &[&str] = &["kms:Encrypt", "kms:Decrypt"];

/// The destination's default SSE-KMS key encrypts replicas of unencrypted and SSE-S3 objects: S3 asks it for a
/// data key with the role's credentials (`kms:GenerateDataKey`), and `kms:Decrypt` under a Bucket Key (same page).
const DEFAULT_KEY_ACTIONS: &[&str] = &["kms:GenerateDataKey", "kms:Decrypt"];

/// What the role does with each KMS key of a destination: its region, actions and encryption contexts.
#[derive(Default)]
struct ReplicaKeys<'a>(BTreeMap<&'a str, KeyUse<'a>>);

struct KeyUse<'a> {
    region: &'a str,
    actions: BTreeSet<&'static str>,
    contexts: BTreeSet<String>,
}

impl<'a> ReplicaKeys<'a> {
    fn add(
        &mut self,
        partition: &str,
        key: &'a str,
        bucket: &str,
        actions: &[&'static str],
    ) -> Result<(), PolicyError> {
        let region = kms_key_region(partition, key)?;
        let entry =
            self.0.entry(key).or_insert_with(|| KeyUse { region, actions: BTreeSet::new(), contexts: BTreeSet::new() });
        entry.actions.extend(actions);
        entry.contexts.extend([bucket.to_owned(), format!("{bucket}/*")]);
        Ok(())
    }
}

/// Allows `actions` on `keys` only through S3 in `region` (`kms:ViaService`) and for the encryption contexts
/// `contexts` (`kms:EncryptionContext:aws:s3:arn`).
fn kms_statement(
    sid: &str,
    actions: &[&str],
    keys: Vec<String>,
    region: &str,
    dns_suffix: &str,
    contexts: Vec<String>,
) -> Statement {
    let condition = Condition::default()
        .with("StringLike", "kms:ViaService", vec![format!("s3.{region}.{dns_suffix}")])
        .with("StringLike", "kms:EncryptionContext:aws:s3:arn", contexts);
    Statement { condition: Some(condition), ..allow(sid, actions, keys) }
}

/// The Sid prefix of the destination statements for one source role: `CrossreplReplication`, the source account
/// id, and the 16-hex-digit FNV-1a 64 hash of the role name (≤ 48 characters, only `[A-Za-z0-9]`).
pub fn destination_sid_prefix(input: &DestinationGrantInput) -> String {
    let account: String = input.source_account_id.chars().filter(char::is_ascii_alphanumeric).collect();
    let role_name = input.source_role_arn.rsplit_once('/').map_or(input.source_role_arn.as_str(), |(_, name)| name);
    format!("{DESTINATION_SID_BASE}{account}{:016x}", fnv1a64(role_name.as_bytes()))
}

/// The two destination bucket-policy statements for one source role: replication actions on `<bucket>/*`
/// (Sid = [`destination_sid_prefix`]) and reading the bucket's versioning (Sid = prefix + `Bucket`).
///
/// The principal is the source account root with `ArnEquals aws:PrincipalArn = <role ARN>`, so the role need not
/// exist yet and a re-created role still matches. Least privilege, each action for a documented reason:
/// - `s3:ReplicateObject`, `s3:ReplicateDelete`: writing replicas and delete markers; `s3:ReplicateTags`: their
///   tags ("Setting up permissions for live replication", step 3, and the actions whose denial "Troubleshooting
///   replication" lists as failing replication:
///   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html>,
///   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-troubleshoot.html>);
/// - `s3:ObjectOwnerOverrideToBucketOwner` only when `owner_override` ("Changing the replica owner",
///   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-change-owner.html>);
/// - `s3:GetBucketVersioning` on the bucket, read-only, as AWS's cross-account example grants it. Not
///   `s3:PutBucketVersioning` (the same example's), which would let the source account suspend versioning here
///   and so stop replication, nor `s3:List*`, which no replication step needs.
pub fn destination_statements(input: &DestinationGrantInput) -> Vec<Statement> {
    let partition = input.partition.as_str();
    let prefix = destination_sid_prefix(input);
    let bucket = s3_arn(partition, &input.destination_bucket);
    let principal = Principal::aws(format!("arn:{partition}:iam::{}:root", input.source_account_id));
    let condition = Condition::default().with("ArnEquals", "aws:PrincipalArn", vec![input.source_role_arn.clone()]);
    let mut object_actions = OBJECT_REPLICATION_ACTIONS.to_vec();
    if input.owner_override {
        object_actions.push(OWNER_OVERRIDE_ACTION);
    }
    vec![
        Statement {
            principal: Some(principal.clone()),
            condition: Some(condition.clone()),
            ..allow(&prefix, &object_actions, vec![format!("{bucket}/*")])
        },
        Statement {
            principal: Some(principal),
            condition: Some(condition),
            ..allow(&format!("{prefix}{BUCKET_SID_SUFFIX}"), &["s3:GetBucketVersioning"], vec![bucket])
        },
    ]
}

/// The role ARNs named by crossrepl destination statements for `source_account_id` in `doc` (sorted, for import).
pub fn destination_role_arns(doc: &PolicyDocument, source_account_id: &str) -> Vec<String> {
    let base = format!("{DESTINATION_SID_BASE}{source_account_id}");
    let ours = |s: &&Statement| {
        let hash = s.sid.as_deref().and_then(|sid| sid.strip_prefix(base.as_str()));
        hash.is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let arns: BTreeSet<String> = doc
        .statements
        .iter()
        .filter(ours)
        .filter_map(|s| s.condition.as_ref()?.0.get("ArnEquals")?.get("aws:PrincipalArn"))
        .flat_map(|v| v.0.iter().cloned())
        .collect();
    arns.into_iter().collect()
}

/// Whether `s` is a hand-written replication grant for exactly `role_arn` on `bucket` that crossrepl's statements
/// supersede: `Allow`, principal `{"AWS": <role ARN>}` and nothing else, only replication-related actions
/// ([`HAND_WRITTEN_GRANT_ACTIONS`]), only the bucket or objects in it as resources, no condition, and not one of
/// crossrepl's own Sids. Statements with a condition or any other principal, action or resource are left alone.
pub fn is_superseded_grant(s: &Statement, partition: &str, bucket: &str, role_arn: &str) -> bool {
    let bucket_arn = s3_arn(partition, bucket);
    let objects = format!("{bucket_arn}/");
    let principal_ok = matches!(&s.principal, Some(Principal::Specific(PrincipalMap { aws: Some(aws), service: None, federated: None, canonical_user: None }))
        if !aws.0.is_empty() && aws.0.iter().all(|a| a == role_arn));
    let actions_ok = s.action.as_ref().is_some_and(|a| {
        !a.0.is_empty() && a.0.iter().all(|x| HAND_WRITTEN_GRANT_ACTIONS.iter().any(|h| h.eq_ignore_ascii_case(x)))
    });
    let resources_ok = s
        .resource
        .as_ref()
        .is_some_and(|r| !r.0.is_empty() && r.0.iter().all(|x| *x == bucket_arn || x.starts_with(&objects)));
    let ours = s.sid.as_deref().is_some_and(|sid| sid.starts_with(DESTINATION_SID_BASE));
    s.effect == Effect::Allow
        && principal_ok
        && actions_ok
        && resources_ok
        && s.condition.is_none()
        && s.not_principal.is_none()
        && s.not_action.is_none()
        && s.not_resource.is_none()
        && !ours
}

/// `doc` without the statements [`is_superseded_grant`] finds; `None` when nothing is left.
pub fn remove_superseded_grants(
    mut doc: PolicyDocument,
    partition: &str,
    bucket: &str,
    role_arn: &str,
) -> Option<PolicyDocument> {
    doc.statements.retain(|s| !is_superseded_grant(s, partition, bucket, role_arn));
    (!doc.statements.is_empty()).then_some(doc)
}

/// Role ARNs of `source_account_id` that hand-written replication grants on `bucket` name as their principal
/// (sorted; for importing such a setup).
pub fn hand_written_grant_roles(
    doc: &PolicyDocument,
    partition: &str,
    bucket: &str,
    source_account_id: &str,
) -> Vec<String> {
    let prefix = format!("arn:{partition}:iam::{source_account_id}:role/");
    let arns: BTreeSet<String> = doc
        .statements
        .iter()
        .filter_map(|s| match &s.principal {
            Some(Principal::Specific(PrincipalMap { aws: Some(aws), .. })) => aws.0.first(),
            _ => None,
        })
        .filter(|arn| arn.starts_with(&prefix))
        .filter(|arn| doc.statements.iter().any(|s| is_superseded_grant(s, partition, bucket, arn)))
        .cloned()
        .collect();
    arns.into_iter().collect()
}

/// Whether `doc` lets `input`'s role make the destination account the owner of replicas, in crossrepl's statement
/// or in a hand-written grant it supersedes (for importing `accept_owner_override`).
pub fn grants_owner_override(doc: &PolicyDocument, input: &DestinationGrantInput) -> bool {
    let sid = destination_sid_prefix(input);
    doc.statements.iter().any(|s| {
        let ours = s.sid.as_deref() == Some(sid.as_str());
        let theirs = is_superseded_grant(s, &input.partition, &input.destination_bucket, &input.source_role_arn);
        let actions = s.action.as_ref().map_or(&[][..], |a| a.0.as_slice());
        (ours || theirs) && actions.iter().any(|a| a.eq_ignore_ascii_case(OWNER_OVERRIDE_ACTION))
    })
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
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The Sid suffix of the replica-key statement (after [`destination_sid_prefix`]).
const KMS_SID_SUFFIX: &str = "Kms";

/// The Sid of the key-policy statement [`replica_key_statement`] writes for one source role: the destination Sid
/// prefix ([`destination_sid_prefix`]) and `Kms`.
pub fn replica_key_sid(input: &DestinationGrantInput) -> String {
    format!("{}{KMS_SID_SUFFIX}", destination_sid_prefix(input))
}

/// The key-policy statement that lets the source role use a replica key of the destination account
/// (`kms_key_arn`, a key ARN, not an alias), for replicas in the destination bucket only.
///
/// - Principal: the source account root restricted to the role by `ArnEquals aws:PrincipalArn`, as in the bucket
///   policy: KMS refuses a key policy naming a principal that does not exist yet ("The principals in the key policy
///   must exist and be visible to KMS", https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html),
///   and an account root always exists
///   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
///   A cross-account key user needs this grant in the key policy as well as its own IAM policy
///   (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html).
/// - Actions: `kms:Encrypt` (the replica's encryption) and `kms:Decrypt` (S3 checks an S3 Bucket Key with it),
///   and `kms:GenerateDataKey` when the key is the destination bucket's default key, with which S3 encrypts the
///   replicas of unencrypted objects
///   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html).
/// - Conditions: only through S3 in the key's region (`kms:ViaService`,
///   https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service), and
///   only for the destination bucket's objects or the bucket itself (`kms:EncryptionContext:aws:s3:arn`; the
///   bucket ARN is the context under an S3 Bucket Key, same S3 page, "S3 Bucket Keys and replication").
/// - Resource `*`: in a key policy it means the key itself
///   (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
pub fn replica_key_statement(
    input: &DestinationGrantInput,
    kms_key_arn: &str,
    is_default_key: bool,
) -> Result<Statement, PolicyError> {
    let partition = input.partition.as_str();
    let invalid = |reason: String| PolicyError::InvalidArn { arn: kms_key_arn.to_owned(), reason };
    let key: KmsKeyArn = kms_key_arn.parse().map_err(invalid)?;
    if !kms_key_arn.starts_with(&format!("arn:{partition}:kms:")) {
        return Err(invalid(format!("the key is not in partition {partition}, as the destination bucket is")));
    }
    let dns_suffix = Partition::by_id(partition).map_or("amazonaws.com", |p| p.dns_suffix);
    let bucket = s3_arn(partition, checked_value("bucket", &input.destination_bucket)?);
    let condition = Condition::default()
        .with("ArnEquals", "aws:PrincipalArn", vec![input.source_role_arn.clone()])
        .with("StringEquals", "kms:ViaService", vec![format!("s3.{}.{dns_suffix}", key.region)])
        .with("StringLike", "kms:EncryptionContext:aws:s3:arn", vec![bucket.clone(), format!("{bucket}/*")]);
    let mut actions = vec!["kms:Encrypt", "kms:Decrypt"];
    if is_default_key {
        actions.push("kms:GenerateDataKey");
    }
    Ok(Statement {
        principal: Some(Principal::aws(format!("arn:{partition}:iam::{}:root", input.source_account_id))),
        condition: Some(condition),
        ..allow(&replica_key_sid(input), &actions, vec!["*".to_owned()])
    })
}

#[cfg(test)]
#[path = "grants_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "grants_kms_tests.rs"]
mod kms_tests;
