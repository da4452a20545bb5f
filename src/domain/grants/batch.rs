//! The batch role of S3 Batch Replication: the role S3 Batch Operations assumes to replicate the objects a source
//! bucket held before its replication configuration existed ("Configuring an IAM role for S3 Batch Replication",
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-batch-replication-policies.html>).

use super::*;

/// The service principal of S3 Batch Operations ("Granting permissions for Batch Operations",
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-iam-role-policies.html>).
pub const BATCH_SERVICE_PRINCIPAL: &str = "batchoperations.s3.amazonaws.com";

const BATCH_ROLE_NAME_PREFIX: &str = "crossrepl-batch-";

/// The batch role's trust policy: S3 Batch Operations may assume it (the trust policy of "Granting permissions for
/// Batch Operations", which documents no confused-deputy condition keys for this service).
pub fn batch_trust_policy() -> PolicyDocument {
    PolicyDocument::new(vec![Statement {
        principal: Some(Principal::service(BATCH_SERVICE_PRINCIPAL)),
        ..allow("BatchOperationsAssumeRole", &["sts:AssumeRole"], vec![])
    }])
}

/// The batch role's least-privilege permissions for a job with a generated manifest that is not stored
/// (`EnableManifestOutput = false`), so no manifest bucket is read or written: `s3:InitiateReplication` on the
/// source objects, `s3:GetReplicationConfiguration` and `s3:PutInventoryConfiguration` on the source bucket (the
/// manifest generator), and `s3:PutObject` under the completion report's prefix only (the AWS example grants the
/// whole report bucket). Errors when a name or ARN cannot be used.
pub fn batch_role_policy(
    partition: &str,
    source_bucket: &str,
    report_bucket_arn: &str,
    report_prefix: &str,
) -> Result<PolicyDocument, PolicyError> {
    let source = s3_arn(partition, checked_value("source bucket name", source_bucket)?);
    let report = checked_bucket_arn(partition, report_bucket_arn)?;
    if report_prefix.contains(['*', '?']) {
        return Err(PolicyError::InvalidValue { what: "report prefix", value: report_prefix.to_owned() });
    }
    let prefix = report_prefix.trim_matches('/');
    let report_objects = if prefix.is_empty() { format!("{report}/*") } else { format!("{report}/{prefix}/*") };
    Ok(PolicyDocument::new(vec![
        allow("InitiateReplication", &["s3:InitiateReplication"], vec![format!("{source}/*")]),
        allow("GenerateManifest", &["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"], vec![source]),
        allow("WriteCompletionReport", &["s3:PutObject"], vec![report_objects]),
    ]))
}

/// Default batch role name for a source bucket: `crossrepl-batch-<bucket>`, shortened as in
/// [`role_name_for_bucket`].
pub fn batch_role_name_for_bucket(bucket: &str) -> String {
    derived_name(BATCH_ROLE_NAME_PREFIX, bucket)
}

/// Whether a trust policy lets S3 Batch Operations assume the role (an `Allow` naming its service principal for
/// `sts:AssumeRole`).
pub fn trusts_batch_operations(trust: &PolicyDocument) -> bool {
    trust.statements.iter().any(|s| {
        s.effect == Effect::Allow
            && matches!(&s.principal, Some(Principal::Specific(m))
                if m.service.as_ref().is_some_and(|x| x.0.iter().any(|p| p == BATCH_SERVICE_PRINCIPAL)))
            && s.action.as_ref().is_some_and(|a| a.0.iter().any(|x| x == "sts:AssumeRole"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_grants_the_documented_actions_and_nothing_wider() {
        let doc = batch_role_policy("aws", "acme-data", "arn:aws:s3:::acme-reports", "/batch/").unwrap();
        let json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
        let st = json["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 3);
        assert_eq!(st[0]["Action"], serde_json::json!("s3:InitiateReplication"));
        assert_eq!(st[0]["Resource"], serde_json::json!("arn:aws:s3:::acme-data/*"));
        assert_eq!(st[1]["Resource"], serde_json::json!("arn:aws:s3:::acme-data"));
        assert_eq!(st[2]["Resource"], serde_json::json!("arn:aws:s3:::acme-reports/batch/*"));
        let whole = batch_role_policy("aws", "acme-data", "arn:aws:s3:::acme-reports", "").unwrap();
        assert!(whole.to_json().contains("arn:aws:s3:::acme-reports/*"));
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert!(batch_role_policy("aws", "acme-data", "arn:aws:s3:::r", "a*").is_err());
        assert!(batch_role_policy("aws", "acme-data", "arn:aws-cn:s3:::r", "").is_err());
        assert!(batch_role_policy("aws", "", "arn:aws:s3:::r", "").is_err());
    }

    #[test]
    fn trust_names_batch_operations_only() {
        let trust = batch_trust_policy();
        assert!(trusts_batch_operations(&trust));
        assert!(!trusts_s3(&trust), "the replication service must not assume the batch role");
        assert!(!trusts_batch_operations(&replication_trust_policy("aws", "111111111111", "b")));
    }

    #[test]
    fn names_are_derived_and_bounded() {
        assert_eq!(batch_role_name_for_bucket("acme-data"), "crossrepl-batch-acme-data");
        assert!(batch_role_name_for_bucket(&"a".repeat(63)).len() <= MAX_IAM_NAME_LEN);
    }
}
