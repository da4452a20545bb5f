//! The model of `crossrepl_source` (configuration, plan and state), and [`Desired`]: everything the resource
//! derives from a wholly known plan or state.

use std::collections::BTreeMap;

use framework::{Known, Set};
use tfplugin::Number;

use super::schema::OWNER_TAG;
use crate::domain::arn::{Partition, bucket_arn, policy_arn, role_arn};
use crate::domain::grants::{self, DestinationGrant, RolePolicyInput};
use crate::domain::policy::PolicyDocument;
use crate::domain::replication::{DestinationSpec, ReplicationConfig};
use crate::resources::grant::GrantModel;

framework::model! {
    /// A `crossrepl_source`.
    pub struct SourceModel {
        /// The source bucket name.
        pub id: Known<String>,
        /// The source bucket.
        pub bucket: Known<String>,
        /// The replication role's name.
        pub role_name: Known<String>,
        /// The role policy's name.
        pub policy_name: Known<String>,
        /// The IAM path of both.
        pub role_path: Known<String>,
        /// The role's permissions boundary.
        pub permissions_boundary: Known<String>,
        /// The user's tags of the role and policy.
        pub tags: Known<BTreeMap<String, Known<String>>>,
        /// Whether apply turns versioning on.
        pub enable_versioning: Known<bool>,
        /// The role's ARN, when it exists as planned.
        pub role_arn: Known<String>,
        /// The policy's ARN, when it exists as planned.
        pub policy_arn: Known<String>,
        /// The source bucket's ARN.
        pub bucket_arn: Known<String>,
        /// The replication rules.
        pub destination: Known<Vec<DestinationBlock>>,
        /// Replication of the objects the bucket already holds (at most one block).
        pub existing_objects: Known<Vec<ExistingObjectsBlock>>,
        /// The replication check at apply (at most one block).
        pub verify: Known<Vec<VerifyBlock>>,
    }
}

framework::model! {
    /// The `verify` block: a canary per rule, written and watched at apply.
    pub struct VerifyBlock {
        /// Key part of the canaries after each rule's prefix.
        pub prefix: Known<String>,
        /// How long to wait for the statuses.
        pub timeout: Known<String>,
        /// Values whose change runs the check.
        pub triggers_replace: Known<BTreeMap<String, Known<String>>>,
        /// When the last check ran.
        pub checked_at: Known<String>,
        /// The last check's result per rule id.
        pub results: Known<BTreeMap<String, Known<String>>>,
    }
}

framework::model! {
    /// The `existing_objects` block: an S3 Batch Replication job and its role.
    pub struct ExistingObjectsBlock {
        /// The completion report's bucket ARN.
        pub report_bucket_arn: Known<String>,
        /// The completion report's key prefix.
        pub report_prefix: Known<String>,
        /// The replication statuses of the objects to replicate.
        pub replication_statuses: Known<Set<Known<String>>>,
        /// Values whose change starts a new job.
        pub triggers_replace: Known<BTreeMap<String, Known<String>>>,
        /// The batch role's ARN, when it exists as planned.
        pub role_arn: Known<String>,
        /// The last job's id.
        pub job_id: Known<String>,
        /// The last job's status.
        pub job_status: Known<String>,
        /// Why it failed.
        pub job_failure_reasons: Known<String>,
    }
}

framework::model! {
    /// One `destination` block: one replication rule.
    pub struct DestinationBlock {
        /// ARN of the destination bucket.
        pub bucket_arn: Known<String>,
        /// Its account (cross-account replication).
        pub account_id: Known<String>,
        /// Key prefix selected.
        pub prefix: Known<String>,
        /// Object tags selected.
        pub tags: Known<BTreeMap<String, Known<String>>>,
        /// Storage class of the replicas.
        pub storage_class: Known<String>,
        /// Replicate delete markers.
        pub delete_marker_replication: Known<bool>,
        /// Replicas owned by the destination account.
        pub owner_override: Known<bool>,
        /// Key of the replicas, a key ARN or an alias ARN.
        pub replica_kms_key_arn: Known<String>,
        /// The key ARN behind `replica_kms_key_arn`.
        pub replica_kms_key_target_arn: Known<String>,
        /// Keys of the source objects.
        pub source_kms_key_arns: Known<Set<Known<String>>>,
        /// Replication time control.
        pub replication_time_control: Known<bool>,
        /// Replication metrics (null in a state written before the attribute existed: as time control).
        pub metrics: Known<bool>,
        /// Replica modification sync.
        pub replica_modifications: Known<bool>,
        /// Rule priority.
        pub priority: Known<Number>,
        /// Rule enabled.
        pub enabled: Known<bool>,
        /// Rule id.
        pub rule_id: Known<String>,
        /// What the destination admits and demands (its `grant`).
        pub grant: Known<GrantModel>,
    }
}

/// A map of known strings, or `None` while any entry is unknown.
pub fn known_map(m: &Known<BTreeMap<String, Known<String>>>) -> Option<BTreeMap<String, String>> {
    match m {
        Known::Null => Some(BTreeMap::new()),
        Known::Unknown => None,
        Known::Value(m) => m.iter().map(|(k, v)| Some((k.clone(), v.known()?.clone()))).collect(),
    }
}

/// Whether a replica key is given by alias ARN (see [`crate::domain::arn::KmsAliasArn`]).
pub fn is_alias(key: &str) -> bool {
    key.contains(":alias/")
}

/// `Known::Null` for an empty map (an unset attribute), else the map.
pub fn map_value(m: BTreeMap<String, String>) -> Known<BTreeMap<String, Known<String>>> {
    if m.is_empty() { Known::Null } else { Known::Value(m.into_iter().map(|(k, v)| (k, Known::Value(v))).collect()) }
}

impl DestinationBlock {
    /// Whether the block selects no SSE-KMS objects: `source_kms_key_arns` left out or empty (unknown is not).
    pub fn selects_no_sse_kms(&self) -> bool {
        self.source_kms_key_arns.is_null() || self.source_kms_key_arns.known().is_some_and(|k| k.0.is_empty())
    }

    /// The destination bucket's default SSE-KMS key from the block's `grant` (none without a grant).
    pub fn default_kms_key_arn(&self) -> Result<Option<String>, String> {
        let unknown = || "`destination.grant` is not known".to_string();
        match &self.grant {
            Known::Null => Ok(None),
            Known::Unknown => Err(unknown()),
            Known::Value(g) => match &g.default_kms_key_arn {
                Known::Unknown => Err(unknown()),
                key => Ok(key.known().cloned()),
            },
        }
    }

    /// The key ARN the role's policy names for the replica key: the key ARN given, or the target of the alias
    /// given (`replica_kms_key_target_arn`, resolved at plan time and on refresh); `None` without a replica key.
    pub fn replica_key_target(&self) -> Result<Option<String>, String> {
        match (&self.replica_kms_key_arn, &self.replica_kms_key_target_arn) {
            (Known::Null, _) => Ok(None),
            (Known::Value(key), _) if !is_alias(key) => Ok(Some(key.clone())),
            (Known::Value(_), Known::Value(target)) => Ok(Some(target.clone())),
            _ => {
                Err("`destination.replica_kms_key_target_arn` is not known (the replica key alias is not resolved)"
                    .into())
            }
        }
    }

    /// The block as a spec, when every attribute it needs is known.
    pub fn spec(&self) -> Result<DestinationSpec, String> {
        let need = |v: &Known<bool>, name: &str| {
            v.known().copied().ok_or_else(|| format!("`destination.{name}` is not known"))
        };
        let opt = |v: &Known<String>, name: &str| match v {
            Known::Unknown => Err(format!("`destination.{name}` is not known")),
            other => Ok(other.known().cloned()),
        };
        Ok(DestinationSpec {
            bucket_arn: opt(&self.bucket_arn, "bucket_arn")?.ok_or("`destination.bucket_arn` is not set")?,
            account_id: opt(&self.account_id, "account_id")?,
            prefix: opt(&self.prefix, "prefix")?.unwrap_or_default(),
            tags: known_map(&self.tags).ok_or("`destination.tags` is not known")?,
            storage_class: opt(&self.storage_class, "storage_class")?,
            delete_marker_replication: need(&self.delete_marker_replication, "delete_marker_replication")?,
            owner_override: need(&self.owner_override, "owner_override")?,
            replica_kms_key_arn: opt(&self.replica_kms_key_arn, "replica_kms_key_arn")?,
            source_kms_key_arns: match &self.source_kms_key_arns {
                Known::Null => Vec::new(),
                Known::Unknown => return Err("`destination.source_kms_key_arns` is not known".into()),
                Known::Value(set) => set
                    .0
                    .iter()
                    .map(|k| k.known().cloned())
                    .collect::<Option<_>>()
                    .ok_or("`destination.source_kms_key_arns` is not known")?,
            },
            replication_time_control: need(&self.replication_time_control, "replication_time_control")?,
            metrics: match &self.metrics {
                Known::Null => need(&self.replication_time_control, "replication_time_control")?,
                m => need(m, "metrics")?,
            },
            replica_modifications: need(&self.replica_modifications, "replica_modifications")?,
            priority: match &self.priority {
                Known::Unknown => return Err("`destination.priority` is not known".into()),
                p => p.known().and_then(Number::as_i64),
            },
            enabled: need(&self.enabled, "enabled")?,
            rule_id: opt(&self.rule_id, "rule_id")?,
        })
    }

    /// A block for `spec` at its rule's id and priority (import), with `source_kms_key_arns` given separately.
    pub fn from_spec(spec: DestinationSpec, priority: Option<i32>, id: String, source_keys: &[String]) -> Self {
        let string = |s: Option<String>| Known::from(s);
        let keys = if spec.replica_kms_key_arn.is_some() && !source_keys.is_empty() {
            Known::Value(Set(source_keys.iter().cloned().map(Known::Value).collect()))
        } else {
            Known::Null
        };
        DestinationBlock {
            bucket_arn: Known::Value(spec.bucket_arn),
            account_id: string(spec.account_id),
            prefix: string(Some(spec.prefix).filter(|p| !p.is_empty())),
            tags: map_value(spec.tags),
            storage_class: string(spec.storage_class),
            delete_marker_replication: Known::Value(spec.delete_marker_replication),
            owner_override: Known::Value(spec.owner_override),
            replica_kms_key_target_arn: string(spec.replica_kms_key_arn.clone().filter(|k| !is_alias(k))),
            replica_kms_key_arn: string(spec.replica_kms_key_arn),
            source_kms_key_arns: keys,
            replication_time_control: Known::Value(spec.replication_time_control),
            metrics: Known::Value(spec.metrics),
            replica_modifications: Known::Value(spec.replica_modifications),
            priority: priority.map_or(Known::Null, |p| Known::Value(Number::Int(i64::from(p)))),
            enabled: Known::Value(spec.enabled),
            rule_id: Known::Value(id),
            grant: Known::Null,
        }
    }
}

/// Everything the resource derives from a (planned or stored) state.
pub struct Desired {
    /// The source bucket.
    pub bucket: String,
    /// The role's name.
    pub role_name: String,
    /// The policy's name.
    pub policy_name: String,
    /// The IAM path of both.
    pub path: String,
    /// The permissions boundary.
    pub boundary: Option<String>,
    /// The user's tags.
    pub tags: Vec<(String, String)>,
    /// Whether apply turns versioning on.
    pub enable_versioning: bool,
    /// The role's ARN.
    pub role_arn: String,
    /// The policy's ARN (empty with an existing role).
    pub policy_arn: String,
    /// Whether the role is an existing one (`role_arn` set): crossrepl then touches no role and no policy, and
    /// `role_name`, `policy_name`, `path` and `policy_arn` are empty.
    pub existing_role: bool,
    /// The trust policy.
    pub trust: PolicyDocument,
    /// The role policy.
    pub permissions: PolicyDocument,
    /// What the role policy is made from.
    pub permissions_input: RolePolicyInput,
    /// The rules' specs.
    pub dests: Vec<DestinationSpec>,
    /// Destination buckets of this account, each once, whose versioning the source manages as its own bucket's.
    pub same_account_buckets: Vec<String>,
    /// The replication configuration.
    pub configuration: ReplicationConfig,
    /// The existing-objects job and its role, when asked for.
    pub batch: Option<BatchDesired>,
}

/// Name of the batch role's inline policy.
pub const BATCH_POLICY_NAME: &str = "crossrepl-batch-replication";

/// What an `existing_objects` block asks for.
pub struct BatchDesired {
    /// The batch role's name.
    pub role_name: String,
    /// Its ARN.
    pub role_arn: String,
    /// Its IAM path (the replication role's; `/` with an existing replication role).
    pub path: String,
    /// Its trust policy.
    pub trust: PolicyDocument,
    /// Its inline policy.
    pub permissions: PolicyDocument,
    /// The completion report's bucket ARN.
    pub report_bucket_arn: String,
    /// The completion report's prefix.
    pub report_prefix: String,
    /// Replication statuses to select.
    pub statuses: Vec<String>,
    /// `triggers_replace` as one text (sorted `key=value` lines): a change of it is a new job.
    pub trigger: String,
}

impl BatchDesired {
    fn from_block(
        b: &ExistingObjectsBlock,
        partition: &'static Partition,
        account: &str,
        bucket: &str,
        path: &str,
    ) -> Result<Self, String> {
        let need = |v: &Known<String>, name: &str| {
            v.known().cloned().ok_or_else(|| format!("`existing_objects.{name}` is not known"))
        };
        let report_bucket_arn = need(&b.report_bucket_arn, "report_bucket_arn")?;
        let report_prefix = need(&b.report_prefix, "report_prefix")?;
        let statuses = match &b.replication_statuses {
            Known::Value(set) => set.0.iter().map(|s| s.known().cloned()).collect::<Option<Vec<_>>>(),
            _ => None,
        }
        .ok_or("`existing_objects.replication_statuses` is not known")?;
        let triggers = known_map(&b.triggers_replace).ok_or("`existing_objects.triggers_replace` is not known")?;
        let role_name = grants::batch_role_name_for_bucket(bucket);
        let permissions = grants::batch_role_policy(partition.id, bucket, &report_bucket_arn, &report_prefix)
            .map_err(|e| e.to_string())?;
        Ok(BatchDesired {
            role_arn: role_arn(partition, account, path, &role_name),
            role_name,
            path: path.to_string(),
            trust: grants::batch_trust_policy(),
            permissions,
            report_bucket_arn,
            report_prefix,
            statuses,
            trigger: triggers.iter().map(|(k, v)| format!("{k}={v}\n")).collect(),
        })
    }
}

impl Desired {
    /// What `m` asks for in account `account` of `partition`, whose buckets are in `region`.
    pub fn from_model(
        m: &SourceModel,
        partition: &'static Partition,
        account: &str,
        region: &str,
    ) -> Result<Self, String> {
        let need = |v: &Known<String>, name: &str| v.known().cloned().ok_or_else(|| format!("`{name}` is not known"));
        let bucket = need(&m.bucket, "bucket")?;
        let existing_role = is_existing_role(m);
        let name = |v: &Known<String>, attr: &str| if existing_role { Ok(String::new()) } else { need(v, attr) };
        let role_name = name(&m.role_name, "role_name")?;
        let policy_name = name(&m.policy_name, "policy_name")?;
        let path = name(&m.role_path, "role_path")?;
        let blocks = m.destination.known().ok_or("`destination` is not known")?;
        let dests = blocks.iter().map(DestinationBlock::spec).collect::<Result<Vec<_>, _>>()?;
        let default_keys = blocks.iter().map(DestinationBlock::default_kms_key_arn).collect::<Result<Vec<_>, _>>()?;
        let replica_keys = blocks.iter().map(DestinationBlock::replica_key_target).collect::<Result<Vec<_>, _>>()?;
        let role_arn = if existing_role {
            need(&m.role_arn, "role_arn")?
        } else {
            role_arn(partition, account, &path, &role_name)
        };
        let trust = grants::replication_trust_policy(partition.id, account, &bucket);
        let permissions_input = RolePolicyInput {
            partition: partition.id.to_string(),
            source_bucket: bucket.clone(),
            region: region.to_string(),
            destinations: dests
                .iter()
                .zip(default_keys)
                .zip(replica_keys)
                .map(|((d, default_kms_key_arn), replica_kms_key_arn)| DestinationGrant {
                    bucket_arn: d.bucket_arn.clone(),
                    owner_override: d.owner_override,
                    replica_kms_key_arn,
                    default_kms_key_arn,
                })
                .collect(),
            source_kms_key_arns: dests.iter().flat_map(|d| d.source_kms_key_arns.iter().cloned()).collect(),
        };
        let permissions = grants::replication_role_policy(&permissions_input).map_err(|e| e.to_string())?;
        let configuration = ReplicationConfig::from_destinations(&role_arn, &dests)?;
        let block = match &m.existing_objects {
            Known::Unknown => return Err("`existing_objects` is not known".into()),
            Known::Null => None, // a state written before the block existed
            Known::Value(blocks) => blocks.first(),
        };
        let batch = match block {
            Some(b) => {
                Some(BatchDesired::from_block(b, partition, account, &bucket, if existing_role { "/" } else { &path })?)
            }
            None => None,
        };
        // Once per bucket, however many rules replicate into it.
        let same_account_buckets = dests
            .iter()
            .filter(|d| d.account_id.as_deref().is_none_or(|a| a == account))
            .filter_map(|d| d.bucket_name().map(str::to_string))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        Ok(Desired {
            policy_arn: if existing_role { String::new() } else { policy_arn(partition, account, &path, &policy_name) },
            existing_role,
            boundary: m.permissions_boundary.known().cloned(),
            tags: known_map(&m.tags).ok_or("`tags` is not known")?.into_iter().collect(),
            enable_versioning: *m.enable_versioning.known().ok_or("`enable_versioning` is not known")?,
            bucket,
            role_name,
            policy_name,
            path,
            role_arn,
            trust,
            permissions,
            permissions_input,
            dests,
            same_account_buckets,
            configuration,
            batch,
        })
    }

    /// The user's tags plus the ownership tag: what the role and the policy carry in AWS.
    pub fn aws_tags(&self) -> Vec<(String, String)> {
        let mut tags = self.tags.clone();
        tags.push((OWNER_TAG.to_string(), self.bucket.clone()));
        tags.sort();
        tags
    }

    /// Whether `tags` carry this resource's ownership tag.
    pub fn owns(&self, tags: &[(String, String)]) -> bool {
        owned_by(tags, &self.bucket)
    }

    /// The state of `base` recording what exists: computed attributes set for the parts that exist and match,
    /// null otherwise.
    pub fn state(
        &self,
        base: &SourceModel,
        partition: &Partition,
        role_ok: bool,
        policy_ok: bool,
        rules_ok: &[bool],
    ) -> SourceModel {
        let mut state = base.clone();
        state.id = Known::Value(self.bucket.clone());
        state.bucket_arn = Known::Value(bucket_arn(partition, &self.bucket));
        state.role_arn = if role_ok || self.existing_role { Known::Value(self.role_arn.clone()) } else { Known::Null };
        state.policy_arn =
            if policy_ok && !self.existing_role { Known::Value(self.policy_arn.clone()) } else { Known::Null };
        if let Known::Value(blocks) = &mut state.destination {
            for (i, ((block, rule), spec)) in
                blocks.iter_mut().zip(&self.configuration.rules).zip(&self.dests).enumerate()
            {
                let ok = rules_ok.get(i).copied().unwrap_or(false);
                block.metrics = Known::Value(spec.metrics);
                block.rule_id = if ok { Known::from(rule.id.clone()) } else { Known::Null };
                block.priority = Known::from(rule.priority.map(|p| Number::Int(i64::from(p))));
            }
        }
        // Until the batch role and the job are known to exist (see `batch::ensure`), nothing of them is.
        if let Known::Value(blocks) = &mut state.existing_objects {
            for block in blocks {
                for v in [&mut block.role_arn, &mut block.job_id, &mut block.job_status, &mut block.job_failure_reasons]
                {
                    if v.is_unknown() {
                        *v = Known::Null;
                    }
                }
            }
        }
        // Until a check ran, none did.
        if let Known::Value(blocks) = &mut state.verify {
            for block in blocks {
                if block.checked_at.is_unknown() || block.results.is_unknown() {
                    (block.checked_at, block.results) = (Known::Null, Known::Null);
                }
            }
        }
        state
    }
}

/// Whether `m` uses an existing role: `role_arn` set (known or not) and no role name, which crossrepl plans only for
/// the role it creates.
pub fn is_existing_role(m: &SourceModel) -> bool {
    m.role_name.is_null() && !m.role_arn.is_null()
}

/// Whether `tags` carry the ownership tag of the `crossrepl_source` of `bucket`.
pub fn owned_by(tags: &[(String, String)], bucket: &str) -> bool {
    tags.iter().any(|(k, v)| k == OWNER_TAG && v == bucket)
}
