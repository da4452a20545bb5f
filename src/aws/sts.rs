//! AWS STS: who the configured credentials are.

use super::AwsClients;
use super::error::AwsError;

/// The 12-digit account id of the caller (sts:GetCallerIdentity, which needs no permission).
pub async fn caller_account(aws: &AwsClients) -> Result<String, AwsError> {
    let out = aws
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("sts", "GetCallerIdentity", "the provider's credentials", e))?;
    out.account.filter(|a| !a.is_empty()).ok_or_else(|| {
        let what = "the provider's credentials";
        AwsError::local("sts", "GetCallerIdentity", what, "the answer named no account", super::ErrorKind::Other)
    })
}
