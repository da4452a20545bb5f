//! Semantic comparison of policy documents: what AWS evaluates, not how the JSON is written. Order and
//! duplicates of values, one value vs a one-item list, action case, condition-key case, JSON scalar types and bare
//! account ids vs account-root ARNs are not differences.

use std::collections::{BTreeMap, BTreeSet};

use super::document::{Condition, DEFAULT_POLICY_VERSION, Effect, OneOrMany, PolicyDocument, Principal, Statement};
use crate::domain::arn::AccountId;

impl Statement {
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
        let root = |v: &String| {
            if v.parse::<AccountId>().is_ok() { format!("arn:{partition}:iam::{v}:root") } else { v.clone() }
        };
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

impl PolicyDocument {
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

/// The partition of an ARN (`arn:<partition>:...`).
fn arn_partition(value: &str) -> Option<&str> {
    let mut parts = value.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.next().filter(|p| !p.is_empty())
}
