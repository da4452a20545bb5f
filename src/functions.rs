//! Provider-defined functions for teams whose IAM is managed elsewhere: they return the exact JSON documents the
//! resources would write, built by the same code (`provider::crossrepl::<name>(...)`).

use std::sync::Arc;

use tfplugin::{Function, Parameter, Type, Value};

use framework::{AttrValue, FunctionError, Known, ProviderFunction};

use crate::domain::arn::{AccountId, BucketName, KmsKeyArn, RoleArn, is_region};
use crate::domain::grants::{self as policy, DestinationGrant, DestinationGrantInput, RolePolicyInput};
use crate::domain::policy::PolicyDocument;

/// Every function of the provider.
pub fn all() -> Vec<Arc<dyn ProviderFunction>> {
    vec![Arc::new(TrustPolicy), Arc::new(RolePolicy), Arc::new(DestinationStatement), Arc::new(ReplicaKeyStatement)]
}

fn param(name: &str, ty: Type, description: &str) -> Parameter {
    Parameter { name: name.into(), ty, allow_null: false, description: description.into() }
}

fn arg_error(argument: usize, text: impl Into<String>) -> FunctionError {
    FunctionError { text: text.into(), argument: Some(argument) }
}

fn string_arg(args: &[Value], i: usize) -> Result<&str, FunctionError> {
    args.get(i).and_then(Value::as_str).ok_or_else(|| arg_error(i, "expected a known string"))
}

/// `(partition, bucket)` of an S3 bucket ARN argument, validated.
fn bucket_arn_arg(args: &[Value], i: usize) -> Result<(String, String), FunctionError> {
    let arn = string_arg(args, i)?;
    let rest = arn.strip_prefix("arn:").ok_or_else(|| arg_error(i, format!("{arn:?} is not an ARN")))?;
    let (partition, bucket) =
        rest.split_once(":s3:::").ok_or_else(|| arg_error(i, format!("{arn:?} is not an S3 bucket ARN")))?;
    bucket.parse::<BucketName>().map_err(|m| arg_error(i, m))?;
    Ok((partition.to_string(), bucket.to_string()))
}

fn document(doc: PolicyDocument) -> Value {
    Value::String(doc.to_json())
}

/// `replication_trust_policy(source_account_id, source_bucket_arn)`
struct TrustPolicy;

impl ProviderFunction for TrustPolicy {
    fn name(&self) -> &'static str {
        "replication_trust_policy"
    }
    fn definition(&self) -> Function {
        Function {
            parameters: vec![
                param("source_account_id", Type::String, "Account owning the source bucket and the role."),
                param("source_bucket_arn", Type::String, "ARN of the source bucket."),
            ],
            return_type: Type::String,
            summary: "The replication role's trust policy, as crossrepl_source writes it".into(),
            description: "JSON trust policy letting `s3.amazonaws.com` assume the replication role, restricted \
                          by `aws:SourceAccount` and `aws:SourceArn` to the source bucket."
                .into(),
        }
    }
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let account = string_arg(args, 0)?;
        account.parse::<AccountId>().map_err(|m| arg_error(0, m))?;
        let (partition, bucket) = bucket_arn_arg(args, 1)?;
        Ok(document(policy::replication_trust_policy(&partition, account, &bucket)))
    }
}

/// `replication_role_policy(source_bucket_arn, region, destinations, source_kms_key_arns)`
struct RolePolicy;

framework::model! {
    /// One element of `replication_role_policy`'s `destinations` argument.
    struct DestinationArg {
        bucket_arn: Known<String>,
        owner_override: Known<bool>,
        replica_kms_key_arn: Known<String>,
        default_kms_key_arn: Known<String>,
    }
}

fn destinations_type() -> Type {
    Type::list(Type::object([
        ("bucket_arn", Type::String),
        ("owner_override", Type::Bool),
        ("replica_kms_key_arn", Type::String),
        ("default_kms_key_arn", Type::String),
    ]))
}

impl ProviderFunction for RolePolicy {
    fn name(&self) -> &'static str {
        "replication_role_policy"
    }
    fn definition(&self) -> Function {
        Function {
            parameters: vec![
                param("source_bucket_arn", Type::String, "ARN of the source bucket."),
                param("region", Type::String, "Region of the source bucket (scopes `kms:ViaService`)."),
                param(
                    "destinations",
                    destinations_type(),
                    "One object per destination: `bucket_arn`, `owner_override`, `replica_kms_key_arn` (null \
                     when SSE-KMS objects are not replicated) and `default_kms_key_arn` (the destination bucket's \
                     default SSE-KMS key; null when its default encryption is SSE-S3).",
                ),
                param(
                    "source_kms_key_arns",
                    Type::list(Type::String),
                    "KMS keys of SSE-KMS source objects; `[]` for none.",
                ),
            ],
            return_type: Type::String,
            summary: "The replication role's least-privilege policy, as crossrepl_source writes it".into(),
            description: "JSON permissions policy of the replication role, scoped to the exact bucket and key ARNs."
                .into(),
        }
    }
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let (partition, bucket) = bucket_arn_arg(args, 0)?;
        let region = string_arg(args, 1)?;
        if !is_region(region) {
            return Err(arg_error(1, format!("{region:?} is not an AWS region")));
        }
        let destinations: Vec<DestinationGrant> = Vec::<DestinationArg>::from_value(&args[2])
            .map_err(|e| arg_error(2, e.to_string()))?
            .into_iter()
            .map(|d| DestinationGrant {
                bucket_arn: d.bucket_arn.known().cloned().unwrap_or_default(),
                owner_override: d.owner_override == Known::Value(true),
                replica_kms_key_arn: d.replica_kms_key_arn.known().cloned(),
                default_kms_key_arn: d.default_kms_key_arn.known().cloned(),
            })
            .collect();
        if destinations.is_empty() {
            return Err(arg_error(2, "at least one destination is needed"));
        }
        let source_kms_key_arns =
            args[3].as_elements().unwrap_or(&[]).iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        let input = RolePolicyInput {
            partition,
            source_bucket: bucket,
            region: region.into(),
            destinations,
            source_kms_key_arns,
        };
        policy::replication_role_policy(&input).map(document).map_err(|e| arg_error(2, e.to_string()))
    }
}

/// `destination_bucket_statement(destination_bucket_arn, source_account_id, source_role_arn, owner_override)`
struct DestinationStatement;

impl ProviderFunction for DestinationStatement {
    fn name(&self) -> &'static str {
        "destination_bucket_statement"
    }
    fn definition(&self) -> Function {
        Function {
            parameters: vec![
                param("destination_bucket_arn", Type::String, "ARN of the destination bucket."),
                param("source_account_id", Type::String, "Account owning the replication role."),
                param("source_role_arn", Type::String, "ARN of the replication role (it need not exist yet)."),
                param(
                    "owner_override",
                    Type::Bool,
                    "Whether the role may make the destination account the owner of replicas \
                     (`s3:ObjectOwnerOverrideToBucketOwner`).",
                ),
            ],
            return_type: Type::String,
            summary: "The destination bucket-policy statements for one source role, for a hand-written policy".into(),
            description: "JSON policy document holding two statements that let one source role replicate into the \
                          bucket: the source account root, restricted to the role by `aws:PrincipalArn`, for a \
                          bucket policy written by hand or by another tool. crossrepl_destination grants the same \
                          actions as an entry in its one statement shared by every source of the bucket (see the \
                          fan-in guide)."
                .into(),
        }
    }
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let (partition, bucket) = bucket_arn_arg(args, 0)?;
        let account = string_arg(args, 1)?;
        account.parse::<AccountId>().map_err(|m| arg_error(1, m))?;
        let role = string_arg(args, 2)?;
        let parsed = role.parse::<RoleArn>().map_err(|m| arg_error(2, m))?;
        if parsed.account.as_str() != account {
            let why = format!("the role belongs to account {}, not to the source account {account}", parsed.account);
            return Err(arg_error(2, why));
        }
        if !role.starts_with(&format!("arn:{partition}:")) {
            return Err(arg_error(2, format!("the role is not in partition {partition}, the bucket's")));
        }
        let input = DestinationGrantInput {
            partition,
            destination_bucket: bucket,
            source_account_id: account.into(),
            source_role_arn: role.into(),
            owner_override: args[3] == Value::Bool(true),
        };
        Ok(document(PolicyDocument::new(policy::destination_statements(&input))))
    }
}

/// `replica_key_policy_statement(destination_bucket_arn, source_role_arn, kms_key_arn, is_default_key)`
struct ReplicaKeyStatement;

impl ProviderFunction for ReplicaKeyStatement {
    fn name(&self) -> &'static str {
        "replica_key_policy_statement"
    }
    fn definition(&self) -> Function {
        Function {
            parameters: vec![
                param("destination_bucket_arn", Type::String, "ARN of the destination bucket."),
                param(
                    "source_role_arn",
                    Type::String,
                    "ARN of the replication role (it need not exist yet); its account is the source account.",
                ),
                param("kms_key_arn", Type::String, "ARN of the replica key (not an alias), in the bucket's region."),
                param(
                    "is_default_key",
                    Type::Bool,
                    "Whether the key is the destination bucket's default SSE-KMS key: replicas of unencrypted and \
                     SSE-S3 objects are encrypted with it, which adds `kms:GenerateDataKey`.",
                ),
            ],
            return_type: Type::String,
            summary: "The replica-key policy statement, as crossrepl_destination merges it".into(),
            description: "JSON of the one key-policy statement crossrepl_destination merges into the policy of \
                          each key of `replica_kms_key_arns`, for key policies it cannot manage (a key of another \
                          account, a key policy written elsewhere): an object to put into the key policy's \
                          `Statement` list (`jsondecode` it). The source account root, restricted to the role by \
                          `aws:PrincipalArn`, may call `kms:Encrypt` and `kms:Decrypt` (and `kms:GenerateDataKey` \
                          on the default key) only through S3 in the key's region (`kms:ViaService`) and only for \
                          the destination bucket and its objects (`kms:EncryptionContext:aws:s3:arn`)."
                .into(),
        }
    }
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let (partition, bucket) = bucket_arn_arg(args, 0)?;
        let role = string_arg(args, 1)?;
        let account = role.parse::<RoleArn>().map_err(|m| arg_error(1, m))?.account;
        if !role.starts_with(&format!("arn:{partition}:")) {
            return Err(arg_error(1, format!("{role:?} is not in partition {partition}, as the bucket is")));
        }
        let key = string_arg(args, 2)?;
        key.parse::<KmsKeyArn>().map_err(|m| arg_error(2, format!("{key:?} is not usable here: {m}")))?;
        let is_default_key =
            args.get(3).and_then(Value::as_bool).ok_or_else(|| arg_error(3, "expected a known bool"))?;
        let input = DestinationGrantInput {
            partition,
            destination_bucket: bucket,
            source_account_id: account.to_string(),
            source_role_arn: role.into(),
            owner_override: false,
        };
        let statement =
            policy::replica_key_statement(&input, key, is_default_key).map_err(|e| arg_error(2, e.to_string()))?;
        Ok(Value::String(serde_json::to_string(&statement).expect("statements serialize to JSON")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<String, FunctionError> {
        let f = all().into_iter().find(|f| f.name() == name).unwrap();
        assert_eq!(f.definition().parameters.len(), args.len());
        f.call(&args).map(|v| v.as_str().unwrap().to_string())
    }

    #[test]
    fn documents_are_the_resources_documents() {
        let trust =
            call("replication_trust_policy", vec!["111111111111".into(), "arn:aws:s3:::acme-data".into()]).unwrap();
        assert_eq!(trust, policy::replication_trust_policy("aws", "111111111111", "acme-data").to_json());

        let dests = Value::List(vec![Value::object([
            ("bucket_arn", Value::from("arn:aws:s3:::acme-dr")),
            ("owner_override", Value::Bool(true)),
            ("replica_kms_key_arn", Value::Null),
            ("default_kms_key_arn", Value::Null),
        ])]);
        let role = call(
            "replication_role_policy",
            vec!["arn:aws:s3:::acme-data".into(), "us-east-1".into(), dests, Value::List(vec![])],
        )
        .unwrap();
        assert!(
            role.contains("arn:aws:s3:::acme-dr/*") && role.contains("s3:ObjectOwnerOverrideToBucketOwner"),
            "{role}"
        );

        let stmt = call(
            "destination_bucket_statement",
            vec![
                "arn:aws:s3:::acme-dr".into(),
                "111111111111".into(),
                "arn:aws:iam::111111111111:role/crossrepl-acme-data".into(),
                Value::Bool(false),
            ],
        )
        .unwrap();
        let doc = PolicyDocument::parse(&stmt).unwrap();
        assert_eq!(doc.statements.len(), 2);
        assert!(!stmt.contains("s3:ObjectOwnerOverrideToBucketOwner"), "{stmt}");
    }

    #[test]
    fn the_replica_key_statement_is_the_resources_statement() {
        let role = "arn:aws:iam::111111111111:role/crossrepl-acme-data";
        let key = "arn:aws:kms:us-east-1:222222222222:key/1234abcd";
        let args = |default: bool| vec!["arn:aws:s3:::acme-dr".into(), role.into(), key.into(), Value::Bool(default)];
        let got = call("replica_key_policy_statement", args(true)).unwrap();
        let input = DestinationGrantInput {
            partition: "aws".into(),
            destination_bucket: "acme-dr".into(),
            source_account_id: "111111111111".into(),
            source_role_arn: role.into(),
            owner_override: false,
        };
        let want = policy::replica_key_statement(&input, key, true).unwrap();
        assert_eq!(serde_json::from_str::<crate::domain::policy::Statement>(&got).unwrap(), want);
        assert!(got.contains("kms:GenerateDataKey"), "{got}");
        assert!(!call("replica_key_policy_statement", args(false)).unwrap().contains("kms:GenerateDataKey"));
        // Each bad argument is named.
        let mut bad = args(false);
        bad[2] = "arn:aws:kms:us-east-1:222222222222:alias/replicas".into();
        assert_eq!(call("replica_key_policy_statement", bad).unwrap_err().argument, Some(2));
        let mut bad = args(false);
        bad[1] = "arn:aws-cn:iam::111111111111:role/r".into();
        assert_eq!(call("replica_key_policy_statement", bad).unwrap_err().argument, Some(1));
        let mut bad = args(false);
        bad[0] = "arn:aws:s3:::Bad_Bucket".into();
        assert_eq!(call("replica_key_policy_statement", bad).unwrap_err().argument, Some(0));
        let mut bad = args(false);
        bad[3] = Value::Unknown;
        assert_eq!(call("replica_key_policy_statement", bad).unwrap_err().argument, Some(3));
    }

    #[test]
    fn bad_arguments_name_the_argument() {
        let e = call("replication_trust_policy", vec!["123".into(), "arn:aws:s3:::acme-data".into()]).unwrap_err();
        assert_eq!(e.argument, Some(0));
        let e = call("replication_trust_policy", vec!["111111111111".into(), "acme-data".into()]).unwrap_err();
        assert_eq!(e.argument, Some(1));
        let e = call(
            "destination_bucket_statement",
            vec![
                "arn:aws:s3:::acme-dr".into(),
                "111111111111".into(),
                "arn:aws:iam::1:user/x".into(),
                Value::Bool(false),
            ],
        )
        .unwrap_err();
        assert_eq!(e.argument, Some(2));
        // The role must be the source account's, in the bucket's partition.
        for role in ["arn:aws:iam::222222222222:role/r", "arn:aws-cn:iam::111111111111:role/r"] {
            let args = vec!["arn:aws:s3:::acme-dr".into(), "111111111111".into(), role.into(), Value::Bool(false)];
            let e = call("destination_bucket_statement", args).unwrap_err();
            assert_eq!(e.argument, Some(2), "{role}");
        }
        // Alias ARNs cannot stand for a key in a policy.
        let dests = Value::List(vec![Value::object([
            ("bucket_arn", Value::from("arn:aws:s3:::acme-dr")),
            ("owner_override", Value::Bool(false)),
            ("replica_kms_key_arn", Value::from("arn:aws:kms:us-east-1:222222222222:alias/replicas")),
            ("default_kms_key_arn", Value::Null),
        ])]);
        let args = vec!["arn:aws:s3:::acme-data".into(), "us-east-1".into(), dests, Value::List(vec![])];
        let e = call("replication_role_policy", args).unwrap_err();
        assert!(e.argument == Some(2) && e.text.contains("alias"), "{e:?}");
    }
}
