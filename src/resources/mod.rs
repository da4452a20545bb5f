//! The managed resource types, one folder each (schema, model, and the resource as observe → diff → act), and
//! what they share: attribute checks and messages, the plan-time bucket check, and the merge of owned
//! statements into a resource policy that others write too.

pub mod checks;
pub mod destination;
pub mod merged_policy;
pub mod source;

use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use crate::aws::{AwsClients, s3};

/// Plan-time check of the bucket a resource manages: it exists, belongs to this provider block's `account`, and
/// is versioned unless `enable_versioning` lets apply turn versioning on. One round of concurrent reads.
///
/// A missing bucket is a warning, not an error: another resource of the same configuration may create it, and
/// its name is known at plan time all the same. Read failures skip the check (apply reports them with context).
pub async fn preflight_bucket(
    client: &AwsClients,
    resource: &str,
    account: &str,
    bucket: &str,
    enable_versioning: bool,
) -> Diagnostics {
    let at = AttributePath::attr("bucket");
    match s3::ownership(client, bucket, account).await {
        Ok(s3::Ownership::Missing) => Diagnostic::warning(
            format!("{resource}: bucket {bucket} does not exist"),
            format!(
                "crossrepl never creates buckets. If another resource in this configuration creates {bucket}, \
                 ignore this; otherwise create it in account {account} first, or apply will fail."
            ),
        )
        .at(at)
        .into(),
        Ok(s3::Ownership::Foreign) => Diagnostic::error(
            format!("{resource}: bucket {bucket} is not in account {account}"),
            format!(
                "Bucket {bucket} exists but does not belong to this provider block's account {account} (or these \
                 credentials may not read its versioning). Use the provider block of the account that owns it."
            ),
        )
        .at(at)
        .into(),
        Ok(s3::Ownership::Owned(v)) if v != s3::Versioning::Enabled && !enable_versioning => {
            checks::versioning_off(resource, bucket, v).into()
        }
        Ok(_) => Diagnostics::new(),
        Err(e) => {
            tracing::debug!(bucket, error = %e, "plan-time bucket check skipped");
            Diagnostics::new()
        }
    }
}
