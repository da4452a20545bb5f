//! The AWS refusals crossrepl waits out: each one is S3 answering a call before an earlier write has reached it
//! (S3's bucket configurations are eventually consistent: "Amazon S3 data consistency model",
//! https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel). Each is recognised by
//! operation, code and message and names its source; every other error is final and surfaces at once.
//!
//! A new role is not on the list: no AWS page documents, and no user report shows, an error PutBucketReplication
//! returns for a role IAM has not propagated yet (hashicorp/aws retries that call on bucket and versioning errors
//! only), so a refusal that names the role, like AccessDenied for a missing `iam:PassRole`, is final.

/// One refusal S3 is documented or reported to give while an earlier write propagates.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The operation, as crossrepl names it in errors (the IAM action).
    pub operation: &'static str,
    /// The AWS error code.
    pub code: &'static str,
    /// A part of AWS's message that singles this refusal out.
    pub message: &'static str,
    /// What has not propagated yet.
    pub waits_for: &'static str,
    /// Where it is documented or reported.
    pub source: &'static str,
}

/// The operation name of s3:PutBucketReplication in crossrepl's errors.
pub const PUT_REPLICATION: &str = "PutReplicationConfiguration";

/// Every refusal crossrepl waits out (also the list in `docs/reliability.md` and what the test bed's
/// `testbed/awsproxy.py` answers while it emulates propagation).
pub const REFUSALS: &[Refusal] = &[
    Refusal {
        operation: PUT_REPLICATION,
        code: "InvalidRequest",
        message: "Versioning must be 'Enabled' on the bucket",
        waits_for: "versioning just enabled on the source bucket",
        source: "hashicorp/terraform-provider-aws retries exactly this (internal/service/s3/\
                 bucket_replication_configuration.go); enabling versioning \"might take a short amount of time\" to \
                 propagate (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html)",
    },
    Refusal {
        operation: PUT_REPLICATION,
        code: "InvalidRequest",
        message: "Destination bucket must have versioning enabled",
        waits_for: "versioning just enabled on a destination bucket (by a crossrepl_destination in the same apply)",
        source: "first applies fail with it and an immediate re-apply passes: \
                 https://github.com/terraform-aws-modules/terraform-aws-s3-bucket/issues/172, \
                 https://github.com/terraform-aws-modules/terraform-aws-s3-bucket/pull/350",
    },
];

/// The refusal an error of `operation` with `code` and `message` is, if it is one of [`REFUSALS`].
pub fn refusal(operation: &str, code: Option<&str>, message: &str) -> Option<&'static Refusal> {
    let code = code?;
    REFUSALS.iter().find(|r| r.operation == operation && r.code == code && message.contains(r.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_code_and_message_pairs_are_refusals() {
        let versioning = "Versioning must be 'Enabled' on the bucket to apply a replication configuration";
        assert_eq!(refusal(PUT_REPLICATION, Some("InvalidRequest"), versioning), Some(&REFUSALS[0]));
        let dest = "Destination bucket must have versioning enabled.";
        assert_eq!(refusal(PUT_REPLICATION, Some("InvalidRequest"), dest), Some(&REFUSALS[1]));
        // The same code with another message is an invalid request: final.
        let lock = "Replication configuration cannot be applied to an Object Lock enabled bucket";
        assert_eq!(refusal(PUT_REPLICATION, Some("InvalidRequest"), lock), None);
        // What was retried before: a missing iam:PassRole, invalid arguments, another operation.
        assert_eq!(refusal(PUT_REPLICATION, Some("AccessDenied"), "Access Denied"), None);
        assert_eq!(refusal(PUT_REPLICATION, Some("InvalidArgument"), versioning), None);
        assert_eq!(refusal("PutBucketPolicy", Some("InvalidRequest"), versioning), None);
        assert_eq!(refusal(PUT_REPLICATION, None, versioning), None);
    }

    #[test]
    fn every_refusal_says_what_it_waits_for_and_cites_its_source() {
        for r in REFUSALS {
            assert!(!r.waits_for.is_empty(), "{r:?}");
            assert!(r.source.contains("https://github.com/") || r.source.contains("hashicorp/"), "{r:?}");
        }
    }
}
