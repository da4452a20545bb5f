//! IAM and S3 bucket policy documents as typed values.
//!
//! Documents are parsed from raw or URL-encoded JSON, serialized in one canonical layout, and compared
//! semantically (never as text). The builders produce the documents crossrepl writes: the replication role's
//! trust and permissions policies, and the destination bucket-policy statements, which are merged into a policy
//! that other owners may share.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The policy language version crossrepl writes.
pub const POLICY_VERSION: &str = "2012-10-17";

/// The policy language version AWS assumes when a document has no `Version`.
pub const DEFAULT_POLICY_VERSION: &str = "2008-10-17";

/// Longest IAM role name (and the limit crossrepl keeps for its policy names too).
pub const MAX_IAM_NAME_LEN: usize = 64;

const DESTINATION_SID_BASE: &str = "CrossreplReplication";
const BUCKET_SID_SUFFIX: &str = "Bucket";
const ROLE_NAME_PREFIX: &str = "crossrepl-";
const POLICY_NAME_PREFIX: &str = "crossrepl-policy-";
const S3_SERVICE_PRINCIPAL: &str = "s3.amazonaws.com";
const OBJECT_REPLICATION_ACTIONS: [&str; 3] = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"];
const OWNER_OVERRIDE_ACTION: &str = "s3:ObjectOwnerOverrideToBucketOwner";
/// Actions a hand-written destination grant for a replication role holds (the AWS guide's and the usual
/// hashicorp/aws setup's). A statement granting only these is what crossrepl's statements supersede.
const HAND_WRITTEN_GRANT_ACTIONS: [&str; 10] = [
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
    "s3:Replicate*",
    "s3:ObjectOwnerOverrideToBucketOwner",
    "s3:GetBucketVersioning",
    "s3:PutBucketVersioning",
    "s3:ListBucket",
    "s3:List*",
    "s3:GetObjectVersionTagging",
];

/// Why a policy document could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// The text is neither JSON nor RFC 3986 percent-encoded UTF-8.
    Encoding(String),
    /// The JSON is not a policy document (syntax, unknown key, wrong type).
    Document(String),
    /// An ARN given to a builder is malformed or of the wrong kind.
    InvalidArn {
        /// The ARN as given.
        arn: String,
        /// What was expected.
        reason: String,
    },
    /// A plain value given to a builder (bucket name, region) cannot appear in a policy.
    InvalidValue {
        /// Which input.
        what: &'static str,
        /// The value as given.
        value: String,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encoding(m) => write!(f, "policy document is not valid URL-encoded text: {m}"),
            Self::Document(m) => write!(f, "policy document is not a valid policy: {m}"),
            Self::InvalidArn { arn, reason } => write!(f, "invalid ARN `{arn}`: {reason}"),
            Self::InvalidValue { what, value } => {
                write!(f, "invalid {what} `{value}`: must be non-empty, without `*`, `?`, `/` or `:`")
            }
        }
    }
}

impl std::error::Error for PolicyError {}

/// A JSON value that is one item or a list of items.
///
/// Items keep their order. Canonical layout: exactly one item serializes as a plain value, any other count as a
/// list (the form IAM and S3 return).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> OneOrMany<T> {
    /// A single item.
    pub fn one(item: T) -> Self {
        Self(vec![item])
    }
}

impl<T> From<Vec<T>> for OneOrMany<T> {
    fn from(items: Vec<T>) -> Self {
        Self(items)
    }
}

impl<T: Serialize> Serialize for OneOrMany<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(s),
            all => all.serialize(s),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(OneOrMany::one)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::one)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::one)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::one)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::one)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(OneOrMany::one)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A statement's `Effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Effect {
    /// `"Allow"`.
    Allow,
    /// `"Deny"`.
    Deny,
}

/// The object form of `Principal`/`NotPrincipal`, one entry per principal type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalMap {
    /// `AWS`: account ids, account-root / role / user ARNs, or `*`.
    #[serde(rename = "AWS", default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<OneOrMany<String>>,
    /// `Service`: service principals such as `s3.amazonaws.com`.
    #[serde(rename = "Service", default, skip_serializing_if = "Option::is_none")]
    pub service: Option<OneOrMany<String>>,
    /// `Federated`: identity providers.
    #[serde(rename = "Federated", default, skip_serializing_if = "Option::is_none")]
    pub federated: Option<OneOrMany<String>>,
    /// `CanonicalUser`: S3 canonical user ids.
    #[serde(rename = "CanonicalUser", default, skip_serializing_if = "Option::is_none")]
    pub canonical_user: Option<OneOrMany<String>>,
}

/// A statement's `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"`: everyone.
    Any,
    /// `{"AWS": ..., "Service": ..., ...}`.
    Specific(PrincipalMap),
}

impl Principal {
    /// `{"AWS": arn}`.
    pub fn aws(arn: impl Into<String>) -> Self {
        Self::Specific(PrincipalMap { aws: Some(OneOrMany::one(arn.into())), ..PrincipalMap::default() })
    }

    /// `{"Service": service}`.
    pub fn service(service: impl Into<String>) -> Self {
        Self::Specific(PrincipalMap { service: Some(OneOrMany::one(service.into())), ..PrincipalMap::default() })
    }
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Any => s.serialize_str("*"),
            Self::Specific(map) => map.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Principal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"*\" or an object of principal types (AWS, Service, Federated, CanonicalUser)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Principal, E> {
                if v == "*" { Ok(Principal::Any) } else { Err(E::invalid_value(de::Unexpected::Str(v), &self)) }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Principal, A::Error> {
                PrincipalMap::deserialize(MapAccessDeserializer::new(map)).map(Principal::Specific)
            }
        }
        d.deserialize_any(V)
    }
}

/// A statement's `Condition`: operator → condition key → values.
///
/// JSON booleans and numbers are read as strings, as IAM evaluates them. Serialized with sorted operators and keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Condition(pub BTreeMap<String, BTreeMap<String, OneOrMany<String>>>);

impl Condition {
    /// This condition plus `operator: {key: values}` (replacing earlier values of that operator and key).
    pub fn with(mut self, operator: &str, key: &str, values: Vec<String>) -> Self {
        self.0.entry(operator.to_owned()).or_default().insert(key.to_owned(), OneOrMany(values));
        self
    }
}

/// A condition value as it appears in JSON: a string, boolean or number, kept as its string form.
struct ConditionValue(String);

impl<'de> Deserialize<'de> for ConditionValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ConditionValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, boolean or number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConditionValue, E> {
                Ok(ConditionValue(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConditionValue, E> {
                Ok(ConditionValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConditionValue, E> {
                Ok(ConditionValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConditionValue, E> {
                Ok(ConditionValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConditionValue, E> {
                Ok(ConditionValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, BTreeMap<String, OneOrMany<ConditionValue>>>::deserialize(d)?;
        Ok(Self(
            raw.into_iter()
                .map(|(op, keys)| {
                    let keys = keys.into_iter().map(|(k, v)| (k, OneOrMany(v.0.into_iter().map(|c| c.0).collect())));
                    (op, keys.collect())
                })
                .collect(),
        ))
    }
}

/// One policy statement. Structural `==` compares as written; use [`Statement::semantically_equal`] for drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// `Sid`.
    #[serde(rename = "Sid", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `Effect`.
    #[serde(rename = "Effect")]
    pub effect: Effect,
    /// `Principal`.
    #[serde(rename = "Principal", default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// `NotPrincipal`.
    #[serde(rename = "NotPrincipal", default, skip_serializing_if = "Option::is_none")]
    pub not_principal: Option<Principal>,
    /// `Action`.
    #[serde(rename = "Action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany<String>>,
    /// `NotAction`.
    #[serde(rename = "NotAction", default, skip_serializing_if = "Option::is_none")]
    pub not_action: Option<OneOrMany<String>>,
    /// `Resource`.
    #[serde(rename = "Resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    /// `NotResource`.
    #[serde(rename = "NotResource", default, skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<OneOrMany<String>>,
    /// `Condition`.
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

impl Statement {
    /// A statement with this effect and nothing else.
    pub fn new(effect: Effect) -> Self {
        Self {
            sid: None,
            effect,
            principal: None,
            not_principal: None,
            action: None,
            not_action: None,
            resource: None,
            not_resource: None,
            condition: None,
        }
    }

    /// Whether both statements mean the same to AWS: order and duplicates of values, one value vs a one-item
    /// list, action case, condition-key case, JSON scalar types and bare account ids vs account-root ARNs do not
    /// matter. ARNs, principals, Sid and Effect are compared exactly.
    pub fn semantically_equal(&self, other: &Statement) -> bool {
        let self_fallback = other.partition().unwrap_or("aws");
        let other_fallback = self.partition().unwrap_or("aws");
        self.canonical(self_fallback) == other.canonical(other_fallback)
    }

    /// The partition of the first ARN among the resources and principals.
    fn partition(&self) -> Option<&str> {
        let resources = [&self.resource, &self.not_resource].into_iter().flatten().flat_map(|r| r.0.iter());
        let principals = [&self.principal, &self.not_principal].into_iter().flatten().flat_map(principal_values);
        resources.chain(principals).find_map(|v| arn_partition(v))
    }

    /// The normalised form; bare account ids become root ARNs in this statement's partition, else `fallback`.
    fn canonical(&self, fallback_partition: &str) -> CanonicalStatement {
        let partition = self.partition().unwrap_or(fallback_partition);
        let set = |v: &Option<OneOrMany<String>>| v.as_ref().map(|v| v.0.iter().cloned().collect::<BTreeSet<_>>());
        let actions = |v: &Option<OneOrMany<String>>| {
            v.as_ref().map(|v| v.0.iter().map(|a| a.to_ascii_lowercase()).collect::<BTreeSet<_>>())
        };
        CanonicalStatement {
            sid: self.sid.clone(),
            effect: self.effect,
            principal: self.principal.as_ref().map(|p| canonical_principal(p, partition)),
            not_principal: self.not_principal.as_ref().map(|p| canonical_principal(p, partition)),
            action: actions(&self.action),
            not_action: actions(&self.not_action),
            resource: set(&self.resource),
            not_resource: set(&self.not_resource),
            condition: canonical_condition(self.condition.as_ref()),
        }
    }
}

/// A statement reduced to what AWS evaluates; derived `Ord` lets documents compare as sorted lists.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CanonicalStatement {
    sid: Option<String>,
    effect: Effect,
    principal: Option<CanonicalPrincipal>,
    not_principal: Option<CanonicalPrincipal>,
    action: Option<BTreeSet<String>>,
    not_action: Option<BTreeSet<String>>,
    resource: Option<BTreeSet<String>>,
    not_resource: Option<BTreeSet<String>>,
    condition: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum CanonicalPrincipal {
    Any,
    Specific(BTreeMap<&'static str, BTreeSet<String>>),
}

fn principal_values(p: &Principal) -> impl Iterator<Item = &String> {
    let map = match p {
        Principal::Any => None,
        Principal::Specific(m) => Some(m),
    };
    map.into_iter()
        .flat_map(|m| [&m.aws, &m.service, &m.federated, &m.canonical_user])
        .flatten()
        .flat_map(|v| v.0.iter())
}

fn canonical_principal(p: &Principal, partition: &str) -> CanonicalPrincipal {
    let Principal::Specific(m) = p else { return CanonicalPrincipal::Any };
    let mut out = BTreeMap::new();
    if let Some(aws) = &m.aws {
        let root = |v: &String| if is_account_id(v) { format!("arn:{partition}:iam::{v}:root") } else { v.clone() };
        out.insert("AWS", aws.0.iter().map(root).collect::<BTreeSet<_>>());
    }
    for (kind, values) in [("Service", &m.service), ("Federated", &m.federated), ("CanonicalUser", &m.canonical_user)] {
        if let Some(values) = values {
            out.insert(kind, values.0.iter().cloned().collect());
        }
    }
    // AWS documents `{"AWS": "*"}` as equivalent to `"*"`.
    let only_any_aws = out.len() == 1 && out.get("AWS").is_some_and(|v| v.len() == 1 && v.contains("*"));
    if only_any_aws { CanonicalPrincipal::Any } else { CanonicalPrincipal::Specific(out) }
}

fn canonical_condition(c: Option<&Condition>) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (operator, keys) in c.iter().flat_map(|c| c.0.iter()) {
        if keys.is_empty() {
            continue;
        }
        let ignore_case = operator.contains("IgnoreCase");
        let entry = out.entry(operator.clone()).or_default();
        for (key, values) in keys {
            // Condition key names are case-insensitive in IAM.
            let slot = entry.entry(key.to_ascii_lowercase()).or_default();
            slot.extend(values.0.iter().map(|v| if ignore_case { v.to_lowercase() } else { v.clone() }));
        }
    }
    out
}

/// A policy document. Structural `==` compares as written; use [`PolicyDocument::semantically_equal`] for drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// `Version`; absent means [`DEFAULT_POLICY_VERSION`].
    #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `Id`.
    #[serde(rename = "Id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Statement` (a single object in JSON is read as one statement; always written as a list).
    #[serde(rename = "Statement", deserialize_with = "deserialize_statements")]
    pub statements: Vec<Statement>,
}

fn deserialize_statements<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Statement>, D::Error> {
    OneOrMany::<Statement>::deserialize(d).map(|s| s.0)
}

impl PolicyDocument {
    /// A document with [`POLICY_VERSION`], no `Id`, and these statements.
    pub fn new(statements: Vec<Statement>) -> Self {
        Self { version: Some(POLICY_VERSION.to_owned()), id: None, statements }
    }

    /// Parses raw JSON or RFC 3986 URL-encoded JSON (as IAM returns it); `+` is a literal plus.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let trimmed = text.trim();
        let decoded;
        let json = if trimmed.starts_with('{') {
            trimmed
        } else {
            decoded = percent_decode(trimmed)?;
            decoded.trim()
        };
        serde_json::from_str(json).map_err(|e| PolicyError::Document(e.to_string()))
    }

    /// Compact JSON in the canonical layout (AWS key order, one value as a plain string).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("policy documents serialize to JSON")
    }

    /// Indented JSON in the canonical layout.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("policy documents serialize to JSON")
    }

    /// Whether both documents mean the same to AWS: the effective `Version` and `Id` match and the statements
    /// match as a multiset under [`Statement::semantically_equal`].
    pub fn semantically_equal(&self, other: &PolicyDocument) -> bool {
        let self_fallback = self.partition().or(other.partition()).unwrap_or("aws");
        let other_fallback = other.partition().or(self.partition()).unwrap_or("aws");
        let canonical = |doc: &PolicyDocument, fallback: &str| {
            let mut all: Vec<_> = doc.statements.iter().map(|s| s.canonical(fallback)).collect();
            all.sort();
            all
        };
        self.effective_version() == other.effective_version()
            && self.id == other.id
            && canonical(self, self_fallback) == canonical(other, other_fallback)
    }

    fn effective_version(&self) -> &str {
        self.version.as_deref().unwrap_or(DEFAULT_POLICY_VERSION)
    }

    fn partition(&self) -> Option<&str> {
        self.statements.iter().find_map(Statement::partition)
    }
}

fn percent_decode(text: &str) -> Result<String, PolicyError> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = bytes.get(i + 1).copied().and_then(hex).zip(bytes.get(i + 2).copied().and_then(hex));
            let Some((hi, lo)) = pair else {
                return Err(PolicyError::Encoding(format!("bad percent escape at byte {i}")));
            };
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|e| PolicyError::Encoding(format!("decoded text is not UTF-8: {e}")))
}

/// One destination of a replication role, as the role policy needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationGrant {
    /// `arn:<partition>:s3:::<bucket>`.
    pub bucket_arn: String,
    /// Whether replicas are owned by the destination account (`AccessControlTranslation`).
    pub owner_override: bool,
    /// KMS key replicas are encrypted with; in the destination bucket's region.
    pub replica_kms_key_arn: Option<String>,
}

/// Inputs of [`replication_role_policy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePolicyInput {
    /// AWS partition (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub partition: String,
    /// Source bucket name.
    pub source_bucket: String,
    /// Source bucket region (scopes `kms:ViaService` for source keys).
    pub region: String,
    /// Every destination of the source's replication configuration.
    pub destinations: Vec<DestinationGrant>,
    /// KMS keys source objects are encrypted with; empty when SSE-KMS objects are not replicated.
    pub source_kms_key_arns: Vec<String>,
}

/// Inputs of [`destination_statements`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationGrantInput {
    /// AWS partition.
    pub partition: String,
    /// Destination bucket name.
    pub destination_bucket: String,
    /// Account that owns the source bucket and the replication role.
    pub source_account_id: String,
    /// The replication role's ARN (the role need not exist).
    pub source_role_arn: String,
}

/// The replication role's trust policy: `s3.amazonaws.com` may assume it, only for this source bucket and account.
pub fn replication_trust_policy(partition: &str, source_account_id: &str, source_bucket: &str) -> PolicyDocument {
    let condition = Condition::default()
        .with("StringEquals", "aws:SourceAccount", vec![source_account_id.to_owned()])
        .with("ArnLike", "aws:SourceArn", vec![s3_arn(partition, source_bucket)]);
    PolicyDocument::new(vec![Statement {
        principal: Some(Principal::service(S3_SERVICE_PRINCIPAL)),
        condition: Some(condition),
        ..allow("S3AssumeReplicationRole", &["sts:AssumeRole"], vec![])
    }])
}

/// The replication role's least-privilege permissions policy (stable Sids, sorted values, no wildcards).
///
/// KMS conditions allow both the object ARN (`<bucket>/*`) and the bucket ARN as encryption context, so that
/// buckets using S3 Bucket Keys replicate too. Errors when a bucket name, region or ARN cannot be used.
pub fn replication_role_policy(input: &RolePolicyInput) -> Result<PolicyDocument, PolicyError> {
    let partition = input.partition.as_str();
    let source = s3_arn(partition, checked_value("source bucket name", &input.source_bucket)?);
    let dns_suffix = dns_suffix(partition);

    let mut destinations = BTreeSet::new();
    let mut overridden = BTreeSet::new();
    let mut replica_keys: BTreeMap<&str, (&str, BTreeSet<String>)> = BTreeMap::new();
    for d in &input.destinations {
        let bucket = checked_bucket_arn(partition, &d.bucket_arn)?;
        destinations.insert(format!("{bucket}/*"));
        if d.owner_override {
            overridden.insert(format!("{bucket}/*"));
        }
        if let Some(key) = &d.replica_kms_key_arn {
            let region = kms_key_region(partition, key)?;
            let contexts = &mut replica_keys.entry(key).or_insert_with(|| (region, BTreeSet::new())).1;
            contexts.extend([bucket.to_owned(), format!("{bucket}/*")]);
        }
    }
    let source_keys = input
        .source_kms_key_arns
        .iter()
        .map(|k| kms_key_region(partition, k).map(|_| k.clone()))
        .collect::<Result<BTreeSet<_>, _>>()?;

    let mut statements = vec![
        allow("SourceBucket", &["s3:GetReplicationConfiguration", "s3:ListBucket"], vec![source.clone()]),
        allow(
            "SourceObjects",
            &["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            vec![format!("{source}/*")],
        ),
    ];
    if !destinations.is_empty() {
        statements.push(allow("DestinationObjects", &OBJECT_REPLICATION_ACTIONS, destinations.into_iter().collect()));
    }
    if !overridden.is_empty() {
        statements.push(allow("DestinationOwnerOverride", &[OWNER_OVERRIDE_ACTION], overridden.into_iter().collect()));
    }
    if !source_keys.is_empty() {
        let region = checked_value("region", &input.region)?;
        let condition = Condition::default()
            .with("StringLike", "kms:ViaService", vec![format!("s3.{region}.{dns_suffix}")])
            .with("StringLike", "kms:EncryptionContext:aws:s3:arn", vec![source.clone(), format!("{source}/*")]);
        statements.push(Statement {
            condition: Some(condition),
            ..allow("SourceKmsDecrypt", &["kms:Decrypt"], source_keys.into_iter().collect())
        });
    }
    for (n, (key, (region, contexts))) in replica_keys.into_iter().enumerate() {
        let condition = Condition::default()
            .with("StringLike", "kms:ViaService", vec![format!("s3.{region}.{dns_suffix}")])
            .with("StringLike", "kms:EncryptionContext:aws:s3:arn", contexts.into_iter().collect());
        statements.push(Statement {
            condition: Some(condition),
            ..allow(&format!("ReplicaKmsEncrypt{}", n + 1), &["kms:Encrypt"], vec![key.to_owned()])
        });
    }
    Ok(PolicyDocument::new(statements))
}

/// The Sid prefix of the destination statements for one source role: `CrossreplReplication`, the source account
/// id, and the 16-hex-digit FNV-1a 64 hash of the role name (≤ 48 characters, only `[A-Za-z0-9]`).
pub fn destination_sid_prefix(input: &DestinationGrantInput) -> String {
    let account: String = input.source_account_id.chars().filter(char::is_ascii_alphanumeric).collect();
    let role_name = input.source_role_arn.rsplit_once('/').map_or(input.source_role_arn.as_str(), |(_, name)| name);
    format!("{DESTINATION_SID_BASE}{account}{:016x}", fnv1a64(role_name.as_bytes()))
}

/// The two destination bucket-policy statements for one source role: replication actions on `<bucket>/*`
/// (Sid = [`destination_sid_prefix`]) and versioning/listing on the bucket (Sid = prefix + `Bucket`).
///
/// The principal is the source account root with `ArnEquals aws:PrincipalArn = <role ARN>`, so the role need not
/// exist yet and a re-created role still matches.
pub fn destination_statements(input: &DestinationGrantInput) -> Vec<Statement> {
    let partition = input.partition.as_str();
    let prefix = destination_sid_prefix(input);
    let bucket = s3_arn(partition, &input.destination_bucket);
    let principal = Principal::aws(format!("arn:{partition}:iam::{}:root", input.source_account_id));
    let condition = Condition::default().with("ArnEquals", "aws:PrincipalArn", vec![input.source_role_arn.clone()]);
    let mut object_actions = OBJECT_REPLICATION_ACTIONS.to_vec();
    object_actions.push(OWNER_OVERRIDE_ACTION);
    vec![
        Statement {
            principal: Some(principal.clone()),
            condition: Some(condition.clone()),
            ..allow(&prefix, &object_actions, vec![format!("{bucket}/*")])
        },
        Statement {
            principal: Some(principal),
            condition: Some(condition),
            ..allow(
                &format!("{prefix}{BUCKET_SID_SUFFIX}"),
                &["s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:ListBucket"],
                vec![bucket],
            )
        },
    ]
}

/// The role ARNs named by crossrepl destination statements for `source_account_id` in `doc` (sorted, for import).
pub fn destination_role_arns(doc: &PolicyDocument, source_account_id: &str) -> Vec<String> {
    let base = format!("{DESTINATION_SID_BASE}{source_account_id}");
    let ours = |s: &&Statement| {
        let hash = s.sid.as_deref().and_then(|sid| sid.strip_prefix(base.as_str()));
        hash.is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let arns: BTreeSet<String> = doc
        .statements
        .iter()
        .filter(ours)
        .filter_map(|s| s.condition.as_ref()?.0.get("ArnEquals")?.get("aws:PrincipalArn"))
        .flat_map(|v| v.0.iter().cloned())
        .collect();
    arns.into_iter().collect()
}

/// Whether `s` is a hand-written replication grant for exactly `role_arn` on `bucket` that crossrepl's statements
/// supersede: `Allow`, principal `{"AWS": <role ARN>}` and nothing else, only replication-related actions
/// ([`HAND_WRITTEN_GRANT_ACTIONS`]), only the bucket or objects in it as resources, no condition, and not one of
/// crossrepl's own Sids. Statements with a condition or any other principal, action or resource are left alone.
pub fn is_superseded_grant(s: &Statement, partition: &str, bucket: &str, role_arn: &str) -> bool {
    let bucket_arn = s3_arn(partition, bucket);
    let objects = format!("{bucket_arn}/");
    let principal_ok = matches!(&s.principal, Some(Principal::Specific(PrincipalMap { aws: Some(aws), service: None, federated: None, canonical_user: None }))
        if !aws.0.is_empty() && aws.0.iter().all(|a| a == role_arn));
    let actions_ok = s.action.as_ref().is_some_and(|a| {
        !a.0.is_empty() && a.0.iter().all(|x| HAND_WRITTEN_GRANT_ACTIONS.iter().any(|h| h.eq_ignore_ascii_case(x)))
    });
    let resources_ok = s
        .resource
        .as_ref()
        .is_some_and(|r| !r.0.is_empty() && r.0.iter().all(|x| *x == bucket_arn || x.starts_with(&objects)));
    let ours = s.sid.as_deref().is_some_and(|sid| sid.starts_with(DESTINATION_SID_BASE));
    s.effect == Effect::Allow
        && principal_ok
        && actions_ok
        && resources_ok
        && s.condition.is_none()
        && s.not_principal.is_none()
        && s.not_action.is_none()
        && s.not_resource.is_none()
        && !ours
}

/// `doc` without the statements [`is_superseded_grant`] finds; `None` when nothing is left.
pub fn remove_superseded_grants(
    mut doc: PolicyDocument,
    partition: &str,
    bucket: &str,
    role_arn: &str,
) -> Option<PolicyDocument> {
    doc.statements.retain(|s| !is_superseded_grant(s, partition, bucket, role_arn));
    (!doc.statements.is_empty()).then_some(doc)
}

/// Role ARNs of `source_account_id` that hand-written replication grants on `bucket` name as their principal
/// (sorted; for importing such a setup).
pub fn hand_written_grant_roles(
    doc: &PolicyDocument,
    partition: &str,
    bucket: &str,
    source_account_id: &str,
) -> Vec<String> {
    let prefix = format!("arn:{partition}:iam::{source_account_id}:role/");
    let arns: BTreeSet<String> = doc
        .statements
        .iter()
        .filter_map(|s| match &s.principal {
            Some(Principal::Specific(PrincipalMap { aws: Some(aws), .. })) => aws.0.first(),
            _ => None,
        })
        .filter(|arn| arn.starts_with(&prefix))
        .filter(|arn| doc.statements.iter().any(|s| is_superseded_grant(s, partition, bucket, arn)))
        .cloned()
        .collect();
    arns.into_iter().collect()
}

/// `existing` with `ours` merged in: statements with one of our Sids are replaced in place, every other statement
/// is kept untouched and in order, the rest of ours is appended. Without `existing`, a new [`POLICY_VERSION`]
/// document. Statements of ours should carry Sids (one without a Sid is always appended).
pub fn merge_statements(existing: Option<PolicyDocument>, ours: &[Statement]) -> PolicyDocument {
    let mut doc = existing.unwrap_or_else(|| PolicyDocument::new(Vec::new()));
    let mut pending: Vec<Option<&Statement>> = ours.iter().map(Some).collect();
    let mut merged = Vec::with_capacity(doc.statements.len() + ours.len());
    for statement in doc.statements.drain(..) {
        let sid = statement.sid.as_deref();
        match ours.iter().position(|o| sid.is_some() && o.sid.as_deref() == sid) {
            None => merged.push(statement),
            // A second statement with one of our Sids is dropped: ours is already in place.
            Some(i) => merged.extend(pending[i].take().cloned()),
        }
    }
    merged.extend(pending.into_iter().flatten().cloned());
    doc.statements = merged;
    doc
}

/// `existing` without the statements whose Sid is in `sids`; `None` when nothing is left (delete the policy).
pub fn remove_statements(mut existing: PolicyDocument, sids: &[String]) -> Option<PolicyDocument> {
    existing.statements.retain(|s| !s.sid.as_ref().is_some_and(|sid| sids.contains(sid)));
    (!existing.statements.is_empty()).then_some(existing)
}

/// The statements of `doc` whose Sid is in `sids`, in document order.
pub fn find_statements<'a>(doc: &'a PolicyDocument, sids: &[String]) -> Vec<&'a Statement> {
    doc.statements.iter().filter(|s| s.sid.as_ref().is_some_and(|sid| sids.contains(sid))).collect()
}

/// Drift check: every statement of `ours` is in `doc` and semantically equal (a statement with a Sid must be the
/// only meaning of that Sid in `doc`; one without a Sid must have an equal statement anywhere).
pub fn statements_match(doc: &PolicyDocument, ours: &[Statement]) -> bool {
    ours.iter().all(|o| match &o.sid {
        Some(sid) => {
            let mut same_sid = doc.statements.iter().filter(|s| s.sid.as_ref() == Some(sid)).peekable();
            same_sid.peek().is_some() && same_sid.all(|s| s.semantically_equal(o))
        }
        None => doc.statements.iter().any(|s| s.semantically_equal(o)),
    })
}

/// Default replication role name for a source bucket: `crossrepl-<bucket>`, or when that is over 64 characters
/// (or the bucket name has characters outside `[a-z0-9.-]`), a truncated form ending in `_` + 8 hex digits of a
/// hash of the whole name. Deterministic; distinct buckets give distinct names.
pub fn role_name_for_bucket(bucket: &str) -> String {
    derived_name(ROLE_NAME_PREFIX, bucket)
}

/// Default permissions-policy name for a source bucket: `crossrepl-policy-<bucket>`, shortened as in
/// [`role_name_for_bucket`].
pub fn policy_name_for_bucket(bucket: &str) -> String {
    derived_name(POLICY_NAME_PREFIX, bucket)
}

fn derived_name(prefix: &str, bucket: &str) -> String {
    let plain = bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if plain && prefix.len() + bucket.len() <= MAX_IAM_NAME_LEN {
        return format!("{prefix}{bucket}");
    }
    // `_` never occurs in a bucket name, so shortened names cannot equal a plain one.
    let hash = format!("{:08x}", fnv1a64(bucket.as_bytes()) >> 32);
    let keep = MAX_IAM_NAME_LEN - prefix.len() - 1 - hash.len();
    let iam_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    let head: String = bucket.chars().map(|c| if iam_char(c) { c } else { '-' }).take(keep).collect();
    format!("{prefix}{head}_{hash}")
}

fn allow(sid: &str, actions: &[&str], resources: Vec<String>) -> Statement {
    Statement {
        sid: Some(sid.to_owned()),
        action: Some(OneOrMany(actions.iter().map(|a| (*a).to_owned()).collect())),
        resource: (!resources.is_empty()).then_some(OneOrMany(resources)),
        ..Statement::new(Effect::Allow)
    }
}

fn s3_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

fn checked_value<'a>(what: &'static str, value: &'a str) -> Result<&'a str, PolicyError> {
    let bad = value.is_empty() || value.contains(['*', '?', '/', ':']);
    if bad { Err(PolicyError::InvalidValue { what, value: value.to_owned() }) } else { Ok(value) }
}

/// `arn` itself when it is an S3 bucket ARN in `partition`.
fn checked_bucket_arn<'a>(partition: &str, arn: &'a str) -> Result<&'a str, PolicyError> {
    let name = arn.strip_prefix(&format!("arn:{partition}:s3:::")).unwrap_or_default();
    if checked_value("bucket", name).is_err() {
        let reason = format!("expected an S3 bucket ARN `arn:{partition}:s3:::<bucket>`");
        return Err(PolicyError::InvalidArn { arn: arn.to_owned(), reason });
    }
    Ok(arn)
}

/// The region of a KMS key (or alias) ARN in `partition`.
fn kms_key_region<'a>(partition: &str, arn: &'a str) -> Result<&'a str, PolicyError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", p, "kms", region, account, resource]
            if *p == partition
                && checked_value("region", region).is_ok()
                && is_account_id(account)
                && (resource.starts_with("key/") || resource.starts_with("alias/"))
                && !resource.contains(['*', '?']) =>
        {
            Ok(region)
        }
        _ => Err(PolicyError::InvalidArn {
            arn: arn.to_owned(),
            reason: format!("expected a KMS key ARN `arn:{partition}:kms:<region>:<account>:key/<id>`"),
        }),
    }
}

/// The partition of an ARN (`arn:<partition>:...`).
fn arn_partition(value: &str) -> Option<&str> {
    let mut parts = value.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.next().filter(|p| !p.is_empty())
}

/// The DNS suffix of a partition's service endpoints (from the AWS SDKs' partition table).
fn dns_suffix(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "amazonaws.com.cn",
        "aws-eusc" => "amazonaws.eu",
        "aws-iso" => "c2s.ic.gov",
        "aws-iso-b" => "sc2s.sgov.gov",
        "aws-iso-e" => "cloud.adc-e.uk",
        "aws-iso-f" => "csp.hci.ic.gov",
        _ => "amazonaws.com",
    }
}

fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// FNV-1a, 64 bits: small, stable across releases and platforms.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "111111111111";
    const ROLE: &str = "arn:aws:iam::111111111111:role/crossrepl-acme-data";

    fn parse(text: &str) -> PolicyDocument {
        PolicyDocument::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn equal(a: &str, b: &str) -> bool {
        let (a, b) = (parse(a), parse(b));
        assert_eq!(a.semantically_equal(&b), b.semantically_equal(&a), "symmetry");
        a.semantically_equal(&b)
    }

    fn strings(v: &Option<OneOrMany<String>>) -> Vec<&str> {
        v.as_ref().map(|v| v.0.iter().map(String::as_str).collect()).unwrap_or_default()
    }

    fn by_sid<'a>(doc: &'a PolicyDocument, sid: &str) -> &'a Statement {
        doc.statements.iter().find(|s| s.sid.as_deref() == Some(sid)).unwrap_or_else(|| panic!("no {sid}"))
    }

    fn condition<'a>(s: &'a Statement, op: &str, key: &str) -> Vec<&'a str> {
        s.condition.as_ref().unwrap().0[op][key].0.iter().map(String::as_str).collect()
    }

    /// RFC 3986 percent-encoding of every byte outside the unreserved set (what IAM returns).
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    fn role_input(destinations: Vec<DestinationGrant>, source_keys: &[&str]) -> RolePolicyInput {
        RolePolicyInput {
            partition: "aws".into(),
            source_bucket: "acme-data".into(),
            region: "us-east-1".into(),
            destinations,
            source_kms_key_arns: source_keys.iter().map(|k| (*k).to_owned()).collect(),
        }
    }

    fn dest(bucket: &str, owner_override: bool, key: Option<&str>) -> DestinationGrant {
        DestinationGrant {
            bucket_arn: format!("arn:aws:s3:::{bucket}"),
            owner_override,
            replica_kms_key_arn: key.map(str::to_owned),
        }
    }

    fn grant(account: &str, role_arn: &str) -> DestinationGrantInput {
        DestinationGrantInput {
            partition: "aws".into(),
            destination_bucket: "acme-dr-copy".into(),
            source_account_id: account.into(),
            source_role_arn: role_arn.into(),
        }
    }

    fn assert_no_wildcards(doc: &PolicyDocument) {
        let json = doc.to_json();
        assert!(!json.replace("/*", "").contains('*'), "wildcard in {json}");
    }

    const SAMPLE: &str = r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "A",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root", "Service": "s3.amazonaws.com"},
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
            "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}, "Bool": {"aws:SecureTransport": true}}
        }]
    }"#;

    #[test]
    fn parses_raw_json() {
        let doc = parse(SAMPLE);
        assert_eq!(doc.version.as_deref(), Some("2012-10-17"));
        let s = &doc.statements[0];
        assert_eq!(s.sid.as_deref(), Some("A"));
        assert_eq!(s.effect, Effect::Allow);
        assert_eq!(strings(&s.action), ["s3:GetObject", "s3:PutObject"]);
        assert_eq!(strings(&s.resource), ["arn:aws:s3:::b/*", "arn:aws:s3:::b"]);
        let Some(Principal::Specific(p)) = &s.principal else { panic!("principal") };
        assert_eq!(strings(&p.aws), ["arn:aws:iam::111111111111:root"]);
        assert_eq!(strings(&p.service), ["s3.amazonaws.com"]);
        assert_eq!(condition(s, "Bool", "aws:SecureTransport"), ["true"]);
    }

    #[test]
    fn parses_url_encoded_json() {
        let encoded = encode(SAMPLE);
        assert!(encoded.contains("%2F") && encoded.starts_with("%7B"));
        assert_eq!(parse(&encoded), parse(SAMPLE));
        // Lower-case hex digits and surrounding whitespace are fine.
        assert_eq!(parse(&format!("  {}\n", encoded.replace("%2F", "%2f"))), parse(SAMPLE));
    }

    #[test]
    fn plus_is_a_literal_plus_in_url_encoded_documents() {
        let raw = concat!(
            r#"{"Version":"2012-10-17","#,
            r#""Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/a+b c"}}"#
        );
        let encoded = raw.replace('{', "%7B").replace('}', "%7D").replace('"', "%22").replace(' ', "%20");
        let doc = parse(&encoded);
        assert_eq!(strings(&doc.statements[0].resource), ["arn:aws:s3:::b/a+b c"]);
    }

    #[test]
    fn rejects_bad_input_with_clear_errors() {
        for (text, expected) in [
            ("%7B%2", "percent escape"),
            ("%7B%ZZ%7D", "percent escape"),
            ("%FF%FE", "not UTF-8"),
            ("", "not a valid policy"),
            ("{", "not a valid policy"),
            (r#"{"Statement":[{"Effect":"Maybe"}]}"#, "Maybe"),
            (r#"{"Statement":[{"Effect":"Allow","Actions":"s3:GetObject"}]}"#, "Actions"),
            (r#"{"Version":"2012-10-17"}"#, "Statement"),
            (r#"{"Statement":{"Effect":"Allow","Principal":"someone"}}"#, "someone"),
            (r#"{"Statement":{"Effect":"Allow","Principal":{"Robot":"x"}}}"#, "Robot"),
            (r#"{"Statement":{"Effect":"Allow","Action":true}}"#, "boolean"),
        ] {
            let err = PolicyDocument::parse(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(err.starts_with("policy document is not"), "{err}");
        }
    }

    #[test]
    fn single_statement_object_equals_one_element_array() {
        let statement = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#;
        let object = format!(r#"{{"Version":"2012-10-17","Statement":{statement}}}"#);
        let array = format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
        assert_eq!(parse(&object), parse(&array));
        assert!(equal(&object, &array));
    }

    #[test]
    fn serializes_in_aws_key_order_and_round_trips() {
        let doc = parse(SAMPLE);
        let json = doc.to_json();
        let keys = [
            "\"Version\"",
            "\"Statement\"",
            "\"Sid\"",
            "\"Effect\"",
            "\"Principal\"",
            "\"Action\"",
            "\"Resource\"",
            "\"Condition\"",
        ];
        let positions: Vec<usize> = keys.iter().map(|k| json.find(k).unwrap()).collect();
        assert!(positions.is_sorted(), "{json}");
        assert!(json.contains(r#""Statement":[{"#), "statements always a list: {json}");
        assert!(json.contains(r#""aws:SourceAccount":"111111111111""#), "one value as a string: {json}");
        assert!(json.contains(r#""aws:SecureTransport":"true""#), "scalars as strings: {json}");
        assert!(!json.contains(' ') && !json.contains('\n'));
        assert_eq!(parse(&json), doc);
        assert_eq!(parse(&doc.to_json_pretty()), doc);
        assert!(doc.to_json_pretty().contains('\n'));
        assert_eq!(parse(&json).to_json(), json);
    }

    #[test]
    fn semantic_equality_ignores_layout_and_order() {
        let base = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"A","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],
             "Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"],
             "Principal":{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::222222222222:root"]},
             "Condition":{"StringEquals":{"aws:SourceAccount":["1","2"]},"Bool":{"aws:SecureTransport":"true"},
                          "NumericLessThan":{"s3:max-keys":"10"}}},
            {"Sid":"B","Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let reordered = r#"{ "Statement" : [
            {"Resource":"arn:aws:s3:::b/*","Action":["s3:DeleteObject"],"Effect":"Deny","Sid":"B"},
            {"Condition":{"NumericLessThan":{"s3:max-keys":10},"Bool":{"AWS:SecureTransport":true},
                          "StringEquals":{"aws:SourceAccount":["2","1","2"]}},
             "Principal":{"AWS":["arn:aws:iam::222222222222:root","arn:aws:iam::111111111111:root"]},
             "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Action":["S3:putobject","s3:GETOBJECT"],
             "Effect":"Allow","Sid":"A"}],
            "Version" : "2012-10-17" }"#;
        assert!(equal(base, reordered));
        assert!(equal(base, &encode(reordered)));
    }

    #[test]
    fn semantic_equality_single_string_vs_list() {
        let one = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole",
            "Condition":{"StringEquals":{"aws:SourceAccount":"1"}}}]}"#;
        let list = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"Service":["s3.amazonaws.com"]},"Action":["sts:AssumeRole"],
            "Condition":{"StringEquals":{"aws:SourceAccount":["1"]}}}]}"#;
        assert!(equal(one, list));
    }

    #[test]
    fn semantic_equality_detects_real_differences() {
        let base = concat!(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","#,
            r#""Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"s3:GetObject","#,
            r#""Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceAccount":"1"}}}]}"#
        );
        let variants = [
            base.replace("arn:aws:s3:::b/*", "arn:aws:s3:::c/*"),
            base.replace("arn:aws:s3:::b/*", "arn:aws:s3:::B/*"),
            base.replace("\"Allow\"", "\"Deny\""),
            base.replace("s3:GetObject", "s3:PutObject"),
            base.replace("\"Sid\":\"A\"", "\"Sid\":\"B\""),
            base.replace("\"Sid\":\"A\",", ""),
            base.replace("111111111111:root", "222222222222:root"),
            base.replace("111111111111:root", "111111111111:ROOT"),
            base.replace("\"Principal\"", "\"NotPrincipal\""),
            base.replace("\"Action\"", "\"NotAction\""),
            base.replace("\"Resource\"", "\"NotResource\""),
            base.replace("StringEquals", "StringLike"),
            base.replace("\"aws:SourceAccount\":\"1\"", "\"aws:SourceAccount\":\"2\""),
            base.replace("\"aws:SourceAccount\":\"1\"", "\"aws:SourceAccount\":[\"1\",\"2\"]"),
            base.replace("\"aws:SourceAccount\":\"1\"", "\"aws:SourceAccount\":\"1\",\"aws:SourceArn\":\"x\""),
            base.replace("}}}]", "},\"Bool\":{\"aws:SecureTransport\":\"true\"}}}]"),
            base.replace(",\"Condition\":{\"StringEquals\":{\"aws:SourceAccount\":\"1\"}}", ""),
            base.replace("\"Version\":\"2012-10-17\",", "\"Id\":\"x\",\"Version\":\"2012-10-17\","),
            base.replace("}]}", "},{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/*\"}]}"),
        ];
        for variant in &variants {
            assert_ne!(variant, base, "replacement did nothing");
            assert!(!equal(base, variant), "{variant}");
        }
        // A duplicated statement is a difference too (statements compare as a multiset).
        let statement = &base[base.find('[').unwrap() + 1..base.rfind(']').unwrap()];
        let doubled = base.replace(statement, &format!("{statement},{statement}"));
        assert!(!equal(base, &doubled));
    }

    #[test]
    fn version_absent_means_2008() {
        let body = r#""Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]"#;
        let none = format!("{{{body}}}");
        let old = format!("{{\"Version\":\"2008-10-17\",{body}}}");
        let new = format!("{{\"Version\":\"2012-10-17\",{body}}}");
        assert!(!equal(&none, &new));
        assert!(!equal(&old, &new));
        assert!(equal(&none, &old));
    }

    #[test]
    fn ignore_case_operators_compare_values_case_insensitively() {
        let a = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
            "Condition":{"StringEqualsIgnoreCase":{"aws:username":"Alice"}}}]}"#;
        assert!(equal(a, &a.replace("Alice", "alice")));
        let strict = a.replace("StringEqualsIgnoreCase", "StringEquals");
        assert!(!equal(&strict, &strict.replace("Alice", "alice")));
    }

    #[test]
    fn bare_account_id_principal_equals_account_root_arn() {
        let arn = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::222222222222:role/r"]},
            "Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let bare = arn.replace("arn:aws:iam::111111111111:root", "111111111111");
        assert!(equal(arn, &bare));
        assert!(!equal(arn, &bare.replace("111111111111", "333333333333")));
        // The rewrite follows the statement's partition.
        let cn = arn.replace("arn:aws:", "arn:aws-cn:");
        assert!(equal(&cn, &cn.replace("arn:aws-cn:iam::111111111111:root", "111111111111")));
        assert!(!equal(&cn, &bare));
        // Statement-level comparison does the same.
        let (a, b) = (parse(arn), parse(&bare));
        assert!(a.statements[0].semantically_equal(&b.statements[0]));
        // Not a 12-digit id: no rewrite.
        assert!(!equal(&arn.replace("111111111111", "11111"), &bare.replace("111111111111", "11111")));
    }

    #[test]
    fn any_principal_forms_are_equal() {
        let star = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}"#;
        let aws_star = star.replace(r#""Principal":"*""#, r#""Principal":{"AWS":"*"}"#);
        assert!(equal(star, &aws_star));
        assert!(!equal(
            star,
            &star.replace(r#""Principal":"*""#, r#""Principal":{"AWS":"arn:aws:iam::111111111111:root"}"#)
        ));
    }

    #[test]
    fn trust_policy_is_scoped_to_the_source_bucket_and_account() {
        let doc = replication_trust_policy("aws", ACCOUNT, "acme-data");
        assert_eq!(doc.version.as_deref(), Some(POLICY_VERSION));
        let [s] = doc.statements.as_slice() else { panic!("one statement") };
        assert_eq!(s.effect, Effect::Allow);
        assert_eq!(s.principal, Some(Principal::service("s3.amazonaws.com")));
        assert_eq!(strings(&s.action), ["sts:AssumeRole"]);
        assert_eq!(s.resource, None);
        assert_eq!(condition(s, "StringEquals", "aws:SourceAccount"), [ACCOUNT]);
        assert_eq!(condition(s, "ArnLike", "aws:SourceArn"), ["arn:aws:s3:::acme-data"]);
        assert_eq!(s.condition.as_ref().unwrap().0.len(), 2);
        assert_no_wildcards(&doc);
        let cn = replication_trust_policy("aws-cn", ACCOUNT, "acme-data");
        assert_eq!(condition(&cn.statements[0], "ArnLike", "aws:SourceArn"), ["arn:aws-cn:s3:::acme-data"]);
        // It survives the round trip through IAM's encoding.
        assert!(parse(&encode(&doc.to_json())).semantically_equal(&doc));
    }

    #[test]
    fn role_policy_basic_statements() {
        let doc =
            replication_role_policy(&role_input(vec![dest("dst-b", false, None), dest("dst-a", false, None)], &[]))
                .unwrap();
        let sids: Vec<_> = doc.statements.iter().map(|s| s.sid.as_deref().unwrap()).collect();
        assert_eq!(sids, ["SourceBucket", "SourceObjects", "DestinationObjects"]);
        assert!(doc.statements.iter().all(|s| s.effect == Effect::Allow && s.principal.is_none()));
        let bucket = by_sid(&doc, "SourceBucket");
        assert_eq!(strings(&bucket.action), ["s3:GetReplicationConfiguration", "s3:ListBucket"]);
        assert_eq!(strings(&bucket.resource), ["arn:aws:s3:::acme-data"]);
        let objects = by_sid(&doc, "SourceObjects");
        assert_eq!(
            strings(&objects.action),
            ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
        );
        assert_eq!(strings(&objects.resource), ["arn:aws:s3:::acme-data/*"]);
        let dst = by_sid(&doc, "DestinationObjects");
        assert_eq!(strings(&dst.action), ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]);
        assert_eq!(strings(&dst.resource), ["arn:aws:s3:::dst-a/*", "arn:aws:s3:::dst-b/*"]);
        assert!(!doc.to_json().contains("kms:") && !doc.to_json().contains(OWNER_OVERRIDE_ACTION));
        assert_no_wildcards(&doc);
    }

    #[test]
    fn role_policy_is_deterministic_sorted_and_deduplicated() {
        let a = role_input(vec![dest("dst-b", true, None), dest("dst-a", false, None), dest("dst-b", true, None)], &[]);
        let mut b = a.clone();
        b.destinations.reverse();
        let (da, db) = (replication_role_policy(&a).unwrap(), replication_role_policy(&b).unwrap());
        assert_eq!(da.to_json(), db.to_json());
        assert_eq!(da.to_json(), replication_role_policy(&a).unwrap().to_json());
        assert_eq!(
            strings(&by_sid(&da, "DestinationObjects").resource),
            ["arn:aws:s3:::dst-a/*", "arn:aws:s3:::dst-b/*"]
        );
    }

    #[test]
    fn owner_override_only_for_destinations_that_ask() {
        let doc = replication_role_policy(&role_input(
            vec![dest("plain", false, None), dest("owned", true, None), dest("owned2", true, None)],
            &[],
        ))
        .unwrap();
        let s = by_sid(&doc, "DestinationOwnerOverride");
        assert_eq!(strings(&s.action), [OWNER_OVERRIDE_ACTION]);
        assert_eq!(strings(&s.resource), ["arn:aws:s3:::owned/*", "arn:aws:s3:::owned2/*"]);
        assert!(!strings(&by_sid(&doc, "DestinationObjects").action).contains(&OWNER_OVERRIDE_ACTION));
        assert_eq!(doc.to_json().matches(OWNER_OVERRIDE_ACTION).count(), 1);
        assert_no_wildcards(&doc);
    }

    #[test]
    fn kms_statements_only_when_keys_are_given() {
        let src_key = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let dst_key = "arn:aws:kms:eu-west-1:222222222222:key/abcd";
        let dst_key2 = "arn:aws:kms:us-west-2:222222222222:key/ef01";
        let doc = replication_role_policy(&role_input(
            vec![dest("dr-1", false, Some(dst_key)), dest("plain", false, None), dest("dr-2", false, Some(dst_key2))],
            &[src_key, src_key],
        ))
        .unwrap();
        let sids: Vec<_> = doc.statements.iter().map(|s| s.sid.as_deref().unwrap()).collect();
        assert_eq!(
            sids,
            [
                "SourceBucket",
                "SourceObjects",
                "DestinationObjects",
                "SourceKmsDecrypt",
                "ReplicaKmsEncrypt1",
                "ReplicaKmsEncrypt2"
            ]
        );
        let decrypt = by_sid(&doc, "SourceKmsDecrypt");
        assert_eq!(strings(&decrypt.action), ["kms:Decrypt"]);
        assert_eq!(strings(&decrypt.resource), [src_key]);
        assert_eq!(condition(decrypt, "StringLike", "kms:ViaService"), ["s3.us-east-1.amazonaws.com"]);
        assert_eq!(
            condition(decrypt, "StringLike", "kms:EncryptionContext:aws:s3:arn"),
            ["arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/*"]
        );
        let encrypt = by_sid(&doc, "ReplicaKmsEncrypt1");
        assert_eq!(strings(&encrypt.action), ["kms:Encrypt"]);
        assert_eq!(strings(&encrypt.resource), [dst_key]);
        assert_eq!(condition(encrypt, "StringLike", "kms:ViaService"), ["s3.eu-west-1.amazonaws.com"]);
        assert_eq!(
            condition(encrypt, "StringLike", "kms:EncryptionContext:aws:s3:arn"),
            ["arn:aws:s3:::dr-1", "arn:aws:s3:::dr-1/*"]
        );
        let encrypt2 = by_sid(&doc, "ReplicaKmsEncrypt2");
        assert_eq!(strings(&encrypt2.resource), [dst_key2]);
        assert_eq!(condition(encrypt2, "StringLike", "kms:ViaService"), ["s3.us-west-2.amazonaws.com"]);
        assert_no_wildcards(&doc);

        // Only the source key: no Encrypt; only a replica key: no Decrypt.
        let only_src = replication_role_policy(&role_input(vec![dest("plain", false, None)], &[src_key])).unwrap();
        assert!(only_src.to_json().contains("\"kms:Decrypt\"") && !only_src.to_json().contains("\"kms:Encrypt\""));
        let only_dst = replication_role_policy(&role_input(vec![dest("dr", false, Some(dst_key))], &[])).unwrap();
        assert!(!only_dst.to_json().contains("\"kms:Decrypt\"") && only_dst.to_json().contains("\"kms:Encrypt\""));
    }

    #[test]
    fn replica_key_shared_by_destinations_is_one_statement() {
        let key = "arn:aws:kms:eu-west-1:222222222222:key/abcd";
        let doc =
            replication_role_policy(&role_input(vec![dest("b", false, Some(key)), dest("a", false, Some(key))], &[]))
                .unwrap();
        let s = by_sid(&doc, "ReplicaKmsEncrypt1");
        assert_eq!(
            condition(s, "StringLike", "kms:EncryptionContext:aws:s3:arn"),
            ["arn:aws:s3:::a", "arn:aws:s3:::a/*", "arn:aws:s3:::b", "arn:aws:s3:::b/*"]
        );
        assert!(doc.statements.iter().all(|s| s.sid.as_deref() != Some("ReplicaKmsEncrypt2")));
    }

    #[test]
    fn role_policy_is_partition_aware() {
        let mut input = role_input(
            vec![DestinationGrant {
                bucket_arn: "arn:aws-cn:s3:::dr".into(),
                owner_override: false,
                replica_kms_key_arn: Some("arn:aws-cn:kms:cn-north-1:222222222222:key/k".into()),
            }],
            &["arn:aws-cn:kms:cn-northwest-1:111111111111:key/s"],
        );
        input.partition = "aws-cn".into();
        input.region = "cn-northwest-1".into();
        let doc = replication_role_policy(&input).unwrap();
        assert_eq!(strings(&by_sid(&doc, "SourceBucket").resource), ["arn:aws-cn:s3:::acme-data"]);
        let decrypt = by_sid(&doc, "SourceKmsDecrypt");
        assert_eq!(condition(decrypt, "StringLike", "kms:ViaService"), ["s3.cn-northwest-1.amazonaws.com.cn"]);
        let encrypt = by_sid(&doc, "ReplicaKmsEncrypt1");
        assert_eq!(condition(encrypt, "StringLike", "kms:ViaService"), ["s3.cn-north-1.amazonaws.com.cn"]);
        assert!(!doc.to_json().contains("arn:aws:"));
    }

    #[test]
    fn role_policy_rejects_unusable_input() {
        let cases = [
            role_input(vec![dest("*", false, None)], &[]),
            role_input(vec![dest("a/b", false, None)], &[]),
            role_input(
                vec![DestinationGrant {
                    bucket_arn: "acme-dr".into(),
                    owner_override: false,
                    replica_kms_key_arn: None,
                }],
                &[],
            ),
            role_input(
                vec![DestinationGrant {
                    bucket_arn: "arn:aws-cn:s3:::dr".into(),
                    owner_override: false,
                    replica_kms_key_arn: None,
                }],
                &[],
            ),
            role_input(vec![dest("dr", false, Some("arn:aws:kms:eu-west-1:222222222222:key/*"))], &[]),
            role_input(vec![dest("dr", false, Some("arn:aws:kms::222222222222:key/k"))], &[]),
            role_input(vec![dest("dr", false, Some("arn:aws:s3:::dr"))], &[]),
            role_input(vec![], &["not-an-arn"]),
            RolePolicyInput { source_bucket: "*".into(), ..role_input(vec![], &[]) },
            RolePolicyInput {
                region: String::new(),
                ..role_input(vec![], &["arn:aws:kms:us-east-1:111111111111:key/k"])
            },
        ];
        for input in &cases {
            let err = replication_role_policy(input).expect_err(&format!("{input:?}"));
            let message = err.to_string();
            assert!(message.starts_with("invalid "), "{message}");
        }
        let err = replication_role_policy(&cases[4]).unwrap_err().to_string();
        assert!(err.contains("arn:aws:kms:eu-west-1:222222222222:key/*") && err.contains("KMS key ARN"), "{err}");
    }

    #[test]
    fn destination_statements_match_the_spec() {
        let statements = destination_statements(&grant(ACCOUNT, ROLE));
        let prefix = destination_sid_prefix(&grant(ACCOUNT, ROLE));
        let [objects, bucket] = statements.as_slice() else { panic!("two statements") };
        assert_eq!(objects.sid.as_deref(), Some(prefix.as_str()));
        assert_eq!(bucket.sid, Some(format!("{prefix}Bucket")));
        for s in [objects, bucket] {
            assert_eq!(s.effect, Effect::Allow);
            assert_eq!(s.principal, Some(Principal::aws("arn:aws:iam::111111111111:root")));
            assert_eq!(condition(s, "ArnEquals", "aws:PrincipalArn"), [ROLE]);
            assert_eq!(s.condition.as_ref().unwrap().0.len(), 1);
        }
        assert_eq!(
            strings(&objects.action),
            ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"]
        );
        assert_eq!(strings(&objects.resource), ["arn:aws:s3:::acme-dr-copy/*"]);
        assert_eq!(strings(&bucket.action), ["s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:ListBucket"]);
        assert_eq!(strings(&bucket.resource), ["arn:aws:s3:::acme-dr-copy"]);
        let doc = merge_statements(None, &statements);
        assert_no_wildcards(&doc);
        // S3 returns the account root as a bare id in some cases and with lists: still equal.
        let json = doc.to_json().replace("\"arn:aws:iam::111111111111:root\"", "[\"111111111111\"]");
        assert!(statements_match(&parse(&json), &statements));
        let gov =
            destination_statements(&DestinationGrantInput { partition: "aws-us-gov".into(), ..grant(ACCOUNT, ROLE) });
        assert_eq!(gov[0].principal, Some(Principal::aws("arn:aws-us-gov:iam::111111111111:root")));
        assert_eq!(strings(&gov[1].resource), ["arn:aws-us-gov:s3:::acme-dr-copy"]);
    }

    #[test]
    fn destination_sid_is_stable_alphanumeric_and_distinct() {
        let prefix = destination_sid_prefix(&grant(ACCOUNT, ROLE));
        assert_eq!(prefix, destination_sid_prefix(&grant(ACCOUNT, ROLE)));
        // Pinned: the Sid is persisted in bucket policies and must never change between releases.
        assert_eq!(prefix, format!("CrossreplReplication111111111111{:016x}", fnv1a64(b"crossrepl-acme-data")));
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert!(prefix.len() + BUCKET_SID_SUFFIX.len() <= 100);
        assert!(prefix.bytes().all(|b| b.is_ascii_alphanumeric()));
        // The role name counts, not its path; account and name both count.
        let with_path = grant(ACCOUNT, "arn:aws:iam::111111111111:role/some/path/crossrepl-acme-data");
        assert_eq!(destination_sid_prefix(&with_path), prefix);
        assert_ne!(destination_sid_prefix(&grant("222222222222", ROLE)), prefix);
        assert_ne!(destination_sid_prefix(&grant(ACCOUNT, &format!("{ROLE}2"))), prefix);
    }

    #[test]
    fn destination_role_arns_finds_our_statements_for_an_account() {
        let other_role = "arn:aws:iam::111111111111:role/other";
        let mut ours = destination_statements(&grant(ACCOUNT, ROLE));
        ours.extend(destination_statements(&grant(ACCOUNT, other_role)));
        ours.extend(destination_statements(&grant("222222222222", ROLE)));
        let doc = merge_statements(Some(parse(SAMPLE)), &ours);
        assert_eq!(destination_role_arns(&doc, ACCOUNT), [ROLE, other_role]);
        assert_eq!(destination_role_arns(&doc, "222222222222"), [ROLE]);
        assert!(destination_role_arns(&doc, "333333333333").is_empty());
    }

    fn foreign(sid: &str) -> Statement {
        Statement {
            sid: Some(sid.into()),
            principal: Some(Principal::Any),
            condition: Some(Condition::default().with("Bool", "aws:SecureTransport", vec!["false".into()])),
            ..Statement { effect: Effect::Deny, ..allow(sid, &["s3:*"], vec!["arn:aws:s3:::acme-dr-copy/*".into()]) }
        }
    }

    /// The destination statement of the usual hand-written hashicorp/aws setup.
    const HAND_WRITTEN: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"ReplicateIn","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/s3-replication-configuration"},
         "Action":["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags","s3:ObjectOwnerOverrideToBucketOwner"],
         "Resource":"arn:aws:s3:::acme-dr-copy/*"},
        {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/s3-replication-configuration"]},
         "Action":["s3:List*","s3:GetBucketVersioning","s3:PutBucketVersioning"],"Resource":"arn:aws:s3:::acme-dr-copy"},
        {"Sid":"Other","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/s3-replication-configuration"},
         "Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-dr-copy/*"}]}"#;
    const OLD_ROLE: &str = "arn:aws:iam::111111111111:role/s3-replication-configuration";

    #[test]
    fn hand_written_grants_are_recognised_exactly() {
        let doc = parse(HAND_WRITTEN);
        let superseded = |s: &Statement| is_superseded_grant(s, "aws", "acme-dr-copy", OLD_ROLE);
        assert_eq!(doc.statements.iter().map(superseded).collect::<Vec<_>>(), [true, true, false]);
        assert!(!is_superseded_grant(&doc.statements[0], "aws", "other-bucket", OLD_ROLE));
        assert!(!is_superseded_grant(&doc.statements[0], "aws", "acme-dr-copy", ROLE));
        // Anything more or less than a plain grant to that one role is left alone.
        let base = doc.statements[0].clone();
        let variants = [
            Statement {
                condition: Some(Condition::default().with("Bool", "aws:SecureTransport", vec!["true".into()])),
                ..base.clone()
            },
            Statement { effect: Effect::Deny, ..base.clone() },
            Statement { principal: Some(Principal::Any), ..base.clone() },
            Statement { principal: Some(Principal::aws(format!("arn:aws:iam::{ACCOUNT}:root"))), ..base.clone() },
            Statement { action: Some(OneOrMany(vec!["s3:ReplicateObject".into(), "s3:*".into()])), ..base.clone() },
            Statement { resource: Some(OneOrMany::one("arn:aws:s3:::acme-dr-copy-2/*".into())), ..base.clone() },
            Statement { resource: Some(OneOrMany::one("*".into())), ..base.clone() },
            Statement { sid: Some(format!("CrossreplReplication{ACCOUNT}0123456789abcdef")), ..base.clone() },
        ];
        for v in &variants {
            assert!(!superseded(v), "{}", serde_json::to_string(v).unwrap());
        }
        // Action case does not matter to IAM.
        let lower = Statement { action: Some(OneOrMany::one("S3:replicateobject".into())), ..base };
        assert!(superseded(&lower));
    }

    #[test]
    fn hand_written_grants_name_their_role_and_are_removed_alone() {
        let doc = parse(HAND_WRITTEN);
        assert_eq!(hand_written_grant_roles(&doc, "aws", "acme-dr-copy", ACCOUNT), [OLD_ROLE]);
        assert!(hand_written_grant_roles(&doc, "aws", "acme-dr-copy", "222222222222").is_empty());
        assert!(hand_written_grant_roles(&doc, "aws", "elsewhere", ACCOUNT).is_empty());
        let rest = remove_superseded_grants(doc.clone(), "aws", "acme-dr-copy", OLD_ROLE).expect("one statement left");
        assert_eq!(rest.statements, [doc.statements[2].clone()]);
        let only = PolicyDocument::new(doc.statements[..2].to_vec());
        assert_eq!(remove_superseded_grants(only, "aws", "acme-dr-copy", OLD_ROLE), None);
    }

    #[test]
    fn merge_creates_a_new_document() {
        let ours = destination_statements(&grant(ACCOUNT, ROLE));
        let doc = merge_statements(None, &ours);
        assert_eq!(doc.version.as_deref(), Some("2012-10-17"));
        assert_eq!(doc.statements, ours);
        assert!(statements_match(&doc, &ours));
    }

    #[test]
    fn merge_keeps_foreign_statements_and_replaces_ours_in_place() {
        let old = destination_statements(&grant(ACCOUNT, ROLE));
        let mut stale = old.clone();
        stale[0].action = Some(OneOrMany::one("s3:ReplicateObject".into()));
        let unnamed = Statement { sid: None, ..foreign("x") };
        let existing = PolicyDocument {
            version: Some("2012-10-17".into()),
            id: Some("ForeignId".into()),
            statements: vec![foreign("First"), stale[0].clone(), unnamed.clone(), stale[1].clone(), foreign("Last")],
        };
        assert!(!statements_match(&existing, &old));
        let merged = merge_statements(Some(existing.clone()), &old);
        assert_eq!(merged.id.as_deref(), Some("ForeignId"));
        assert_eq!(merged.statements, [foreign("First"), old[0].clone(), unnamed, old[1].clone(), foreign("Last")]);
        assert!(statements_match(&merged, &old));
        // Idempotent.
        assert_eq!(merge_statements(Some(merged.clone()), &old), merged);

        // A second source (fan-in) is appended; the first stays.
        let second = destination_statements(&grant("222222222222", "arn:aws:iam::222222222222:role/r"));
        let fan_in = merge_statements(Some(merged.clone()), &second);
        assert_eq!(fan_in.statements[..5], merged.statements[..]);
        assert_eq!(fan_in.statements[5..], second[..]);
        assert!(statements_match(&fan_in, &old) && statements_match(&fan_in, &second));
    }

    #[test]
    fn merge_keeps_the_existing_version_and_collapses_duplicate_sids() {
        let ours = destination_statements(&grant(ACCOUNT, ROLE));
        let existing = PolicyDocument {
            version: None,
            id: None,
            statements: vec![ours[0].clone(), foreign("F"), ours[0].clone()],
        };
        assert!(statements_match(&existing, &ours[..1]));
        let mut broken = existing.clone();
        broken.statements[2].resource = Some(OneOrMany::one("arn:aws:s3:::elsewhere/*".into()));
        assert!(!statements_match(&broken, &ours[..1]), "a second, different meaning of our Sid is drift");
        let merged = merge_statements(Some(broken), &ours);
        assert_eq!(merged.version, None);
        assert_eq!(merged.statements, [ours[0].clone(), foreign("F"), ours[1].clone()]);
    }

    #[test]
    fn remove_deletes_only_ours() {
        let ours = destination_statements(&grant(ACCOUNT, ROLE));
        let sids: Vec<String> = ours.iter().filter_map(|s| s.sid.clone()).collect();
        let doc = merge_statements(Some(PolicyDocument::new(vec![foreign("A"), foreign("B")])), &ours);
        assert_eq!(find_statements(&doc, &sids), ours.iter().collect::<Vec<_>>());
        let left = remove_statements(doc, &sids).expect("foreign statements remain");
        assert_eq!(left.statements, [foreign("A"), foreign("B")]);
        assert!(find_statements(&left, &sids).is_empty());
        assert!(!statements_match(&left, &ours));

        let only_ours = merge_statements(None, &ours);
        assert_eq!(remove_statements(only_ours.clone(), &sids), None);
        assert_eq!(remove_statements(only_ours.clone(), &sids[..1]).unwrap().statements, ours[1..]);
        assert_eq!(remove_statements(only_ours.clone(), &[]), Some(only_ours));
    }

    #[test]
    fn drift_check_is_semantic() {
        let ours = destination_statements(&grant(ACCOUNT, ROLE));
        let doc = merge_statements(Some(parse(SAMPLE)), &ours);
        // As S3 might return it: URL-encoded, reordered lists, principal rewritten.
        let mut returned = doc.clone();
        returned.statements.reverse();
        for s in &mut returned.statements {
            if let Some(a) = &mut s.action {
                a.0.reverse();
            }
        }
        assert!(statements_match(&parse(&encode(&returned.to_json())), &ours));
        let mut changed = doc.clone();
        changed.statements[1].resource = Some(OneOrMany::one("arn:aws:s3:::acme-dr-copy".into()));
        assert!(!statements_match(&changed, &ours));
        let unnamed: Vec<Statement> = ours.iter().map(|s| Statement { sid: None, ..s.clone() }).collect();
        assert!(!statements_match(&doc, &unnamed));
        assert!(statements_match(&merge_statements(None, &unnamed), &unnamed));
    }

    fn bucket_names() -> Vec<String> {
        let mut names = vec!["abc".to_owned(), "a.b-c".to_owned(), "x".repeat(63)];
        let mut state = 0x1234_5678_u64;
        let mut next = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789.-";
        for _ in 0..3000 {
            let len = 3 + next() % 61;
            names.push((0..len).map(|_| alphabet[next() % alphabet.len()] as char).collect());
        }
        // Long names sharing a prefix that survives truncation.
        let shared = "acme-production-replication-bucket-for-region-us-east";
        for suffix in 0..500 {
            names.push(format!("{shared}-{suffix}"));
            names.push(format!("{shared}{suffix:x}"));
        }
        // Lengths around the truncation threshold.
        for len in 40..=63 {
            names.push("b".repeat(len));
        }
        names.sort();
        names.dedup();
        names
    }

    #[test]
    fn derived_names_are_valid_deterministic_and_distinct() {
        let names = bucket_names();
        for derive in [role_name_for_bucket, policy_name_for_bucket] {
            let mut seen = std::collections::HashMap::new();
            for bucket in &names {
                let name = derive(bucket);
                assert_eq!(name, derive(bucket));
                assert!(!name.is_empty() && name.len() <= MAX_IAM_NAME_LEN, "{name}");
                assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)), "{name}");
                assert!(name.starts_with("crossrepl-"), "{name}");
                if let Some(other) = seen.insert(name.clone(), bucket) {
                    panic!("{bucket} and {other} both give {name}");
                }
            }
        }
    }

    #[test]
    fn derived_names_keep_short_buckets_readable() {
        assert_eq!(role_name_for_bucket("acme-data"), "crossrepl-acme-data");
        assert_eq!(policy_name_for_bucket("acme.data"), "crossrepl-policy-acme.data");
        let exact = "b".repeat(MAX_IAM_NAME_LEN - ROLE_NAME_PREFIX.len());
        assert_eq!(role_name_for_bucket(&exact), format!("crossrepl-{exact}"));
        let long = format!("{exact}b");
        let shortened = role_name_for_bucket(&long);
        assert_eq!(shortened.len(), MAX_IAM_NAME_LEN);
        assert!(shortened.starts_with("crossrepl-bbbb"));
        assert_eq!(shortened.as_bytes()[MAX_IAM_NAME_LEN - 9], b'_');
        // Characters a bucket name cannot have never reach IAM.
        let odd = role_name_for_bucket("Acme/Data*");
        assert!(odd.starts_with("crossrepl-Acme-Data-_"), "{odd}");
    }
}
