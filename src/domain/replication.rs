//! Replication rules: the `destination` blocks of `crossrepl_source` as [`DestinationSpec`]s, the S3 replication
//! configuration they make (V2 schema, one rule per destination) as a canonical [`ReplicationConfig`], and the
//! way back from a configuration read from S3 to specs. The AWS SDK forms live in `aws::s3_replication`
//! (`expand` and `flatten`); comparing is `flatten(seen) == want`.

use std::collections::{BTreeMap, HashMap};

use crate::domain::arn::BucketArn;

/// Most rules one replication configuration may hold, hence most `destination` blocks.
pub const MAX_DESTINATIONS: usize = 1000;

/// Longest replication rule id S3 accepts.
pub const MAX_RULE_ID_LEN: usize = 255;

/// Longest filter prefix S3 accepts.
pub const MAX_PREFIX_LEN: usize = 1024;

/// Minutes for replication time control and its metrics threshold: the only value S3 accepts.
pub const RTC_MINUTES: i32 = 15;

/// Storage classes accepted for `storage_class`: those PutBucketReplication takes for a general purpose
/// destination bucket. The SDK's `StorageClass` also lists classes that are not replication targets: `OUTPOSTS`
/// (S3 on Outposts replicates through S3 Control), `EXPRESS_ONEZONE` (directory buckets cannot be replicated to),
/// `FSX_OPENZFS`/`FSX_ONTAP` (documented as not accepted), `SNOW` and `AWS_BACKUP_*`; they are rejected.
pub const REPLICATION_STORAGE_CLASSES: [&str; 8] = [
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
];

/// Prefix of every rule id crossrepl derives.
const RULE_ID_PREFIX: &str = "crossrepl-";

/// One `destination` block of `crossrepl_source`: one replication rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationSpec {
    /// ARN of the destination bucket, `arn:<partition>:s3:::<name>`.
    pub bucket_arn: String,
    /// Account owning the destination bucket; `None` for same-account replication.
    pub account_id: Option<String>,
    /// Key prefix the rule selects; empty selects every object.
    pub prefix: String,
    /// Object tags the rule selects (all must match).
    pub tags: BTreeMap<String, String>,
    /// Storage class of the replicas; `None` keeps the source object's class.
    pub storage_class: Option<String>,
    /// Whether delete markers are replicated.
    pub delete_marker_replication: bool,
    /// Whether replicas are owned by the destination account (`AccessControlTranslation`).
    pub owner_override: bool,
    /// KMS key ARN the replicas are encrypted with.
    pub replica_kms_key_arn: Option<String>,
    /// KMS key ARNs source objects are encrypted with; non-empty selects SSE-KMS objects for replication.
    pub source_kms_key_arns: Vec<String>,
    /// Whether S3 Replication Time Control (with its metrics) is enabled.
    pub replication_time_control: bool,
    /// Whether replication metrics are enabled; always with replication time control, and possible without.
    pub metrics: bool,
    /// Whether metadata changes on replicas are replicated back (`ReplicaModifications`).
    pub replica_modifications: bool,
    /// Explicit rule priority; `None` means by order (see [`effective_priority`]).
    pub priority: Option<i64>,
    /// Whether the rule is enabled.
    pub enabled: bool,
    /// Explicit rule id (e.g. an existing rule's, kept on import); `None` derives it (see [`rule_ids`]).
    pub rule_id: Option<String>,
}

impl Default for DestinationSpec {
    /// A block with only defaults: delete markers replicated, rule enabled, everything else off or empty.
    fn default() -> Self {
        Self {
            bucket_arn: String::new(),
            account_id: None,
            prefix: String::new(),
            tags: BTreeMap::new(),
            storage_class: None,
            delete_marker_replication: true,
            owner_override: false,
            replica_kms_key_arn: None,
            source_kms_key_arns: Vec::new(),
            replication_time_control: false,
            metrics: false,
            replica_modifications: false,
            priority: None,
            enabled: true,
            rule_id: None,
        }
    }
}

impl DestinationSpec {
    /// The destination bucket's name, from `arn:<partition>:s3:::<name>`; `None` if the ARN has another shape.
    pub fn bucket_name(&self) -> Option<&str> {
        BucketArn::name_of(&self.bucket_arn)
    }
}

/// The rule id derived from a destination bucket ARN: `crossrepl-<bucket name>` cut to [`MAX_RULE_ID_LEN`]
/// characters; `None` if the ARN has no name part. It is the id of the first rule into that bucket.
pub fn derived_rule_id(bucket_arn: &str) -> Option<String> {
    BucketArn::name_of(bucket_arn).map(|name| format!("{RULE_ID_PREFIX}{name}").chars().take(MAX_RULE_ID_LEN).collect())
}

/// The derived rule id of each block, from the destination bucket ARNs in block order (`None` while unknown):
/// the first block into a bucket gets [`derived_rule_id`], so a configuration with one rule per bucket keeps the
/// ids it always had; the n-th block into the same bucket gets `crossrepl-<bucket name>#<n>`. `#` cannot occur
/// in a bucket name, so these never collide with the id of the first rule into another bucket. `None` where the
/// ARN is unknown or has no name part, and after an unknown ARN (its bucket could be any of the later ones).
pub fn derived_rule_ids(bucket_arns: &[Option<&str>]) -> Vec<Option<String>> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut known = true;
    bucket_arns
        .iter()
        .map(|arn| {
            known &= arn.is_some();
            let arn = arn.filter(|_| known)?;
            let n = seen.entry(BucketArn::name_of(arn)?).or_insert(0);
            *n += 1;
            let first = derived_rule_id(arn)?;
            Some(if *n == 1 { first } else { format!("{first}#{n}").chars().take(MAX_RULE_ID_LEN).collect() })
        })
        .collect()
}

/// The rule id of each destination: its explicit `rule_id`, else its [`derived_rule_ids`] entry.
///
/// The derived id depends only on the destination bucket and how many blocks before it name the same bucket,
/// so it is stable across appending blocks and across reordering blocks into different buckets. A block whose
/// bucket ARN has no name part (invalid input that validation rejects) gets `crossrepl_destination_<index + 1>`.
pub fn rule_ids(dests: &[DestinationSpec]) -> Vec<String> {
    let arns: Vec<Option<&str>> = dests.iter().map(|d| Some(d.bucket_arn.as_str())).collect();
    dests
        .iter()
        .zip(derived_rule_ids(&arns))
        .enumerate()
        .map(|(i, (d, derived))| {
            d.rule_id.clone().or(derived).unwrap_or_else(|| format!("crossrepl_destination_{}", i + 1))
        })
        .collect()
}

/// The by-order priority of the block at position `index`: `index + 1`.
///
/// By-order priorities count up from the first block, so appending a destination leaves every existing rule's
/// priority unchanged (counting down from the first block would renumber every rule on each append). S3 lets
/// the higher number win when rules into the same bucket overlap (see [`overlapping_rules`]): a later block
/// wins over an earlier one unless priorities are set.
pub fn position_priority(index: usize) -> i32 {
    i32::try_from(index + 1).unwrap_or(i32::MAX)
}

/// The priority of the rule for `dest` at position `index`: its explicit `priority`, else
/// [`position_priority`]. Explicit values outside `0..=i32::MAX` are clamped here; validation and
/// [`ReplicationConfig::from_destinations`] reject them.
pub fn effective_priority(index: usize, dest: &DestinationSpec) -> i32 {
    match dest.priority {
        Some(p) => p.clamp(0, i64::from(i32::MAX)) as i32,
        None => position_priority(index),
    }
}

/// Pairs `(i, j)`, `i < j`, of enabled destinations into the same bucket whose filters can select the same
/// object: one prefix starts with the other, and no tag key is required with two different values. S3
/// replicates such an object into that bucket by one rule only, the one with the higher priority; rules into
/// other buckets all apply ("Priority" in ReplicationRule,
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ReplicationRule.html>).
pub fn overlapping_rules(dests: &[DestinationSpec]) -> Vec<(usize, usize)> {
    let overlap = |a: &DestinationSpec, b: &DestinationSpec| {
        a.enabled
            && b.enabled
            && a.bucket_name().is_some()
            && a.bucket_name() == b.bucket_name()
            && (a.prefix.starts_with(&b.prefix) || b.prefix.starts_with(&a.prefix))
            && a.tags.iter().all(|(k, v)| b.tags.get(k).is_none_or(|w| w == v))
    };
    let mut pairs = Vec::new();
    for (j, b) in dests.iter().enumerate() {
        pairs.extend(dests[..j].iter().enumerate().filter(|(_, a)| overlap(a, b)).map(|(i, _)| (i, j)));
    }
    pairs
}

/// A replication rule by its meaning to S3: equal rules are equivalent rules. Tag order, `Tag` versus `And` with
/// one tag, an empty versus absent filter prefix, empty versus absent strings, and absent optional
/// sub-structures versus their disabled form are not differences; a V1 rule (no `Filter`) never equals a V2 rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    /// `ID` (`None` when S3 returned none or an empty one).
    pub id: Option<String>,
    /// `Priority` (`None` for V1 rules).
    pub priority: Option<i32>,
    /// `Status` is `Enabled`.
    pub enabled: bool,
    /// The V2 schema (a `Filter`); false for the legacy rule-level `Prefix`.
    pub v2: bool,
    /// The filter's (or V1 rule's) prefix; empty selects every key.
    pub prefix: String,
    /// The filter's tags, sorted.
    pub tags: Vec<(String, String)>,
    /// Delete markers are replicated.
    pub delete_markers: bool,
    /// `Destination.Bucket`.
    pub bucket: String,
    /// `Destination.Account`.
    pub account: Option<String>,
    /// `Destination.StorageClass`.
    pub storage_class: Option<String>,
    /// `Destination.AccessControlTranslation` makes the destination own replicas.
    pub owner_override: bool,
    /// `Destination.EncryptionConfiguration.ReplicaKmsKeyID`.
    pub replica_kms_key: Option<String>,
    /// Minutes when replication time control is enabled.
    pub replication_time: Option<Option<i32>>,
    /// Event threshold minutes when metrics are enabled.
    pub metrics: Option<Option<i32>>,
    /// `SourceSelectionCriteria.SseKmsEncryptedObjects` is enabled.
    pub sse_kms_objects: bool,
    /// `SourceSelectionCriteria.ReplicaModifications` is enabled.
    pub replica_modifications: bool,
    /// `ExistingObjectReplication` is enabled.
    pub existing_objects: bool,
}

impl Rule {
    /// The V2 rule crossrepl writes for `d`, with id `id` and priority `priority`: a filter (prefix, tags),
    /// delete-marker replication, the destination (account, storage class, owner override, replica key,
    /// replication time control with metrics at [`RTC_MINUTES`]), and source selection when SSE-KMS objects or
    /// replica modifications are selected. Never existing-object replication.
    ///
    /// Metrics without replication time control go without `EventThreshold`: the API marks it optional
    /// ("Metrics", <https://docs.aws.amazon.com/AmazonS3/latest/API/API_Metrics.html>), and S3 refuses it there
    /// ("InvalidArgument: Metrics cannot contain an event threshold when ReplicationTime is not specified or
    /// Disabled", reported in crossplane-contrib/provider-aws#1117).
    pub fn for_destination(id: String, priority: i32, d: &DestinationSpec) -> Rule {
        let rtc = d.replication_time_control.then_some(Some(RTC_MINUTES));
        let metrics = if rtc.is_some() { rtc } else { d.metrics.then_some(None) };
        Rule {
            id: Some(id),
            priority: Some(priority),
            enabled: d.enabled,
            v2: true,
            prefix: d.prefix.clone(),
            tags: d.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            delete_markers: d.delete_marker_replication,
            bucket: d.bucket_arn.clone(),
            account: d.account_id.clone(),
            storage_class: d.storage_class.clone(),
            owner_override: d.owner_override,
            replica_kms_key: d.replica_kms_key_arn.clone(),
            replication_time: rtc,
            metrics,
            sse_kms_objects: !d.source_kms_key_arns.is_empty(),
            replica_modifications: d.replica_modifications,
            existing_objects: false,
        }
    }

    /// The rule as a destination block at position `index`. `priority` is set only when it differs from the
    /// by-order default for that position, so that [`effective_priority`] of the spec there always equals the
    /// rule's priority and blocks without a priority read back without one. `source_kms_key_arns` cannot be
    /// read from a rule (it only says SSE-KMS objects are selected) and is left empty: the keys live in the role
    /// policy, where drift in them is detected.
    pub fn to_destination(&self, index: usize) -> DestinationSpec {
        DestinationSpec {
            bucket_arn: self.bucket.clone(),
            account_id: self.account.clone(),
            prefix: self.prefix.clone(),
            tags: self.tags.iter().cloned().collect(),
            storage_class: self.storage_class.clone(),
            delete_marker_replication: self.delete_markers,
            owner_override: self.owner_override,
            replica_kms_key_arn: self.replica_kms_key.clone(),
            source_kms_key_arns: Vec::new(),
            replication_time_control: self.replication_time.is_some(),
            metrics: self.metrics.is_some(),
            replica_modifications: self.replica_modifications,
            priority: self.priority.filter(|p| *p != position_priority(index)).map(i64::from),
            enabled: self.enabled,
            rule_id: self.id.clone(),
        }
    }
}

/// A bucket's replication configuration: the role S3 assumes and the rules, in order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplicationConfig {
    /// The role ARN.
    pub role: String,
    /// The rules.
    pub rules: Vec<Rule>,
}

impl ReplicationConfig {
    /// The configuration for `role_arn` and the destinations, in order: one rule per destination with its
    /// [`rule_ids`] entry and [`effective_priority`]. `Err` for what S3 would reject as malformed: no or too many
    /// destinations, priorities out of range or repeated, repeated rule ids.
    pub fn from_destinations(role_arn: &str, dests: &[DestinationSpec]) -> Result<ReplicationConfig, String> {
        if dests.is_empty() || dests.len() > MAX_DESTINATIONS {
            return Err(format!(
                "a replication configuration needs 1 to {MAX_DESTINATIONS} rules, not {}",
                dests.len()
            ));
        }
        let mut ids = HashMap::new();
        let mut priorities = HashMap::new();
        let mut rules = Vec::with_capacity(dests.len());
        for (i, (d, id)) in dests.iter().zip(rule_ids(dests)).enumerate() {
            if let Some(p) = d.priority.filter(|p| !(0..=i64::from(i32::MAX)).contains(p)) {
                return Err(format!("destination[{i}]: priority {p} is outside 0..={}", i32::MAX));
            }
            let priority = effective_priority(i, d);
            if let Some(first) = ids.insert(id.clone(), i) {
                return Err(format!("destination[{i}] and destination[{first}] would both get rule id {id:?}"));
            }
            if let Some(first) = priorities.insert(priority, i) {
                return Err(format!("destination[{i}] and destination[{first}] would both get priority {priority}"));
            }
            rules.push(Rule::for_destination(id, priority, d));
        }
        Ok(ReplicationConfig { role: role_arn.to_string(), rules })
    }

    /// For each of this configuration's rules, whether `seen` holds it as written. All false when `seen` is
    /// missing, has another role, or has rules this configuration does not (a configuration crossrepl did not
    /// write, or drift that adds rules).
    pub fn matching(&self, seen: Option<&ReplicationConfig>) -> Vec<bool> {
        let Some(seen) = seen else { return vec![false; self.rules.len()] };
        let extra = seen.rules.iter().any(|r| !self.rules.iter().any(|o| o.id == r.id));
        if seen.role != self.role || extra {
            return vec![false; self.rules.len()];
        }
        self.rules.iter().map(|o| seen.rules.iter().any(|r| r.id == o.id && r == o)).collect()
    }
}

#[cfg(test)]
#[path = "replication_tests.rs"]
mod tests;
