//! The replication canary of `verify`: for each rule, one small object that this rule's filter selects, and which
//! other rules select it too (then its one combined status is theirs as well, "Replication status if replicating
//! to multiple destination buckets", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-status.html>).

use std::collections::BTreeMap;
use std::time::Duration;

use super::replication::{DestinationSpec, effective_priority};

/// Default `verify.prefix`.
pub const DEFAULT_PREFIX: &str = ".crossrepl/canary/";

/// Default `verify.timeout`.
pub const DEFAULT_TIMEOUT: &str = "2m";

/// The longest `verify.timeout` accepted.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// A per-rule result: the canary replicated.
pub const COMPLETED: &str = "COMPLETED";
/// A per-rule result: S3 marked the canary FAILED.
pub const FAILED: &str = "FAILED";
/// A per-rule result: still PENDING (or no status yet) when the bound ran out.
pub const TIMEOUT: &str = "TIMEOUT";
/// A per-rule result: no canary reaches this rule (disabled, or another rule into the same bucket wins).
pub const NOT_VERIFIED: &str = "NOT_VERIFIED";
/// A per-rule result: the canary could not be written or read.
pub const ERROR: &str = "ERROR";

/// A duration such as `90s`, `2m`, `1m30s` or `1h`: one or more `<whole number><s|m|h>` parts, 1 s to 1 h.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{text:?} is not a duration crossrepl understands. Write whole numbers with units s, m or h, e.g. \"90s\", \"2m\" or \"1m30s\", from 1s to 1h."
        )
    };
    let (mut total, mut digits) = (0u64, String::new());
    for c in text.chars() {
        match c {
            '0'..='9' => digits.push(c),
            's' | 'm' | 'h' if !digits.is_empty() => {
                let n: u64 = digits.parse().map_err(|_| bad())?;
                let unit = match c {
                    's' => 1,
                    'm' => 60,
                    _ => 3600,
                };
                total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
                digits.clear();
            }
            _ => return Err(bad()),
        }
    }
    let d = Duration::from_secs(total);
    if !digits.is_empty() || d.is_zero() || d > MAX_TIMEOUT {
        return Err(bad());
    }
    Ok(d)
}

/// The rule's result from those of its canaries: the worst one (`FAILED`, then `ERROR`, then `TIMEOUT`).
pub fn worst<'a>(a: &'a str, b: &'a str) -> &'a str {
    let rank = |r: &str| [COMPLETED, TIMEOUT, ERROR, FAILED].iter().position(|x| *x == r);
    if rank(b) > rank(a) { b } else { a }
}

/// A canary of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    /// The rule's position.
    pub rule: usize,
    /// The object key: under the rule's prefix, then `verify.prefix`.
    pub key: String,
    /// Tags the canary carries: the rule's tag filter.
    pub tags: BTreeMap<String, String>,
    /// SSE-KMS under this source key, for a rule that selects SSE-KMS objects.
    pub kms_key: Option<String>,
    /// The other rules whose destinations S3 also replicates the canary to: its status is the combined one.
    pub together_with: Vec<usize>,
}

/// What the canaries of `dests` (rule ids `ids`) are, with `nonce` making each check's keys new, for each enabled
/// rule that they reach (`Ok`): one canary, or for an SSE-KMS rule one per source key (each key's policy and the
/// role's grant on it are separate permissions S3 needs to decrypt the object it replicates, "Replicating encrypted
/// objects", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html>);
/// or why a rule cannot be verified (`Err`, the rule wins no canary).
pub fn plan(dests: &[DestinationSpec], ids: &[String], prefix: &str, nonce: &str) -> Vec<Result<Vec<Canary>, String>> {
    dests
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if !d.enabled {
                return Err("the rule is disabled, so S3 replicates nothing by it".to_string());
            }
            let id = ids.get(i).map_or(String::new(), |s| safe(s));
            let key = format!("{}{prefix}{id}/{nonce}", d.prefix);
            let mut kms_keys: Vec<&String> = d.source_kms_key_arns.iter().collect();
            kms_keys.sort();
            kms_keys.dedup();
            let sse_kms = !kms_keys.is_empty();
            let selecting: Vec<usize> =
                (0..dests.len()).filter(|&j| selects(&dests[j], &key, &d.tags, sse_kms)).collect();
            // Per destination bucket, S3 replicates by the selecting rule with the highest priority only.
            let winner = |bucket: Option<&str>| {
                selecting
                    .iter()
                    .copied()
                    .filter(|&j| dests[j].bucket_name() == bucket)
                    .max_by_key(|&j| (effective_priority(j, &dests[j]), std::cmp::Reverse(j)))
            };
            match winner(d.bucket_name()) {
                Some(w) if w != i => {
                    return Err(format!(
                        "rule {} (priority {}) selects its canary too and wins in the same destination bucket, so \
                         S3 replicates it by that rule; give the two rules filters that do not overlap",
                        ids.get(w).map_or("?", String::as_str),
                        effective_priority(w, &dests[w])
                    ));
                }
                _ => {}
            }
            let mut others: Vec<usize> = selecting
                .iter()
                .copied()
                .filter(|&j| dests[j].bucket_name() != d.bucket_name())
                .filter(|&j| winner(dests[j].bucket_name()) == Some(j))
                .collect();
            others.dedup();
            let canary = |key: String, kms_key: Option<&String>| Canary {
                rule: i,
                key,
                tags: d.tags.clone(),
                kms_key: kms_key.cloned(),
                together_with: others.clone(),
            };
            Ok(match kms_keys.as_slice() {
                [] => vec![canary(key, None)],
                [one] => vec![canary(key, Some(one))],
                several => {
                    several.iter().enumerate().map(|(n, k)| canary(format!("{key}-k{}", n + 1), Some(k))).collect()
                }
            })
        })
        .collect()
}

/// Whether rule `d` selects an object `key` with `tags`, SSE-KMS encrypted or not (S3 replicates SSE-KMS objects
/// only by rules that select them, "Replicating encrypted objects").
fn selects(d: &DestinationSpec, key: &str, tags: &BTreeMap<String, String>, sse_kms: bool) -> bool {
    d.enabled
        && key.starts_with(&d.prefix)
        && d.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
        && (!sse_kms || !d.source_kms_key_arns.is_empty())
}

/// `id` with every character but letters, digits, `-`, `_` and `.` replaced by `_`: a key part safe in any tool.
fn safe(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(bucket: &str, prefix: &str, tags: &[(&str, &str)]) -> DestinationSpec {
        DestinationSpec {
            bucket_arn: format!("arn:aws:s3:::{bucket}"),
            prefix: prefix.into(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            enabled: true,
            ..Default::default()
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("r#{i}")).collect()
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "0s", "2", "m", "1h1s", "2 m", "-1s", "1.5m", "99999999999999999999s"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn separate_prefixes_are_verified_separately() {
        let dests = [dest("a", "logs/", &[]), dest("b", "data/", &[("k", "v")])];
        let out = plan(&dests, &ids(2), DEFAULT_PREFIX, "n1");
        let [a] = out[0].clone().unwrap().try_into().unwrap();
        assert_eq!(a.key, "logs/.crossrepl/canary/r_1/n1");
        assert!(a.together_with.is_empty() && a.tags.is_empty() && a.kms_key.is_none());
        let [b] = out[1].clone().unwrap().try_into().unwrap();
        assert_eq!(b.key, "data/.crossrepl/canary/r_2/n1");
        assert_eq!(b.tags.get("k").map(String::as_str), Some("v"));
        assert!(b.together_with.is_empty());
    }

    #[test]
    fn a_whole_bucket_rule_into_another_bucket_is_verified_together() {
        let dests = [dest("a", "", &[]), dest("b", "logs/", &[])];
        let out = plan(&dests, &ids(2), DEFAULT_PREFIX, "n");
        assert!(out[0].as_ref().unwrap()[0].together_with.is_empty(), "the canary of rule 1 is not under logs/");
        assert_eq!(out[1].as_ref().unwrap()[0].together_with, vec![0]);
    }

    #[test]
    fn overlap_into_the_same_bucket_leaves_the_losing_rule_unverified() {
        let mut winner = dest("a", "", &[]);
        winner.priority = Some(10);
        let dests = [winner, dest("a", "logs/", &[])];
        let out = plan(&dests, &ids(2), DEFAULT_PREFIX, "n");
        assert!(out[0].is_ok());
        let why = out[1].clone().unwrap_err();
        assert!(why.contains("rule r#1 (priority 10)"), "{why}");
        // the control: the more specific rule with the higher priority wins its own canary
        let mut dests = dests;
        dests[1].priority = Some(20);
        assert!(plan(&dests, &ids(2), DEFAULT_PREFIX, "n")[1].is_ok());
    }

    #[test]
    fn sse_kms_canaries_are_selected_only_by_rules_selecting_sse_kms() {
        let mut kms = dest("a", "", &[]);
        kms.source_kms_key_arns = vec![
            "arn:aws:kms:us-east-1:111111111111:key/k2".into(),
            "arn:aws:kms:us-east-1:111111111111:key/k1".into(),
        ];
        let dests = [kms, dest("b", "", &[])];
        let out = plan(&dests, &ids(2), DEFAULT_PREFIX, "n");
        let [c1, c2] = out[0].clone().unwrap().try_into().unwrap();
        assert_eq!(c1.kms_key.as_deref(), Some("arn:aws:kms:us-east-1:111111111111:key/k1"));
        assert_eq!(c2.kms_key.as_deref(), Some("arn:aws:kms:us-east-1:111111111111:key/k2"));
        assert_eq!((c1.key.as_str(), c2.key.as_str()), (".crossrepl/canary/r_1/n-k1", ".crossrepl/canary/r_1/n-k2"));
        assert!(c1.together_with.is_empty() && c2.together_with.is_empty(), "rule 2 does not select SSE-KMS objects");
        assert_eq!(out[1].as_ref().unwrap()[0].together_with, vec![0], "rule 1 selects plain objects too");
        // the control: one source key, one canary, its key without a `-k<n>` suffix
        let mut one = dests[0].clone();
        one.source_kms_key_arns.truncate(1);
        let [c] = plan(&[one], &ids(1), DEFAULT_PREFIX, "n")[0].clone().unwrap().try_into().unwrap();
        assert_eq!(
            (c.key.as_str(), c.kms_key.as_deref()),
            (".crossrepl/canary/r_1/n", Some("arn:aws:kms:us-east-1:111111111111:key/k2"))
        );
    }

    #[test]
    fn a_rule_with_several_canaries_has_the_worst_result() {
        assert_eq!(worst(COMPLETED, COMPLETED), COMPLETED);
        assert_eq!(worst(COMPLETED, TIMEOUT), TIMEOUT);
        assert_eq!(worst(FAILED, TIMEOUT), FAILED);
        assert_eq!(worst(ERROR, COMPLETED), ERROR);
        assert_eq!(worst(TIMEOUT, FAILED), FAILED);
    }

    #[test]
    fn disabled_rules_are_not_verified() {
        let mut off = dest("a", "", &[]);
        off.enabled = false;
        let out = plan(&[off, dest("b", "x/", &[])], &ids(2), DEFAULT_PREFIX, "n");
        assert!(out[0].clone().unwrap_err().contains("disabled"));
        assert!(out[1].as_ref().unwrap()[0].together_with.is_empty());
    }
}
