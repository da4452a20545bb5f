//! Import: a source's state built from the bucket's replication configuration, its role and the role's policy.

use framework::Known;
use tfplugin::{Diagnostic, Diagnostics};

use super::model::{DestinationBlock, SourceModel, map_value};
use super::schema::{OWNER_TAG, TYPE_NAME};
use crate::aws::{AwsClients, iam, s3};
use crate::domain::arn::{BucketName, RoleArn};
use crate::domain::grants::policy_name_for_bucket;
use crate::domain::policy::PolicyDocument;

/// The state of the `crossrepl_source` of `id` (`<bucket>` or `<bucket>,<policy name>`), before the engine reads it.
pub async fn import(aws: &AwsClients, id: &str) -> Result<SourceModel, Diagnostics> {
    let (bucket, chosen_policy) = match id.split_once(',') {
        Some((b, p)) => (b.trim(), Some(p.trim())),
        None => (id.trim(), None),
    };
    let err =
        |msg: String| Diagnostics::from(Diagnostic::error(format!("Importing {TYPE_NAME} {bucket:?} failed"), msg));
    bucket
        .parse::<BucketName>()
        .map_err(|m| err(format!("The import id is the source bucket name, optionally `,<policy name>`: {m}")))?;
    let cfg = s3::replication(aws, bucket)
        .await
        .map_err(|e| err(e.with_advice()))?
        .ok_or_else(|| err(format!("Bucket {bucket} has no replication configuration to import.")))?;
    let role: RoleArn = cfg.role.parse().map_err(|_| err(format!("Unexpected role ARN {}.", cfg.role)))?;
    let attached = iam::attached_policies(aws, &role.name).await.map_err(|e| err(e.with_advice()))?;
    let policy_arn = pick_policy(aws, &attached, bucket, chosen_policy)
        .await
        .map_err(|m| err(format!("Role {}: {m}", role.name)))?;
    let found = iam::role(aws, &role.name).await.map_err(|e| err(e.with_advice()))?;
    // Source KMS keys live only in the role policy.
    let source_keys: Vec<String> = iam::default_policy_document(aws, &policy_arn)
        .await
        .ok()
        .flatten()
        .and_then(|t| PolicyDocument::parse(&t).ok())
        .map(|d| {
            let decrypt = d.statements.into_iter().filter(|s| s.sid.as_deref() == Some("SourceKmsDecrypt"));
            decrypt.flat_map(|s| s.resource.map(|r| r.0).unwrap_or_default()).collect()
        })
        .unwrap_or_default();
    let blocks = cfg
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            DestinationBlock::from_spec(r.to_destination(i), r.priority, r.id.clone().unwrap_or_default(), &source_keys)
        })
        .collect();
    let user_tags = found.iter().flat_map(|r| r.tags.iter()).filter(|(k, _)| k != OWNER_TAG).cloned().collect();
    Ok(SourceModel {
        id: Known::Value(bucket.to_string()),
        bucket: Known::Value(bucket.to_string()),
        role_name: Known::Value(role.name),
        policy_name: Known::Value(policy_arn.rsplit('/').next().unwrap_or_default().to_string()),
        role_path: Known::Value(role.path),
        permissions_boundary: Known::from(found.as_ref().and_then(|r| r.permissions_boundary.clone())),
        tags: map_value(user_tags),
        enable_versioning: Known::Value(true),
        role_arn: Known::Null,
        policy_arn: Known::Null,
        bucket_arn: Known::Null,
        destination: Known::Value(blocks),
        // A job is started by crossrepl, never found in AWS: nothing there says whether it was asked for.
        existing_objects: Known::Value(Vec::new()),
        verify: Known::Value(Vec::new()),
    })
}

/// The policy an import adopts among those attached to the role: the one named in the import id; else the
/// crossrepl-named one; else the only customer-managed one; else the only one whose document grants replication.
/// Anything else is ambiguous and refused: apply rewrites (and a later rename deletes) the adopted policy, so
/// guessing could destroy a policy that has nothing to do with replication.
async fn pick_policy(
    aws: &AwsClients,
    attached: &[String],
    bucket: &str,
    chosen: Option<&str>,
) -> Result<String, String> {
    let customer: Vec<&String> = attached.iter().filter(|a| !a.contains(":iam::aws:")).collect();
    let named = |name: &str| customer.iter().find(|a| a.rsplit('/').next() == Some(name)).map(|a| a.to_string());
    if let Some(name) = chosen {
        return named(name).ok_or_else(|| format!("no customer-managed policy named {name} is attached."));
    }
    if let Some(arn) = named(&policy_name_for_bucket(bucket)) {
        return Ok(arn);
    }
    match customer.as_slice() {
        [] => return Err("no customer-managed policy is attached.".into()),
        [only] => return Ok(only.to_string()),
        _ => {}
    }
    let grants_replication = |arn: String| async move {
        let text = iam::default_policy_document(aws, &arn).await.ok().flatten()?;
        let doc = PolicyDocument::parse(&text).ok()?;
        let replicates = doc.statements.iter().flat_map(|s| s.action.iter().flat_map(|a| a.0.iter())).any(|a| {
            ["s3:GetReplicationConfiguration", "s3:ReplicateObject", "s3:Replicate*"]
                .iter()
                .any(|r| r.eq_ignore_ascii_case(a))
        });
        replicates.then_some(arn)
    };
    let found: Vec<String> = futures_util::future::join_all(customer.iter().map(|a| grants_replication(a.to_string())))
        .await
        .into_iter()
        .flatten()
        .collect();
    match found.as_slice() {
        [only] => Ok(only.clone()),
        _ => Err(format!(
            "{} customer-managed policies are attached ({}) and {} of them grant replication; import as \
             `{bucket},<policy name>` to say which one crossrepl manages.",
            customer.len(),
            customer.iter().map(|a| a.rsplit('/').next().unwrap_or_default()).collect::<Vec<_>>().join(", "),
            found.len()
        )),
    }
}
