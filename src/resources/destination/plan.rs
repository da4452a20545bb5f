//! The read-only plan-time checks of a `crossrepl_destination`: its bucket, its KMS keys, and its bucket's default
//! key (which key replicas of unencrypted and SSE-S3 objects are encrypted with, and whether the source role may
//! use it).

use framework::Known;
use futures_util::future::join_all;
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use super::model::{DestinationModel, known_keys};
use crate::aws::{AwsClients, kms};
use crate::domain::arn::KmsKeyArn;
use crate::resources::bucket_settings::{DefaultKey, default_key, default_key_value};
use crate::resources::checks::not_checked;
use crate::resources::preflight_bucket;

/// Where replicas must be encrypted: "The KMS key must have been created in the same AWS Region as the destination
/// bucket"; AWS managed keys "don't allow cross-account use".
const S3_KMS_REPLICATION: &str =
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html";

/// "Amazon S3 supports only symmetric encryption KMS keys".
const S3_SYMMETRIC_ONLY: &str = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html";

/// The plan-time checks, in one round of concurrent calls (kms:DescribeKey may follow): on a new object (`prior`
/// None) the bucket (exists, this account's, versioned or allowed to be); the keys of `replica_kms_key_arns` that
/// `prior` did not list ([`check_keys`]); and, on a new object or a changed key list, the bucket's default key
/// with its warnings. Returns the planned `default_kms_key_arn`: as read, else `prior`'s (the refresh before the
/// plan read it). Without `account` (STS failed) only the default key is read.
pub async fn preflight(
    aws: &AwsClients,
    label: &str,
    planned: &DestinationModel,
    prior: Option<&DestinationModel>,
    account: Option<&str>,
) -> (Known<String>, Diagnostics) {
    let Some(bucket) = planned.bucket.known() else { return (Known::Unknown, Diagnostics::new()) };
    let read_default = prior.is_none_or(|p| p.replica_kms_key_arns != planned.replica_kms_key_arns);
    let enable = planned.enable_versioning.known() != Some(&false);
    let bucket_check = async {
        match account {
            Some(a) if prior.is_none() => {
                preflight_bucket(aws, label, a, bucket, enable, AttributePath::attr("bucket")).await
            }
            _ => Diagnostics::new(),
        }
    };
    let key_checks = async {
        match account {
            Some(a) => check_keys(aws, label, planned, prior, a).await,
            None => Diagnostics::new(),
        }
    };
    let default = async { if read_default { Some(default_key(aws, bucket).await) } else { None } };
    let (mut diagnostics, keys, default) = tokio::join!(bucket_check, key_checks, default);
    diagnostics.extend(keys);
    let Some(found) = default else {
        return (prior.map_or(Known::Unknown, |p| p.default_kms_key_arn.clone()), diagnostics);
    };
    match (&found, account) {
        (Ok(Some(key)), Some(a)) => {
            let listed = known_keys(&planned.replica_kms_key_arns);
            diagnostics.extend(default_key_warnings(label, bucket, key, &listed, a));
        }
        (Err(e), _) => diagnostics.push(
            not_checked(label, &format!("the default encryption key of bucket {bucket}"), e)
                .at(AttributePath::attr("bucket")),
        ),
        _ => {}
    }
    (default_key_value(&found), diagnostics)
}

/// Warnings about the bucket's default key: an AWS managed key (no other account may use it), or a customer key
/// that `listed` (the known keys of `replica_kms_key_arns`) leaves out.
pub fn default_key_warnings(
    label: &str,
    bucket: &str,
    key: &DefaultKey,
    listed: &[String],
    account: &str,
) -> Diagnostics {
    let why = "Replicas of unencrypted and SSE-S3 objects are encrypted with the destination bucket's default key \
               (kms:GenerateDataKey by the source account's replication role)";
    match key {
        DefaultKey::None => Diagnostics::new(),
        DefaultKey::AwsManaged(_) => Diagnostic::warning(
            format!("{label}: bucket {bucket} encrypts by default with the AWS managed key aws/s3"),
            format!(
                "{why}, and an AWS managed key cannot be used by another account ({S3_KMS_REPLICATION}): those \
                 replicas will fail. Make a customer managed key of this account the bucket's default key and list \
                 it in replica_kms_key_arns, or use SSE-S3."
            ),
        )
        .at(AttributePath::attr("bucket"))
        .into(),
        DefaultKey::Customer(arn) if listed.contains(arn) => Diagnostics::new(),
        DefaultKey::Customer(arn) => {
            let fix = match arn.parse::<KmsKeyArn>() {
                Ok(k) if k.account.as_str() != account => format!(
                    "The key belongs to account {}: add the statement of provider::crossrepl::\
                     replica_key_policy_statement (is_default_key = true) to its key policy there.",
                    k.account
                ),
                _ => format!("Add {arn} to replica_kms_key_arns."),
            };
            Diagnostic::warning(
                format!("{label}: bucket {bucket}'s default key is not in replica_kms_key_arns"),
                format!("{why}, which its key policy does not allow yet: those replicas will fail. {fix}"),
            )
            .at(AttributePath::attr("replica_kms_key_arns"))
            .into()
        }
    }
}

/// Plan-time checks of the known keys of `planned`'s `replica_kms_key_arns` that `prior` did not list: each is a
/// key of `account` in the provider's region (the bucket's), and exists, enabled, customer managed, symmetric,
/// for encryption (kms:DescribeKey, concurrently). A read failure skips a check with a warning.
pub async fn check_keys(
    aws: &AwsClients,
    label: &str,
    planned: &DestinationModel,
    prior: Option<&DestinationModel>,
    account: &str,
) -> Diagnostics {
    let before = prior.map(|p| known_keys(&p.replica_kms_key_arns)).unwrap_or_default();
    let new: Vec<String> =
        known_keys(&planned.replica_kms_key_arns).into_iter().filter(|k| !before.contains(k)).collect();
    let checks = join_all(new.iter().map(|key| check_key(aws, label, key, account)));
    Diagnostics(checks.await.into_iter().flatten().collect())
}

async fn check_key(aws: &AwsClients, label: &str, key: &str, account: &str) -> Option<Diagnostic> {
    let wrong = |summary: String, detail: String| {
        Some(Diagnostic::error(format!("{label}: {summary}"), detail).at(AttributePath::attr("replica_kms_key_arns")))
    };
    // A key that is not a key ARN is the schema validator's to report.
    let arn: KmsKeyArn = key.parse().ok()?;
    if arn.account.as_str() != account {
        return wrong(
            format!("KMS key {key} belongs to account {}", arn.account),
            format!(
                "replica_kms_key_arns lists keys of this provider block's account ({account}) only, whose key \
                 policies crossrepl changes; the policy of {key} must be changed in account {}. There, add the \
                 statement of provider::crossrepl::replica_key_policy_statement to it, and remove the key from \
                 replica_kms_key_arns.",
                arn.account
            ),
        );
    }
    if arn.region != aws.region {
        return wrong(
            format!("KMS key {key} is in {}, bucket in {}", arn.region, aws.region),
            format!(
                "S3 encrypts replicas only with a key of the destination bucket's region ({S3_KMS_REPLICATION}). \
                 Use a key in {}.",
                aws.region
            ),
        );
    }
    let info = match kms::describe_key(aws, key).await {
        Ok(Some(info)) => info,
        Ok(None) => {
            return wrong(
                format!("KMS key {key} does not exist"),
                "Create it first, or correct the ARN in replica_kms_key_arns.".into(),
            );
        }
        Err(e) => {
            return Some(
                not_checked(label, &format!("KMS key {key}"), &e).at(AttributePath::attr("replica_kms_key_arns")),
            );
        }
    };
    key_problem(&info).and_then(|(summary, detail)| wrong(format!("KMS key {key} {summary}"), detail))
}

/// What makes a key unusable for replicas, as (summary, what to do).
fn key_problem(k: &kms::KeyInfo) -> Option<(String, String)> {
    if k.aws_managed {
        let detail = format!(
            "Its key policy cannot be changed and no other account may use it ({S3_KMS_REPLICATION}). Use a customer managed key."
        );
        return Some(("is an AWS managed key".into(), detail));
    }
    if k.state != "Enabled" {
        let detail =
            "Replicas cannot be encrypted with it. Enable it (kms:EnableKey), or list another key.".to_string();
        return Some((format!("is {}", k.state), detail));
    }
    if k.spec != "SYMMETRIC_DEFAULT" || k.usage != "ENCRYPT_DECRYPT" {
        let detail = format!(
            "S3 uses only symmetric encryption keys ({S3_SYMMETRIC_ONLY}). List a key with key spec SYMMETRIC_DEFAULT and key usage ENCRYPT_DECRYPT."
        );
        return Some((format!("is not a symmetric encryption key ({}, {})", k.spec, k.usage), detail));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:222222222222:key/1234abcd";

    fn key(state: &str, spec: &str, usage: &str, aws_managed: bool) -> kms::KeyInfo {
        kms::KeyInfo { arn: KEY.into(), state: state.into(), spec: spec.into(), usage: usage.into(), aws_managed }
    }

    #[test]
    fn only_enabled_customer_symmetric_encryption_keys_are_usable() {
        assert_eq!(key_problem(&key("Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", false)), None);
        let problem = |k| key_problem(&k).map(|(summary, _)| summary).unwrap_or_default();
        assert_eq!(problem(key("Disabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", false)), "is Disabled");
        assert_eq!(
            problem(key("PendingDeletion", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", false)),
            "is PendingDeletion"
        );
        assert!(problem(key("Enabled", "RSA_2048", "ENCRYPT_DECRYPT", false)).contains("not a symmetric"));
        assert!(problem(key("Enabled", "SYMMETRIC_DEFAULT", "GENERATE_VERIFY_MAC", false)).contains("not a symmetric"));
        assert_eq!(problem(key("Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", true)), "is an AWS managed key");
    }

    #[test]
    fn default_key_warnings_name_what_to_do() {
        let warn = |k: &DefaultKey, listed: &[String]| default_key_warnings("d", "dst", k, listed, "222222222222");
        assert!(warn(&DefaultKey::None, &[]).is_empty());
        let managed = warn(&DefaultKey::AwsManaged(None), &[]);
        assert_eq!(managed.0[0].attribute, Some(AttributePath::attr("bucket")));
        assert!(managed.0[0].detail.contains("cannot be used by another account"), "{:?}", managed.0);
        let ours = DefaultKey::Customer(KEY.into());
        assert!(warn(&ours, &[KEY.to_string()]).is_empty());
        let unlisted = warn(&ours, &[]);
        assert_eq!(unlisted.0[0].attribute, Some(AttributePath::attr("replica_kms_key_arns")));
        assert!(unlisted.0[0].detail.contains(&format!("Add {KEY} to replica_kms_key_arns")), "{:?}", unlisted.0);
        let theirs = warn(&DefaultKey::Customer("arn:aws:kms:us-east-1:333333333333:key/k".into()), &[]);
        assert!(theirs.0[0].detail.contains("account 333333333333") && theirs.0[0].detail.contains("is_default_key"));
    }

    #[test]
    fn the_default_key_value_is_unknown_only_when_it_cannot_be_read() {
        assert_eq!(default_key_value(&Ok(Some(DefaultKey::None))), Known::Null);
        assert_eq!(default_key_value(&Ok(Some(DefaultKey::AwsManaged(None)))), Known::Null);
        assert_eq!(default_key_value(&Ok(Some(DefaultKey::Customer(KEY.into())))), Known::Value(KEY.to_string()));
        assert_eq!(default_key_value(&Ok(None)), Known::Unknown);
        let denied = crate::aws::AwsError::local(
            "s3",
            "GetBucketEncryption",
            "bucket dst",
            "no",
            crate::aws::ErrorKind::AccessDenied,
        );
        assert_eq!(default_key_value(&Err(denied)), Known::Unknown);
    }
}
