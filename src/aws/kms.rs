//! AWS KMS calls crossrepl makes: what a key is (to check a replica key at plan time and resolve a bucket's
//! default key), and the key policy it merges a statement into.

use aws_sdk_kms::types::{KeyManagerType, KeyMetadata};

use super::AwsClients;
use super::error::AwsError;

/// The only key policy name KMS knows
/// (https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html).
const POLICY_NAME: &str = "default";

/// Largest key policy KMS accepts, in bytes ("Up to 32 kilobytes (32,768 bytes)",
/// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html); PutKeyPolicy answers
/// `LimitExceededException` beyond it.
pub const MAX_KEY_POLICY_BYTES: usize = 32_768;

fn key_res(key: &str) -> String {
    format!("KMS key {key}")
}

/// What crossrepl needs to know of a KMS key (kms:DescribeKey).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key ARN (also when it was asked for by alias or id).
    pub arn: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, ...
    pub spec: String,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, ...
    pub usage: String,
    /// Whether AWS manages the key (`aws/s3` and the like), which no other account may use.
    pub aws_managed: bool,
}

fn key_info(m: &KeyMetadata) -> KeyInfo {
    let text = |v: Option<&str>| v.unwrap_or_default().to_string();
    KeyInfo {
        arn: text(m.arn()),
        state: text(m.key_state().map(|s| s.as_str())),
        spec: text(m.key_spec().map(|s| s.as_str())),
        usage: text(m.key_usage().map(|u| u.as_str())),
        aws_managed: m.key_manager() == Some(&KeyManagerType::Aws),
    }
}

/// The key `key_id` (key ARN, alias ARN, key id or alias name), or `None` when no such key exists
/// (kms:DescribeKey). Never give it a predefined AWS alias (`alias/aws/...`): KMS then creates that AWS managed key
/// (https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html).
pub async fn describe_key(aws: &AwsClients, key_id: &str) -> Result<Option<KeyInfo>, AwsError> {
    match aws.kms.describe_key().key_id(key_id).send().await {
        Ok(out) => Ok(out.key_metadata().map(key_info)),
        Err(e) => {
            let err = AwsError::from_sdk("kms", "DescribeKey", key_res(key_id), e);
            if err.is_code("NotFoundException") { Ok(None) } else { Err(err) }
        }
    }
}

/// The key policy, or `None` when the key no longer exists (kms:GetKeyPolicy).
pub async fn key_policy(aws: &AwsClients, key_arn: &str) -> Result<Option<String>, AwsError> {
    match aws.kms.get_key_policy().key_id(key_arn).policy_name(POLICY_NAME).send().await {
        Ok(out) => Ok(out.policy().map(str::to_string).filter(|p| !p.trim().is_empty())),
        Err(e) => {
            let err = AwsError::from_sdk("kms", "GetKeyPolicy", key_res(key_arn), e);
            if err.is_code("NotFoundException") { Ok(None) } else { Err(err) }
        }
    }
}

/// Replaces the key policy (kms:PutKeyPolicy), never bypassing KMS's lockout safety check.
pub async fn put_key_policy(aws: &AwsClients, key_arn: &str, policy: &str) -> Result<(), AwsError> {
    aws.kms
        .put_key_policy()
        .key_id(key_arn)
        .policy_name(POLICY_NAME)
        .policy(policy)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("kms", "PutKeyPolicy", key_res(key_arn), e))?;
    Ok(())
}
