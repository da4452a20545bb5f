//! Amazon S3 object calls of the replication canary (`verify` on `crossrepl_source`): write one small object,
//! read its replication status, delete that version.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use aws_sdk_s3::types::{ReplicationStatus as SdkStatus, ServerSideEncryption};

use super::AwsClients;
use super::error::AwsError;

fn object_res(bucket: &str, key: &str) -> String {
    format!("object s3://{bucket}/{key}")
}

/// How the canary is encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanaryEncryption {
    /// SSE-S3, asked for explicitly so that a bucket whose default encryption is SSE-KMS does not make it SSE-KMS.
    S3Managed,
    /// SSE-KMS under this key.
    Kms(String),
}

/// Writes the canary object (s3:PutObject, with s3:PutObjectTagging for its tags and kms:GenerateDataKey on an
/// SSE-KMS key); returns its version id.
pub async fn put(
    aws: &AwsClients,
    bucket: &str,
    key: &str,
    tags: &BTreeMap<String, String>,
    encryption: &CanaryEncryption,
) -> Result<String, AwsError> {
    let mut req = aws.s3.put_object().bucket(bucket).key(key).body(ByteStream::from_static(b"crossrepl canary\n"));
    req = match encryption {
        CanaryEncryption::S3Managed => req.server_side_encryption(ServerSideEncryption::Aes256),
        CanaryEncryption::Kms(k) => req.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(k),
    };
    if !tags.is_empty() {
        req = req.tagging(tagging(tags));
    }
    let out = req.send().await.map_err(|e| AwsError::from_sdk("s3", "PutObject", object_res(bucket, key), e))?;
    out.version_id().map(str::to_string).ok_or_else(|| {
        let msg = "S3 returned no version id: versioning is not enabled on the bucket";
        AwsError::local("s3", "PutObject", object_res(bucket, key), msg, super::ErrorKind::Other)
    })
}

/// The `x-amz-tagging` form of `tags`: URL-encoded `key=value` pairs joined by `&`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#AmazonS3-PutObject-request-header-Tagging>).
fn tagging(tags: &BTreeMap<String, String>) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    tags.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The replication status of one version of a source object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No status (yet): S3 has not taken the object up, or no rule selects it.
    None,
    /// Pending, also while S3 retries temporary failures.
    Pending,
    /// Replicated to every destination whose rule selects it.
    Completed,
    /// Failed for at least one destination.
    Failed,
    /// The object is itself a replica.
    Replica,
}

/// The version's replication status, `x-amz-replication-status` of s3:HeadObject ("Getting replication status
/// information", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-status.html>).
pub async fn status(aws: &AwsClients, bucket: &str, key: &str, version: &str) -> Result<Status, AwsError> {
    let out = aws
        .s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "HeadObject", object_res(bucket, key), e))?;
    Ok(match out.replication_status() {
        None => Status::None,
        Some(SdkStatus::Completed | SdkStatus::Complete) => Status::Completed,
        Some(SdkStatus::Failed) => Status::Failed,
        Some(SdkStatus::Replica) => Status::Replica,
        Some(_) => Status::Pending,
    })
}

/// Deletes one version (s3:DeleteObjectVersion). Deleting a specific version is not replicated ("Deleting object
/// versions from a versioning-enabled bucket", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html>;
/// "What isn't replicated", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html>).
pub async fn delete_version(aws: &AwsClients, bucket: &str, key: &str, version: &str) -> Result<(), AwsError> {
    aws.s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3", "DeleteObject", object_res(bucket, key), e))?;
    Ok(())
}

/// The current time as RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    DateTime::from(std::time::SystemTime::now()).fmt(DateTimeFormat::DateTime).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagging_is_url_encoded() {
        let tags = BTreeMap::from([("a b".to_string(), "x&y=z".to_string()), ("k".to_string(), "v".to_string())]);
        assert_eq!(tagging(&tags), "a%20b=x%26y%3Dz&k=v");
    }
}
