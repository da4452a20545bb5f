//! What the destination account writes for a source role: the bucket-policy statements (and the hand-written
//! grants they supersede) and the statement in each replica key's policy.

use super::*;

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

/// The role ARNs of `source_account_id` that crossrepl's destination statements in `doc` admit, in the compact
/// statement or in per-source ones (sorted, for import).
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
        .chain(
            compact::admitted_roles(doc, compact::ROLES_SID)
                .into_iter()
                .filter(|r| account_of(r) == Some(source_account_id)),
        )
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

/// Whether `doc` lets `input`'s role make the destination account the owner of replicas, in crossrepl's statements
/// (compact or per-source) or in a hand-written grant they supersede (for importing `accept_owner_override`).
pub fn grants_owner_override(doc: &PolicyDocument, input: &DestinationGrantInput) -> bool {
    let sid = destination_sid_prefix(input);
    compact::admitted_roles(doc, compact::OWNER_OVERRIDE_SID).contains(&input.source_role_arn)
        || doc.statements.iter().any(|s| {
            let ours = s.sid.as_deref() == Some(sid.as_str());
            let theirs = is_superseded_grant(s, &input.partition, &input.destination_bucket, &input.source_role_arn);
            let actions = s.action.as_ref().map_or(&[][..], |a| a.0.as_slice());
            (ours || theirs) && actions.iter().any(|a| a.eq_ignore_ascii_case(OWNER_OVERRIDE_ACTION))
        })
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
    let root = Principal::aws(format!("arn:{}:iam::{}:root", input.partition, input.source_account_id));
    let role = Condition::default().with("ArnEquals", "aws:PrincipalArn", vec![input.source_role_arn.clone()]);
    let place =
        KeyPlace { partition: &input.partition, bucket: &input.destination_bucket, kms_key_arn, is_default_key };
    key_statement(&place, &replica_key_sid(input), root, role)
}

/// The key-policy statement that lets an organization's replication roles use a replica key of the destination
/// account: as [`replica_key_statement`], with the principal `*` restricted by the organization's conditions
/// ([`compact::organization_condition`]) instead of one account's role.
pub fn organization_key_statement(
    input: &compact::OrganizationGrantInput,
    kms_key_arn: &str,
    is_default_key: bool,
) -> Result<Statement, PolicyError> {
    let sid = format!("{}{KMS_SID_SUFFIX}", compact::organization_sid(input));
    let place =
        KeyPlace { partition: &input.partition, bucket: &input.destination_bucket, kms_key_arn, is_default_key };
    key_statement(&place, &sid, Principal::Any, compact::organization_condition(input))
}

/// Which key a key-policy statement is for, and the bucket whose replicas it encrypts.
struct KeyPlace<'a> {
    partition: &'a str,
    bucket: &'a str,
    kms_key_arn: &'a str,
    is_default_key: bool,
}

/// A replica-key statement for `principal` restricted by `who` (see [`replica_key_statement`]).
fn key_statement(
    place: &KeyPlace<'_>,
    sid: &str,
    principal: Principal,
    who: Condition,
) -> Result<Statement, PolicyError> {
    let KeyPlace { partition, bucket, kms_key_arn, is_default_key } = *place;
    let invalid = |reason: String| PolicyError::InvalidArn { arn: kms_key_arn.to_owned(), reason };
    let key: KmsKeyArn = kms_key_arn.parse().map_err(invalid)?;
    if !kms_key_arn.starts_with(&format!("arn:{partition}:kms:")) {
        return Err(invalid(format!("the key is not in partition {partition}, as the destination bucket is")));
    }
    let dns_suffix = Partition::by_id(partition).map_or("amazonaws.com", |p| p.dns_suffix);
    let bucket = s3_arn(partition, checked_value("bucket", bucket)?);
    let condition = who.with("StringEquals", "kms:ViaService", vec![format!("s3.{}.{dns_suffix}", key.region)]).with(
        "StringLike",
        "kms:EncryptionContext:aws:s3:arn",
        vec![bucket.clone(), format!("{bucket}/*")],
    );
    let mut actions = vec!["kms:Encrypt", "kms:Decrypt"];
    if is_default_key {
        actions.push("kms:GenerateDataKey");
    }
    Ok(Statement {
        principal: Some(principal),
        condition: Some(condition),
        ..allow(sid, &actions, vec!["*".to_owned()])
    })
}
