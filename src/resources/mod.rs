//! The managed resource types, one file each, and what they share: per-bucket locks, ARNs and error reporting.

pub mod destination;
pub mod source;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use tfplugin::{AttributePath, Diagnostic, Diagnostics, Value};

use crate::aws::{AwsClients, AwsError, s3};
use crate::retry::RetryError;

/// One async lock per bucket: every bucket-policy read-modify-write in this process holds it, because S3
/// bucket policies are last-writer-wins. (OpenTofu and Terraform run one provider process per provider block,
/// so all resources writing through one account's block share these locks.)
pub async fn lock_bucket(bucket: &str) -> tokio::sync::OwnedMutexGuard<()> {
    static LOCKS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);
    let lock = LOCKS.lock().unwrap_or_else(|e| e.into_inner()).entry(bucket.to_string()).or_default().clone();
    lock.lock_owned().await
}

/// The AWS partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// `arn:<partition>:s3:::<bucket>`
pub fn bucket_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

/// `arn:<partition>:iam::<account>:role<path><name>`
pub fn role_arn(partition: &str, account: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role{path}{name}")
}

/// `arn:<partition>:iam::<account>:policy<path><name>`
pub fn policy_arn(partition: &str, account: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:policy{path}{name}")
}

/// An error diagnostic for a failed AWS call made for `resource` (e.g. `crossrepl_source "acme-data"`).
pub fn aws_diag(resource: &str, step: &str, e: &AwsError) -> Diagnostic {
    Diagnostic::error(format!("{resource}: {step} failed"), e.with_advice())
}

/// An error diagnostic for a retried call that gave up or was interrupted.
pub fn retry_diag(resource: &str, step: &str, e: &RetryError, hint: &str) -> Diagnostic {
    match e {
        RetryError::Stopped => Diagnostic::error(
            format!("{resource}: {step} interrupted"),
            "The engine asked the provider to stop. What was created so far is recorded in the state; apply again to finish.",
        ),
        RetryError::Failed { error, .. } => {
            Diagnostic::error(format!("{resource}: {step} failed"), format!("{e}.\n\n{hint}\n\n{}", error.advice()))
        }
    }
}

/// Plan-time check of the bucket a resource manages: it exists, belongs to this provider block's `account`, and
/// is versioned unless `enable_versioning` lets apply turn versioning on. One round of concurrent reads.
///
/// A missing bucket is a warning, not an error: another resource of the same configuration may create it, and
/// its name is known at plan time all the same. Read failures skip the check (apply reports them with context).
pub async fn preflight_bucket(
    client: &AwsClients,
    resource: &str,
    account: &str,
    bucket: &str,
    enable_versioning: bool,
) -> Diagnostics {
    let at = AttributePath::attr("bucket");
    match s3::ownership(&client.s3, bucket, account).await {
        Ok(s3::Ownership::Missing) => Diagnostic::warning(
            format!("{resource}: bucket {bucket} does not exist"),
            format!(
                "crossrepl never creates buckets. If another resource in this configuration creates {bucket}, \
                 ignore this; otherwise create it in account {account} first, or apply will fail."
            ),
        )
        .at(at)
        .into(),
        Ok(s3::Ownership::Foreign) => Diagnostic::error(
            format!("{resource}: bucket {bucket} is not in account {account}"),
            format!(
                "Bucket {bucket} exists but does not belong to this provider block's account {account} (or these \
                 credentials may not read its versioning). Use the provider block of the account that owns it."
            ),
        )
        .at(at)
        .into(),
        Ok(s3::Ownership::Owned(v)) if v != s3::Versioning::Enabled && !enable_versioning => Diagnostic::error(
            format!(
                "{resource}: versioning is {} on bucket {bucket}",
                if v == s3::Versioning::Off { "off" } else { "suspended" }
            ),
            "Replication needs versioning, and enable_versioning = false forbids turning it on. Enable versioning \
             on the bucket, or set enable_versioning = true.",
        )
        .at(AttributePath::attr("enable_versioning"))
        .into(),
        Ok(_) => Diagnostics::new(),
        Err(e) => {
            tracing::debug!(bucket, error = %e, "plan-time bucket check skipped");
            Diagnostics::new()
        }
    }
}

/// A string attribute of an object value, if known and set.
pub fn str_attr<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_partitions() {
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(bucket_arn("aws", "b"), "arn:aws:s3:::b");
        assert_eq!(role_arn("aws", "111111111111", "/x/", "r"), "arn:aws:iam::111111111111:role/x/r");
        assert_eq!(policy_arn("aws", "111111111111", "/", "p"), "arn:aws:iam::111111111111:policy/p");
    }

    #[tokio::test]
    async fn bucket_locks_serialise_per_bucket() {
        let a = lock_bucket("lock-test-a").await;
        // Another bucket is independent.
        let _b = tokio::time::timeout(std::time::Duration::from_millis(100), lock_bucket("lock-test-b")).await.unwrap();
        // The same bucket waits until the first guard is gone.
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), lock_bucket("lock-test-a")).await.is_err());
        drop(a);
        tokio::time::timeout(std::time::Duration::from_millis(100), lock_bucket("lock-test-a")).await.unwrap();
    }
}
