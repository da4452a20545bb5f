//! The model of `crossrepl_destination` (configuration, plan and state), and [`Desired`]: the statements it
//! merges into the bucket policy and the replica keys' policies, derived from a wholly known plan or state.

use framework::{Known, Set};

use crate::domain::arn::{Partition, bucket_arn, role_arn};
use crate::domain::grants::{self, DestinationGrantInput};
use crate::domain::policy::{PolicyError, Statement};
use crate::resources::grant::GrantModel;
use crate::resources::merged_policy::OwnedStatements;

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

/// Everything the resource derives from its configuration.
pub struct Desired {
    /// The partition.
    pub partition: &'static Partition,
    /// The destination bucket.
    pub bucket: String,
    /// The source account.
    pub source_account_id: String,
    /// The role the statements admit.
    pub source_role_arn: String,
    /// The two statements.
    pub statements: Vec<Statement>,
    /// Their Sids.
    pub sids: Vec<String>,
    /// The Sid prefix (the object statement's Sid).
    pub sid: String,
    /// What the statements are made of.
    pub grant: DestinationGrantInput,
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
        let source_account_id = m.source_account_id.known()?.clone();
        let source_role_arn =
            role_arn(partition, &source_account_id, m.source_role_path.known()?, m.source_role_name.known()?);
        let input = DestinationGrantInput {
            partition: partition.id.to_string(),
            destination_bucket: bucket.clone(),
            source_account_id: source_account_id.clone(),
            source_role_arn: source_role_arn.clone(),
            owner_override: *m.accept_owner_override.known()?,
        };
        let statements = grants::destination_statements(&input);
        let sids = statements.iter().filter_map(|s| s.sid.clone()).collect();
        let sid = grants::destination_sid_prefix(&input);
        let kms_sid = grants::replica_key_sid(&input);
        Some(Desired {
            partition,
            bucket,
            source_account_id,
            source_role_arn,
            statements,
            sids,
            sid,
            grant: input,
            kms_keys: known_keys(&m.replica_kms_key_arns),
            default_kms_key: m.default_kms_key_arn.known().cloned(),
            kms_sid,
        })
    }

    /// The statement merged into the policy of `key`, one of [`Desired::kms_keys`].
    pub fn kms_statement(&self, key: &str) -> Result<Statement, PolicyError> {
        grants::replica_key_statement(&self.grant, key, self.default_kms_key.as_deref() == Some(key))
    }

    /// Our statements in the bucket policy, replacing `stale` Sids (a previous role's) and the hand-written grants
    /// to the same role that they supersede (a migrated setup's).
    pub fn owned<'a>(
        &'a self,
        stale: &'a [String],
        supersedes: &'a (dyn Fn(&Statement) -> bool + Sync),
    ) -> OwnedStatements<'a> {
        OwnedStatements { statements: &self.statements, stale, supersedes }
    }

    /// Whether `s` is a hand-written replication grant for the same role that our statements replace.
    pub fn supersedes(&self, s: &Statement) -> bool {
        grants::is_superseded_grant(s, self.partition.id, &self.bucket, &self.source_role_arn)
    }

    /// `base` with the computed attributes of what exists; `statement_sid` only when the bucket-policy statements
    /// are in place, `kms_statement_sid` only when there are keys and the key-policy statements are in place; the
    /// grant with the bucket's Object Lock (`object_lock`) and default key (`base`'s).
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
        let grant = GrantModel {
            bucket_arn: bucket_arn.clone(),
            role_arn: Known::Value(self.source_role_arn.clone()),
            owner_override: Known::Value(self.grant.owner_override),
            object_lock,
            default_kms_key_arn: base.default_kms_key_arn.clone(),
            replica_kms_key_arns: base.replica_kms_key_arns.clone(),
        };
        DestinationModel {
            id: Known::Value(format!("{},{}", self.bucket, self.source_account_id)),
            bucket_arn,
            account_id: account,
            source_role_arn: Known::Value(self.source_role_arn.clone()),
            statement_sid: if ok.bucket_policy { Known::Value(self.sid.clone()) } else { Known::Null },
            kms_statement_sid,
            grant: Known::Value(grant),
            ..base.clone()
        }
    }
}

/// Which of the statements [`Desired`] asks for are in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InPlace {
    /// The bucket-policy statements.
    pub bucket_policy: bool,
    /// The statement in every listed key's policy.
    pub key_policies: bool,
}

impl InPlace {
    /// Everything (what a plan and a successful apply record).
    pub const ALL: InPlace = InPlace { bucket_policy: true, key_policies: true };
}

/// The known elements of a set of key ARNs, sorted and without repeats.
pub fn known_keys(keys: &Known<Set<Known<String>>>) -> Vec<String> {
    let mut out: Vec<String> =
        keys.known().map(|k| k.0.iter().filter_map(|k| k.known().cloned()).collect()).unwrap_or_default();
    out.sort();
    out.dedup();
    out
}
