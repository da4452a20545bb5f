//! S3 Batch Replication of the objects a source bucket held before its replication configuration existed: the job
//! crossrepl asks S3 Control for ("Replicating existing objects with Batch Replication",
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-batch-replication-batch.html>; `CreateJob`,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_CreateJob.html>).

use std::collections::BTreeSet;

use crate::domain::grants::fnv1a64;

/// Replication statuses a Batch Replication job may select objects by (`ObjectReplicationStatuses` of
/// `JobManifestGeneratorFilter`): `NONE`, never replicated (the objects that predate the configuration), and
/// `FAILED`. `COMPLETED` and `REPLICA` exist too; crossrepl leaves them out, they would copy again what is already
/// there.
pub const SELECTABLE_STATUSES: [&str; 2] = ["NONE", "FAILED"];

/// Job statuses after which a job never changes again ("Job statuses",
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-job-status.html>).
pub const FINAL_STATUSES: [&str; 3] = ["Complete", "Failed", "Cancelled"];

/// Everything a Batch Replication job of one source is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReplicationJob {
    /// The account owning the source bucket (S3 Control's `AccountId`, and the manifest's expected bucket owner).
    pub account_id: String,
    /// The source bucket's ARN.
    pub source_bucket_arn: String,
    /// The batch role's ARN.
    pub role_arn: String,
    /// Key prefixes to select (`KeyNameConstraint.MatchAnyPrefix`); empty: every key.
    pub prefixes: Vec<String>,
    /// Replication statuses to select, from [`SELECTABLE_STATUSES`].
    pub statuses: Vec<String>,
    /// The completion report's bucket ARN.
    pub report_bucket_arn: String,
    /// The completion report's key prefix (may be empty).
    pub report_prefix: String,
    /// The idempotency token: the same request made twice (an answer lost, a provider killed before it recorded the
    /// job id) starts one job.
    pub client_token: String,
}

/// The key prefixes a job must select so that it covers every enabled rule, given as (prefix, enabled): none (every
/// key) when any enabled rule selects the whole bucket, else each enabled rule's prefix once. The manifest generator
/// also selects by eligibility for replication, which applies the rules' tag filters and enabled state.
pub fn prefixes<'a>(rules: impl IntoIterator<Item = (&'a str, bool)>) -> Vec<String> {
    let enabled: BTreeSet<&str> = rules.into_iter().filter(|(_, on)| *on).map(|(p, _)| p).collect();
    if enabled.contains("") {
        return Vec::new();
    }
    enabled.into_iter().map(str::to_string).collect()
}

/// A client token for the job of `bucket` started for `trigger` after `previous_job` (none on the first run): the
/// same inputs give the same token, any change a new one. At most 64 characters, as `ClientRequestToken` allows.
pub fn client_token(bucket: &str, trigger: &str, previous_job: Option<&str>) -> String {
    let text = format!("{bucket}\n{trigger}\n{}", previous_job.unwrap_or_default());
    let (a, b) = (fnv1a64(text.as_bytes()), fnv1a64(format!("crossrepl\n{text}").as_bytes()));
    format!("crossrepl-{a:016x}{b:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_cover_every_enabled_rule() {
        assert!(prefixes([("logs/", true), ("", true)]).is_empty());
        assert_eq!(prefixes([("b/", true), ("a/", true), ("a/", true)]), ["a/", "b/"]);
        assert_eq!(prefixes([("a/", true), ("", false)]), ["a/"]);
    }

    #[test]
    fn tokens_change_with_every_input_and_fit() {
        let t = client_token("b", "1", None);
        assert_eq!(t, client_token("b", "1", None));
        assert!(t.len() <= 64);
        assert_ne!(t, client_token("b", "2", None));
        assert_ne!(t, client_token("c", "1", None));
        assert_ne!(t, client_token("b", "1", Some("job")));
    }
}
