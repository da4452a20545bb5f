//! The replication role's permissions policy: what S3 does as the role, on the source and every destination.

use super::*;

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
