//! Amazon S3 calls crossrepl makes: versioning, bucket policy and replication configuration of one bucket, and
//! the bucket settings replication depends on (Object Lock, default encryption, region).

use aws_sdk_s3::types::{BucketVersioningStatus, ObjectLockEnabled, ServerSideEncryption, VersioningConfiguration};

use super::AwsClients;
use super::error::{AwsError, ErrorKind};
use super::propagation::PUT_REPLICATION;
use super::s3_replication;
use crate::domain::replication::ReplicationConfig;

fn bucket_res(bucket: &str) -> String {
    format!("bucket {bucket}")
}

/// The versioning state of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Versioning {
    /// Never enabled.
    Off,
    /// Enabled.
    Enabled,
    /// Was enabled, now suspended.
    Suspended,
}

/// The bucket's versioning state, or `None` when the bucket does not exist (s3:GetBucketVersioning). This one
/// call serves as the existence check too, which saves a round trip on every create and refresh.
pub async fn versioning(aws: &AwsClients, bucket: &str) -> Result<Option<Versioning>, AwsError> {
    let out = match aws.s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) => {
            let err = AwsError::from_sdk("s3", "GetBucketVersioning", bucket_res(bucket), e);
            return if err.is_code("NoSuchBucket") { Ok(None) } else { Err(err) };
        }
    };
    Ok(Some(versioning_of(out.status())))
}

/// [`versioning`], kept for the apply that follows in this process ([`versioning_kept`]).
pub async fn versioning_checked(aws: &AwsClients, bucket: &str) -> Result<Option<Versioning>, AwsError> {
    let read = aws.handed_read("GetBucketVersioning", bucket, versioning(aws, bucket), Option::is_some);
    aws.recent.checked("GetBucketVersioning", bucket, read).await
}

/// What [`versioning_checked`] read moments ago in this process, taken out (see [`super::recent`]).
pub fn versioning_kept(aws: &AwsClients, bucket: &str) -> Option<Option<Versioning>> {
    aws.recent.take("GetBucketVersioning", bucket)
}

fn versioning_of(status: Option<&BucketVersioningStatus>) -> Versioning {
    match status {
        Some(BucketVersioningStatus::Enabled) => Versioning::Enabled,
        Some(BucketVersioningStatus::Suspended) => Versioning::Suspended,
        _ => Versioning::Off,
    }
}

/// Who a bucket belongs to and where it is, as far as these credentials can tell.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Ownership {
    /// No bucket of that name exists.
    Missing,
    /// It exists but is not the caller's account's (or the caller may not see it); its region when S3 said.
    Foreign(Option<String>),
    /// The caller's account owns it; its region.
    Owned(Option<String>),
}

/// Whether `account` owns `bucket`, and its region, in one s3:HeadBucket with `ExpectedBucketOwner`: S3 answers
/// 403 when the bucket belongs to another account ("Verifying bucket ownership with bucket owner condition",
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html>), 404 when no bucket has
/// the name, and names the region in `x-amz-bucket-region` either way
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html>).
pub async fn ownership(aws: &AwsClients, bucket: &str, account: &str) -> Result<Ownership, AwsError> {
    let exists = |o: &Ownership| *o != Ownership::Missing;
    Ok(aws.handed_read(&format!("HeadBucket {account}"), bucket, head_owned(aws, bucket, account), exists).await?.0)
}

async fn head_owned(aws: &AwsClients, bucket: &str, account: &str) -> Result<Ownership, AwsError> {
    match aws.s3.head_bucket().bucket(bucket).expected_bucket_owner(account).send().await {
        Ok(out) => Ok(Ownership::Owned(out.bucket_region().map(str::to_string))),
        Err(e) => {
            let region = e.raw_response().and_then(|r| r.headers().get("x-amz-bucket-region")).map(str::to_string);
            match e.raw_response().map(|r| r.status().as_u16()) {
                Some(404) => Ok(Ownership::Missing),
                Some(403) => Ok(Ownership::Foreign(region)),
                _ => Err(AwsError::from_sdk("s3", "HeadBucket", bucket_res(bucket), e)),
            }
        }
    }
}

/// The region a bucket lives in, or `None` when no bucket has that name (s3:HeadBucket). The region is read from
/// the `x-amz-bucket-region` header, which S3 sends even when it denies access, so this works for buckets of
/// other accounts too.
pub async fn bucket_region(aws: &AwsClients, bucket: &str) -> Result<Option<String>, AwsError> {
    Ok(aws.handed_read("HeadBucket", bucket, head_region(aws, bucket), Option::is_some).await?.0)
}

async fn head_region(aws: &AwsClients, bucket: &str) -> Result<Option<String>, AwsError> {
    match aws.s3.head_bucket().bucket(bucket).send().await {
        Ok(out) => Ok(out.bucket_region().map(str::to_string)),
        Err(e) => {
            let header = e.raw_response().and_then(|r| r.headers().get("x-amz-bucket-region")).map(str::to_string);
            let status = e.raw_response().map(|r| r.status().as_u16());
            match (header, status) {
                (Some(region), _) => Ok(Some(region)),
                (None, Some(404)) => Ok(None),
                _ => Err(AwsError::from_sdk("s3", "HeadBucket", bucket_res(bucket), e)),
            }
        }
    }
}

/// Whether Object Lock is enabled on a bucket (s3:GetBucketObjectLockConfiguration); S3 answers
/// `ObjectLockConfigurationNotFoundError` for a bucket without it.
pub async fn object_lock_enabled(aws: &AwsClients, bucket: &str) -> Result<bool, AwsError> {
    Ok(object_lock(aws, bucket).await?.enabled)
}

/// A bucket's Object Lock configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectLock {
    /// Object Lock is enabled.
    pub enabled: bool,
    /// The default retention new object versions get, as `<mode> <n> days|years`, when the bucket sets one.
    pub default_retention: Option<String>,
}

/// The bucket's Object Lock configuration (s3:GetBucketObjectLockConfiguration), with its default retention
/// ("Object Lock configuration", <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ObjectLockRule.html>).
pub async fn object_lock(aws: &AwsClients, bucket: &str) -> Result<ObjectLock, AwsError> {
    Ok(object_lock_aged(aws, bucket).await?.0)
}

/// [`object_lock`] and how long ago it was read (taken over in a plan, see [`AwsClients::handed_read`]).
async fn object_lock_aged(aws: &AwsClients, bucket: &str) -> Result<(ObjectLock, std::time::Duration), AwsError> {
    aws.handed_read("GetObjectLockConfiguration", bucket, read_object_lock(aws, bucket), |_| true).await
}

async fn read_object_lock(aws: &AwsClients, bucket: &str) -> Result<ObjectLock, AwsError> {
    match aws.s3.get_object_lock_configuration().bucket(bucket).send().await {
        Ok(out) => {
            let cfg = out.object_lock_configuration();
            let enabled = cfg.and_then(|c| c.object_lock_enabled()).is_some_and(|e| *e == ObjectLockEnabled::Enabled);
            let default_retention = cfg.and_then(|c| c.rule()).and_then(|r| r.default_retention()).map(|d| {
                let mode = d.mode().map_or("?", |m| m.as_str());
                match (d.days(), d.years()) {
                    (Some(n), _) => format!("{mode} {n} days"),
                    (_, Some(n)) => format!("{mode} {n} years"),
                    _ => mode.to_string(),
                }
            });
            Ok(ObjectLock { enabled, default_retention: default_retention.filter(|_| enabled) })
        }
        Err(e) => {
            let err = AwsError::from_sdk("s3", "GetObjectLockConfiguration", bucket_res(bucket), e);
            if err.is_code("ObjectLockConfigurationNotFoundError") { Ok(ObjectLock::default()) } else { Err(err) }
        }
    }
}

/// [`object_lock`], kept for a later check of the same plan in this process ([`object_lock_kept`]).
pub async fn object_lock_checked(aws: &AwsClients, bucket: &str) -> Result<ObjectLock, AwsError> {
    aws.recent.checked("GetObjectLockConfiguration", bucket, object_lock_aged(aws, bucket)).await
}

/// What [`object_lock_checked`] read moments ago in this process, taken out (see [`super::recent`]).
pub fn object_lock_kept(aws: &AwsClients, bucket: &str) -> Option<ObjectLock> {
    aws.recent.take("GetObjectLockConfiguration", bucket)
}

/// A bucket's default encryption, as far as replicas are concerned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DefaultEncryption {
    /// SSE-S3, or none configured.
    S3Managed,
    /// SSE-KMS or DSSE-KMS with the key as configured (key ARN, key id, alias name or alias ARN); `None` when no
    /// key is named, which means the AWS managed key `aws/s3`
    /// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html).
    Kms(Option<String>),
}

/// The bucket's default encryption, or `None` when the bucket does not exist (s3:GetEncryptionConfiguration).
pub async fn default_encryption(aws: &AwsClients, bucket: &str) -> Result<Option<DefaultEncryption>, AwsError> {
    Ok(aws.handed_read("GetBucketEncryption", bucket, encryption(aws, bucket), Option::is_some).await?.0)
}

async fn encryption(aws: &AwsClients, bucket: &str) -> Result<Option<DefaultEncryption>, AwsError> {
    let out = match aws.s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) => {
            let err = AwsError::from_sdk("s3", "GetBucketEncryption", bucket_res(bucket), e);
            return match err.code.as_deref() {
                Some("NoSuchBucket") => Ok(None),
                Some("ServerSideEncryptionConfigurationNotFoundError") => Ok(Some(DefaultEncryption::S3Managed)),
                _ => Err(err),
            };
        }
    };
    let by_default = out
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().iter().find_map(|r| r.apply_server_side_encryption_by_default()));
    Ok(Some(match by_default {
        Some(d) if matches!(d.sse_algorithm(), ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse) => {
            DefaultEncryption::Kms(d.kms_master_key_id().filter(|k| !k.is_empty()).map(str::to_string))
        }
        _ => DefaultEncryption::S3Managed,
    }))
}

/// Turns versioning on (s3:PutBucketVersioning).
pub async fn enable_versioning(aws: &AwsClients, bucket: &str) -> Result<(), AwsError> {
    aws.touched(bucket);
    let cfg = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    aws.s3
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(cfg)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "PutBucketVersioning", bucket_res(bucket), e))?;
    Ok(())
}

/// The bucket policy as text, or `None` when the bucket has none, or no longer exists (s3:GetBucketPolicy).
pub async fn policy(aws: &AwsClients, bucket: &str) -> Result<Option<String>, AwsError> {
    match aws.s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => Ok(out.policy().map(str::to_string).filter(|p| !p.trim().is_empty())),
        Err(e) => {
            let err = AwsError::from_sdk("s3", "GetBucketPolicy", bucket_res(bucket), e);
            if err.is_code("NoSuchBucketPolicy") || err.is_code("NoSuchBucket") { Ok(None) } else { Err(err) }
        }
    }
}

/// Replaces the bucket policy (s3:PutBucketPolicy).
pub async fn put_policy(aws: &AwsClients, bucket: &str, policy: &str) -> Result<(), AwsError> {
    aws.touched(bucket);
    aws.s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "PutBucketPolicy", bucket_res(bucket), e))?;
    Ok(())
}

/// Deletes the bucket policy (s3:DeleteBucketPolicy).
pub async fn delete_policy(aws: &AwsClients, bucket: &str) -> Result<(), AwsError> {
    aws.touched(bucket);
    aws.s3
        .delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "DeleteBucketPolicy", bucket_res(bucket), e))?;
    Ok(())
}

/// The replication configuration, or `None` when the bucket has none (s3:GetReplicationConfiguration).
pub async fn replication(aws: &AwsClients, bucket: &str) -> Result<Option<ReplicationConfig>, AwsError> {
    match aws.s3.get_bucket_replication().bucket(bucket).send().await {
        Ok(out) => Ok(out.replication_configuration().map(s3_replication::flatten)),
        Err(e) => {
            let err = AwsError::from_sdk("s3", "GetReplicationConfiguration", bucket_res(bucket), e);
            if err.is_code("ReplicationConfigurationNotFoundError") { Ok(None) } else { Err(err) }
        }
    }
}

/// [`replication`], kept for the apply that follows in this process ([`replication_kept`]).
pub async fn replication_checked(aws: &AwsClients, bucket: &str) -> Result<Option<ReplicationConfig>, AwsError> {
    let read = aws.handed_read("GetBucketReplication", bucket, replication(aws, bucket), |_| true);
    aws.recent.checked("GetBucketReplication", bucket, read).await
}

/// What [`replication_checked`] read moments ago in this process, taken out (see [`super::recent`]).
pub fn replication_kept(aws: &AwsClients, bucket: &str) -> Option<Option<ReplicationConfig>> {
    aws.recent.take("GetBucketReplication", bucket)
}

/// Sets the replication configuration (s3:PutReplicationConfiguration, which also needs iam:PassRole).
pub async fn put_replication(aws: &AwsClients, bucket: &str, cfg: &ReplicationConfig) -> Result<(), AwsError> {
    let sdk = s3_replication::expand(cfg)
        .map_err(|e| AwsError::local("s3", PUT_REPLICATION, bucket_res(bucket), e, ErrorKind::Other))?;
    aws.touched(bucket);
    aws.s3
        .put_bucket_replication()
        .bucket(bucket)
        .replication_configuration(sdk)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", PUT_REPLICATION, bucket_res(bucket), e))?;
    Ok(())
}

/// Removes the replication configuration (s3:PutReplicationConfiguration via DeleteBucketReplication).
pub async fn delete_replication(aws: &AwsClients, bucket: &str) -> Result<(), AwsError> {
    aws.touched(bucket);
    aws.s3
        .delete_bucket_replication()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "DeleteBucketReplication", bucket_res(bucket), e))?;
    Ok(())
}
