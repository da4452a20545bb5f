//! Import: a destination's state from the bucket policy, by its crossrepl statements or, failing those, by a
//! hand-written replication grant (a setup to migrate).

use framework::Known;
use tfplugin::{Diagnostic, Diagnostics};

use super::model::DestinationModel;
use super::schema::TYPE_NAME;
use crate::aws::AwsClients;
use crate::domain::arn::{AccountId, BucketName, Partition, RoleArn, check_organization_id};
use crate::domain::grants::{self, compact};
use crate::resources::merged_policy::{self, BucketPolicy};

/// The state of the `crossrepl_destination` of `id` (`<bucket>,<source_account_id>[,<source_bucket>]`, or
/// `<bucket>,<source_organization_id>[,<role name pattern>]`).
pub async fn import(aws: &AwsClients, id: &str) -> Result<DestinationModel, Diagnostics> {
    let (bucket, account, source_bucket) = parse_id(id)?;
    let failed =
        |msg: String| Diagnostics::from(Diagnostic::error(format!("Importing {TYPE_NAME} {id:?} failed"), msg));
    let doc = merged_policy::read(&BucketPolicy { aws, bucket }).await.map_err(failed)?;
    if account.starts_with("o-") {
        let grants = doc.as_ref().map(|d| compact::organization_grants(d, account)).unwrap_or_default();
        let (path, pattern, owner_override) = pick_pattern(&grants, source_bucket)
            .map_err(|msg| failed(format!("The policy of bucket {bucket}: {msg}")))?;
        return Ok(DestinationModel {
            source_account_id: Known::Null,
            source_bucket: Known::Null,
            source_organization_id: Known::Value(account.to_string()),
            source_role_name_pattern: Known::Value(pattern),
            source_role_name: Known::Null,
            source_role_path: Known::Value(path),
            accept_owner_override: Known::Value(owner_override),
            source_role_arn: Known::Null,
            ..imported(aws, bucket, account).await
        });
    }
    // crossrepl's own statements name the role; failing those, a hand-written grant does (a setup to migrate).
    let partition = Partition::of_region(&aws.region);
    let roles = match doc.as_ref().map(|d| grants::destination_role_arns(d, account)) {
        Some(ours) if !ours.is_empty() => ours,
        _ => {
            doc.as_ref().map(|d| grants::hand_written_grant_roles(d, partition.id, bucket, account)).unwrap_or_default()
        }
    };
    let role =
        pick_role(&roles, source_bucket).map_err(|msg| failed(format!("The policy of bucket {bucket}: {msg}")))?;
    let parsed: RoleArn = role.parse().map_err(failed)?;
    let source_bucket =
        source_bucket.map(str::to_string).or_else(|| bucket_of_role(&parsed.name)).ok_or_else(|| {
            let detail = format!(
                "The role {role} does not tell the source bucket; import as `{bucket},{account},<source_bucket>`."
            );
            Diagnostics::from(Diagnostic::error(
                format!("Importing {TYPE_NAME} {id:?} needs the source bucket"),
                detail,
            ))
        })?;
    let input = grants::DestinationGrantInput {
        partition: partition.id.to_string(),
        destination_bucket: bucket.to_string(),
        source_account_id: account.to_string(),
        source_role_arn: role.clone(),
        owner_override: false,
    };
    Ok(DestinationModel {
        source_account_id: Known::Value(account.to_string()),
        source_bucket: Known::Value(source_bucket),
        source_organization_id: Known::Null,
        source_role_name_pattern: Known::Null,
        source_role_name: Known::Value(parsed.name),
        source_role_path: Known::Value(parsed.path),
        accept_owner_override: Known::Value(doc.as_ref().is_some_and(|d| grants::grants_owner_override(d, &input))),
        source_role_arn: Known::Value(role.clone()),
        ..imported(aws, bucket, account).await
    })
}

/// What every import records: the id, the bucket, versioning on, and the computed attributes left for the refresh
/// after the import to fill in.
async fn imported(aws: &AwsClients, bucket: &str, source: &str) -> DestinationModel {
    DestinationModel {
        id: Known::Value(format!("{bucket},{source}")),
        bucket: Known::Value(bucket.to_string()),
        source_account_id: Known::Null,
        source_bucket: Known::Null,
        source_organization_id: Known::Null,
        source_role_name_pattern: Known::Null,
        source_role_name: Known::Null,
        source_role_path: Known::Null,
        accept_owner_override: Known::Value(false),
        enable_versioning: Known::Value(true),
        bucket_arn: Known::Null,
        account_id: aws.account_id().await.map_or(Known::Null, |a| Known::Value(a.to_string())),
        source_role_arn: Known::Null,
        statement_sid: Known::Null,
        grant: Known::Null,
        // Not looked for: which keys' policies hold crossrepl's statement could only be found with ListKeys over
        // the region and GetKeyPolicy on every key (one call per key, and kms:GetKeyPolicy on keys that have
        // nothing to do with replication), for a list the configuration states anyway. The apply after the
        // import finds the statement in place in each listed key (same Sid) and writes nothing there.
        replica_kms_key_arns: Known::Null,
        default_kms_key_arn: Known::Null,
        kms_statement_sid: Known::Null,
    }
}

/// `(role path, role name pattern, owner override)` of the organization statement an import is about: the only
/// one, or the one whose name pattern is `name_pattern`.
fn pick_pattern(grants: &[(String, bool)], name_pattern: Option<&str>) -> Result<(String, String, bool), String> {
    let split = |arn_pattern: &str| {
        let path_and_name = arn_pattern.split_once(":role").map_or("", |(_, rest)| rest);
        let (path, name) = path_and_name.rsplit_once('/').unwrap_or(("", path_and_name));
        (format!("{path}/"), name.to_string())
    };
    let candidates: Vec<(String, String, bool)> = grants
        .iter()
        .map(|(p, owner)| {
            let (path, name) = split(p);
            (path, name, *owner)
        })
        .collect();
    match (candidates.as_slice(), name_pattern) {
        ([], _) => Err("it holds no crossrepl statement for this organization.".into()),
        ([only], None) => Ok(only.clone()),
        (_, Some(want)) => candidates
            .iter()
            .find(|(_, name, _)| name == want)
            .cloned()
            .ok_or_else(|| format!("none of its statements for this organization admits roles named {want:?}.")),
        (_, None) => Err(format!(
            "it holds {} crossrepl statements for this organization (role name patterns: {}); say which with \
             `<bucket>,<source_organization_id>,<role name pattern>`.",
            candidates.len(),
            candidates.iter().map(|(_, n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// `(bucket, source account, source bucket)` of an import id, checked.
fn parse_id(id: &str) -> Result<(&str, &str, Option<&str>), Diagnostics> {
    let usage = || {
        Diagnostics::from(Diagnostic::error(
            "Invalid import id",
            format!(
                "Import {TYPE_NAME} as `<bucket>,<source_account_id>` (or `<bucket>,<source_account_id>,<source_bucket>` \
                 when the role name cannot tell the source bucket), or in organization mode as \
                 `<bucket>,<source_organization_id>` (or `<bucket>,<source_organization_id>,<role name pattern>`); \
                 got {id:?}."
            ),
        ))
    };
    let parts: Vec<&str> = id.split(',').map(str::trim).collect();
    let (bucket, account, source_bucket) = match parts.as_slice() {
        [b, a] => (*b, *a, None),
        [b, a, s] => (*b, *a, Some(*s)),
        _ => return Err(usage()),
    };
    let source_ok = account.parse::<AccountId>().is_ok() || check_organization_id(account).is_ok();
    if bucket.parse::<BucketName>().is_err() || !source_ok {
        return Err(usage());
    }
    Ok((bucket, account, source_bucket))
}

/// The source bucket a role named by crossrepl (`crossrepl-<bucket>`, unshortened) stands for.
fn bucket_of_role(name: &str) -> Option<String> {
    name.strip_prefix("crossrepl-").filter(|b| grants::role_name_for_bucket(b) == name).map(str::to_string)
}

/// The role an import is about: the only one of `account` in the policy, or, with a source bucket, the one named
/// after it (`crossrepl-<source bucket>`).
fn pick_role<'a>(roles: &'a [String], source_bucket: Option<&str>) -> Result<&'a String, String> {
    let name_of = |arn: &str| arn.rsplit('/').next().unwrap_or_default().to_string();
    match (roles, source_bucket) {
        ([], _) => Err("it holds neither crossrepl statements nor a hand-written replication grant (principal: a \
                        role of this source account; only replication actions on this bucket; no condition)."
            .into()),
        ([only], None) => Ok(only),
        (_, Some(b)) => {
            let want = grants::role_name_for_bucket(b);
            match roles.iter().find(|r| name_of(r) == want) {
                Some(r) => Ok(r),
                None if roles.len() == 1 => Ok(&roles[0]),
                None => Err(format!(
                    "none of its crossrepl statements names the role {want} of source bucket {b} (roles: {}).",
                    roles.iter().map(|r| name_of(r)).collect::<Vec<_>>().join(", ")
                )),
            }
        }
        (_, None) => Err(format!(
            "it holds crossrepl statements for {} roles of this source account; say which with \
             `<bucket>,<source_account_id>,<source_bucket>`.",
            roles.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_picks_the_role_of_the_source_bucket() {
        let roles = vec![
            "arn:aws:iam::111111111111:role/crossrepl-one".to_string(),
            "arn:aws:iam::111111111111:role/crossrepl-two".to_string(),
        ];
        assert_eq!(pick_role(&roles, Some("two")).unwrap(), &roles[1]);
        assert!(pick_role(&roles, None).unwrap_err().contains("<source_bucket>"));
        assert!(pick_role(&roles, Some("three")).is_err());
        assert_eq!(pick_role(&roles[..1], None).unwrap(), &roles[0]);
        // A custom role name: the only role of the account is the one, whatever its name.
        assert_eq!(pick_role(&roles[..1], Some("other")).unwrap(), &roles[0]);
        assert!(pick_role(&[], None).is_err());
    }
}
