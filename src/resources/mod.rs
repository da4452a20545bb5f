//! The managed resource types, one folder each (schema, model, and the resource as observe → diff → act), and
//! what they share: attribute checks and messages, the plan-time bucket check, and the merge of owned
//! statements into a resource policy that others write too.

pub mod bucket_settings;
pub mod checks;
pub mod destination;
pub mod grant;
pub mod merged_policy;
pub mod source;

use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use crate::aws::{AwsClients, AwsError, s3};

/// Turns versioning on unless it is on already; `Ok(false)` when the bucket does not exist. One
/// GetBucketVersioning doubles as the existence check. With `enable` false, versioning that is off is an error.
pub async fn ensure_versioning(aws: &AwsClients, label: &str, bucket: &str, enable: bool) -> Result<bool, Diagnostic> {
    let failed = |e: AwsError| {
        checks::aws_diag(label, &format!("enabling versioning on {bucket}"), &e)
            .at(AttributePath::attr("enable_versioning"))
    };
    match s3::versioning(aws, bucket).await.map_err(failed)? {
        None => Ok(false),
        Some(s3::Versioning::Enabled) => Ok(true),
        Some(v) if !enable => Err(checks::versioning_off(label, bucket, v)),
        Some(_) => s3::enable_versioning(aws, bucket).await.map(|()| true).map_err(failed),
    }
}

/// Plan-time check of a bucket a resource manages: it exists, lives in the provider block's region, belongs to
/// this provider block's `account`, and is versioned unless `enable_versioning` lets apply turn versioning on.
/// One s3:HeadBucket ([`s3::ownership`]), and s3:GetBucketVersioning only when apply may not turn versioning on;
/// diagnostics point at `at`.
///
/// A missing bucket is a warning, not an error: another resource of the same configuration may create it, and
/// its name is known at plan time all the same. A bucket in another region is an error: the Rust SDK does not
/// follow S3's `PermanentRedirect` (aws-sdk-rust#1052), so apply would fail with a bare 301. A read failure
/// skips the check with a warning that says so.
pub async fn preflight_bucket(
    client: &AwsClients,
    resource: &str,
    account: &str,
    bucket: &str,
    enable_versioning: bool,
    at: AttributePath,
) -> Diagnostics {
    let ownership = s3::ownership(client, bucket, account).await;
    if let Ok(s3::Ownership::Owned(Some(region)) | s3::Ownership::Foreign(Some(region))) = &ownership
        && *region != client.region
    {
        return Diagnostic::error(
            format!("{resource}: bucket {bucket} is in region {region}"),
            format!(
                "This provider block works in region {}, and S3 answers requests for {bucket} only in its own \
                 region ({region}). Use a provider block with region = \"{region}\" for this resource.",
                client.region
            ),
        )
        .at(at)
        .into();
    }
    match ownership {
        Ok(s3::Ownership::Missing) => Diagnostic::warning(
            format!("{resource}: bucket {bucket} does not exist"),
            format!(
                "crossrepl never creates buckets. If another resource in this configuration creates {bucket}, \
                 ignore this; otherwise create it in account {account} first, or apply will fail."
            ),
        )
        .at(at)
        .into(),
        Ok(s3::Ownership::Foreign(_)) => Diagnostic::error(
            format!("{resource}: bucket {bucket} is not in account {account}"),
            format!(
                "Bucket {bucket} exists but does not belong to this provider block's account {account} (or these \
                 credentials may not see it). Use the provider block of the account that owns it."
            ),
        )
        .at(at)
        .into(),
        // Versioning matters only when apply may not turn it on.
        Ok(s3::Ownership::Owned(_)) if !enable_versioning => match s3::versioning(client, bucket).await {
            Ok(Some(v)) if v != s3::Versioning::Enabled => checks::versioning_off(resource, bucket, v).into(),
            _ => Diagnostics::new(),
        },
        Ok(_) => Diagnostics::new(),
        Err(e) => checks::not_checked(resource, &format!("bucket {bucket}"), &e).at(at).into(),
    }
}
