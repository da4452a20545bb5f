//! The model of `crossrepl_destination` (configuration, plan and state), and [`Desired`]: the statements it
//! merges into the bucket policy, derived from a wholly known plan or state.

use framework::Known;

use crate::domain::arn::{Partition, bucket_arn, role_arn};
use crate::domain::grants::{self, DestinationGrantInput};
use crate::domain::policy::Statement;
use crate::resources::bucket_settings::BucketSettings;
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
        /// What the destination admits, for the source.
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
    /// Whether the role may make this account the owner of replicas.
    pub owner_override: bool,
    /// The two statements.
    pub statements: Vec<Statement>,
    /// Their Sids.
    pub sids: Vec<String>,
    /// The Sid prefix (the object statement's Sid).
    pub sid: String,
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
        let owner_override = input.owner_override;
        Some(Desired { partition, bucket, source_account_id, source_role_arn, owner_override, statements, sids, sid })
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

    /// `base` with the computed attributes of what exists; `statement_sid` only when the statements are in place;
    /// the grant's bucket settings from `demands`, unknown without them.
    pub fn state(
        &self,
        base: &DestinationModel,
        account: Known<String>,
        statements_ok: bool,
        demands: Option<&BucketSettings>,
    ) -> DestinationModel {
        let bucket_arn = Known::Value(bucket_arn(self.partition, &self.bucket));
        let grant = GrantModel {
            bucket_arn: bucket_arn.clone(),
            role_arn: Known::Value(self.source_role_arn.clone()),
            owner_override: Known::Value(self.owner_override),
            object_lock: demands.map_or(Known::Unknown, |d| Known::Value(d.object_lock)),
            default_kms_key_arn: demands.map_or(Known::Unknown, |d| d.default_kms_key_arn.clone().into()),
        };
        DestinationModel {
            id: Known::Value(format!("{},{}", self.bucket, self.source_account_id)),
            bucket_arn,
            account_id: account,
            source_role_arn: Known::Value(self.source_role_arn.clone()),
            statement_sid: if statements_ok { Known::Value(self.sid.clone()) } else { Known::Null },
            grant: Known::Value(grant),
            ..base.clone()
        }
    }
}
