//! The replica keys' policies of a `crossrepl_destination`: one statement merged into the policy of each key of
//! `replica_kms_key_arns` through [`merged_policy`] (the bucket policy's lock and settle discipline), taken out of
//! keys no longer listed and of every key on destroy, and compared with what is there on refresh.

use framework::Ctx;
use futures_util::future::join_all;
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use super::model::Desired;
use crate::aws::AwsClients;
use std::sync::Arc;

use crate::domain::policy::PolicyDocument;
use crate::domain::policy::edit::{Edit, PutStatement, RemoveStatement, SharedEdit};
use crate::resources::merged_policy::{self, KeyPolicy};

/// What to do when a key policy would be over KMS's limit with this source's statement.
const KEY_POLICY_FULL: &str = "Each source role adds one statement to a replica key's policy; beside its other \
    statements no more fit. Use another key for some of the sources, or make room in the key policy.";

fn at_keys(d: Diagnostic) -> Diagnostic {
    d.at(AttributePath::attr("replica_kms_key_arns"))
}

/// Makes the policy of every key `want` lists hold its statement (replacing the statement of `prior`'s role when
/// the role changed) and takes `prior`'s statement out of keys no longer listed, all concurrently. Every failure
/// is reported; the others still happen.
pub async fn sync(ctx: &Ctx<AwsClients>, label: &str, want: &Desired, prior: Option<&Desired>) -> Diagnostics {
    let stale: Vec<String> =
        prior.filter(|p| p.kms_sid != want.kms_sid).map(|p| p.kms_sid.clone()).into_iter().collect();
    let puts = join_all(want.kms_keys.iter().map(|key| put(ctx, label, want, key, &stale)));
    let removed: Vec<String> = match prior {
        Some(p) => p.kms_keys.iter().filter(|k| !want.kms_keys.contains(k)).cloned().collect(),
        None => Vec::new(),
    };
    let takes = remove(ctx, label, &removed, prior.map_or("", |p| p.kms_sid.as_str()));
    let (puts, mut diagnostics) = tokio::join!(puts, takes);
    diagnostics.extend(Diagnostics(puts.into_iter().filter_map(Result::err).collect()));
    diagnostics
}

async fn put(
    ctx: &Ctx<AwsClients>,
    label: &str,
    want: &Desired,
    key: &str,
    stale: &[String],
) -> Result<(), Diagnostic> {
    let failed =
        |msg: String| at_keys(Diagnostic::error(format!("{label}: writing the key policy of {key} failed"), msg));
    let statement = want.kms_statement(key).map_err(|e| failed(e.to_string()))?;
    let mut edits: Vec<SharedEdit> = vec![Arc::new(PutStatement(statement))];
    edits.extend(stale.iter().map(|sid| Arc::new(RemoveStatement(sid.clone())) as SharedEdit));
    let store = KeyPolicy { aws: &ctx.client, key_arn: key };
    merged_policy::change(&store, &ctx.stop, &edits, KEY_POLICY_FULL).await.map_err(failed)
}

/// Takes the statement with Sid `sid` out of the policy of each of `keys` (a key that no longer exists has none).
pub async fn remove(ctx: &Ctx<AwsClients>, label: &str, keys: &[String], sid: &str) -> Diagnostics {
    let edits: &[SharedEdit] = &[Arc::new(RemoveStatement(sid.to_string()))];
    let results = join_all(keys.iter().map(|key| async move {
        let store = KeyPolicy { aws: &ctx.client, key_arn: key };
        merged_policy::change(&store, &ctx.stop, edits, KEY_POLICY_FULL).await.map_err(|msg| {
            at_keys(Diagnostic::error(
                format!("{label}: removing the statement from the key policy of {key} failed"),
                msg,
            ))
        })
    }))
    .await;
    Diagnostics(results.into_iter().filter_map(Result::err).collect())
}

/// The policies of `keys`, concurrently (`None` for a key that no longer exists).
pub async fn read_policies(aws: &AwsClients, keys: &[String]) -> Result<Vec<Option<PolicyDocument>>, String> {
    join_all(keys.iter().map(|key| async move { merged_policy::read(&KeyPolicy { aws, key_arn: key }).await }))
        .await
        .into_iter()
        .collect()
}

/// Whether `docs`, the policies of `want`'s keys in order ([`read_policies`]), all hold `want`'s statement as
/// crossrepl writes it.
pub fn all_in_place(want: &Desired, docs: &[Option<PolicyDocument>]) -> bool {
    want.kms_keys.len() == docs.len()
        && want.kms_keys.iter().zip(docs).all(|(key, doc)| {
            want.kms_statement(key).is_ok_and(|statement| PutStatement(statement).holds(doc.as_ref()))
        })
}
