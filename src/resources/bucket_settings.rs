//! The bucket settings replication depends on, read at plan time and on refresh: Object Lock (a locked source
//! needs a locked destination) and the default encryption's key (a destination's default key encrypts replicas of
//! objects that are not SSE-KMS; a source's makes new objects SSE-KMS, which a rule must select to replicate).

use framework::Known;

use crate::aws::{AwsClients, AwsError, kms, s3};
use crate::domain::arn::KmsKeyArn;

/// A bucket's Object Lock and default encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSettings {
    /// Object Lock is enabled.
    pub object_lock: bool,
    /// The key of the default encryption.
    pub default_key: DefaultKey,
}

impl BucketSettings {
    /// Whether new objects are SSE-KMS encrypted by default (under any key, the AWS managed `aws/s3` included).
    pub fn default_sse_kms(&self) -> bool {
        self.default_key != DefaultKey::None
    }
}

/// Reads the bucket's Object Lock and default encryption settings (concurrently; kms:DescribeKey may follow);
/// `None` when the bucket does not exist. The Object Lock read is kept for `verify`'s check of the same plan.
pub async fn read(aws: &AwsClients, bucket: &str) -> Result<Option<BucketSettings>, AwsError> {
    let (lock, key) = tokio::join!(s3::object_lock_checked(aws, bucket), default_key(aws, bucket));
    let Some(default_key) = key? else { return Ok(None) };
    Ok(Some(BucketSettings { object_lock: lock?.enabled, default_key }))
}

/// The key a bucket's default encryption names, as far as crossrepl can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultKey {
    /// SSE-S3 or no default encryption: no key.
    None,
    /// An AWS managed key (`aws/s3`); its ARN when the bucket names it by ARN or key id.
    AwsManaged(Option<String>),
    /// A customer managed key.
    Customer(String),
}

impl DefaultKey {
    /// The key ARN, when known.
    pub fn arn(&self) -> Option<&str> {
        match self {
            DefaultKey::AwsManaged(arn) => arn.as_deref(),
            DefaultKey::Customer(arn) => Some(arn),
            DefaultKey::None => None,
        }
    }
}

/// Whether `id` names a predefined AWS alias (`alias/aws/...`), which only AWS managed keys carry
/// (https://docs.aws.amazon.com/kms/latest/developerguide/alias-create.html).
fn is_aws_alias(id: &str) -> bool {
    id.starts_with("alias/aws/") || (id.starts_with("arn:") && id.contains(":alias/aws/"))
}

/// The bucket's default key (s3:GetEncryptionConfiguration, then kms:DescribeKey to resolve an alias or key id to
/// the key ARN and to tell an AWS managed key), or `None` when the bucket does not exist. A predefined AWS alias
/// is not described: DescribeKey would create that AWS managed key. A key ARN that cannot be described (another
/// account's key) counts as a customer key.
pub async fn default_key(aws: &AwsClients, bucket: &str) -> Result<Option<DefaultKey>, AwsError> {
    let id = match s3::default_encryption(aws, bucket).await? {
        None => return Ok(None),
        Some(s3::DefaultEncryption::S3Managed) => return Ok(Some(DefaultKey::None)),
        Some(s3::DefaultEncryption::Kms(None)) => return Ok(Some(DefaultKey::AwsManaged(None))),
        Some(s3::DefaultEncryption::Kms(Some(id))) if is_aws_alias(&id) => {
            return Ok(Some(DefaultKey::AwsManaged(None)));
        }
        Some(s3::DefaultEncryption::Kms(Some(id))) => id,
    };
    match kms::describe_key(aws, &id).await {
        Ok(Some(k)) if k.aws_managed => Ok(Some(DefaultKey::AwsManaged(Some(k.arn)))),
        Ok(Some(k)) => Ok(Some(DefaultKey::Customer(k.arn))),
        _ if id.parse::<KmsKeyArn>().is_ok() => Ok(Some(DefaultKey::Customer(id))),
        Ok(None) => Ok(Some(DefaultKey::None)),
        Err(e) => Err(e),
    }
}

/// `default_kms_key_arn` as read now: the key ARN, null without one, unknown when the bucket does not exist yet.
pub fn default_key_value(found: &Result<Option<DefaultKey>, AwsError>) -> Known<String> {
    match found {
        Ok(Some(k)) => k.arn().map_or(Known::Null, |a| Known::Value(a.to_string())),
        Ok(None) | Err(_) => Known::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_aws_aliases_are_recognised_without_a_call() {
        assert!(is_aws_alias("alias/aws/s3"));
        assert!(is_aws_alias("arn:aws:kms:us-east-1:222222222222:alias/aws/s3"));
        assert!(!is_aws_alias("alias/replicas"));
        assert!(!is_aws_alias("arn:aws:kms:us-east-1:222222222222:alias/awsome"));
        assert!(!is_aws_alias("arn:aws:kms:us-east-1:222222222222:key/1234abcd"));
    }
}
