//! The model of `crossrepl_destination` (configuration, plan and state), and [`Desired`]: the statements it
//! merges into the bucket policy and the replica keys' policies, derived from a wholly known plan or state.

use framework::{Known, Set};

use std::sync::Arc;

use crate::domain::arn::{Partition, bucket_arn, role_arn};
use crate::domain::grants::compact::{self, Admit, OrganizationGrantInput, Release};
use crate::domain::grants::{self, DestinationGrantInput};
use crate::domain::policy::edit::{PutStatement, RemoveStatement, SharedEdit, all_hold};
use crate::domain::policy::merge::statements_match;
use crate::domain::policy::{PolicyDocument, PolicyError, Statement};
use crate::resources::grant::GrantModel;

framework::model! {
    /// A `crossrepl_destination`.
    pub struct DestinationModel {
        /// `<bucket>,<source_account_id>`.
        pub id: Known<String>,
        /// The destination bucket.
        pub bucket: Known<String>,
        /// The source account.
        pub source_account_id: Known<String>,
        /// The source bucket.
        pub source_bucket: Known<String>,
        /// Organization mode: the organization whose replication roles are admitted.
        pub source_organization_id: Known<String>,
        /// Organization mode: the names of the admitted roles.
        pub source_role_name_pattern: Known<String>,
        /// The replication role's name.
        pub source_role_name: Known<String>,
        /// The replication role's path.
        pub source_role_path: Known<String>,
        /// Whether the role may make this account the owner of replicas.
        pub accept_owner_override: Known<bool>,
        /// Whether apply turns versioning on.
        pub enable_versioning: Known<bool>,
        /// The destination bucket's ARN.
        pub bucket_arn: Known<String>,
        /// The destination account.
        pub account_id: Known<String>,
        /// The replication role's ARN.
        pub source_role_arn: Known<String>,
        /// The Sid of the statements, when they are in place.
        pub statement_sid: Known<String>,
        /// Keys of this account whose key policies admit the role.
        pub replica_kms_key_arns: Known<Set<Known<String>>>,
        /// The key the bucket's default encryption names.
        pub default_kms_key_arn: Known<String>,
        /// The Sid of the key-policy statement, when it is in place in every key policy.
        pub kms_statement_sid: Known<String>,
        /// What the destination admits and demands, for the source.
        pub grant: Known<GrantModel>,
    }
}

/// Whom the destination admits.
#[derive(Debug, Clone)]
pub enum Admission {
    /// One source role, by its ARN, in the bucket policy's compact statements.
    Role(DestinationGrantInput),
    /// The replication roles of an organization, in a statement of their own.
    Organization(OrganizationGrantInput),
}

/// Everything the resource derives from its configuration.
pub struct Desired {
    /// The partition.
    pub partition: &'static Partition,
    /// The destination bucket.
    pub bucket: String,
    /// The source account, or in organization mode the organization (the second part of the id).
    pub source: String,
    /// Whom the bucket policy admits.
    pub admission: Admission,
    /// The known keys of `replica_kms_key_arns`, sorted.
    pub kms_keys: Vec<String>,
    /// The bucket's default key, when known.
    pub default_kms_key: Option<String>,
    /// The Sid of the key-policy statement.
    pub kms_sid: String,
}

impl Desired {
    /// What `m` asks for, when the names it needs are known.
    pub fn from_model(m: &DestinationModel, partition: &'static Partition) -> Option<Desired> {
        let bucket = m.bucket.known()?.clone();
        let owner_override = *m.accept_owner_override.known()?;
        let (source, admission, kms_sid) = match (m.source_organization_id.known(), m.source_account_id.known()) {
            (Some(org), _) => {
                let pattern = compact::role_arn_pattern(
                    partition.id,
                    m.source_role_path.known()?,
                    m.source_role_name_pattern.known()?,
                );
                let input = OrganizationGrantInput {
                    partition: partition.id.to_string(),
                    destination_bucket: bucket.clone(),
                    organization_id: org.clone(),
                    role_arn_pattern: pattern,
                    owner_override,
                };
                let kms_sid = format!("{}Kms", compact::organization_sid(&input));
                (org.clone(), Admission::Organization(input), kms_sid)
            }
            (None, Some(account)) if m.source_organization_id.is_null() => {
                let role = role_arn(partition, account, m.source_role_path.known()?, m.source_role_name.known()?);
                let input = DestinationGrantInput {
                    partition: partition.id.to_string(),
                    destination_bucket: bucket.clone(),
                    source_account_id: account.clone(),
                    source_role_arn: role,
                    owner_override,
                };
                (account.clone(), Admission::Role(input.clone()), grants::replica_key_sid(&input))
            }
            _ => return None,
        };
        Some(Desired {
            partition,
            bucket,
            source,
            admission,
            kms_keys: known_keys(&m.replica_kms_key_arns),
            default_kms_key: m.default_kms_key_arn.known().cloned(),
            kms_sid,
        })
    }

    /// The admitted role's ARN (`None` in organization mode).
    pub fn source_role_arn(&self) -> Option<&str> {
        match &self.admission {
            Admission::Role(r) => Some(&r.source_role_arn),
            Admission::Organization(_) => None,
        }
    }

    /// The statement merged into the policy of `key`, one of [`Desired::kms_keys`].
    pub fn kms_statement(&self, key: &str) -> Result<Statement, PolicyError> {
        let default = self.default_kms_key.as_deref() == Some(key);
        match &self.admission {
            Admission::Role(r) => grants::replica_key_statement(r, key, default),
            Admission::Organization(o) => grants::organization_key_statement(o, key, default),
        }
    }

    /// The bucket-policy change that admits the source: the role's entry in the compact statements, replacing its
    /// per-source statements and the hand-written grants to it (a migrated setup's) in the same write; or the
    /// organization's statement.
    pub fn admit(&self) -> Vec<SharedEdit> {
        match &self.admission {
            Admission::Role(r) => vec![Arc::new(Admit(r.clone()))],
            Admission::Organization(o) => vec![Arc::new(PutStatement(compact::organization_statement(o)))],
        }
    }

    /// The bucket-policy change that takes the source out again.
    pub fn release(&self) -> Vec<SharedEdit> {
        match &self.admission {
            Admission::Role(r) => vec![Arc::new(Release(r.clone()))],
            Admission::Organization(o) => vec![Arc::new(RemoveStatement(compact::organization_sid(o)))],
        }
    }

    /// The Sid of the statement that admits the source as configured.
    pub fn sid(&self) -> String {
        match &self.admission {
            Admission::Role(_) => compact::ROLES_SID.to_owned(),
            Admission::Organization(o) => compact::organization_sid(o),
        }
    }

    /// The Sid `statement_sid` records for what `doc` holds: [`Desired::sid`] when the source is admitted as
    /// configured, the per-source statements' when those of an earlier release admit the role (the next apply
    /// migrates them), else none.
    pub fn sid_in_place(&self, doc: Option<&PolicyDocument>) -> Option<String> {
        if all_hold(doc, &self.admit()) {
            return Some(self.sid());
        }
        let Admission::Role(r) = &self.admission else { return None };
        let per_source = grants::destination_statements(r);
        doc.filter(|d| statements_match(d, &per_source)).map(|_| grants::destination_sid_prefix(r))
    }

    /// Everything in place, as a plan and a successful apply record it.
    pub fn all_in_place(&self) -> InPlace {
        InPlace { bucket_policy: Some(self.sid()), key_policies: true }
    }

    /// `base` with the computed attributes of what exists; `statement_sid` as `ok` found the bucket policy,
    /// `kms_statement_sid` only when there are keys and the key-policy statements are in place; the grant with the
    /// bucket's Object Lock (`object_lock`) and default key (`base`'s).
    pub fn state(
        &self,
        base: &DestinationModel,
        account: Known<String>,
        ok: InPlace,
        object_lock: Known<bool>,
    ) -> DestinationModel {
        let kms_statement_sid = match &base.replica_kms_key_arns {
            Known::Unknown => Known::Unknown,
            Known::Value(keys) if !keys.0.is_empty() && ok.key_policies => Known::Value(self.kms_sid.clone()),
            _ => Known::Null,
        };
        let bucket_arn = Known::Value(bucket_arn(self.partition, &self.bucket));
        let role_arn = self.source_role_arn().map_or(Known::Null, |r| Known::Value(r.to_owned()));
        let (organization_id, role_arn_pattern, owner_override) = match &self.admission {
            Admission::Role(r) => (Known::Null, Known::Null, r.owner_override),
            Admission::Organization(o) => {
                (Known::Value(o.organization_id.clone()), Known::Value(o.role_arn_pattern.clone()), o.owner_override)
            }
        };
        let grant = GrantModel {
            bucket_arn: bucket_arn.clone(),
            role_arn: role_arn.clone(),
            organization_id,
            role_arn_pattern,
            owner_override: Known::Value(owner_override),
            object_lock,
            default_kms_key_arn: base.default_kms_key_arn.clone(),
            replica_kms_key_arns: base.replica_kms_key_arns.clone(),
        };
        DestinationModel {
            id: Known::Value(format!("{},{}", self.bucket, self.source)),
            bucket_arn,
            account_id: account,
            source_role_arn: role_arn,
            statement_sid: ok.bucket_policy.clone().map_or(Known::Null, Known::Value),
            kms_statement_sid,
            grant: Known::Value(grant),
            ..base.clone()
        }
    }
}

/// Which of the statements [`Desired`] asks for are in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InPlace {
    /// The Sid of the bucket-policy statement admitting the role ([`Desired::sid_in_place`]).
    pub bucket_policy: Option<String>,
    /// The statement in every listed key's policy.
    pub key_policies: bool,
}

/// The known elements of a set of key ARNs, sorted and without repeats.
pub fn known_keys(keys: &Known<Set<Known<String>>>) -> Vec<String> {
    let mut out: Vec<String> =
        keys.known().map(|k| k.0.iter().filter_map(|k| k.known().cloned()).collect()).unwrap_or_default();
    out.sort();
    out.dedup();
    out
}
