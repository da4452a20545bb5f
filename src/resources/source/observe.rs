//! Observe: what exists of a source's parts, read concurrently, and how it compares with what is wanted.

use super::model::Desired;
use crate::aws::{AwsClients, AwsError, ErrorKind, iam, s3};
use crate::domain::policy::PolicyDocument;
use crate::domain::replication::ReplicationConfig;

/// What a read found, part by part.
pub struct Observed {
    /// Whether the source bucket exists.
    pub bucket_exists: bool,
    /// Its versioning.
    pub versioning: s3::Versioning,
    /// The role with the wanted name.
    pub role: Option<iam::Role>,
    /// The default version of the policy with the wanted ARN (an empty document when it cannot be parsed: it
    /// exists, and is drift to overwrite, never a policy to create).
    pub policy_document: Option<PolicyDocument>,
    /// Whether that policy is attached to that role.
    pub attached: bool,
    /// The role's other policies: managed policy ARNs, and `inline <name>` for inline policies.
    pub other_policies: Vec<String>,
    /// The bucket's replication configuration.
    pub configuration: Option<ReplicationConfig>,
}

impl Observed {
    /// Whether the role exists with the wanted path and trust policy.
    pub fn role_ok(&self, want: &Desired) -> bool {
        self.role.as_ref().is_some_and(|role| {
            role.path == want.path
                && PolicyDocument::parse(&role.trust_policy).is_ok_and(|t| t.semantically_equal(&want.trust))
        })
    }

    /// Whether the policy exists with the wanted document and is attached.
    pub fn policy_ok(&self, want: &Desired) -> bool {
        self.attached && self.policy_document.as_ref().is_some_and(|d| d.semantically_equal(&want.permissions))
    }

    /// For each wanted rule, whether S3 holds it as written.
    pub fn rules_ok(&self, want: &Desired) -> Vec<bool> {
        want.configuration.matching(self.configuration.as_ref())
    }
}

/// Reads every part concurrently; `Err` names the step that failed. GetBucketVersioning doubles as the existence
/// check of the bucket. With an existing role, no role or policy is read (none is crossrepl's).
pub async fn observe(aws: &AwsClients, want: &Desired) -> Result<Observed, (String, AwsError)> {
    // The versioning, the replication configuration, the role and the policy as the plan-time checks of this
    // process read them moments ago, where they did (the apply walk plans right before it applies): not read again.
    let configuration = kept_or(s3::replication_kept(aws, &want.bucket), s3::replication(aws, &want.bucket));
    let versioning = kept_or(s3::versioning_kept(aws, &want.bucket), s3::versioning(aws, &want.bucket));
    if want.existing_role {
        let (versioning, configuration) = tokio::join!(versioning, configuration);
        let versioning = versioning.map_err(|e| ("reading versioning".to_string(), e))?;
        return Ok(Observed {
            bucket_exists: versioning.is_some(),
            versioning: versioning.unwrap_or(s3::Versioning::Off),
            role: None,
            policy_document: None,
            attached: false,
            other_policies: Vec::new(),
            configuration: configuration.map_err(|e| ("reading the replication configuration".to_string(), e))?,
        });
    }
    let step = |s: &'static str| move |e: AwsError| (s.to_string(), e);
    let kept_role = iam::role_kept(aws, &want.role_name);
    // A role that does not exist has no policies; a policy that does not exist, no document.
    let role_absent = matches!(kept_role, Some(None));
    let policy_absent = iam::policy_kept(aws, &want.policy_arn) == Some(false);
    let role = kept_or(kept_role, iam::role(aws, &want.role_name));
    let policy_doc = async {
        if policy_absent {
            return Ok(None);
        }
        let text = iam::default_policy_document(aws, &want.policy_arn).await?;
        Ok::<_, AwsError>(text.map(|t| PolicyDocument::parse(&t).unwrap_or_else(|_| PolicyDocument::new(Vec::new()))))
    };
    let policies = async {
        if role_absent {
            return Ok((false, Vec::new()));
        }
        let (managed, inline) =
            tokio::join!(iam::attached_policies(aws, &want.role_name), iam::inline_policies(aws, &want.role_name));
        let none_if_missing = |r: Result<Vec<String>, AwsError>| match r {
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        };
        let (managed, inline) = (none_if_missing(managed)?, none_if_missing(inline)?);
        let attached = managed.contains(&want.policy_arn);
        let others = managed.into_iter().filter(|a| *a != want.policy_arn);
        Ok::<_, AwsError>((attached, others.chain(inline.into_iter().map(|n| format!("inline {n}"))).collect()))
    };
    let (versioning, role, policy_document, policies, configuration) =
        tokio::join!(versioning, role, policy_doc, policies, configuration);
    let Some(versioning) = versioning.map_err(step("reading versioning"))? else {
        return Ok(Observed {
            bucket_exists: false,
            versioning: s3::Versioning::Off,
            role: None,
            policy_document: None,
            attached: false,
            other_policies: Vec::new(),
            configuration: None,
        });
    };
    let (attached, other_policies) = policies.map_err(step("reading the role's policies"))?;
    Ok(Observed {
        bucket_exists: true,
        versioning,
        role: role.map_err(step("reading the role"))?,
        policy_document: policy_document.map_err(step("reading the role policy"))?,
        attached,
        other_policies,
        configuration: configuration.map_err(step("reading the replication configuration"))?,
    })
}

/// What the plan kept moments ago (`kept`), else `read` now.
async fn kept_or<T>(
    kept: Option<T>,
    read: impl std::future::Future<Output = Result<T, AwsError>>,
) -> Result<T, AwsError> {
    match kept {
        Some(value) => Ok(value),
        None => read.await,
    }
}
