//! IAM and S3 resource-policy documents as typed values: parsed from raw or URL-encoded JSON, serialized in one
//! canonical layout (AWS key order, one value as a plain string).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The policy language version crossrepl writes.
pub const POLICY_VERSION: &str = "2012-10-17";

/// The policy language version AWS assumes when a document has no `Version`.
pub const DEFAULT_POLICY_VERSION: &str = "2008-10-17";

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
