//! Every IAM, bucket-policy and key-policy document crossrepl can generate, over a matrix of options (owner
//! override, KMS, several destinations, same-account, the bucket's default key; the batch role's policy), is checked
//! here: no wildcard action, no wildcard resource beyond the documented `bucket/*` (and a key policy's `*`, which names the key
//! itself), and, when `PARLIAMENT` names the `parliament` linter (as `make test` does), zero findings from it.

use std::process::Command;

use crossrepl::domain::grants::{
    self as policy, DestinationGrant, DestinationGrantInput, RolePolicyInput, replication_role_policy,
    replication_trust_policy,
};
use crossrepl::domain::policy::PolicyDocument;

const SRC: &str = "111111111111";
const KMS_SRC: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KMS_DST: &str = "arn:aws:kms:eu-west-1:222222222222:key/abcd1234-12ab-34cd-56ef-1234567890ab";

/// (name, document) for every combination of options.
fn matrix() -> Vec<(String, PolicyDocument)> {
    let mut docs = vec![("trust".to_string(), replication_trust_policy("aws", SRC, "acme-data"))];
    for prefix in ["", "reports/batch"] {
        let doc = policy::batch_role_policy("aws", "acme-data", "arn:aws:s3:::acme-reports", prefix).expect("valid");
        docs.push((format!("batch-role-prefix{}", prefix.len()), doc));
    }
    for destinations in [1usize, 3] {
        for owner_override in [false, true] {
            for kms in [false, true] {
                let grants = (0..destinations)
                    .map(|i| DestinationGrant {
                        bucket_arn: format!("arn:aws:s3:::acme-dr-{i}"),
                        owner_override,
                        replica_kms_key_arn: kms.then(|| KMS_DST.to_string()),
                        default_kms_key_arn: (kms && i > 0).then(|| KMS_DST.to_string()),
                    })
                    .collect();
                let input = RolePolicyInput {
                    partition: "aws".into(),
                    source_bucket: "acme-data".into(),
                    region: "us-east-1".into(),
                    destinations: grants,
                    source_kms_key_arns: if kms { vec![KMS_SRC.into()] } else { Vec::new() },
                };
                let name = format!("role-{destinations}dest-override{owner_override}-kms{kms}");
                docs.push((name, replication_role_policy(&input).expect("valid input")));
            }
        }
    }
    let destinations = [("cross-account", SRC), ("same-account", "222222222222")];
    for ((name, account), owner_override) in destinations.into_iter().flat_map(|d| [(d, false), (d, true)]) {
        let name = format!("destination-{name}-override{owner_override}");
        let input = DestinationGrantInput {
            partition: "aws".into(),
            destination_bucket: "acme-dr-0".into(),
            source_account_id: account.into(),
            source_role_arn: format!("arn:aws:iam::{account}:role/crossrepl-acme-data"),
            owner_override,
        };
        for default in [false, true] {
            let statement = policy::replica_key_statement(&input, KMS_DST, default).expect("valid input");
            docs.push((format!("{KEY_POLICY}-{name}-default{default}"), PolicyDocument::new(vec![statement])));
        }
        docs.push((name, PolicyDocument::new(policy::destination_statements(&input))));
    }
    docs
}

/// Names of key-policy documents start with this: their `Resource` is `*`, which in a key policy means the key
/// itself (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
const KEY_POLICY: &str = "key-policy";

/// What parliament reports for a key policy's `Resource: *`: it reads every document as an identity policy, where
/// `*` would mean every key.
fn key_policy_resource_star(name: &str, finding: &str) -> bool {
    name.starts_with(KEY_POLICY) && finding.contains("\"RESOURCE_STAR\"")
}

#[test]
fn no_wildcards_beyond_object_arns() {
    for (name, doc) in matrix() {
        let json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
        for st in json["Statement"].as_array().unwrap() {
            let list = |k: &str| match &st[k] {
                serde_json::Value::String(s) => vec![s.clone()],
                serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
                _ => Vec::new(),
            };
            for action in list("Action") {
                assert!(!action.contains('*'), "{name}: wildcard action {action}");
            }
            for resource in list("Resource").into_iter().filter(|r| !(name.starts_with(KEY_POLICY) && r == "*")) {
                let without_object_suffix = resource.strip_suffix("/*").unwrap_or(&resource);
                assert!(!without_object_suffix.contains('*'), "{name}: wildcard resource {resource}");
            }
            assert!(st.get("NotAction").is_none() && st.get("NotResource").is_none(), "{name}: Not* element");
        }
    }
}

#[test]
fn parliament_finds_nothing() {
    let Some(parliament) = std::env::var_os("PARLIAMENT") else {
        eprintln!("PARLIAMENT not set: the parliament lint runs under `make test` (policy-lint)");
        return;
    };
    let mut findings = Vec::new();
    // parliament requires a Resource in every statement; a trust policy has none (IAM rejects one there), so the
    // trust policy is checked by the wildcard test above and by its unit tests, not by parliament.
    for (name, doc) in matrix().into_iter().filter(|(name, _)| name != "trust") {
        let out = Command::new(&parliament)
            .arg("--string")
            .arg(doc.to_json())
            .arg("--json")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run parliament");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() || !text.trim().is_empty(),
            "{name}: parliament failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in text.lines().filter(|l| !l.trim().is_empty() && !key_policy_resource_star(&name, l)) {
            findings.push(format!("{name}: {line}"));
        }
    }
    assert!(findings.is_empty(), "parliament findings:\n{}", findings.join("\n"));
}
