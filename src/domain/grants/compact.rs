//! The compact destination grant: one bucket-policy statement admits every source role of a fan-in, each by its
//! exact ARN, so that hundreds of sources fit in S3's 20 KB (a second, small statement lists the roles that may
//! make the destination account the owner of replicas). Each `crossrepl_destination` is one member: it adds its
//! role to the lists ([`Admit`]) and takes it out again ([`Release`]), and never touches another member's entry.
//!
//! The statements' principal is `*`, restricted by two fixed-value conditions: `aws:PrincipalArn` equal to one of
//! the role ARNs (what admits exactly those roles), and `aws:PrincipalAccount` equal to one of their accounts.
//! The account list restricts nothing further (every role ARN names its account); it keeps the statement
//! non-public for S3 Block Public Access, whose "The meaning of public" counts a policy as non-public when it grants
//! access only to fixed values of principal keys such as the principal's account, and refuses a public policy where
//! `BlockPublicPolicy` is on, the default for new buckets
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status>).
//! A principal list of account roots would cost 33 bytes per account instead of 15, and one statement per
//! source (what [`super::destination_statements`] writes, and what earlier releases merged) about 800 bytes per
//! source: 25 sources per bucket.

use super::*;
use crate::domain::policy::edit::Edit;
use crate::domain::policy::merge::{find_statements, merge_statements, remove_statements};

/// Sid of the statement that admits every member's role to replicate into the bucket.
pub const ROLES_SID: &str = "CrossreplReplicationRoles";

/// Sid of the statement that lets the members with `accept_owner_override` make the destination account the owner
/// of replicas.
pub const OWNER_OVERRIDE_SID: &str = "CrossreplReplicationOwnerOverride";

const PRINCIPAL_ARN: &str = "aws:PrincipalArn";
const PRINCIPAL_ACCOUNT: &str = "aws:PrincipalAccount";

/// The role ARNs a compact statement (Sid `sid`) of `doc` admits, sorted.
pub fn admitted_roles(doc: &PolicyDocument, sid: &str) -> BTreeSet<String> {
    find_statements(doc, &[sid.to_owned()])
        .into_iter()
        .filter_map(|s| s.condition.as_ref()?.0.get("ArnEquals")?.get(PRINCIPAL_ARN))
        .flat_map(|v| v.0.iter().cloned())
        .collect()
}

/// The compact statement with Sid `sid` admitting `roles` to `actions` on `resources`; `None` for no roles.
fn statement(sid: &str, actions: &[&str], resources: Vec<String>, roles: &BTreeSet<String>) -> Option<Statement> {
    if roles.is_empty() {
        return None;
    }
    let accounts: BTreeSet<String> = roles.iter().filter_map(|r| account_of(r).map(str::to_owned)).collect();
    let condition = Condition::default().with("StringEquals", PRINCIPAL_ACCOUNT, accounts.into_iter().collect()).with(
        "ArnEquals",
        PRINCIPAL_ARN,
        roles.iter().cloned().collect(),
    );
    Some(Statement { principal: Some(Principal::Any), condition: Some(condition), ..allow(sid, actions, resources) })
}

/// The replication statement admitting `roles` to `bucket` (`None` for no roles): writing replicas, delete markers
/// and their tags on the objects, reading the bucket's versioning (the actions of [`super::destination_statements`],
/// for the same reasons).
pub fn roles_statement(partition: &str, bucket: &str, roles: &BTreeSet<String>) -> Option<Statement> {
    let bucket = s3_arn(partition, bucket);
    let mut actions = OBJECT_REPLICATION_ACTIONS.to_vec();
    actions.push("s3:GetBucketVersioning");
    statement(ROLES_SID, &actions, vec![bucket.clone(), format!("{bucket}/*")], roles)
}

/// The statement letting `roles` make the destination account the owner of replicas in `bucket` (`None` for no
/// roles; "Changing the replica owner",
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-change-owner.html>).
pub fn owner_override_statement(partition: &str, bucket: &str, roles: &BTreeSet<String>) -> Option<Statement> {
    let objects = format!("{}/*", s3_arn(partition, bucket));
    statement(OWNER_OVERRIDE_SID, &[OWNER_OVERRIDE_ACTION], vec![objects], roles)
}

/// Sids of the statements one source role had in the per-source form of earlier releases (and of
/// [`super::destination_statements`]).
fn per_source_sids(member: &DestinationGrantInput) -> Vec<String> {
    let prefix = destination_sid_prefix(member);
    vec![format!("{prefix}{BUCKET_SID_SUFFIX}"), prefix]
}

/// `doc` with the compact statements rebuilt from `roles` and `owners` (each dropped when empty), the member's
/// per-source statements and, when `supersede`, the hand-written grants to its role taken out.
fn rebuild(
    doc: Option<PolicyDocument>,
    member: &DestinationGrantInput,
    roles: &BTreeSet<String>,
    owners: &BTreeSet<String>,
    supersede: bool,
) -> Option<PolicyDocument> {
    let (partition, bucket) = (member.partition.as_str(), member.destination_bucket.as_str());
    let mut gone = per_source_sids(member);
    let mut put = Vec::new();
    for (sid, statement) in [
        (ROLES_SID, roles_statement(partition, bucket, roles)),
        (OWNER_OVERRIDE_SID, owner_override_statement(partition, bucket, owners)),
    ] {
        match statement {
            Some(s) => put.push(s),
            None => gone.push(sid.to_owned()),
        }
    }
    let mut doc = doc.and_then(|d| remove_statements(d, &gone));
    if supersede {
        doc = doc.and_then(|d| remove_superseded_grants(d, partition, bucket, &member.source_role_arn));
    }
    if put.is_empty() { doc } else { Some(merge_statements(doc, &put)) }
}

/// Whether `doc` holds the compact statements exactly as [`rebuild`] would write them for the roles they list,
/// with `member`'s role in the owner-override statement exactly when `owner`, and none of its per-source statements.
fn consistent(doc: &PolicyDocument, member: &DestinationGrantInput, owner: bool) -> bool {
    let (partition, bucket) = (member.partition.as_str(), member.destination_bucket.as_str());
    let roles = admitted_roles(doc, ROLES_SID);
    let owners = admitted_roles(doc, OWNER_OVERRIDE_SID);
    let matches = |sid: &str, want: Option<Statement>| {
        let found = find_statements(doc, &[sid.to_owned()]);
        match want {
            Some(w) => found.len() == 1 && found[0].semantically_equal(&w),
            None => found.is_empty(),
        }
    };
    owners.contains(&member.source_role_arn) == owner
        && matches(ROLES_SID, roles_statement(partition, bucket, &roles))
        && matches(OWNER_OVERRIDE_SID, owner_override_statement(partition, bucket, &owners))
        && find_statements(doc, &per_source_sids(member)).is_empty()
}

fn member_key(member: &DestinationGrantInput) -> String {
    format!("member:{}:{}", member.destination_bucket, member.source_role_arn)
}

/// Adds one source role to the compact statements (and to the owner-override one when `owner_override`, else takes
/// it out of it), in the same write taking out its per-source statements and the hand-written grants to it they
/// supersede: a source admitted before stays admitted throughout.
#[derive(Debug, Clone)]
pub struct Admit(pub DestinationGrantInput);

impl Edit for Admit {
    fn key(&self) -> String {
        member_key(&self.0)
    }
    fn apply(&self, doc: Option<PolicyDocument>) -> Option<PolicyDocument> {
        let m = &self.0;
        let mut roles = doc.as_ref().map(|d| admitted_roles(d, ROLES_SID)).unwrap_or_default();
        let mut owners = doc.as_ref().map(|d| admitted_roles(d, OWNER_OVERRIDE_SID)).unwrap_or_default();
        roles.insert(m.source_role_arn.clone());
        if m.owner_override {
            owners.insert(m.source_role_arn.clone());
        } else {
            owners.remove(&m.source_role_arn);
        }
        rebuild(doc, m, &roles, &owners, true)
    }
    fn holds(&self, doc: Option<&PolicyDocument>) -> bool {
        let m = &self.0;
        doc.is_some_and(|d| {
            admitted_roles(d, ROLES_SID).contains(&m.source_role_arn)
                && consistent(d, m, m.owner_override)
                && !d
                    .statements
                    .iter()
                    .any(|s| is_superseded_grant(s, &m.partition, &m.destination_bucket, &m.source_role_arn))
        })
    }
}

/// Takes one source role out of the compact statements (and its per-source statements out of the policy), leaving
/// every other member's entry; a statement left with no role goes, and the policy goes when nothing is left.
#[derive(Debug, Clone)]
pub struct Release(pub DestinationGrantInput);

impl Edit for Release {
    fn key(&self) -> String {
        member_key(&self.0)
    }
    fn apply(&self, doc: Option<PolicyDocument>) -> Option<PolicyDocument> {
        let doc = doc?;
        let role = &self.0.source_role_arn;
        let mut roles = admitted_roles(&doc, ROLES_SID);
        let mut owners = admitted_roles(&doc, OWNER_OVERRIDE_SID);
        let listed = roles.remove(role) | owners.remove(role);
        let per_source = !find_statements(&doc, &per_source_sids(&self.0)).is_empty();
        if !listed && !per_source {
            return Some(doc);
        }
        rebuild(Some(doc), &self.0, &roles, &owners, false)
    }
    fn holds(&self, doc: Option<&PolicyDocument>) -> bool {
        let role = &self.0.source_role_arn;
        doc.is_none_or(|d| {
            !admitted_roles(d, ROLES_SID).contains(role)
                && !admitted_roles(d, OWNER_OVERRIDE_SID).contains(role)
                && find_statements(d, &per_source_sids(&self.0)).is_empty()
        })
    }
}

/// What a destination admits in organization mode: every replication role of an AWS Organization whose ARN
/// matches a pattern, in one statement whatever the number of source accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationGrantInput {
    /// AWS partition.
    pub partition: String,
    /// Destination bucket name.
    pub destination_bucket: String,
    /// The organization's id (`o-` and 10 to 32 lowercase letters or digits).
    pub organization_id: String,
    /// `ArnLike` pattern of the admitted roles, in any account: `arn:<partition>:iam::*:role<path><name pattern>`.
    pub role_arn_pattern: String,
    /// Whether the roles may make the destination account the owner of replicas.
    pub owner_override: bool,
}

/// The `ArnLike` pattern of roles named `name_pattern` (with `*` and `?`) under `path`, in any account.
pub fn role_arn_pattern(partition: &str, path: &str, name_pattern: &str) -> String {
    format!("arn:{partition}:iam::*:role{path}{name_pattern}")
}

/// The Sid of an organization's statement: `CrossreplReplicationOrg` and a 16-hex-digit hash of the organization id
/// and the role pattern, so that a bucket can admit several organizations or patterns.
pub fn organization_sid(input: &OrganizationGrantInput) -> String {
    let what = format!("{}|{}", input.organization_id, input.role_arn_pattern);
    format!("{DESTINATION_SID_BASE}Org{:016x}", fnv1a64(what.as_bytes()))
}

/// The conditions that admit an organization's roles: `aws:PrincipalOrgID` equal to the organization (a fixed value,
/// which keeps the statement non-public for S3 Block Public Access,
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status>;
/// the key: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid>),
/// and `aws:PrincipalArn` like the role pattern.
pub fn organization_condition(input: &OrganizationGrantInput) -> Condition {
    Condition::default().with("StringEquals", "aws:PrincipalOrgID", vec![input.organization_id.clone()]).with(
        "ArnLike",
        PRINCIPAL_ARN,
        vec![input.role_arn_pattern.clone()],
    )
}

/// The one bucket-policy statement admitting an organization's replication roles: the replication actions of
/// [`roles_statement`], and `s3:ObjectOwnerOverrideToBucketOwner` when `owner_override`.
pub fn organization_statement(input: &OrganizationGrantInput) -> Statement {
    let bucket = s3_arn(&input.partition, &input.destination_bucket);
    let mut actions = OBJECT_REPLICATION_ACTIONS.to_vec();
    actions.push("s3:GetBucketVersioning");
    if input.owner_override {
        actions.push(OWNER_OVERRIDE_ACTION);
    }
    Statement {
        principal: Some(Principal::Any),
        condition: Some(organization_condition(input)),
        ..allow(&organization_sid(input), &actions, vec![bucket.clone(), format!("{bucket}/*")])
    }
}

/// Whether `arn` matches the `ArnLike` pattern `pattern`: component by component (the six `:`-separated parts),
/// `*` any run of characters and `?` one character within a component
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN>).
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    let (p, a): (Vec<&str>, Vec<&str>) = (pattern.splitn(6, ':').collect(), arn.splitn(6, ':').collect());
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p.as_bytes(), a.as_bytes()))
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

/// The organization statements crossrepl wrote into `doc` for `organization_id`: each one's role ARN pattern and
/// whether it grants owner override (for import).
pub fn organization_grants(doc: &PolicyDocument, organization_id: &str) -> Vec<(String, bool)> {
    let base = format!("{DESTINATION_SID_BASE}Org");
    doc.statements
        .iter()
        .filter(|s| s.sid.as_deref().is_some_and(|sid| sid.starts_with(&base)))
        .filter_map(|s| {
            let condition = &s.condition.as_ref()?.0;
            let org = condition.get("StringEquals")?.get("aws:PrincipalOrgID")?;
            let pattern = condition.get("ArnLike")?.get(PRINCIPAL_ARN)?;
            let (org, pattern) = (org.0.as_slice(), pattern.0.as_slice());
            let actions = s.action.as_ref().map_or(&[][..], |a| a.0.as_slice());
            let owner = actions.iter().any(|a| a.eq_ignore_ascii_case(OWNER_OVERRIDE_ACTION));
            matches!(org, [o] if o == organization_id).then(|| pattern.first().cloned().map(|p| (p, owner)))?
        })
        .collect()
}
