//! The bucket settings replication depends on, read at plan time and on refresh: Object Lock (a locked source
//! needs a locked destination) and default SSE-KMS encryption (a destination's default key encrypts replicas of
//! objects that are not SSE-KMS; a source's makes new objects SSE-KMS, which a rule must select to replicate).

use framework::Known;

use crate::aws::{AwsClients, AwsError, s3};
use crate::domain::arn::{Partition, default_key_arn};
use crate::resources::grant::GrantModel;

/// A bucket's Object Lock and default encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSettings {
    /// Object Lock is enabled.
    pub object_lock: bool,
    /// New objects are SSE-KMS encrypted by default (under any key, the AWS managed `aws/s3` included).
    pub default_sse_kms: bool,
    /// The default SSE-KMS key's ARN, when the default encryption names a key by ARN or id.
    pub default_kms_key_arn: Option<String>,
}

/// Reads the bucket's Object Lock and default encryption settings (two concurrent calls).
pub async fn read(aws: &AwsClients, bucket: &str, account: &str) -> Result<BucketSettings, AwsError> {
    let (lock, kms) = tokio::join!(s3::object_lock_enabled(aws, bucket), s3::default_kms(aws, bucket));
    let (lock, kms) = (lock?, kms?);
    let partition = Partition::of_region(&aws.region);
    let key = kms.as_ref().and_then(|k| k.key.as_deref());
    let default_kms_key_arn = key.and_then(|key| default_key_arn(key, partition, &aws.region, account));
    Ok(BucketSettings { object_lock: lock, default_sse_kms: kms.is_some(), default_kms_key_arn })
}

/// The settings a planned or prior grant recorded, when they are known there (a grant records a default SSE-KMS
/// key, not SSE-KMS under the AWS managed key).
pub fn recorded(grant: &Known<GrantModel>) -> Option<BucketSettings> {
    let g = grant.known()?;
    let default_kms_key_arn = match &g.default_kms_key_arn {
        Known::Unknown => return None,
        other => other.known().cloned(),
    };
    let default_sse_kms = default_kms_key_arn.is_some();
    Some(BucketSettings { object_lock: *g.object_lock.known()?, default_sse_kms, default_kms_key_arn })
}
