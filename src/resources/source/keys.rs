//! Replica keys given by alias ARN: S3 takes the alias as written, but the role's policy and the destination's
//! key list name keys, so each alias is resolved to the key behind it (kms:DescribeKey, which accepts an alias ARN
//! of another account, <https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html>) into
//! `replica_kms_key_target_arn`.

use framework::Known;
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use super::model::{SourceModel, is_alias};
use crate::aws::{AwsClients, kms};
use crate::resources::checks::aws_diag;

/// What to do with an alias that does not exist.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Refuse (plan, apply): a configuration naming it cannot be applied.
    Error,
    /// Keep the target recorded before and warn (refresh): the next plan refuses it.
    Warn,
}

fn at(i: usize) -> AttributePath {
    AttributePath::attr("destination").with_index(i).with_attr("replica_kms_key_arn")
}

/// Sets `replica_kms_key_target_arn` of every block of `m`: a key ARN is its own target; an alias is looked up,
/// unless `known` (an earlier plan or state) holds a target for the same alias in the same block. An unknown key
/// leaves the target unknown. Lookups run concurrently; a failed one is an error on `replica_kms_key_arn` and
/// keeps the target `m` recorded.
pub async fn resolve(
    aws: &AwsClients,
    label: &str,
    m: &mut SourceModel,
    known: Option<&SourceModel>,
    missing: Missing,
) -> Diagnostics {
    let mut ds = Diagnostics::new();
    let Known::Value(blocks) = &mut m.destination else { return ds };
    let before = known.and_then(|k| k.destination.known());
    let mut lookups = Vec::new();
    for (i, b) in blocks.iter_mut().enumerate() {
        let recorded = b.replica_kms_key_target_arn.known().cloned();
        b.replica_kms_key_target_arn = match b.replica_kms_key_arn.clone() {
            Known::Value(alias) if is_alias(&alias) => {
                let same = before.and_then(|k| k.get(i)).filter(|k| k.replica_kms_key_arn.known() == Some(&alias));
                match same.map(|k| k.replica_kms_key_target_arn.clone()) {
                    Some(Known::Value(target)) => Known::Value(target),
                    _ => {
                        lookups.push((i, alias, recorded));
                        Known::Unknown
                    }
                }
            }
            other => other,
        };
    }
    let found = futures_util::future::join_all(lookups.iter().map(|(_, alias, _)| kms::describe_key(aws, alias))).await;
    for ((i, alias, recorded), result) in lookups.into_iter().zip(found) {
        let target = &mut blocks[i].replica_kms_key_target_arn;
        match result {
            Ok(Some(key)) => *target = Known::Value(key.arn),
            Ok(None) if missing == Missing::Warn => {
                *target = Known::from(recorded);
                let detail = format!(
                    "KMS has no alias {alias} any more: replicas of SSE-KMS objects fail until it exists again. \
                     Create the alias, or set replica_kms_key_arn to an existing key or alias."
                );
                ds.push(Diagnostic::warning(format!("{label}: replica key alias is gone"), detail).at(at(i)));
            }
            Ok(None) => {
                let detail = format!(
                    "KMS has no alias {alias} (kms:DescribeKey found none in its account and region), so there is \
                     no key to encrypt replicas with or to name in the role's policy. Create the alias first \
                     (aws_kms_alias), or set replica_kms_key_arn to an existing key ARN or alias ARN."
                );
                ds.push(Diagnostic::error(format!("{label}: replica key alias does not exist"), detail).at(at(i)));
            }
            Err(e) => {
                *target = Known::from(recorded);
                ds.push(aws_diag(label, &format!("resolving the replica key alias {alias}"), &e).at(at(i)));
            }
        }
    }
    ds
}
