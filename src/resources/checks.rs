//! What both resources check and say: attribute validators they share, and messages needed in more than one place.

use framework::validator::{self, AnyValidator};
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use crate::aws::{AwsError, ErrorKind, s3};
use crate::domain::arn::{BucketName, KmsAliasArn, KmsKeyArn};
use crate::retry::RetryError;

/// A bucket-name attribute, reported with `summary`.
pub fn bucket_name(summary: &'static str) -> AnyValidator {
    validator::string(summary, "an S3 bucket name.", |name| name.parse::<BucketName>().map(|_| ()))
}

/// A KMS key ARN, not an alias: IAM and key policies need the key's own ARN.
pub fn kms_key_arn(arn: &str) -> Result<(), String> {
    arn.parse::<KmsKeyArn>()
        .map(|_| ())
        .map_err(|why| format!("{arn:?} is not usable here: {why}. Give the key ARN, e.g. aws_kms_key.<name>.arn."))
}

/// A key ARN, or an alias ARN of a customer managed key (where S3 takes one and crossrepl resolves it).
pub fn kms_key_or_alias_arn(arn: &str) -> Result<(), String> {
    if arn.contains(":alias/") {
        return arn.parse::<KmsAliasArn>().map(|_| ()).map_err(|why| {
            format!("{arn:?} is not usable here: {why}. Give the alias ARN, e.g. aws_kms_alias.<name>.arn.")
        });
    }
    kms_key_arn(arn)
}

/// An error diagnostic for a failed AWS call made for `resource` (e.g. `crossrepl_source "acme-data"`).
pub fn aws_diag(resource: &str, step: &str, e: &AwsError) -> Diagnostic {
    Diagnostic::error(format!("{resource}: {step} failed"), e.with_advice())
}

/// What plan cannot check without the provider block's account id (sts:GetCallerIdentity).
pub const ACCOUNT_CHECKS: &str =
    "the account (bucket owner, KMS keys, existing role, policy and replication configuration)";

/// A plan-time check that could not run, as a warning instead of silence: what was not checked and why. Apply
/// does what it needs regardless, and fails there if the cause remains.
pub fn not_checked(resource: &str, what: &str, e: &AwsError) -> Diagnostic {
    Diagnostic::warning(
        format!("{resource}: {what} not checked at plan time"),
        format!(
            "The read-only check could not run: {}\n\nPlan goes on without it; apply fails if the problem remains.",
            e.with_advice()
        ),
    )
}

/// A plan-time read: its value when it was made and answered, None when it was not made or found nothing (a
/// missing policy or bucket occupies nothing; the bucket check reports a missing bucket); any other failure adds a
/// warning that its check did not run.
pub fn plan_read<T>(ds: &mut Diagnostics, label: &str, what: &str, read: Option<Result<T, AwsError>>) -> Option<T> {
    match read? {
        Ok(v) => Some(v),
        Err(e) if e.kind == ErrorKind::NotFound => None,
        Err(e) => {
            ds.push(not_checked(label, what, &e));
            None
        }
    }
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

/// The bucket a resource manages does not exist (at apply: an error).
pub fn bucket_not_found(resource: &str, bucket: &str) -> Diagnostic {
    Diagnostic::error(
        format!("{resource}: bucket not found"),
        format!(
            "Bucket {bucket} does not exist or is not visible to this provider block's account. Create it first \
             (crossrepl never creates or deletes buckets), or check the provider's credentials and region."
        ),
    )
    .at(AttributePath::attr("bucket"))
}

/// Versioning is off or suspended and `enable_versioning = false` forbids turning it on.
pub fn versioning_off(resource: &str, bucket: &str, state: s3::Versioning) -> Diagnostic {
    let state = if state == s3::Versioning::Suspended { "suspended" } else { "off" };
    Diagnostic::error(
        format!("{resource}: versioning is {state} on bucket {bucket}"),
        "Replication needs versioning, and enable_versioning = false forbids turning it on. Enable versioning on \
         the bucket, or set enable_versioning = true.",
    )
    .at(AttributePath::attr("enable_versioning"))
}
