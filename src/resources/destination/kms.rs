//! The replica keys' policies of a `crossrepl_destination`: one statement merged into the policy of each key of
//! `replica_kms_key_arns` through [`merged_policy`] (the bucket policy's lock and settle discipline), taken out of
//! keys no longer listed and of every key on destroy, and compared with what is there on refresh.

use framework::Ctx;
use futures_util::future::join_all;
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use super::model::Desired;
use crate::aws::AwsClients;
use crate::domain::policy::{PolicyDocument, Statement};
use crate::resources::merged_policy::{self, KeyPolicy, OwnedStatements};

/// Supersedes nothing: a key policy holds no hand-written grant crossrepl replaces.
fn nothing(_: &Statement) -> bool {
    false
}

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
    let ours = OwnedStatements { statements: std::slice::from_ref(&statement), stale, supersedes: &nothing };
    merged_policy::put(&KeyPolicy { aws: &ctx.client, key_arn: key }, &ctx.stop, &ours).await.map_err(failed)
}

/// Takes the statement with Sid `sid` out of the policy of each of `keys` (a key that no longer exists has none).
pub async fn remove(ctx: &Ctx<AwsClients>, label: &str, keys: &[String], sid: &str) -> Diagnostics {
    let sids = &[sid.to_string()];
    let results = join_all(keys.iter().map(|key| async move {
        let store = KeyPolicy { aws: &ctx.client, key_arn: key };
        merged_policy::take_out(&store, &ctx.stop, sids).await.map_err(|msg| {
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
            let Ok(statement) = want.kms_statement(key) else { return false };
            let ours =
                OwnedStatements { statements: std::slice::from_ref(&statement), stale: &[], supersedes: &nothing };
            doc.as_ref().is_some_and(|d| ours.in_place(d))
        })
}
