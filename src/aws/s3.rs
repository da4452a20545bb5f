//! Amazon S3 calls crossrepl makes: versioning, bucket policy and replication configuration of one bucket.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{BucketVersioningStatus, ReplicationConfiguration, VersioningConfiguration};

use super::error::AwsError;

fn bucket_res(bucket: &str) -> String {
    format!("bucket {bucket}")
}

/// The versioning state of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
pub async fn versioning(client: &Client, bucket: &str) -> Result<Option<Versioning>, AwsError> {
    let out = match client.get_bucket_versioning().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) => {
            let err = AwsError::from_sdk("s3", "GetBucketVersioning", bucket_res(bucket), e);
            return if err.is_code("NoSuchBucket") { Ok(None) } else { Err(err) };
        }
    };
    Ok(Some(match out.status() {
        Some(BucketVersioningStatus::Enabled) => Versioning::Enabled,
        Some(BucketVersioningStatus::Suspended) => Versioning::Suspended,
        _ => Versioning::Off,
    }))
}

/// Turns versioning on (s3:PutBucketVersioning).
pub async fn enable_versioning(client: &Client, bucket: &str) -> Result<(), AwsError> {
    let cfg = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(cfg)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "PutBucketVersioning", bucket_res(bucket), e))?;
    Ok(())
}

/// The bucket policy as text, or `None` when the bucket has none, or no longer exists (s3:GetBucketPolicy).
pub async fn policy(client: &Client, bucket: &str) -> Result<Option<String>, AwsError> {
    match client.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => Ok(out.policy().map(str::to_string).filter(|p| !p.trim().is_empty())),
        Err(e) => {
            let err = AwsError::from_sdk("s3", "GetBucketPolicy", bucket_res(bucket), e);
            if err.is_code("NoSuchBucketPolicy") || err.is_code("NoSuchBucket") { Ok(None) } else { Err(err) }
        }
    }
}

/// Replaces the bucket policy (s3:PutBucketPolicy).
pub async fn put_policy(client: &Client, bucket: &str, policy: &str) -> Result<(), AwsError> {
    client
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "PutBucketPolicy", bucket_res(bucket), e))?;
    Ok(())
}

/// Deletes the bucket policy (s3:DeleteBucketPolicy).
pub async fn delete_policy(client: &Client, bucket: &str) -> Result<(), AwsError> {
    client
        .delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "DeleteBucketPolicy", bucket_res(bucket), e))?;
    Ok(())
}

/// The replication configuration, or `None` when the bucket has none (s3:GetReplicationConfiguration).
pub async fn replication(client: &Client, bucket: &str) -> Result<Option<ReplicationConfiguration>, AwsError> {
    match client.get_bucket_replication().bucket(bucket).send().await {
        Ok(out) => Ok(out.replication_configuration().cloned()),
        Err(e) => {
            let err = AwsError::from_sdk("s3", "GetReplicationConfiguration", bucket_res(bucket), e);
            if err.is_code("ReplicationConfigurationNotFoundError") { Ok(None) } else { Err(err) }
        }
    }
}

/// Sets the replication configuration (s3:PutReplicationConfiguration, which also needs iam:PassRole).
pub async fn put_replication(client: &Client, bucket: &str, cfg: ReplicationConfiguration) -> Result<(), AwsError> {
    client
        .put_bucket_replication()
        .bucket(bucket)
        .replication_configuration(cfg)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "PutReplicationConfiguration", bucket_res(bucket), e))?;
    Ok(())
}

/// Removes the replication configuration (s3:PutReplicationConfiguration via DeleteBucketReplication).
pub async fn delete_replication(client: &Client, bucket: &str) -> Result<(), AwsError> {
    client
        .delete_bucket_replication()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "DeleteBucketReplication", bucket_res(bucket), e))?;
    Ok(())
}
