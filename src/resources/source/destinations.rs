//! Plan-time checks of the destinations against what a source's own configuration cannot show: each
//! destination's `grant` (what a cross-account destination admits and demands), same-account destination buckets
//! (read directly: this provider block has their account's credentials), and the source bucket's own Object Lock
//! and default encryption. Each diagnostic names `destination[i].<attribute>` and says what to do.

use framework::Known;
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use super::model::{DestinationBlock, SourceModel};
use crate::aws::AwsClients;
use crate::domain::arn::{BucketArn, KmsKeyArn};
use crate::domain::grants::compact;
use crate::resources::bucket_settings::{self, BucketSettings};
use crate::resources::checks::plan_read;
use crate::resources::grant::GrantModel;
use crate::resources::preflight_bucket;

/// What the checks know of the source.
pub struct SourceFacts<'a> {
    /// The account of the source bucket and the role.
    pub account: &'a str,
    /// The replication role's ARN.
    pub role_arn: &'a str,
    /// The source bucket's settings, when read.
    pub settings: Option<&'a BucketSettings>,
}

fn path(i: usize, attr: &str) -> AttributePath {
    AttributePath::attr("destination").with_index(i).with_attr(attr)
}

/// Whether block `d` replicates into this account (no `account_id`, or this account's).
pub fn same_account(d: &DestinationBlock, account: &str) -> bool {
    d.account_id.is_null() || d.account_id.known().is_some_and(|a| a == account)
}

/// Checks of every block against its grant and the source's settings; `same_account_settings[i]` holds what a
/// same-account destination bucket's settings read as. Pure, so that every rule has a unit test.
pub fn check_blocks(
    blocks: &[DestinationBlock],
    facts: &SourceFacts<'_>,
    same_account_settings: &[Option<BucketSettings>],
) -> Diagnostics {
    let mut ds = Diagnostics::new();
    for (i, d) in blocks.iter().enumerate() {
        let own = same_account_settings.get(i).and_then(Option::as_ref);
        check_grant(i, d, facts, &mut ds);
        check_lock(i, d, facts, own, &mut ds);
        check_encryption(i, d, facts, own, &mut ds);
    }
    ds
}

/// The grant belongs to this block's bucket, admits this source's role, and accepts owner override when asked;
/// a cross-account block without a grant is not checked, and says so.
fn check_grant(i: usize, d: &DestinationBlock, facts: &SourceFacts<'_>, ds: &mut Diagnostics) {
    let Known::Value(g) = &d.grant else {
        if d.grant.is_null() && !same_account(d, facts.account) && d.account_id.known().is_some() {
            ds.push(
                Diagnostic::warning(
                    "Destination not checked",
                    "This destination is in another account, and without its grant plan cannot check that its \
                     bucket policy admits this source's role, accepts owner override, or has Object Lock where \
                     the source has it. Set grant = crossrepl_destination.<name>.grant.",
                )
                .at(path(i, "grant")),
            );
        }
        return;
    };
    if let (Some(granted), Some(wanted)) = (g.bucket_arn.known(), d.bucket_arn.known())
        && granted != wanted
    {
        let detail = format!(
            "This grant is the one of bucket {granted}, but this block replicates to {wanted}. Use the grant of the \
             crossrepl_destination that manages {wanted}."
        );
        ds.push(Diagnostic::error("Grant of another destination", detail).at(path(i, "grant")));
    }
    if let Some(admitted) = g.role_arn.known()
        && admitted != facts.role_arn
    {
        ds.push(role_mismatch(admitted, facts.role_arn).at(path(i, "grant")));
    }
    if let Some(pattern) = g.role_arn_pattern.known()
        && !compact::arn_like(pattern, facts.role_arn)
    {
        let org = g.organization_id.known().map_or("?", String::as_str);
        let detail = format!(
            "The destination admits the replication roles of organization {org} whose ARN matches {pattern}, but \
             this source replicates as {}: S3 would refuse every replica. Give the role a matching name \
             (role_name, role_path), or change source_role_name_pattern on that crossrepl_destination.",
            facts.role_arn
        );
        ds.push(Diagnostic::error("Role not admitted by the organization", detail).at(path(i, "grant")));
    }
    if let Some(key) = unadmitted_key(d, g) {
        let detail = format!(
            "The replica key {key} belongs to the destination account, whose crossrepl_destination does not list \
             it in replica_kms_key_arns: its key policy does not admit this source's role, and every SSE-KMS \
             replica would fail. Add it to replica_kms_key_arns there."
        );
        ds.push(Diagnostic::error("Replica key does not admit the role", detail).at(path(i, "replica_kms_key_arn")));
    }
    if d.owner_override == Known::Value(true) && g.owner_override == Known::Value(false) {
        ds.push(
            Diagnostic::error(
                "Destination does not accept owner override",
                "S3 makes the destination account the owner of replicas only when the destination bucket policy \
                 grants s3:ObjectOwnerOverrideToBucketOwner; without it every replica fails. Set \
                 accept_owner_override = true on the crossrepl_destination, or owner_override = false here.",
            )
            .at(path(i, "owner_override")),
        );
    }
}

/// The block's replica key when it is a key of the destination account that the grant's key list leaves out:
/// the key ARN, also for a key given by alias (the grant lists key ARNs, as key policies name keys).
fn unadmitted_key<'a>(d: &'a DestinationBlock, g: &GrantModel) -> Option<&'a str> {
    let key = match d.replica_kms_key_arn.known()? {
        alias if super::model::is_alias(alias) => d.replica_kms_key_target_arn.known()?,
        key => key,
    };
    let owner = key.parse::<KmsKeyArn>().ok()?.account;
    // Null: the destination lists no key at all.
    let listed = match &g.replica_kms_key_arns {
        Known::Value(k) => Some(k.0.iter().any(|x| x.known() == Some(key))),
        Known::Null => Some(false),
        Known::Unknown => None,
    };
    (d.account_id.known().is_some_and(|a| a == owner.as_str()) && listed == Some(false)).then_some(key.as_str())
}

/// The destination admits another role than this source's: every replica would be refused.
fn role_mismatch(admitted: &str, ours: &str) -> Diagnostic {
    let (name, role_path) = ours
        .split_once(":role")
        .and_then(|(_, rest)| rest.rsplit_once('/').map(|(p, n)| (n, format!("{p}/"))))
        .unwrap_or_default();
    Diagnostic::error(
        "Destination admits another role",
        format!(
            "The destination's bucket policy admits {admitted}, but this source replicates as {ours}: S3 would \
             refuse every replica. On that crossrepl_destination set source_role_name = \"{name}\" and \
             source_role_path = \"{role_path}\" (they repeat this source's role_name and role_path)."
        ),
    )
}

/// A source bucket with Object Lock replicates only into a bucket with Object Lock ("Using Object Lock with S3
/// Replication", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html>).
fn check_lock(
    i: usize,
    d: &DestinationBlock,
    facts: &SourceFacts<'_>,
    own: Option<&BucketSettings>,
    ds: &mut Diagnostics,
) {
    if !facts.settings.is_some_and(|s| s.object_lock) {
        return;
    }
    let locked = match (&d.grant, own) {
        (Known::Value(g), _) => g.object_lock.known().copied(),
        (_, Some(own)) => Some(own.object_lock),
        _ => None,
    };
    if locked == Some(false) {
        ds.push(
            Diagnostic::error(
                "Destination bucket has no Object Lock",
                "The source bucket has Object Lock enabled, and S3 replicates objects of such a bucket only into \
                 a bucket with Object Lock enabled. Enable Object Lock on the destination bucket, or replicate \
                 into one that has it.",
            )
            .at(path(i, "bucket_arn")),
        );
    }
}

/// SSE-KMS objects replicate only when the rule selects them (item 6 of the fidelity review; "Replicating
/// encrypted objects", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html>),
/// and a same-account destination whose default encryption is SSE-KMS needs its key in the role's policy.
fn check_encryption(
    i: usize,
    d: &DestinationBlock,
    facts: &SourceFacts<'_>,
    own: Option<&BucketSettings>,
    ds: &mut Diagnostics,
) {
    if facts.settings.is_some_and(BucketSettings::default_sse_kms) && d.selects_no_sse_kms() {
        ds.push(
            Diagnostic::warning(
                "SSE-KMS objects will not replicate",
                "The source bucket's default encryption is SSE-KMS, so its new objects are SSE-KMS encrypted, and \
                 S3 skips SSE-KMS objects, without an error, on a rule that does not select them. List their keys \
                 in source_kms_key_arns (with replica_kms_key_arn), or ignore this if only unencrypted and \
                 SSE-S3 objects need to replicate.",
            )
            .at(path(i, "source_kms_key_arns")),
        );
    }
    if let (Some(key), Known::Null) = (own.and_then(|s| s.default_key.arn()), &d.grant) {
        let detail = format!(
            "Bucket {} encrypts new objects with KMS key {key} by default, and S3 encrypts replicas of objects that \
             are not SSE-KMS with it, as the replication role: the role needs kms:GenerateDataKey on it. Set \
             grant = {{ default_kms_key_arn = \"{key}\" }} in this block (or the grant of its \
             crossrepl_destination).",
            d.bucket_arn.known().map_or("?", String::as_str)
        );
        ds.push(Diagnostic::warning("Destination default key not granted", detail).at(path(i, "grant")));
    }
}

/// Reads, concurrently, what the checks need: the source bucket's settings, and for each same-account destination
/// bucket the preflight (region, owner, versioning) and its settings. A read failure skips its check with a warning.
pub async fn check(
    aws: &AwsClients,
    label: &str,
    planned: &SourceModel,
    facts: SourceFacts<'_>,
    enable_versioning: bool,
) -> Diagnostics {
    let blocks = planned.destination.known().cloned().unwrap_or_default();
    let source = async { Some(bucket_settings::read(aws, planned.bucket.known()?).await) };
    let same = futures_util::future::join_all(blocks.iter().enumerate().map(|(i, d)| async move {
        let bucket = d.bucket_arn.known().and_then(|a| a.parse::<BucketArn>().ok()).map(|a| a.bucket)?;
        if !same_account(d, facts.account) {
            return None;
        }
        let at = path(i, "bucket_arn");
        let (ds, settings) = tokio::join!(
            preflight_bucket(aws, label, facts.account, bucket.as_str(), enable_versioning, at),
            bucket_settings::read(aws, bucket.as_str())
        );
        Some((ds, bucket, settings))
    }));
    let (settings, same) = tokio::join!(source, same);
    let mut ds = Diagnostics::new();
    let what = |bucket: &str| format!("the Object Lock and default key of bucket {bucket}");
    let source_bucket = planned.bucket.known().map_or("?", String::as_str);
    let settings = plan_read(&mut ds, label, &what(source_bucket), settings).flatten();
    let mut own = Vec::with_capacity(blocks.len());
    for found in same {
        let Some((d, bucket, read)) = found else {
            own.push(None);
            continue;
        };
        ds.extend(d);
        own.push(plan_read(&mut ds, label, &what(bucket.as_str()), Some(read)).flatten());
    }
    ds.extend(check_blocks(&blocks, &SourceFacts { settings: settings.as_ref(), ..facts }, &own));
    ds
}

#[cfg(test)]
mod tests {
    use framework::{AttrValue, Known};
    use tfplugin::{Diagnostics, Value};

    use super::*;
    use crate::resources::bucket_settings::DefaultKey;
    use crate::resources::source::schema::schema;

    const ACCOUNT: &str = "111111111111";
    const ROLE: &str = "arn:aws:iam::111111111111:role/crossrepl-src";

    fn block(pairs: Vec<(&str, Value)>, grant: Option<GrantModel>) -> DestinationBlock {
        let mut b = DestinationBlock::from_value(&schema().object(Some("destination"), pairs)).unwrap();
        b.grant = grant.map_or(Known::Null, Known::Value);
        if b.owner_override.is_null() {
            b.owner_override = Known::Value(false);
        }
        b
    }

    fn grant() -> GrantModel {
        GrantModel {
            bucket_arn: Known::Value("arn:aws:s3:::dst".into()),
            role_arn: Known::Value(ROLE.into()),
            organization_id: Known::Null,
            role_arn_pattern: Known::Null,
            owner_override: Known::Value(false),
            object_lock: Known::Value(false),
            default_kms_key_arn: Known::Null,
            replica_kms_key_arns: Known::Null,
        }
    }

    fn cross(extra: Vec<(&str, Value)>) -> Vec<(&str, Value)> {
        let mut pairs = vec![("bucket_arn", "arn:aws:s3:::dst".into()), ("account_id", "222222222222".into())];
        pairs.extend(extra);
        pairs
    }

    fn summaries(ds: &Diagnostics) -> Vec<(String, String)> {
        ds.0.iter()
            .map(|d| (d.summary.clone(), d.attribute.as_ref().map(ToString::to_string).unwrap_or_default()))
            .collect()
    }

    fn check(
        blocks: &[DestinationBlock],
        settings: Option<&BucketSettings>,
        own: &[Option<BucketSettings>],
    ) -> Vec<(String, String)> {
        summaries(&check_blocks(blocks, &SourceFacts { account: ACCOUNT, role_arn: ROLE, settings }, own))
    }

    #[test]
    fn a_matching_grant_passes_and_each_mismatch_is_named() {
        assert!(check(&[block(cross(vec![]), Some(grant()))], None, &[]).is_empty());
        let other_role =
            GrantModel { role_arn: Known::Value("arn:aws:iam::111111111111:role/other".into()), ..grant() };
        assert_eq!(
            check(&[block(cross(vec![]), Some(other_role))], None, &[]),
            [("Destination admits another role".into(), "destination[0].grant".into())]
        );
        let other_bucket = GrantModel { bucket_arn: Known::Value("arn:aws:s3:::elsewhere".into()), ..grant() };
        assert_eq!(check(&[block(cross(vec![]), Some(other_bucket))], None, &[])[0].0, "Grant of another destination");
        let overriding = block(cross(vec![("owner_override", true.into())]), Some(grant()));
        assert_eq!(
            check(&[overriding], None, &[]),
            [("Destination does not accept owner override".into(), "destination[0].owner_override".into())]
        );
        let accepting = GrantModel { owner_override: Known::Value(true), ..grant() };
        assert!(check(&[block(cross(vec![("owner_override", true.into())]), Some(accepting))], None, &[]).is_empty());
        // An organization's grant admits the roles whose ARN matches its pattern, in any account.
        let org = |pattern: &str| GrantModel {
            role_arn: Known::Null,
            organization_id: Known::Value("o-a1b2c3d4e5".into()),
            role_arn_pattern: Known::Value(pattern.into()),
            ..grant()
        };
        assert!(check(&[block(cross(vec![]), Some(org("arn:aws:iam::*:role/crossrepl-*")))], None, &[]).is_empty());
        assert_eq!(
            check(&[block(cross(vec![]), Some(org("arn:aws:iam::*:role/replication/crossrepl-*")))], None, &[]),
            [("Role not admitted by the organization".into(), "destination[0].grant".into())]
        );
        // Unknown parts of a grant (a destination created in the same apply) are not judged yet.
        let unknown = GrantModel { role_arn: Known::Unknown, object_lock: Known::Unknown, ..grant() };
        assert!(check(&[block(cross(vec![]), Some(unknown))], None, &[]).is_empty());
    }

    #[test]
    fn a_replica_key_of_the_destination_account_must_be_listed_there() {
        let key = "arn:aws:kms:us-east-1:222222222222:key/r";
        let with_key = |g: GrantModel| block(cross(vec![("replica_kms_key_arn", key.into())]), Some(g));
        let listed =
            |keys: &[&str]| Known::Value(framework::Set(keys.iter().map(|k| Known::Value(k.to_string())).collect()));
        // An empty list, and no list at all (the attribute left out: null).
        for unlisted in [listed(&[]), Known::Null] {
            assert_eq!(
                check(&[with_key(GrantModel { replica_kms_key_arns: unlisted, ..grant() })], None, &[]),
                [("Replica key does not admit the role".into(), "destination[0].replica_kms_key_arn".into())]
            );
        }
        assert!(
            check(&[with_key(GrantModel { replica_kms_key_arns: listed(&[key]), ..grant() })], None, &[]).is_empty()
        );
        // A key given by alias: the grant lists key ARNs, so the alias's target is what must be listed.
        let alias = "arn:aws:kms:us-east-1:222222222222:alias/replicas";
        let by_alias = |target: Known<String>, keys| {
            let mut b = block(
                cross(vec![("replica_kms_key_arn", alias.into())]),
                Some(GrantModel { replica_kms_key_arns: keys, ..grant() }),
            );
            b.replica_kms_key_target_arn = target;
            check(&[b], None, &[])
        };
        assert!(by_alias(Known::Value(key.into()), listed(&[key])).is_empty());
        assert_eq!(by_alias(Known::Value(key.into()), listed(&[alias]))[0].0, "Replica key does not admit the role");
        assert!(by_alias(Known::Unknown, listed(&[])).is_empty(), "not resolved yet: not judged");
        // A key of a third account is not the destination's to list; an unknown list is not judged.
        let third = block(
            cross(vec![("replica_kms_key_arn", "arn:aws:kms:us-east-1:333333333333:key/r".into())]),
            Some(GrantModel { replica_kms_key_arns: listed(&[]), ..grant() }),
        );
        assert!(check(&[third], None, &[]).is_empty());
        assert!(
            check(&[with_key(GrantModel { replica_kms_key_arns: Known::Unknown, ..grant() })], None, &[]).is_empty()
        );
    }

    #[test]
    fn without_a_grant_a_cross_account_destination_is_reported_unchecked() {
        assert_eq!(
            check(&[block(cross(vec![]), None)], None, &[]),
            [("Destination not checked".into(), "destination[0].grant".into())]
        );
        // Same account: read directly, nothing to hand over.
        assert!(check(&[block(vec![("bucket_arn", "arn:aws:s3:::dst".into())], None)], None, &[None]).is_empty());
    }

    #[test]
    fn object_lock_and_default_encryption() {
        let locked = BucketSettings { object_lock: true, default_key: DefaultKey::None };
        assert_eq!(
            check(&[block(cross(vec![]), Some(grant()))], Some(&locked), &[]),
            [("Destination bucket has no Object Lock".into(), "destination[0].bucket_arn".into())]
        );
        let locked_grant = GrantModel { object_lock: Known::Value(true), ..grant() };
        assert!(check(&[block(cross(vec![]), Some(locked_grant))], Some(&locked), &[]).is_empty());
        let same = block(vec![("bucket_arn", "arn:aws:s3:::dst".into())], None);
        let plain = BucketSettings { object_lock: false, default_key: DefaultKey::None };
        assert_eq!(
            check(std::slice::from_ref(&same), Some(&locked), &[Some(plain.clone())])[0].0,
            "Destination bucket has no Object Lock"
        );

        let kms = BucketSettings { object_lock: false, default_key: DefaultKey::AwsManaged(None) };
        assert_eq!(
            check(&[block(cross(vec![]), Some(grant()))], Some(&kms), &[]),
            [("SSE-KMS objects will not replicate".into(), "destination[0].source_kms_key_arns".into())]
        );
        let keyed = block(
            cross(vec![("source_kms_key_arns", Value::Set(vec!["arn:aws:kms:us-east-1:111111111111:key/k".into()]))]),
            Some(grant()),
        );
        assert!(check(&[keyed], Some(&kms), &[]).is_empty());

        let key = "arn:aws:kms:us-east-1:111111111111:key/d";
        let default_key = BucketSettings { default_key: DefaultKey::Customer(key.into()), ..plain };
        let found = check(std::slice::from_ref(&same), None, &[Some(default_key)]);
        assert_eq!(found, [("Destination default key not granted".into(), "destination[0].grant".into())]);
    }
}
