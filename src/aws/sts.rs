//! AWS STS: who the configured credentials are.

use std::fmt;

/// An STS call that failed, with what to do about it.
#[derive(Debug)]
pub struct StsError {
    /// The API operation.
    pub operation: &'static str,
    /// The error as the SDK reports it, with its cause chain.
    pub message: String,
}

impl fmt::Display for StsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sts:{} failed: {}. Check the provider's credentials (access_key/secret_key, profile, assume_role, or \
             the AWS_* environment variables) and the sts endpoint.",
            self.operation, self.message
        )
    }
}

impl std::error::Error for StsError {}

/// The 12-digit account id of the caller (sts:GetCallerIdentity, which needs no permission).
pub async fn caller_account(client: &aws_sdk_sts::Client) -> Result<String, StsError> {
    let operation = "GetCallerIdentity";
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| StsError { operation, message: crate::error_chain(&e) })?;
    out.account
        .filter(|a| !a.is_empty())
        .ok_or_else(|| StsError { operation, message: "no account in the answer".into() })
}
