//! AWS IAM calls crossrepl makes: the replication role, its managed policy and the attachment.

use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::types::Tag;

use super::AwsClients;
use super::error::AwsError;
use super::once;

/// IAM keeps at most five versions of a managed policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

/// A role as IAM reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Role {
    /// Its ARN.
    pub arn: String,
    /// Its path.
    pub path: String,
    /// The trust policy, as IAM returned it (possibly URL-encoded).
    pub trust_policy: String,
    /// The permissions boundary policy ARN, if any.
    pub permissions_boundary: Option<String>,
    /// Its tags.
    pub tags: Vec<(String, String)>,
}

fn role_res(name: &str) -> String {
    format!("role {name}")
}

fn policy_res(arn: &str) -> String {
    format!("policy {arn}")
}

/// The role named `name`, or `None` (iam:GetRole).
pub async fn role(aws: &AwsClients, name: &str) -> Result<Option<Role>, AwsError> {
    match aws.iam.get_role().role_name(name).send().await {
        Ok(out) => Ok(out.role().map(|r| Role {
            arn: r.arn().to_string(),
            path: r.path().to_string(),
            trust_policy: r.assume_role_policy_document().unwrap_or_default().to_string(),
            permissions_boundary: r
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_string),
            tags: r.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
        })),
        Err(e) => {
            let err = AwsError::from_sdk("iam", "GetRole", role_res(name), e);
            if err.is_code("NoSuchEntity") { Ok(None) } else { Err(err) }
        }
    }
}

/// [`role`], kept for the apply that follows in this process ([`role_kept`]).
pub async fn role_checked(aws: &AwsClients, name: &str) -> Result<Option<Role>, AwsError> {
    aws.recent.checked("GetRole", name, aws.handed_read("GetRole", &role_res(name), role(aws, name), |_| true)).await
}

/// What [`role_checked`] read moments ago in this process, taken out (see [`super::recent`]).
pub fn role_kept(aws: &AwsClients, name: &str) -> Option<Option<Role>> {
    aws.recent.take("GetRole", name)
}

/// What a new role gets.
#[derive(Debug, Clone)]
pub struct NewRole<'a> {
    /// Name.
    pub name: &'a str,
    /// Path (`/` by default).
    pub path: &'a str,
    /// Trust policy JSON.
    pub trust_policy: &'a str,
    /// Permissions boundary ARN.
    pub permissions_boundary: Option<&'a str>,
    /// Tags.
    pub tags: &'a [(String, String)],
    /// Description.
    pub description: &'a str,
}

fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect()
}

/// Creates a role (iam:CreateRole) and returns its ARN.
pub async fn create_role(aws: &AwsClients, role: &NewRole<'_>) -> Result<String, AwsError> {
    aws.touched(&role_res(role.name));
    let out = aws
        .iam
        .create_role()
        .role_name(role.name)
        .path(role.path)
        .assume_role_policy_document(role.trust_policy)
        .set_permissions_boundary(role.permissions_boundary.map(str::to_string))
        .set_tags(Some(tags(role.tags)).filter(|t| !t.is_empty()))
        .description(role.description)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam", "CreateRole", role_res(role.name), e))?;
    Ok(out.role().map(|r| r.arn().to_string()).unwrap_or_default())
}

/// Replaces a role's trust policy (iam:UpdateAssumeRolePolicy).
pub async fn update_trust_policy(aws: &AwsClients, name: &str, doc: &str) -> Result<(), AwsError> {
    aws.touched(&role_res(name));
    aws.iam
        .update_assume_role_policy()
        .role_name(name)
        .policy_document(doc)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam", "UpdateAssumeRolePolicy", role_res(name), e))?;
    Ok(())
}

/// Deletes a role (iam:DeleteRole); a role that is already gone is not an error.
pub async fn delete_role(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    aws.touched(&role_res(name));
    match aws.iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = AwsError::from_sdk("iam", "DeleteRole", role_res(name), e);
            if err.is_code("NoSuchEntity") { Ok(()) } else { Err(err) }
        }
    }
}

/// A managed policy's default version id, or `None` when the policy does not exist (iam:GetPolicy).
async fn policy_default_version(aws: &AwsClients, arn: &str) -> Result<Option<String>, AwsError> {
    match aws.iam.get_policy().policy_arn(arn).send().await {
        Ok(out) => Ok(out.policy().and_then(|p| p.default_version_id()).map(str::to_string)),
        Err(e) => {
            let err = AwsError::from_sdk("iam", "GetPolicy", policy_res(arn), e);
            if err.is_code("NoSuchEntity") { Ok(None) } else { Err(err) }
        }
    }
}

/// The tags of a managed policy (iam:ListPolicyTags).
pub async fn policy_tags(aws: &AwsClients, arn: &str) -> Result<Vec<(String, String)>, AwsError> {
    let out = aws
        .iam
        .list_policy_tags()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam", "ListPolicyTags", policy_res(arn), e))?;
    Ok(out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
}

/// The tags of a managed policy, or `None` when it does not exist; kept for the apply that follows in this
/// process ([`policy_kept`]).
pub async fn policy_tags_checked(aws: &AwsClients, arn: &str) -> Result<Option<Vec<(String, String)>>, AwsError> {
    let read = async {
        match policy_tags(aws, arn).await {
            Ok(tags) => Ok(Some(tags)),
            Err(e) if e.is_code("NoSuchEntity") => Ok(None),
            Err(e) => Err(e),
        }
    };
    let (tags, age) = aws.handed_read("ListPolicyTags", &policy_res(arn), read, |_| true).await?;
    aws.recent.keep("ListPolicyTags", arn, tags.is_some(), age);
    Ok(tags)
}

/// Whether the policy existed when [`policy_tags_checked`] read it moments ago in this process, taken out.
pub fn policy_kept(aws: &AwsClients, arn: &str) -> Option<bool> {
    aws.recent.take("ListPolicyTags", arn)
}

/// The document of one policy version, as IAM returned it (possibly URL-encoded) (iam:GetPolicyVersion).
async fn policy_document(aws: &AwsClients, arn: &str, version: &str) -> Result<String, AwsError> {
    let out = aws
        .iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam", "GetPolicyVersion", policy_res(arn), e))?;
    Ok(out.policy_version().and_then(|v| v.document()).unwrap_or_default().to_string())
}

/// The document of a managed policy's default version as IAM returned it, or `None` when the policy does not
/// exist (iam:GetPolicy, iam:GetPolicyVersion).
pub async fn default_policy_document(aws: &AwsClients, arn: &str) -> Result<Option<String>, AwsError> {
    let Some(version) = policy_default_version(aws, arn).await? else { return Ok(None) };
    policy_document(aws, arn, &version).await.map(Some)
}

/// Creates a managed policy (iam:CreatePolicy) and returns its ARN.
pub async fn create_policy(
    aws: &AwsClients,
    name: &str,
    path: &str,
    doc: &str,
    tag_pairs: &[(String, String)],
) -> Result<String, AwsError> {
    let out = aws
        .iam
        .create_policy()
        .policy_name(name)
        .path(path)
        .policy_document(doc)
        .description("S3 replication permissions managed by crossrepl")
        .set_tags(Some(tags(tag_pairs)).filter(|t| !t.is_empty()))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam", "CreatePolicy", format!("policy {name}"), e))?;
    let arn = out.policy().and_then(|p| p.arn()).unwrap_or_default().to_string();
    aws.touched(&policy_res(&arn));
    Ok(arn)
}

/// Makes `doc` the policy's default version, first deleting the oldest non-default versions so IAM's limit of
/// five is never hit (iam:ListPolicyVersions, iam:DeletePolicyVersion, iam:CreatePolicyVersion).
///
/// CreatePolicyVersion is not idempotent: sent twice, it makes two versions. It goes out with the SDK's retries
/// off; after an attempt that may have taken effect, `is_doc` is asked whether the default version's document
/// is already `doc` before another attempt.
pub async fn set_policy_document(
    aws: &AwsClients,
    arn: &str,
    doc: &str,
    is_doc: impl Fn(&str) -> bool,
) -> Result<(), AwsError> {
    let mut old = non_default_versions(aws, arn).await?;
    // Keep room for the new version: at most MAX - 1 versions may exist before creating one.
    while old.len() + 1 >= MAX_POLICY_VERSIONS {
        let oldest = old.remove(0);
        delete_policy_version(aws, arn, &oldest).await?;
    }
    let max = aws.iam.config().retry_config().map_or(1, |r| r.max_attempts());
    let no_retries = aws_sdk_iam::config::Builder::default().retry_config(RetryConfig::disabled());
    let create = || async {
        aws.iam
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(doc)
            .set_as_default(true)
            .customize()
            .config_override(no_retries.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("iam", "CreatePolicyVersion", policy_res(arn), e))
    };
    let took_effect =
        || async { Ok(default_policy_document(aws, arn).await?.is_some_and(|d| is_doc(&d)).then_some(())) };
    once::at_most_once(once::Attempts::new(max), create, took_effect).await
}

/// Non-default version ids, oldest first.
async fn non_default_versions(aws: &AwsClients, arn: &str) -> Result<Vec<String>, AwsError> {
    let out = aws
        .iam
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam", "ListPolicyVersions", policy_res(arn), e))?;
    let mut versions: Vec<_> = out
        .versions()
        .iter()
        .filter(|v| !v.is_default_version())
        .map(|v| (v.create_date().map(|d| d.secs()).unwrap_or(0), v.version_id().unwrap_or_default().to_string()))
        .collect();
    versions.sort();
    Ok(versions.into_iter().map(|(_, id)| id).collect())
}

/// Deletes one policy version; a version already gone (the answer to an earlier attempt was lost, and the SDK
/// sent it again) is not an error.
async fn delete_policy_version(aws: &AwsClients, arn: &str, version: &str) -> Result<(), AwsError> {
    match aws.iam.delete_policy_version().policy_arn(arn).version_id(version).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = AwsError::from_sdk("iam", "DeletePolicyVersion", policy_res(arn), e);
            if err.is_code("NoSuchEntity") { Ok(()) } else { Err(err) }
        }
    }
}

/// Deletes a managed policy with all its versions (IAM refuses to delete a policy that has non-default
/// versions); a policy already gone is not an error.
pub async fn delete_policy(aws: &AwsClients, arn: &str) -> Result<(), AwsError> {
    aws.touched(&policy_res(arn));
    let old = match non_default_versions(aws, arn).await {
        Ok(v) => v,
        Err(e) if e.is_code("NoSuchEntity") => return Ok(()),
        Err(e) => return Err(e),
    };
    for v in old {
        delete_policy_version(aws, arn, &v).await?;
    }
    match aws.iam.delete_policy().policy_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = AwsError::from_sdk("iam", "DeletePolicy", policy_res(arn), e);
            if err.is_code("NoSuchEntity") { Ok(()) } else { Err(err) }
        }
    }
}

/// ARNs of the managed policies attached to a role (iam:ListAttachedRolePolicies).
pub async fn attached_policies(aws: &AwsClients, role: &str) -> Result<Vec<String>, AwsError> {
    let out = aws
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam", "ListAttachedRolePolicies", role_res(role), e))?;
    Ok(out.attached_policies().iter().filter_map(|p| p.policy_arn()).map(str::to_string).collect())
}

/// Names of a role's inline policies (iam:ListRolePolicies).
pub async fn inline_policies(aws: &AwsClients, role: &str) -> Result<Vec<String>, AwsError> {
    let out = aws
        .iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam", "ListRolePolicies", role_res(role), e))?;
    Ok(out.policy_names().to_vec())
}

/// Attaches a managed policy to a role (iam:AttachRolePolicy).
pub async fn attach(aws: &AwsClients, role: &str, policy_arn: &str) -> Result<(), AwsError> {
    aws.iam
        .attach_role_policy()
        .role_name(role)
        .policy_arn(policy_arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam", "AttachRolePolicy", role_res(role), e))?;
    Ok(())
}

/// Detaches a managed policy from a role (iam:DetachRolePolicy); not attached is not an error.
pub async fn detach(aws: &AwsClients, role: &str, policy_arn: &str) -> Result<(), AwsError> {
    match aws.iam.detach_role_policy().role_name(role).policy_arn(policy_arn).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = AwsError::from_sdk("iam", "DetachRolePolicy", role_res(role), e);
            if err.is_code("NoSuchEntity") { Ok(()) } else { Err(err) }
        }
    }
}

/// Sets or removes a role's permissions boundary (iam:PutRolePermissionsBoundary, iam:DeleteRolePermissionsBoundary).
pub async fn set_permissions_boundary(aws: &AwsClients, role: &str, boundary: Option<&str>) -> Result<(), AwsError> {
    aws.touched(&role_res(role));
    match boundary {
        Some(arn) => aws
            .iam
            .put_role_permissions_boundary()
            .role_name(role)
            .permissions_boundary(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("iam", "PutRolePermissionsBoundary", role_res(role), e)),
        None => match aws.iam.delete_role_permissions_boundary().role_name(role).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = AwsError::from_sdk("iam", "DeleteRolePermissionsBoundary", role_res(role), e);
                if err.is_code("NoSuchEntity") { Ok(()) } else { Err(err) }
            }
        },
    }
}

/// What turns tags `have` into `want`: the keys to remove and the tags to add or change.
fn tag_changes(have: &[(String, String)], want: &[(String, String)]) -> (Vec<String>, Vec<(String, String)>) {
    let stale = have.iter().filter(|(k, _)| !want.iter().any(|(w, _)| w == k)).map(|(k, _)| k.clone()).collect();
    let changed = want.iter().filter(|t| !have.contains(t)).cloned().collect();
    (stale, changed)
}

/// Makes a role's tags exactly `want` (iam:TagRole, iam:UntagRole).
pub async fn set_role_tags(
    aws: &AwsClients,
    role: &str,
    have: &[(String, String)],
    want: &[(String, String)],
) -> Result<(), AwsError> {
    let (stale, changed) = tag_changes(have, want);
    aws.touched(&role_res(role));
    if !stale.is_empty() {
        let call = aws.iam.untag_role().role_name(role).set_tag_keys(Some(stale)).send().await;
        call.map_err(|e| AwsError::from_sdk("iam", "UntagRole", role_res(role), e))?;
    }
    if !changed.is_empty() {
        let call = aws.iam.tag_role().role_name(role).set_tags(Some(tags(&changed))).send().await;
        call.map_err(|e| AwsError::from_sdk("iam", "TagRole", role_res(role), e))?;
    }
    Ok(())
}

/// Makes a managed policy's tags exactly `want` (iam:TagPolicy, iam:UntagPolicy).
pub async fn set_policy_tags(
    aws: &AwsClients,
    arn: &str,
    have: &[(String, String)],
    want: &[(String, String)],
) -> Result<(), AwsError> {
    let (stale, changed) = tag_changes(have, want);
    aws.touched(&policy_res(arn));
    if !stale.is_empty() {
        let call = aws.iam.untag_policy().policy_arn(arn).set_tag_keys(Some(stale)).send().await;
        call.map_err(|e| AwsError::from_sdk("iam", "UntagPolicy", policy_res(arn), e))?;
    }
    if !changed.is_empty() {
        let call = aws.iam.tag_policy().policy_arn(arn).set_tags(Some(tags(&changed))).send().await;
        call.map_err(|e| AwsError::from_sdk("iam", "TagPolicy", policy_res(arn), e))?;
    }
    Ok(())
}

/// The document of a role's inline policy as IAM returned it (possibly URL-encoded), or `None` when the role or the
/// policy does not exist (iam:GetRolePolicy).
pub async fn inline_policy(aws: &AwsClients, role: &str, name: &str) -> Result<Option<String>, AwsError> {
    match aws.iam.get_role_policy().role_name(role).policy_name(name).send().await {
        Ok(out) => Ok(Some(out.policy_document)),
        Err(e) => {
            let err = AwsError::from_sdk("iam", "GetRolePolicy", role_res(role), e);
            if err.is_code("NoSuchEntity") { Ok(None) } else { Err(err) }
        }
    }
}

/// Creates or replaces a role's inline policy (iam:PutRolePolicy; idempotent).
pub async fn put_inline_policy(aws: &AwsClients, role: &str, name: &str, doc: &str) -> Result<(), AwsError> {
    aws.iam
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(doc)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam", "PutRolePolicy", role_res(role), e))?;
    Ok(())
}

/// Deletes a role's inline policy (iam:DeleteRolePolicy); one already gone is not an error.
pub async fn delete_inline_policy(aws: &AwsClients, role: &str, name: &str) -> Result<(), AwsError> {
    match aws.iam.delete_role_policy().role_name(role).policy_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = AwsError::from_sdk("iam", "DeleteRolePolicy", role_res(role), e);
            if err.is_code("NoSuchEntity") { Ok(()) } else { Err(err) }
        }
    }
}
