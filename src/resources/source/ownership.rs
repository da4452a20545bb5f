//! crossrepl never adopts what it did not create: one rule set, reported at plan time as diagnostics and applied
//! at apply time as a refusal. A role or policy is crossrepl's when it carries this resource's ownership tag (left
//! by an earlier, perhaps interrupted, create of the same resource); a replication configuration when its role
//! is that role.

use tfplugin::{AttributePath, Diagnostic};

use super::model::owned_by;
use super::schema::TYPE_NAME;

/// What holds the names a source wants, as far as it was looked at (`None`: nothing there, or not looked at).
#[derive(Debug, Default)]
pub struct Occupants {
    /// Tags of the role with the wanted name.
    pub role_tags: Option<Vec<(String, String)>>,
    /// Tags of the policy with the wanted ARN.
    pub policy_tags: Option<Vec<(String, String)>>,
    /// The role of the bucket's replication configuration.
    pub configuration_role: Option<String>,
}

/// What a source wants to own.
pub struct Claim<'a> {
    /// The diagnostics' label, e.g. `crossrepl_source "acme-data"`.
    pub label: &'a str,
    /// The source bucket (the ownership tag's value).
    pub bucket: &'a str,
    /// The role's name and ARN.
    pub role_name: &'a str,
    /// The role's ARN.
    pub role_arn: &'a str,
    /// The policy's ARN.
    pub policy_arn: &'a str,
}

/// The refusals for what `occupants` hold that crossrepl did not create.
pub fn refusals(claim: &Claim<'_>, occupants: &Occupants) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let role_ours = occupants.role_tags.as_deref().map(|t| owned_by(t, claim.bucket));
    if role_ours == Some(false) {
        out.push(role_taken(claim.label, claim.bucket, claim.role_name));
    }
    if occupants.policy_tags.as_deref().is_some_and(|t| !owned_by(t, claim.bucket)) {
        out.push(policy_taken(claim.label, claim.bucket, claim.policy_arn));
    }
    if let Some(role) = &occupants.configuration_role
        && !(role_ours == Some(true) && role == claim.role_arn)
    {
        out.push(
            Diagnostic::error(
                format!("{}: bucket {} already has a replication configuration", claim.label, claim.bucket),
                format!(
                    "Its role is {role}; crossrepl did not write it. {} Or remove the existing configuration first if \
                     it is no longer wanted.",
                    adopt_advice(claim.bucket)
                ),
            )
            .at(AttributePath::attr("bucket")),
        );
    }
    out
}

/// The role name is taken by a role crossrepl did not create.
pub fn role_taken(label: &str, bucket: &str, role_name: &str) -> Diagnostic {
    Diagnostic::error(format!("{label}: role {role_name} already exists"), adopt_advice(bucket))
        .at(AttributePath::attr("role_name"))
}

/// The policy name is taken by a policy crossrepl did not create.
pub fn policy_taken(label: &str, bucket: &str, policy_arn: &str) -> Diagnostic {
    Diagnostic::error(format!("{label}: policy {policy_arn} already exists"), adopt_advice(bucket))
        .at(AttributePath::attr("policy_name"))
}

/// What to do about a role, policy or replication configuration crossrepl did not create.
fn adopt_advice(bucket: &str) -> String {
    format!(
        "crossrepl does not adopt what it did not create. Import the existing setup with `tofu import` (or \
         `terraform import`) `{TYPE_NAME}.<name> {bucket}`, or an `import` block; or choose other names with \
         `role_name` / `policy_name`."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::source::schema::OWNER_TAG;

    fn claim() -> Claim<'static> {
        Claim {
            label: "crossrepl_source \"src\"",
            bucket: "src",
            role_name: "crossrepl-src",
            role_arn: "arn:aws:iam::111111111111:role/crossrepl-src",
            policy_arn: "arn:aws:iam::111111111111:policy/crossrepl-policy-src",
        }
    }

    fn owner(bucket: &str) -> Vec<(String, String)> {
        vec![(OWNER_TAG.to_string(), bucket.to_string())]
    }

    #[test]
    fn only_what_carries_our_tag_is_ours() {
        assert!(refusals(&claim(), &Occupants::default()).is_empty());
        let ours = Occupants {
            role_tags: Some(owner("src")),
            policy_tags: Some(owner("src")),
            configuration_role: Some(claim().role_arn.to_string()),
        };
        assert!(refusals(&claim(), &ours).is_empty());
        let theirs = Occupants {
            role_tags: Some(owner("other")),
            policy_tags: Some(vec![]),
            configuration_role: Some("arn:aws:iam::111111111111:role/theirs".into()),
        };
        let paths: Vec<String> =
            refusals(&claim(), &theirs).iter().map(|d| d.attribute.as_ref().unwrap().to_string()).collect();
        assert_eq!(paths, ["role_name", "policy_name", "bucket"]);
        // our role name, but a configuration with our role while the role is not ours: still refused
        let foreign_role = Occupants {
            role_tags: Some(vec![]),
            configuration_role: Some(claim().role_arn.into()),
            ..Default::default()
        };
        assert_eq!(refusals(&claim(), &foreign_role).len(), 2);
    }
}
