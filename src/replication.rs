//! Replication rules: the typed `destination` blocks of `crossrepl_source`, their plan-time validation, the S3
//! replication configuration built from them (V2 schema, one rule per destination), and the way back from a
//! configuration read from S3 to specs, with a semantic rule comparison for drift detection.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_s3::types::{
    AccessControlTranslation, DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination,
    EncryptionConfiguration, Metrics, MetricsStatus, OwnerOverride, ReplicaModifications, ReplicaModificationsStatus,
    ReplicationConfiguration, ReplicationRule, ReplicationRuleAndOperator, ReplicationRuleFilter,
    ReplicationRuleStatus, ReplicationTime, ReplicationTimeStatus, ReplicationTimeValue, SourceSelectionCriteria,
    SseKmsEncryptedObjects, SseKmsEncryptedObjectsStatus, StorageClass, Tag,
};
use tfplugin::{AttributePath, Diagnostic, Diagnostics, Number, Value};

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

/// AWS partitions accepted in ARNs.
const PARTITIONS: [&str; 8] =
    ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

/// Prefix of every rule id crossrepl writes.
const RULE_ID_PREFIX: &str = "crossrepl-";

/// One `destination` block of `crossrepl_source`, decoded: one replication rule.
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
    /// Whether metadata changes on replicas are replicated back (`ReplicaModifications`).
    pub replica_modifications: bool,
    /// Explicit rule priority; `None` means by order (see [`effective_priority`]).
    pub priority: Option<i64>,
    /// Whether the rule is enabled.
    pub enabled: bool,
    /// Explicit rule id (e.g. an existing rule's, kept on import); `None` derives it (see [`rule_id`]).
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
            replica_modifications: false,
            priority: None,
            enabled: true,
            rule_id: None,
        }
    }
}

impl DestinationSpec {
    /// Decodes a `destination` block value. Null or unknown attributes take their defaults; callers decode only
    /// wholly known values.
    pub fn from_value(v: &Value) -> Self {
        let d = Self::default();
        let string = |name: &str| v.get(name).as_str().map(str::to_string);
        let flag = |name: &str, default: bool| v.get(name).as_bool().unwrap_or(default);
        Self {
            bucket_arn: string("bucket_arn").unwrap_or_default(),
            account_id: string("account_id"),
            prefix: string("prefix").unwrap_or_default(),
            tags: v
                .get("tags")
                .as_entries()
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
                .unwrap_or_default(),
            storage_class: string("storage_class"),
            delete_marker_replication: flag("delete_marker_replication", d.delete_marker_replication),
            owner_override: flag("owner_override", d.owner_override),
            replica_kms_key_arn: string("replica_kms_key_arn"),
            source_kms_key_arns: v
                .get("source_kms_key_arns")
                .as_elements()
                .map(|e| e.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            replication_time_control: flag("replication_time_control", d.replication_time_control),
            replica_modifications: flag("replica_modifications", d.replica_modifications),
            priority: v.get("priority").as_number().and_then(Number::as_i64),
            enabled: flag("enabled", d.enabled),
            rule_id: string("rule_id"),
        }
    }

    /// The destination bucket's name, from `arn:<partition>:s3:::<name>`; `None` if the ARN has another shape.
    pub fn bucket_name(&self) -> Option<&str> {
        bucket_arn_name(&self.bucket_arn)
    }
}

/// The name part of an `arn:<partition>:s3:::<name>` ARN (not validated), if the ARN has that shape.
fn bucket_arn_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    let name = rest.strip_prefix("s3:::")?;
    (!partition.is_empty() && !name.is_empty() && !name.contains(['/', ':'])).then_some(name)
}

/// Checks a general purpose bucket name against the S3 naming rules; `Err` says which rule it breaks.
///
/// Legacy names (uppercase, underscores) that old us-east-1 buckets may still carry are rejected too.
pub fn validate_bucket_name(name: &str) -> Result<(), String> {
    let len = name.chars().count();
    if !(3..=63).contains(&len) {
        return Err(format!("a bucket name has 3 to 63 characters, this one has {len}"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-')) {
        return Err(format!("{c:?} is not allowed: use only lowercase letters, digits, dots and hyphens"));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Err("a bucket name must begin and end with a letter or a digit".into());
    }
    if name.contains("..") {
        return Err("a bucket name must not contain two adjacent dots".into());
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err("a bucket name must not be formatted as an IP address".into());
    }
    if let Some(p) = ["xn--", "sthree-", "amzn-s3-demo-"].iter().find(|p| name.starts_with(*p)) {
        return Err(format!("the prefix {p:?} is reserved by AWS"));
    }
    if let Some(s) = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].iter().find(|s| name.ends_with(*s)) {
        return Err(format!("the suffix {s:?} is reserved by AWS for access points and other bucket types"));
    }
    Ok(())
}

/// Parses a bucket ARN into the bucket name, or says what is wrong with it.
fn parse_bucket_arn(arn: &str) -> Result<&str, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "s3" {
        return Err("it does not have the form arn:<partition>:s3:::<bucket name>".into());
    }
    if !PARTITIONS.contains(&parts[1]) {
        return Err(format!("{:?} is not an AWS partition (expected one of {})", parts[1], PARTITIONS.join(", ")));
    }
    if !parts[3].is_empty() || !parts[4].is_empty() {
        return Err("a bucket ARN has empty region and account fields (arn:aws:s3:::name)".into());
    }
    let name = parts[5];
    if name.contains('/') {
        return Err("it names objects inside a bucket; give the bucket's own ARN, without /…".into());
    }
    validate_bucket_name(name).map(|()| name)
}

/// Checks a KMS key ARN, `arn:<partition>:kms:<region>:<account>:key/<key id>`; aliases and bare ids are refused.
fn check_kms_key_arn(arn: &str) -> Result<(), String> {
    if arn.starts_with("alias/") || (arn.starts_with("arn:") && arn.contains(":alias/")) {
        return Err("it is a KMS alias; S3 replication and the role policy need the key's own ARN \
                    (…:key/<key id>), for example the alias's target_key_arn"
            .into());
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "kms" {
        return Err("it is not a key ARN of the form arn:<partition>:kms:<region>:<account id>:key/<key id>; \
                    a bare key id is not enough"
            .into());
    }
    if !PARTITIONS.contains(&parts[1]) {
        return Err(format!("{:?} is not an AWS partition", parts[1]));
    }
    if !crate::provider::is_region(parts[3]) {
        return Err(format!("{:?} is not an AWS region", parts[3]));
    }
    if crate::validate::account_id(parts[4]).is_err() {
        return Err(format!("{:?} is not a 12-digit account id", parts[4]));
    }
    match parts[5].strip_prefix("key/") {
        Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => Ok(()),
        _ => Err("the resource part must be key/<key id>".into()),
    }
}

/// The value, unless it is null or unknown (nothing to check yet).
fn known(v: &Value) -> Option<&Value> {
    (!v.is_null() && !v.is_unknown()).then_some(v)
}

/// The path `destination[i].<attr>`.
fn path(i: usize, attr: &str) -> AttributePath {
    AttributePath::attr("destination").with_index(i).with_attr(attr)
}

/// Validates the `destination` blocks of `crossrepl_source` (raw values, as the engine sends them) against the
/// rules S3 enforces, so that mistakes surface at plan time even where LocalStack would accept them. Unknown
/// values are skipped: they are checked again at apply, when they are known. `source_bucket` is the resource's
/// `bucket`, when known. Each diagnostic names `destination[i].<attribute>`.
pub fn validate_destinations(source_bucket: Option<&str>, dests: &[Value]) -> Diagnostics {
    let mut ds = Diagnostics::new();
    if dests.len() > MAX_DESTINATIONS {
        ds.push(
            Diagnostic::error(
                "Too many destination blocks",
                format!(
                    "S3 allows at most {MAX_DESTINATIONS} replication rules per bucket, and each destination block \
                     is one rule; this configuration has {}. Remove destination blocks.",
                    dests.len()
                ),
            )
            .at(AttributePath::attr("destination")),
        );
    }
    let mut buckets: HashMap<String, usize> = HashMap::new();
    let mut priorities: HashMap<i64, usize> = HashMap::new();
    let mut ids: HashMap<String, (usize, bool)> = HashMap::new();
    for (i, d) in dests.iter().enumerate() {
        if known(d).is_none() {
            continue;
        }
        check_bucket(i, d, source_bucket, &mut buckets, &mut ds);
        check_priority(i, d, &mut priorities, &mut ds);
        check_rule_id(i, d, &mut ids, &mut ds);
        check_destination_options(i, d, &mut ds);
        check_encryption(i, d, &mut ds);
        check_filter(i, d, &mut ds);
    }
    ds
}

/// `bucket_arn`: format, not the source bucket, not repeated.
fn check_bucket(i: usize, d: &Value, source: Option<&str>, seen: &mut HashMap<String, usize>, ds: &mut Diagnostics) {
    let Some(arn) = known(d.get("bucket_arn")).and_then(Value::as_str) else { return };
    let at = path(i, "bucket_arn");
    let name = match parse_bucket_arn(arn) {
        Ok(name) => name,
        Err(why) => {
            ds.push(
                Diagnostic::error(
                    "Invalid destination bucket ARN",
                    format!(
                        "{arn:?} is not a valid S3 bucket ARN: {why}. Use the form arn:aws:s3:::bucket-name, \
                         for example crossrepl_destination.<name>.bucket_arn."
                    ),
                )
                .at(at),
            );
            return;
        }
    };
    if source == Some(name) {
        ds.push(
            Diagnostic::error(
                "Destination bucket is the source bucket",
                format!(
                    "Bucket {name:?} cannot replicate to itself. Point bucket_arn at a different bucket, or remove \
                     this destination block."
                ),
            )
            .at(at),
        );
        return;
    }
    if let Some(first) = seen.get(name) {
        ds.push(
            Diagnostic::error(
                "Duplicate destination bucket",
                format!(
                    "destination[{first}] already replicates to bucket {name:?}; each destination block must name \
                     a different bucket (a block is one rule with one filter). Remove one of the two blocks."
                ),
            )
            .at(at),
        );
    } else {
        seen.insert(name.to_string(), i);
    }
}

/// `priority`: a whole number in S3's range, and the effective priority (explicit or by order) unique.
fn check_priority(i: usize, d: &Value, seen: &mut HashMap<i64, usize>, ds: &mut Diagnostics) {
    let v = d.get("priority");
    if v.is_unknown() {
        return;
    }
    let at = path(i, "priority");
    let (priority, explicit) = match v.as_number() {
        None => (i as i64 + 1, false),
        Some(Number::Int(p)) if (0..=i64::from(i32::MAX)).contains(p) => (*p, true),
        Some(n) => {
            ds.push(
                Diagnostic::error(
                    "Invalid replication rule priority",
                    format!("Priority {n} is not a whole number from 0 to {}. Use a value in that range.", i32::MAX),
                )
                .at(at),
            );
            return;
        }
    };
    if let Some(first) = seen.get(&priority) {
        let how = if explicit { "is set to" } else { "gets by its position (index + 1)" };
        ds.push(
            Diagnostic::error(
                "Duplicate replication rule priority",
                format!(
                    "This destination {how} priority {priority}, which destination[{first}] already has; S3 needs \
                     every rule's priority to be unique. Set a different, explicit priority on one of them \
                     (blocks without one get their position + 1)."
                ),
            )
            .at(at),
        );
    } else {
        seen.insert(priority, i);
    }
}

/// `rule_id`: explicit ids have 1 to [`MAX_RULE_ID_LEN`] characters, and no two rules get the same id (explicit or
/// derived from the destination bucket).
fn check_rule_id(i: usize, d: &Value, seen: &mut HashMap<String, (usize, bool)>, ds: &mut Diagnostics) {
    let explicit = d.get("rule_id");
    if explicit.is_unknown() || (explicit.is_null() && known(d.get("bucket_arn")).is_none()) {
        return;
    }
    let at = path(i, if explicit.is_null() { "bucket_arn" } else { "rule_id" });
    if let Some(id) = explicit.as_str()
        && (id.is_empty() || id.chars().count() > MAX_RULE_ID_LEN)
    {
        ds.push(
            Diagnostic::error(
                "Invalid replication rule id",
                format!("A rule id has 1 to {MAX_RULE_ID_LEN} characters; this one has {}.", id.chars().count()),
            )
            .at(at),
        );
        return;
    }
    let id = rule_id(i, &DestinationSpec::from_value(d));
    // Two derived ids collide only for the same bucket, which check_bucket reports already.
    if let Some((first, first_explicit)) = seen.insert(id.clone(), (i, !explicit.is_null()))
        && (first_explicit || !explicit.is_null())
    {
        ds.push(
            Diagnostic::error(
                "Duplicate replication rule id",
                format!(
                    "This destination's rule id would be {id:?}, which destination[{first}] already has; S3 needs \
                     every rule id to be unique. Set a different rule_id on one of them."
                ),
            )
            .at(at),
        );
    }
}

/// `account_id`, `owner_override`, `storage_class`.
fn check_destination_options(i: usize, d: &Value, ds: &mut Diagnostics) {
    let account = d.get("account_id");
    if let Some(id) = known(account).and_then(Value::as_str)
        && crate::validate::account_id(id).is_err()
    {
        ds.push(
            Diagnostic::error(
                "Invalid account id",
                format!(
                    "{id:?} is not an AWS account id: it must be exactly 12 digits. Use the destination bucket \
                     owner's account id, for example crossrepl_destination.<name>.account_id."
                ),
            )
            .at(path(i, "account_id")),
        );
    }
    if d.get("owner_override").as_bool() == Some(true) && account.is_null() {
        ds.push(
            Diagnostic::error(
                "owner_override needs account_id",
                "S3 transfers replica ownership only to a named account (AccessControlTranslation requires \
                 Destination.Account). Set account_id to the destination bucket owner's account id, or set \
                 owner_override = false.",
            )
            .at(path(i, "owner_override")),
        );
    }
    if let Some(class) = known(d.get("storage_class")).and_then(Value::as_str)
        && !REPLICATION_STORAGE_CLASSES.contains(&class)
    {
        ds.push(
            Diagnostic::error(
                "Invalid replication storage class",
                format!(
                    "{class:?} is not a storage class S3 replicates into. Use one of {}, or omit storage_class to \
                     keep each source object's class.",
                    REPLICATION_STORAGE_CLASSES.join(", ")
                ),
            )
            .at(path(i, "storage_class")),
        );
    }
}

/// `replica_kms_key_arn` and `source_kms_key_arns`: key ARNs, and a replica key whenever source keys are given.
fn check_encryption(i: usize, d: &Value, ds: &mut Diagnostics) {
    let invalid_key = |arn: &str, why: String, at: AttributePath| {
        Diagnostic::error(
            "Invalid KMS key ARN",
            format!("{arn:?} is not usable here: {why}. Give the key ARN, e.g. aws_kms_key.<name>.arn."),
        )
        .at(at)
    };
    let replica = d.get("replica_kms_key_arn");
    if let Some(arn) = known(replica).and_then(Value::as_str)
        && let Err(why) = check_kms_key_arn(arn)
    {
        ds.push(invalid_key(arn, why, path(i, "replica_kms_key_arn")));
    }
    let sources = d.get("source_kms_key_arns");
    let Some(elements) = known(sources).and_then(Value::as_elements) else { return };
    for (j, e) in elements.iter().enumerate() {
        if let Some(arn) = e.as_str()
            && let Err(why) = check_kms_key_arn(arn)
        {
            // Set elements have no address: the path stops at the set.
            let at = match sources {
                Value::List(_) | Value::Tuple(_) => path(i, "source_kms_key_arns").with_index(j),
                _ => path(i, "source_kms_key_arns"),
            };
            ds.push(invalid_key(arn, why, at));
        }
    }
    if !elements.is_empty() && replica.is_null() {
        ds.push(
            Diagnostic::error(
                "source_kms_key_arns needs replica_kms_key_arn",
                "Replicating SSE-KMS encrypted objects requires a key to encrypt the replicas with. Set \
                 replica_kms_key_arn to a key in the destination bucket's region (its key policy must allow the \
                 source account), or remove source_kms_key_arns.",
            )
            .at(path(i, "source_kms_key_arns")),
        );
    }
}

/// `prefix` and `tags`: lengths, and no delete-marker replication on tag-filtered rules.
fn check_filter(i: usize, d: &Value, ds: &mut Diagnostics) {
    if let Some(prefix) = known(d.get("prefix")).and_then(Value::as_str) {
        let len = prefix.chars().count();
        if len > MAX_PREFIX_LEN {
            ds.push(
                Diagnostic::error(
                    "Replication prefix too long",
                    format!("The prefix has {len} characters; S3 accepts at most {MAX_PREFIX_LEN}. Shorten it."),
                )
                .at(path(i, "prefix")),
            );
        }
    }
    let Some(tags) = known(d.get("tags")).and_then(Value::as_entries) else { return };
    for (k, v) in tags {
        let at = path(i, "tags").with_key(k.as_str());
        let klen = k.chars().count();
        if !(1..=128).contains(&klen) {
            ds.push(
                Diagnostic::error(
                    "Invalid tag filter key",
                    format!("Tag keys have 1 to 128 characters; this one has {klen}. Use a shorter, non-empty key."),
                )
                .at(at.clone()),
            );
        }
        if let Some(v) = v.as_str()
            && v.chars().count() > 256
        {
            ds.push(
                Diagnostic::error(
                    "Invalid tag filter value",
                    format!("The value of tag {k:?} is longer than 256 characters, the most S3 accepts. Shorten it."),
                )
                .at(at),
            );
        }
    }
    let dmr = d.get("delete_marker_replication");
    if !tags.is_empty() && !dmr.is_unknown() && dmr.as_bool().unwrap_or(true) {
        ds.push(
            Diagnostic::error(
                "Delete-marker replication cannot be used with a tag filter",
                "S3 rejects delete-marker replication on rules that filter by tags, and delete_marker_replication \
                 defaults to true. Set delete_marker_replication = false in this destination block, or remove \
                 its tags.",
            )
            .at(path(i, "delete_marker_replication")),
        );
    }
}

/// The rule id for a destination: its explicit `rule_id`, else `crossrepl-<destination bucket name>` cut to
/// [`MAX_RULE_ID_LEN`] characters.
///
/// The derived id depends only on the destination bucket, so it is stable across reordering, appending and removing blocks,
/// and unique because duplicate destination buckets are rejected. `index` is used only when the bucket ARN has
/// no name part (invalid input that validation rejects): then the id is `crossrepl_destination_<index + 1>`.
pub fn rule_id(index: usize, dest: &DestinationSpec) -> String {
    if let Some(id) = &dest.rule_id {
        return id.clone();
    }
    match dest.bucket_name() {
        Some(name) => format!("{RULE_ID_PREFIX}{name}").chars().take(MAX_RULE_ID_LEN).collect(),
        None => format!("crossrepl_destination_{}", index + 1),
    }
}

/// The priority of the rule for `dest` at position `index`: its explicit `priority`, else `index + 1`.
///
/// By-order priorities count up from the first block, so appending a destination leaves every existing rule's
/// priority unchanged (counting down from the first block would renumber every rule on each append). S3 lets
/// the higher number win when rules overlap; since every block names a different destination bucket, rules
/// never compete for the same object copy and the priority only has to be unique, which stability serves best.
/// Explicit values outside `0..=i32::MAX` are clamped here; validation and [`build_configuration`] reject them.
pub fn effective_priority(index: usize, dest: &DestinationSpec) -> i32 {
    match dest.priority {
        Some(p) => p.clamp(0, i64::from(i32::MAX)) as i32,
        None => i32::try_from(index + 1).unwrap_or(i32::MAX),
    }
}

/// Builds the replication configuration for `role_arn` and the destinations, in order, in the V2 schema: one
/// rule per destination with `ID` ([`rule_id`]), `Priority` ([`effective_priority`]), `Status`, a `Filter`
/// (`Prefix` alone, possibly empty, when there are no tags; `Tag` for one tag and no prefix; otherwise `And` with
/// the tags and the prefix if any), `DeleteMarkerReplication` (always present), the `Destination` (`Account`,
/// `StorageClass`, owner override, replica key, replication time control with metrics at 15 minutes) and
/// `SourceSelectionCriteria` when SSE-KMS objects or replica modifications are selected. Never
/// `ExistingObjectReplication`. `Err` for what S3 would reject as malformed: no or too many destinations,
/// priorities out of range or repeated, repeated rule ids.
pub fn build_configuration(role_arn: &str, dests: &[DestinationSpec]) -> Result<ReplicationConfiguration, String> {
    if dests.is_empty() || dests.len() > MAX_DESTINATIONS {
        return Err(format!("a replication configuration needs 1 to {MAX_DESTINATIONS} rules, not {}", dests.len()));
    }
    let mut ids = HashMap::new();
    let mut priorities = HashMap::new();
    let mut rules = Vec::with_capacity(dests.len());
    for (i, d) in dests.iter().enumerate() {
        if let Some(p) = d.priority.filter(|p| !(0..=i64::from(i32::MAX)).contains(p)) {
            return Err(format!("destination[{i}]: priority {p} is outside 0..={}", i32::MAX));
        }
        let id = rule_id(i, d);
        let priority = effective_priority(i, d);
        if let Some(first) = ids.insert(id.clone(), i) {
            return Err(format!("destination[{i}] and destination[{first}] would both get rule id {id:?}"));
        }
        if let Some(first) = priorities.insert(priority, i) {
            return Err(format!("destination[{i}] and destination[{first}] would both get priority {priority}"));
        }
        rules.push(build_rule(id, priority, d).map_err(|e| format!("destination[{i}]: {e}"))?);
    }
    ReplicationConfiguration::builder().role(role_arn).set_rules(Some(rules)).build().map_err(|e| e.to_string())
}

/// One V2 rule for `d`.
fn build_rule(id: String, priority: i32, d: &DestinationSpec) -> Result<ReplicationRule, String> {
    let enabled = |on: bool| if on { "Enabled" } else { "Disabled" };
    let err = |e: aws_sdk_s3::error::BuildError| e.to_string();

    let mut tags = d
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(err))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = if tags.is_empty() {
        ReplicationRuleFilter::builder().prefix(&d.prefix).build()
    } else if tags.len() == 1 && d.prefix.is_empty() {
        ReplicationRuleFilter::builder().set_tag(tags.pop()).build()
    } else {
        let prefix = (!d.prefix.is_empty()).then(|| d.prefix.clone());
        let and = ReplicationRuleAndOperator::builder().set_prefix(prefix).set_tags(Some(tags)).build();
        ReplicationRuleFilter::builder().and(and).build()
    };

    let mut dest = Destination::builder().bucket(&d.bucket_arn).set_account(d.account_id.clone());
    if let Some(class) = &d.storage_class {
        dest = dest.storage_class(StorageClass::from(class.as_str()));
    }
    if d.owner_override {
        dest = dest.access_control_translation(
            AccessControlTranslation::builder().owner(OwnerOverride::Destination).build().map_err(err)?,
        );
    }
    if let Some(key) = &d.replica_kms_key_arn {
        dest = dest.encryption_configuration(EncryptionConfiguration::builder().replica_kms_key_id(key).build());
    }
    if d.replication_time_control {
        let minutes = || ReplicationTimeValue::builder().minutes(RTC_MINUTES).build();
        dest = dest
            .replication_time(
                ReplicationTime::builder()
                    .status(ReplicationTimeStatus::Enabled)
                    .time(minutes())
                    .build()
                    .map_err(err)?,
            )
            .metrics(
                Metrics::builder().status(MetricsStatus::Enabled).event_threshold(minutes()).build().map_err(err)?,
            );
    }

    let mut rule = ReplicationRule::builder()
        .id(id)
        .priority(priority)
        .status(ReplicationRuleStatus::from(enabled(d.enabled)))
        .filter(filter)
        .delete_marker_replication(
            DeleteMarkerReplication::builder()
                .status(DeleteMarkerReplicationStatus::from(enabled(d.delete_marker_replication)))
                .build(),
        )
        .destination(dest.build().map_err(err)?);
    if !d.source_kms_key_arns.is_empty() || d.replica_modifications {
        let mut ssc = SourceSelectionCriteria::builder();
        if !d.source_kms_key_arns.is_empty() {
            ssc = ssc.sse_kms_encrypted_objects(
                SseKmsEncryptedObjects::builder().status(SseKmsEncryptedObjectsStatus::Enabled).build().map_err(err)?,
            );
        }
        if d.replica_modifications {
            ssc = ssc.replica_modifications(
                ReplicaModifications::builder().status(ReplicaModificationsStatus::Enabled).build().map_err(err)?,
            );
        }
        rule = rule.source_selection_criteria(ssc.build());
    }
    rule.build().map_err(err)
}

/// A rule read back from S3, as a destination spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRule {
    /// The rule's id (empty if S3 returned none).
    pub id: String,
    /// The rule's priority as S3 holds it (`None` for V1 rules).
    pub priority: Option<i32>,
    /// The rule as a destination block. `spec.priority` is `Some` only when the rule's priority differs from
    /// the by-order default for its position, so that [`effective_priority`] of the spec at that position
    /// always equals `priority` and blocks without a priority read back without one.
    pub spec: DestinationSpec,
}

/// The rules of a configuration as destination specs, in the configuration's order: the inverse of
/// [`build_configuration`]. V1 rules (rule-level `Prefix`) map to `prefix`. `source_kms_key_arns` cannot be
/// read from a rule (it only says SSE-KMS objects are selected) and is left empty: the keys live in the role
/// policy, where drift in them is detected.
pub fn specs_from_configuration(cfg: &ReplicationConfiguration) -> Vec<ReadRule> {
    cfg.rules()
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let shape = RuleShape::of(rule);
            let default_priority = i32::try_from(i + 1).ok();
            let spec = DestinationSpec {
                bucket_arn: shape.bucket,
                account_id: shape.account,
                prefix: shape.prefix,
                tags: shape.tags.into_iter().collect(),
                storage_class: shape.storage_class,
                delete_marker_replication: shape.delete_markers,
                owner_override: shape.owner_override,
                replica_kms_key_arn: shape.replica_kms_key,
                source_kms_key_arns: Vec::new(),
                replication_time_control: shape.replication_time.is_some(),
                replica_modifications: shape.replica_modifications,
                priority: rule.priority().filter(|p| Some(*p) != default_priority).map(i64::from),
                enabled: shape.enabled,
                rule_id: shape.id.clone(),
            };
            ReadRule { id: shape.id.unwrap_or_default(), priority: rule.priority(), spec }
        })
        .collect()
}

/// Whether two rules mean the same to S3: tag order, `Tag` versus `And` with one tag, an empty versus absent
/// filter prefix, empty versus absent strings, and absent optional sub-structures versus their disabled form
/// (delete-marker replication, source selection, replication time, metrics, existing-object replication) are
/// not differences. A V1 rule (no `Filter`) never equals a V2 rule.
pub fn rules_equal(a: &ReplicationRule, b: &ReplicationRule) -> bool {
    RuleShape::of(a) == RuleShape::of(b)
}

/// A rule's meaning in a canonical form: equal shapes, equivalent rules.
#[derive(Debug, PartialEq)]
struct RuleShape {
    id: Option<String>,
    priority: Option<i32>,
    enabled: bool,
    v2: bool,
    prefix: String,
    tags: Vec<(String, String)>,
    delete_markers: bool,
    bucket: String,
    account: Option<String>,
    storage_class: Option<String>,
    owner_override: bool,
    replica_kms_key: Option<String>,
    /// Minutes when replication time control is enabled.
    replication_time: Option<Option<i32>>,
    /// Event threshold minutes when metrics are enabled.
    metrics: Option<Option<i32>>,
    sse_kms_objects: bool,
    replica_modifications: bool,
    existing_objects: bool,
}

impl RuleShape {
    fn of(r: &ReplicationRule) -> Self {
        let non_empty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
        let on = |s: &str| s == "Enabled";
        let filter = r.filter();
        let and = filter.and_then(ReplicationRuleFilter::and);
        // V1 rules carry the prefix on the rule itself: deprecated in the SDK, still returned by S3.
        #[allow(deprecated)]
        let v1_prefix = r.prefix();
        let prefix = filter.and_then(ReplicationRuleFilter::prefix).or(and.and_then(|a| a.prefix())).or(v1_prefix);
        let mut tags: Vec<(String, String)> = filter
            .and_then(ReplicationRuleFilter::tag)
            .into_iter()
            .chain(and.map(ReplicationRuleAndOperator::tags).unwrap_or_default())
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        tags.sort();
        // Without DeleteMarkerReplication, V1 rules replicate delete markers and V2 rules do not.
        let delete_markers = match r.delete_marker_replication().and_then(DeleteMarkerReplication::status) {
            Some(s) => on(s.as_str()),
            None => filter.is_none(),
        };
        let dest = r.destination();
        let ssc = r.source_selection_criteria();
        Self {
            id: non_empty(r.id()),
            priority: r.priority(),
            enabled: on(r.status().as_str()),
            v2: filter.is_some(),
            prefix: prefix.unwrap_or_default().to_string(),
            tags,
            delete_markers,
            bucket: dest.map(Destination::bucket).unwrap_or_default().to_string(),
            account: non_empty(dest.and_then(Destination::account)),
            storage_class: dest.and_then(Destination::storage_class).map(|c| c.as_str().to_string()),
            owner_override: dest
                .and_then(Destination::access_control_translation)
                .is_some_and(|t| *t.owner() == OwnerOverride::Destination),
            replica_kms_key: non_empty(
                dest.and_then(Destination::encryption_configuration)
                    .and_then(EncryptionConfiguration::replica_kms_key_id),
            ),
            replication_time: dest
                .and_then(Destination::replication_time)
                .filter(|t| on(t.status().as_str()))
                .map(|t| t.time().and_then(ReplicationTimeValue::minutes)),
            metrics: dest
                .and_then(Destination::metrics)
                .filter(|m| on(m.status().as_str()))
                .map(|m| m.event_threshold().and_then(ReplicationTimeValue::minutes)),
            sse_kms_objects: ssc
                .and_then(SourceSelectionCriteria::sse_kms_encrypted_objects)
                .is_some_and(|s| on(s.status().as_str())),
            replica_modifications: ssc
                .and_then(SourceSelectionCriteria::replica_modifications)
                .is_some_and(|s| on(s.status().as_str())),
            existing_objects: r.existing_object_replication().is_some_and(|e| on(e.status().as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111111111111:role/crossrepl-acme-data";
    const KEY: &str = "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const KEY2: &str = "arn:aws:kms:us-east-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab";

    fn arn(bucket: &str) -> String {
        format!("arn:aws:s3:::{bucket}")
    }

    /// A `destination` block value as the engine sends it: every attribute present, null unless given.
    fn block(bucket: &str, given: Vec<(&str, Value)>) -> Value {
        let names = [
            "bucket_arn",
            "account_id",
            "prefix",
            "tags",
            "storage_class",
            "delete_marker_replication",
            "owner_override",
            "replica_kms_key_arn",
            "source_kms_key_arns",
            "replication_time_control",
            "replica_modifications",
            "priority",
            "enabled",
            "rule_id",
        ];
        let mut attrs: BTreeMap<String, Value> = names.iter().map(|n| (n.to_string(), Value::Null)).collect();
        attrs.insert("bucket_arn".into(), Value::string(arn(bucket)));
        for (k, v) in given {
            assert!(attrs.insert(k.to_string(), v).is_some(), "unknown attribute {k}");
        }
        Value::Object(attrs)
    }

    fn tags(pairs: &[(&str, &str)]) -> Value {
        Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), Value::string(*v))).collect())
    }

    fn spec(bucket: &str) -> DestinationSpec {
        DestinationSpec { bucket_arn: arn(bucket), ..Default::default() }
    }

    /// `(path, summary)` of every diagnostic; all must be errors.
    fn errors(ds: &Diagnostics) -> Vec<(String, String)> {
        assert!(ds.0.iter().all(Diagnostic::is_error));
        ds.0.iter()
            .map(|d| (d.attribute.as_ref().map(ToString::to_string).unwrap_or_default(), d.summary.clone()))
            .collect()
    }

    /// The attribute paths of the diagnostics for one block alone (source bucket `src`).
    fn paths_for(b: Value) -> Vec<String> {
        errors(&validate_destinations(Some("src"), &[b])).into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn decodes_defaults_and_every_attribute() {
        let d = DestinationSpec::from_value(&block("dst", vec![]));
        assert_eq!(d, spec("dst"));
        assert!(d.delete_marker_replication && d.enabled && !d.owner_override);
        assert_eq!(DestinationSpec::from_value(&Value::Null), DestinationSpec::default());

        let v = block(
            "dst",
            vec![
                ("account_id", "222222222222".into()),
                ("prefix", "logs/".into()),
                ("tags", tags(&[("env", "prod"), ("team", "data")])),
                ("storage_class", "GLACIER_IR".into()),
                ("delete_marker_replication", false.into()),
                ("owner_override", true.into()),
                ("replica_kms_key_arn", KEY.into()),
                ("source_kms_key_arns", Value::Set(vec![KEY2.into()])),
                ("replication_time_control", true.into()),
                ("replica_modifications", true.into()),
                ("priority", Value::int(7)),
                ("enabled", false.into()),
                ("rule_id", "keep-me".into()),
            ],
        );
        let d = DestinationSpec::from_value(&v);
        assert_eq!(
            d,
            DestinationSpec {
                bucket_arn: arn("dst"),
                account_id: Some("222222222222".into()),
                prefix: "logs/".into(),
                tags: [("env".to_string(), "prod".to_string()), ("team".into(), "data".into())].into(),
                storage_class: Some("GLACIER_IR".into()),
                delete_marker_replication: false,
                owner_override: true,
                replica_kms_key_arn: Some(KEY.into()),
                source_kms_key_arns: vec![KEY2.into()],
                replication_time_control: true,
                replica_modifications: true,
                priority: Some(7),
                enabled: false,
                rule_id: Some("keep-me".into()),
            }
        );
        let listed = block("dst", vec![("source_kms_key_arns", Value::List(vec![KEY.into(), KEY2.into()]))]);
        assert_eq!(DestinationSpec::from_value(&listed).source_kms_key_arns, vec![KEY.to_string(), KEY2.into()]);
        let unknown = block("dst", vec![("enabled", Value::Unknown), ("tags", Value::Unknown)]);
        assert_eq!(DestinationSpec::from_value(&unknown), spec("dst"));
    }

    #[test]
    fn bucket_name_comes_from_the_arn() {
        assert_eq!(spec("acme-dr").bucket_name(), Some("acme-dr"));
        let cn = DestinationSpec { bucket_arn: "arn:aws-cn:s3:::b.c".into(), ..Default::default() };
        assert_eq!(cn.bucket_name(), Some("b.c"));
        for bad in ["", "acme", "arn:aws:s3:::", "arn:aws:s3:::b/key", "arn:aws:iam::1:role/x", "arn::s3:::b"] {
            let d = DestinationSpec { bucket_arn: bad.into(), ..Default::default() };
            assert_eq!(d.bucket_name(), None, "{bad}");
        }
    }

    #[test]
    fn bucket_names_follow_the_s3_rules() {
        for ok in ["abc", "acme-data", "a.b.c", "1bucket9", &"a".repeat(63), "my-bucket-111111111111-us-east-1-an"] {
            assert_eq!(validate_bucket_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "Acme",
            "acme_data",
            "-acme",
            "acme-",
            ".acme",
            "ac..me",
            "192.168.5.4",
            "xn--acme",
            "sthree-acme",
            "amzn-s3-demo-bucket",
            "acme-s3alias",
            "acme--ol-s3",
            "acme.mrap",
            "acme--x-s3",
            "acme--table-s3",
            "acmé",
        ] {
            assert!(validate_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn valid_destinations_have_no_diagnostics() {
        let dests = [
            block("dst-a", vec![("account_id", "222222222222".into()), ("owner_override", true.into())]),
            block(
                "dst-b",
                vec![
                    ("tags", tags(&[("env", "prod")])),
                    ("delete_marker_replication", false.into()),
                    ("storage_class", "DEEP_ARCHIVE".into()),
                    ("replica_kms_key_arn", KEY.into()),
                    ("source_kms_key_arns", Value::Set(vec![KEY2.into()])),
                    ("priority", Value::int(0)),
                ],
            ),
            block("dst-c", vec![("priority", Value::int(i64::from(i32::MAX)))]),
        ];
        assert_eq!(validate_destinations(Some("src"), &dests), Diagnostics::new());
        assert_eq!(validate_destinations(None, &[]), Diagnostics::new());
    }

    #[test]
    fn rejects_malformed_bucket_arns() {
        for bad in [
            "acme-dr",
            "arn:aws:s3:::Acme",
            "arn:aws:s3:::acme/*",
            "arn:aws:s3:us-east-1::acme",
            "arn:aws:s3::111111111111:acme",
            "arn:amazon:s3:::acme",
            "arn:aws:iam:::acme",
            "arn:aws:s3:::ac..me",
        ] {
            let ds = validate_destinations(Some("src"), &[block("x", vec![("bucket_arn", bad.into())])]);
            assert_eq!(
                errors(&ds),
                vec![("destination[0].bucket_arn".into(), "Invalid destination bucket ARN".into())],
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_the_source_bucket_and_duplicates() {
        let ds = validate_destinations(Some("src"), &[block("dst-a", vec![]), block("src", vec![])]);
        assert_eq!(
            errors(&ds),
            vec![("destination[1].bucket_arn".into(), "Destination bucket is the source bucket".into())]
        );
        let dup = [block("dst-a", vec![]), block("dst-b", vec![]), block("dst-a", vec![])];
        let ds = validate_destinations(None, &dup);
        assert_eq!(errors(&ds), vec![("destination[2].bucket_arn".into(), "Duplicate destination bucket".into())]);
        assert!(ds.0[0].detail.contains("destination[0]"));
        // The same name in another partition is the same rule id: still a duplicate.
        let cn = block("x", vec![("bucket_arn", "arn:aws-cn:s3:::dst-a".into())]);
        assert_eq!(paths_for_all(&[block("dst-a", vec![]), cn]), ["destination[1].bucket_arn"]);
    }

    fn paths_for_all(dests: &[Value]) -> Vec<String> {
        errors(&validate_destinations(Some("src"), dests)).into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn rejects_bad_account_ids() {
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert_eq!(
                paths_for(block("dst-a", vec![("account_id", bad.into())])),
                ["destination[0].account_id"],
                "{bad}"
            );
        }
    }

    #[test]
    fn checks_priorities() {
        let at = |p: Value| paths_for(block("dst-a", vec![("priority", p)]));
        assert_eq!(at(Value::int(-1)), ["destination[0].priority"]);
        assert_eq!(at(Value::int(i64::from(i32::MAX) + 1)), ["destination[0].priority"]);
        assert_eq!(at(Value::Number(Number::Float(1.5))), ["destination[0].priority"]);
        assert!(at(Value::int(5)).is_empty());

        let explicit =
            [block("dst-a", vec![("priority", Value::int(9))]), block("dst-b", vec![("priority", Value::int(9))])];
        let ds = validate_destinations(None, &explicit);
        assert_eq!(errors(&ds), vec![("destination[1].priority".into(), "Duplicate replication rule priority".into())]);
        // destination[0] gets 1 by order; destination[1] sets 1 explicitly.
        let mixed = [block("dst-a", vec![]), block("dst-b", vec![("priority", Value::int(1))])];
        assert_eq!(paths_for_all(&mixed), ["destination[1].priority"]);
        // destination[0] sets 2 explicitly; destination[1] gets 2 by order.
        let mixed = [block("dst-a", vec![("priority", Value::int(2))]), block("dst-b", vec![])];
        let ds = validate_destinations(None, &mixed);
        assert_eq!(errors(&ds)[0].0, "destination[1].priority");
        assert!(ds.0[0].detail.contains("by its position"));
    }

    #[test]
    fn checks_rule_ids() {
        let at = |id: Value| paths_for(block("dst-a", vec![("rule_id", id)]));
        assert!(at("allfiles".into()).is_empty());
        assert!(at(Value::Unknown).is_empty());
        assert_eq!(at("".into()), ["destination[0].rule_id"]);
        assert_eq!(at("x".repeat(MAX_RULE_ID_LEN + 1).into()), ["destination[0].rule_id"]);
        let twice = [block("dst-a", vec![("rule_id", "r".into())]), block("dst-b", vec![("rule_id", "r".into())])];
        let ds = validate_destinations(None, &twice);
        assert_eq!(errors(&ds), vec![("destination[1].rule_id".into(), "Duplicate replication rule id".into())]);
        // An explicit id equal to another block's derived id collides too; the derived one is blamed on its ARN.
        let mixed = [block("dst-a", vec![("rule_id", "crossrepl-dst-b".into())]), block("dst-b", vec![])];
        assert_eq!(paths_for_all(&mixed), ["destination[1].bucket_arn"]);
    }

    #[test]
    fn explicit_rule_ids_are_kept() {
        let kept = DestinationSpec { rule_id: Some("allfiles".into()), ..spec("acme-dr") };
        assert_eq!(rule_id(0, &kept), "allfiles");
        let cfg = build_configuration(ROLE, &[kept]).expect("builds");
        assert_eq!(cfg.rules()[0].id(), Some("allfiles"));
    }

    #[test]
    fn checks_storage_classes() {
        for ok in REPLICATION_STORAGE_CLASSES {
            assert!(paths_for(block("dst-a", vec![("storage_class", ok.into())])).is_empty(), "{ok}");
            // Every accepted class is one the SDK knows.
            assert!(StorageClass::values().contains(&ok), "{ok}");
        }
        for bad in ["OUTPOSTS", "EXPRESS_ONEZONE", "FSX_OPENZFS", "SNOW", "standard", "COLD"] {
            let ds = validate_destinations(None, &[block("dst-a", vec![("storage_class", bad.into())])]);
            assert_eq!(
                errors(&ds),
                vec![("destination[0].storage_class".into(), "Invalid replication storage class".into())]
            );
        }
    }

    #[test]
    fn owner_override_needs_account_id() {
        assert_eq!(paths_for(block("dst-a", vec![("owner_override", true.into())])), ["destination[0].owner_override"]);
        let with_account = block("dst-a", vec![("owner_override", true.into()), ("account_id", "222222222222".into())]);
        assert!(paths_for(with_account).is_empty());
        assert!(paths_for(block("dst-a", vec![("owner_override", false.into())])).is_empty());
    }

    #[test]
    fn tag_filters_refuse_delete_marker_replication() {
        // delete_marker_replication defaults to true.
        let ds = validate_destinations(None, &[block("dst-a", vec![("tags", tags(&[("env", "prod")]))])]);
        assert_eq!(
            errors(&ds),
            vec![(
                "destination[0].delete_marker_replication".into(),
                "Delete-marker replication cannot be used with a tag filter".into()
            )]
        );
        assert!(ds.0[0].detail.contains("delete_marker_replication = false"));
        let explicit = block("dst-a", vec![("tags", tags(&[("e", "p")])), ("delete_marker_replication", true.into())]);
        assert_eq!(paths_for(explicit), ["destination[0].delete_marker_replication"]);
        let off = block("dst-a", vec![("tags", tags(&[("e", "p")])), ("delete_marker_replication", false.into())]);
        assert!(paths_for(off).is_empty());
        assert!(paths_for(block("dst-a", vec![("tags", tags(&[]))])).is_empty());
    }

    #[test]
    fn checks_kms_keys() {
        for bad in [
            "alias/replica",
            "arn:aws:kms:eu-west-1:222222222222:alias/replica",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:2222:key/abc",
            "arn:aws:kms:nowhere:222222222222:key/abc",
            "arn:aws:kms:eu-west-1:222222222222:key/",
            "arn:aws:s3:eu-west-1:222222222222:key/abc",
        ] {
            let ds = validate_destinations(None, &[block("dst-a", vec![("replica_kms_key_arn", bad.into())])]);
            assert_eq!(errors(&ds), vec![("destination[0].replica_kms_key_arn".into(), "Invalid KMS key ARN".into())]);
        }
        let ds = validate_destinations(None, &[block("dst-a", vec![("replica_kms_key_arn", "alias/replica".into())])]);
        assert!(ds.0[0].detail.contains("alias"));

        let set = block(
            "dst-a",
            vec![
                ("replica_kms_key_arn", KEY.into()),
                ("source_kms_key_arns", Value::Set(vec![KEY2.into(), "alias/x".into()])),
            ],
        );
        assert_eq!(paths_for(set), ["destination[0].source_kms_key_arns"]);
        let list = block(
            "dst-a",
            vec![
                ("replica_kms_key_arn", KEY.into()),
                ("source_kms_key_arns", Value::List(vec![KEY2.into(), "alias/x".into()])),
            ],
        );
        assert_eq!(paths_for(list), ["destination[0].source_kms_key_arns[1]"]);

        let no_replica = block("dst-a", vec![("source_kms_key_arns", Value::Set(vec![KEY2.into()]))]);
        let ds = validate_destinations(None, &[no_replica]);
        assert_eq!(
            errors(&ds),
            vec![("destination[0].source_kms_key_arns".into(), "source_kms_key_arns needs replica_kms_key_arn".into())]
        );
        assert!(paths_for(block("dst-a", vec![("source_kms_key_arns", Value::Set(vec![]))])).is_empty());
        assert!(paths_for(block("dst-a", vec![("replica_kms_key_arn", KEY.into())])).is_empty());
    }

    #[test]
    fn checks_filter_lengths() {
        assert!(paths_for(block("dst-a", vec![("prefix", "p".repeat(1024).into())])).is_empty());
        assert_eq!(paths_for(block("dst-a", vec![("prefix", "p".repeat(1025).into())])), ["destination[0].prefix"]);
        let no_dmr = ("delete_marker_replication", Value::from(false));
        let long_key = "k".repeat(129);
        let t = tags(&[("", "v"), (&long_key, "v"), ("ok", &"v".repeat(257)), ("fine", &"v".repeat(256))]);
        assert_eq!(
            paths_for(block("dst-a", vec![("tags", t), no_dmr])),
            [
                r#"destination[0].tags[""]"#.to_string(),
                format!("destination[0].tags[{long_key:?}]"),
                r#"destination[0].tags["ok"]"#.into()
            ]
        );
    }

    #[test]
    fn limits_the_number_of_destinations() {
        let many: Vec<Value> = (0..=MAX_DESTINATIONS).map(|i| block(&format!("dst-{i}"), vec![])).collect();
        assert_eq!(paths_for_all(&many), ["destination"]);
        assert!(paths_for_all(&many[..MAX_DESTINATIONS]).is_empty());
    }

    #[test]
    fn skips_unknown_values() {
        let unknown = |attr: &str| block("dst-a", vec![(attr, Value::Unknown)]);
        for attr in ["bucket_arn", "account_id", "priority", "storage_class", "replica_kms_key_arn", "prefix", "tags"] {
            assert!(paths_for(unknown(attr)).is_empty(), "{attr}");
        }
        // A whole block, or an attribute that decides another check, unknown.
        assert!(paths_for_all(&[Value::Unknown, Value::Null]).is_empty());
        assert!(
            paths_for(block("dst-a", vec![("owner_override", true.into()), ("account_id", Value::Unknown)])).is_empty()
        );
        assert!(
            paths_for(block(
                "dst-a",
                vec![("tags", tags(&[("e", "p")])), ("delete_marker_replication", Value::Unknown)]
            ))
            .is_empty()
        );
        assert!(
            paths_for(block(
                "dst-a",
                vec![("source_kms_key_arns", Value::Set(vec![KEY2.into()])), ("replica_kms_key_arn", Value::Unknown)]
            ))
            .is_empty()
        );
        assert!(paths_for(block("dst-a", vec![("source_kms_key_arns", Value::Unknown)])).is_empty());
        // Unknown bucket ARNs and priorities take no part in duplicate checks.
        let dup = [
            block("dst-a", vec![("priority", Value::int(2))]),
            block("dst-b", vec![("bucket_arn", Value::Unknown), ("priority", Value::Unknown)]),
        ];
        assert!(paths_for_all(&dup).is_empty());
        // Unknown source bucket: nothing to compare.
        assert!(errors(&validate_destinations(None, &[block("src", vec![])])).is_empty());
        // Known parts of a block with unknown parts are still checked.
        assert_eq!(
            paths_for(block("dst-a", vec![("prefix", Value::Unknown), ("account_id", "1".into())])),
            ["destination[0].account_id"]
        );
    }

    fn build_one(d: DestinationSpec) -> ReplicationRule {
        let cfg = build_configuration(ROLE, &[d]).expect("builds");
        assert_eq!(cfg.role(), ROLE);
        assert_eq!(cfg.rules().len(), 1);
        cfg.rules()[0].clone()
    }

    #[test]
    fn builds_a_minimal_v2_rule() {
        let r = build_one(spec("dst"));
        assert_eq!(r.id(), Some("crossrepl-dst"));
        assert_eq!(r.priority(), Some(1));
        assert_eq!(*r.status(), ReplicationRuleStatus::Enabled);
        assert_eq!(r.filter(), Some(&ReplicationRuleFilter::builder().prefix("").build()));
        assert_eq!(
            r.delete_marker_replication().and_then(|d| d.status()),
            Some(&DeleteMarkerReplicationStatus::Enabled)
        );
        let dest = r.destination().expect("destination");
        assert_eq!(dest.bucket(), arn("dst"));
        assert_eq!(dest.account(), None);
        assert_eq!(dest.storage_class(), None);
        assert!(dest.access_control_translation().is_none());
        assert!(dest.encryption_configuration().is_none());
        assert!(dest.replication_time().is_none() && dest.metrics().is_none());
        assert!(r.source_selection_criteria().is_none());
        assert!(r.existing_object_replication().is_none());
        #[allow(deprecated)]
        let v1_prefix = r.prefix();
        assert_eq!(v1_prefix, None);
    }

    #[test]
    fn builds_each_filter_shape() {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().expect("tag");
        let prefix_only = build_one(DestinationSpec { prefix: "logs/".into(), ..spec("d") });
        assert_eq!(prefix_only.filter(), Some(&ReplicationRuleFilter::builder().prefix("logs/").build()));

        let one_tag = DestinationSpec {
            tags: [("env".to_string(), "prod".to_string())].into(),
            delete_marker_replication: false,
            ..spec("d")
        };
        let r = build_one(one_tag.clone());
        assert_eq!(r.filter(), Some(&ReplicationRuleFilter::builder().tag(tag("env", "prod")).build()));
        assert_eq!(
            r.delete_marker_replication().and_then(|d| d.status()),
            Some(&DeleteMarkerReplicationStatus::Disabled)
        );

        let r = build_one(DestinationSpec { prefix: "logs/".into(), ..one_tag.clone() });
        let and = ReplicationRuleAndOperator::builder().prefix("logs/").tags(tag("env", "prod")).build();
        assert_eq!(r.filter(), Some(&ReplicationRuleFilter::builder().and(and).build()));

        let mut two = one_tag;
        two.tags.insert("app".into(), "web".into());
        let r = build_one(two);
        let and = ReplicationRuleAndOperator::builder().tags(tag("app", "web")).tags(tag("env", "prod")).build();
        assert_eq!(r.filter(), Some(&ReplicationRuleFilter::builder().and(and).build()));
        assert_eq!(r.filter().and_then(|f| f.and()).and_then(|a| a.prefix()), None);
    }

    #[test]
    fn builds_destination_options() {
        let r = build_one(DestinationSpec {
            account_id: Some("222222222222".into()),
            owner_override: true,
            storage_class: Some("STANDARD_IA".into()),
            replica_kms_key_arn: Some(KEY.into()),
            source_kms_key_arns: vec![KEY2.into()],
            replication_time_control: true,
            replica_modifications: true,
            delete_marker_replication: false,
            enabled: false,
            priority: Some(42),
            ..spec("dst")
        });
        assert_eq!(*r.status(), ReplicationRuleStatus::Disabled);
        assert_eq!(r.priority(), Some(42));
        assert_eq!(
            r.delete_marker_replication().and_then(|d| d.status()),
            Some(&DeleteMarkerReplicationStatus::Disabled)
        );
        let dest = r.destination().expect("destination");
        assert_eq!(dest.account(), Some("222222222222"));
        assert_eq!(dest.storage_class(), Some(&StorageClass::StandardIa));
        assert_eq!(dest.access_control_translation().map(|t| t.owner()), Some(&OwnerOverride::Destination));
        assert_eq!(dest.encryption_configuration().and_then(|e| e.replica_kms_key_id()), Some(KEY));
        let rt = dest.replication_time().expect("replication time");
        assert_eq!(*rt.status(), ReplicationTimeStatus::Enabled);
        assert_eq!(rt.time().and_then(|t| t.minutes()), Some(15));
        let m = dest.metrics().expect("metrics");
        assert_eq!(*m.status(), MetricsStatus::Enabled);
        assert_eq!(m.event_threshold().and_then(|t| t.minutes()), Some(15));
        let ssc = r.source_selection_criteria().expect("source selection");
        assert_eq!(ssc.sse_kms_encrypted_objects().map(|s| s.status()), Some(&SseKmsEncryptedObjectsStatus::Enabled));
        assert_eq!(ssc.replica_modifications().map(|s| s.status()), Some(&ReplicaModificationsStatus::Enabled));
        assert!(r.existing_object_replication().is_none());

        // Each selection criterion alone.
        let r = build_one(DestinationSpec { replica_modifications: true, ..spec("dst") });
        let ssc = r.source_selection_criteria().expect("source selection");
        assert!(ssc.sse_kms_encrypted_objects().is_none() && ssc.replica_modifications().is_some());
        let kms = DestinationSpec {
            replica_kms_key_arn: Some(KEY.into()),
            source_kms_key_arns: vec![KEY2.into()],
            ..spec("dst")
        };
        let r = build_one(kms);
        let ssc = r.source_selection_criteria().expect("source selection");
        assert!(ssc.sse_kms_encrypted_objects().is_some() && ssc.replica_modifications().is_none());
        // Account without owner override: no translation.
        let r = build_one(DestinationSpec { account_id: Some("222222222222".into()), ..spec("dst") });
        let dest = r.destination().expect("destination");
        assert!(dest.account().is_some() && dest.access_control_translation().is_none());
    }

    #[test]
    fn build_refuses_malformed_configurations() {
        assert!(build_configuration(ROLE, &[]).is_err());
        let too_many: Vec<_> = (0..=MAX_DESTINATIONS).map(|i| spec(&format!("d-{i}"))).collect();
        assert!(build_configuration(ROLE, &too_many).is_err());
        assert!(build_configuration(ROLE, &too_many[..MAX_DESTINATIONS]).is_ok());
        let dup_priority = [spec("a"), DestinationSpec { priority: Some(1), ..spec("b") }];
        assert!(build_configuration(ROLE, &dup_priority).unwrap_err().contains("priority 1"));
        assert!(build_configuration(ROLE, &[spec("a"), spec("a")]).unwrap_err().contains("rule id"));
        for p in [-1, i64::from(i32::MAX) + 1] {
            assert!(build_configuration(ROLE, &[DestinationSpec { priority: Some(p), ..spec("a") }]).is_err());
        }
    }

    #[test]
    fn round_trips_through_s3_rules() {
        let dests = vec![
            spec("plain"),
            DestinationSpec { prefix: "logs/".into(), storage_class: Some("GLACIER".into()), ..spec("prefixed") },
            DestinationSpec {
                tags: [("env".to_string(), "prod".to_string())].into(),
                delete_marker_replication: false,
                priority: Some(50),
                ..spec("one-tag")
            },
            DestinationSpec {
                prefix: "data/".into(),
                tags: [("a".to_string(), "1".to_string()), ("b".into(), "2".into())].into(),
                delete_marker_replication: false,
                ..spec("and-filter")
            },
            DestinationSpec {
                account_id: Some("222222222222".into()),
                owner_override: true,
                replica_kms_key_arn: Some(KEY.into()),
                source_kms_key_arns: vec![KEY2.into()],
                replication_time_control: true,
                replica_modifications: true,
                enabled: false,
                ..spec("everything")
            },
        ];
        let cfg = build_configuration(ROLE, &dests).expect("builds");
        let read = specs_from_configuration(&cfg);
        assert_eq!(read.len(), dests.len());
        for (i, (r, d)) in read.iter().zip(&dests).enumerate() {
            assert_eq!(r.id, rule_id(i, d));
            assert_eq!(r.priority, Some(effective_priority(i, d)));
            assert_eq!(effective_priority(i, &r.spec), effective_priority(i, d));
            let expected =
                DestinationSpec { source_kms_key_arns: Vec::new(), rule_id: Some(r.id.clone()), ..d.clone() };
            assert_eq!(r.spec, expected, "destination[{i}]");
        }
        // Building from what was read gives equal rules (the SSE-KMS selection aside, which the keys drive).
        let again =
            build_configuration(ROLE, &read.iter().map(|r| r.spec.clone()).collect::<Vec<_>>()).expect("builds");
        for (i, (a, b)) in cfg.rules().iter().zip(again.rules()).enumerate() {
            assert_eq!(rules_equal(a, b), dests[i].source_kms_key_arns.is_empty(), "rule {i}");
        }
    }

    #[test]
    fn reads_v1_rules() {
        #[allow(deprecated)]
        let v1 = ReplicationRule::builder()
            .id("legacy")
            .prefix("old/")
            .status(ReplicationRuleStatus::Enabled)
            .destination(Destination::builder().bucket(arn("dst")).build().expect("destination"))
            .build()
            .expect("rule");
        let cfg = ReplicationConfiguration::builder().role(ROLE).rules(v1.clone()).build().expect("configuration");
        let read = specs_from_configuration(&cfg);
        assert_eq!(
            read,
            vec![ReadRule {
                id: "legacy".into(),
                priority: None,
                spec: DestinationSpec { prefix: "old/".into(), rule_id: Some("legacy".into()), ..spec("dst") }
            }]
        );
        // A V1 rule is not the V2 rule crossrepl would write for it.
        let v2 = build_one(DestinationSpec { prefix: "old/".into(), priority: None, ..spec("dst") });
        assert!(!rules_equal(&v1, &v2));
        assert!(rules_equal(&v1, &v1.clone()));
    }

    #[test]
    fn priorities_stay_put_when_a_destination_is_appended() {
        let before = [spec("a"), DestinationSpec { priority: Some(10), ..spec("b") }, spec("c")];
        let mut after = before.to_vec();
        after.push(spec("d"));
        let p =
            |ds: &[DestinationSpec]| ds.iter().enumerate().map(|(i, d)| effective_priority(i, d)).collect::<Vec<_>>();
        assert_eq!(p(&before), [1, 10, 3]);
        assert_eq!(p(&after), [1, 10, 3, 4]);
        let (b, a) = (build_configuration(ROLE, &before).expect("b"), build_configuration(ROLE, &after).expect("a"));
        assert!(b.rules().iter().zip(a.rules()).all(|(x, y)| rules_equal(x, y) && x == y));
        // Clamping keeps out-of-range explicit values representable (validation rejects them).
        assert_eq!(effective_priority(0, &DestinationSpec { priority: Some(-5), ..spec("a") }), 0);
        assert_eq!(effective_priority(0, &DestinationSpec { priority: Some(i64::MAX), ..spec("a") }), i32::MAX);
    }

    #[test]
    fn rule_ids_are_stable_unique_and_short() {
        assert_eq!(rule_id(0, &spec("acme-dr")), "crossrepl-acme-dr");
        // Independent of position and of every other attribute.
        let changed = DestinationSpec { prefix: "x/".into(), priority: Some(3), enabled: false, ..spec("acme-dr") };
        assert_eq!(rule_id(7, &changed), "crossrepl-acme-dr");
        let names = ["a.b", "a-b", "ab1", &"z".repeat(63)];
        let ids: std::collections::HashSet<String> =
            names.iter().enumerate().map(|(i, n)| rule_id(i, &spec(n))).collect();
        assert_eq!(ids.len(), names.len());
        assert!(ids.iter().all(|id| id.len() <= MAX_RULE_ID_LEN));
        let long = DestinationSpec { bucket_arn: format!("arn:aws:s3:::{}", "é".repeat(300)), ..Default::default() };
        assert_eq!(rule_id(0, &long).chars().count(), MAX_RULE_ID_LEN);
        assert_eq!(rule_id(4, &DestinationSpec::default()), "crossrepl_destination_5");
    }

    #[test]
    fn rules_compare_semantically() {
        let base = DestinationSpec {
            prefix: "p/".into(),
            tags: [("a".to_string(), "1".to_string()), ("b".into(), "2".into())].into(),
            delete_marker_replication: false,
            ..spec("dst")
        };
        let built = build_one(base.clone());
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().expect("tag");
        let dest = || Destination::builder().bucket(arn("dst")).build().expect("destination");
        let rule = |filter: ReplicationRuleFilter| {
            ReplicationRule::builder()
                .id("crossrepl-dst")
                .priority(1)
                .status(ReplicationRuleStatus::Enabled)
                .filter(filter)
                .delete_marker_replication(
                    DeleteMarkerReplication::builder().status(DeleteMarkerReplicationStatus::Disabled).build(),
                )
                .destination(dest())
        };
        // Tag order.
        let reordered =
            ReplicationRuleAndOperator::builder().prefix("p/").tags(tag("b", "2")).tags(tag("a", "1")).build();
        let r = rule(ReplicationRuleFilter::builder().and(reordered).build()).build().expect("rule");
        assert!(rules_equal(&built, &r));

        // Empty versus absent filter prefix; one tag in And versus Tag.
        let plain = build_one(DestinationSpec { delete_marker_replication: false, ..spec("dst") });
        let empty_filter = rule(ReplicationRuleFilter::builder().build()).build().expect("rule");
        assert!(rules_equal(&plain, &empty_filter));
        let one = build_one(DestinationSpec { tags: [("a".to_string(), "1".to_string())].into(), ..base.clone() });
        let one_and = rule(
            ReplicationRuleFilter::builder()
                .and(ReplicationRuleAndOperator::builder().prefix("p/").tags(tag("a", "1")).build())
                .build(),
        );
        assert!(rules_equal(&one, &one_and.clone().build().expect("rule")));
        let tag_only = build_one(DestinationSpec {
            prefix: String::new(),
            tags: [("a".to_string(), "1".to_string())].into(),
            ..base.clone()
        });
        let and_one = rule(
            ReplicationRuleFilter::builder()
                .and(ReplicationRuleAndOperator::builder().tags(tag("a", "1")).build())
                .build(),
        );
        assert!(rules_equal(&tag_only, &and_one.build().expect("rule")));

        // Absent optional structures equal their disabled form.
        let disabled_extras = rule(ReplicationRuleFilter::builder().prefix("").build())
            .source_selection_criteria(
                SourceSelectionCriteria::builder()
                    .replica_modifications(
                        ReplicaModifications::builder()
                            .status(ReplicaModificationsStatus::Disabled)
                            .build()
                            .expect("rm"),
                    )
                    .sse_kms_encrypted_objects(
                        SseKmsEncryptedObjects::builder()
                            .status(SseKmsEncryptedObjectsStatus::Disabled)
                            .build()
                            .expect("sse"),
                    )
                    .build(),
            )
            .existing_object_replication(
                aws_sdk_s3::types::ExistingObjectReplication::builder()
                    .status(aws_sdk_s3::types::ExistingObjectReplicationStatus::Disabled)
                    .build()
                    .expect("eor"),
            )
            .destination(
                Destination::builder()
                    .bucket(arn("dst"))
                    .account("")
                    .encryption_configuration(EncryptionConfiguration::builder().build())
                    .replication_time(
                        ReplicationTime::builder().status(ReplicationTimeStatus::Disabled).build().expect("rt"),
                    )
                    .metrics(Metrics::builder().status(MetricsStatus::Disabled).build().expect("metrics"))
                    .build()
                    .expect("destination"),
            )
            .build()
            .expect("rule");
        assert!(rules_equal(&plain, &disabled_extras));
        // No DeleteMarkerReplication on a V2 rule means disabled.
        let mut no_dmr = plain.clone();
        no_dmr.delete_marker_replication = None;
        assert!(rules_equal(&plain, &no_dmr));

        // Real differences.
        let differs = |f: &dyn Fn(&mut DestinationSpec)| {
            let mut d = base.clone();
            f(&mut d);
            !rules_equal(&built, &build_one(d))
        };
        assert!(differs(&|d| d.prefix = "q/".into()));
        assert!(differs(&|d| {
            d.tags.insert("a".into(), "other".into());
        }));
        assert!(differs(&|d| d.storage_class = Some("STANDARD".into())));
        assert!(differs(&|d| d.account_id = Some("222222222222".into())));
        assert!(differs(&|d| d.replica_kms_key_arn = Some(KEY.into())));
        assert!(differs(&|d| d.replication_time_control = true));
        assert!(differs(&|d| d.replica_modifications = true));
        assert!(differs(&|d| d.enabled = false));
        assert!(differs(&|d| d.priority = Some(2)));
        assert!(differs(&|d| d.bucket_arn = arn("other")));
        assert!(!rules_equal(&plain, &build_one(spec("dst"))), "delete-marker replication differs");
        let mut other_id = built.clone();
        other_id.id = Some("manual".into());
        assert!(!rules_equal(&built, &other_id));
        let mut rtc_minutes = build_one(DestinationSpec { replication_time_control: true, ..base.clone() });
        let original = rtc_minutes.clone();
        if let Some(d) = rtc_minutes.destination.as_mut() {
            d.metrics = Some(Metrics::builder().status(MetricsStatus::Disabled).build().expect("metrics"));
        }
        assert!(!rules_equal(&original, &rtc_minutes), "metrics disabled under RTC");
    }
}
