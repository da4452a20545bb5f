//! The `verify` block: proof at apply that S3 replicates. One canary object per rule, or per source key of an
//! SSE-KMS rule ([`canary::plan`]), its replication status polled until `COMPLETED` within the bound, then its
//! version deleted from the source bucket.

use std::collections::BTreeMap;
use std::time::Duration;

use framework::Known;
use tfplugin::{AttributePath, Diagnostic, Diagnostics, StopToken};

use super::model::{Desired, SourceModel, VerifyBlock, map_value};
use super::observe::observe;
use crate::aws::s3_canary::{self, CanaryEncryption, Status};
use crate::aws::{AwsClients, iam, s3};
use crate::domain::canary::{self, COMPLETED, Canary, ERROR, FAILED, NOT_VERIFIED, TIMEOUT};
use crate::domain::grants::{self, compact};
use crate::domain::policy::PolicyDocument;

fn at() -> AttributePath {
    AttributePath::attr("verify")
}

/// The first poll waits this long after the writes; each next one half as long again, up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(500);
const MAX_POLL: Duration = Duration::from_secs(10);

/// Whether a recorded check passed: every rule `COMPLETED` or `NOT_VERIFIED`.
fn passed(block: &VerifyBlock) -> bool {
    block.results.known().is_some_and(|r| {
        r.values().all(|v| matches!(v.known().map(String::as_str), Some(COMPLETED) | Some(NOT_VERIFIED)))
    })
}

/// What replication depends on: the rules (keys and grants included), the role and its policy.
fn depends_on(m: &SourceModel) -> impl PartialEq + '_ {
    (&m.destination, &m.role_arn, &m.role_name, &m.role_path, &m.policy_arn, &m.permissions_boundary)
}

/// The check runs on this apply (its `checked_at` and `results` unknown) on create or when the block is new (both
/// unknown already), when what replication depends on changed, when `prefix` or `triggers_replace` changed, and
/// after a check that did not pass; otherwise the last result stays. Called last in plan, after the computed ARNs.
pub fn rerun(planned: &mut SourceModel, prior: Option<&SourceModel>) {
    let Some(prior) = prior else { return };
    let Some(before) = prior.verify.known().and_then(|b| b.first()) else { return };
    let changed = depends_on(planned) != depends_on(prior);
    let Known::Value(blocks) = &mut planned.verify else { return };
    let Some(block) = blocks.first_mut() else { return };
    if changed || !passed(before) || block.triggers_replace != before.triggers_replace || block.prefix != before.prefix
    {
        (block.checked_at, block.results) = (Known::Unknown, Known::Unknown);
    }
}

/// Whether the plan runs the check.
pub fn runs(m: &SourceModel) -> Option<&VerifyBlock> {
    m.verify.known()?.first().filter(|b| b.results.is_unknown())
}

/// Plan-time checks of a check that will run: the source bucket has no default Object Lock retention (the canary
/// version could not be deleted, "Locking objects with Object Lock",
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html>), and which rules cannot be verified
/// separately, as warnings.
pub async fn preflight(aws: &AwsClients, label: &str, planned: &SourceModel, want: Option<&Desired>) -> Diagnostics {
    let Some(block) = runs(planned) else { return Diagnostics::new() };
    let mut ds = Diagnostics::new();
    if let Some(want) = want {
        let prefix = block.prefix.known().map_or(canary::DEFAULT_PREFIX, String::as_str);
        ds.0.extend(separately(label, want, &canary::plan(&want.dests, &rule_ids(want), prefix, "<time>")));
    }
    let Some(bucket) = planned.bucket.known() else { return ds };
    // Read moments ago by the destinations' checks of this plan when they ran (on create, or a change of them).
    let lock = match s3::object_lock_kept(aws, bucket) {
        Some(lock) => Ok(lock),
        None => s3::object_lock(aws, bucket).await,
    };
    match lock {
        Ok(lock) => {
            if let Some(retention) = lock.default_retention {
                let detail = format!(
                    "Bucket {bucket} gives every new object version a default Object Lock retention ({retention}), \
                     so the canary versions verify writes could not be deleted until it expires, and their replicas \
                     would be locked too. Remove the verify block, or remove the bucket's default retention."
                );
                ds.push(Diagnostic::error(format!("{label}: verify cannot clean up its canaries"), detail).at(at()));
            }
        }
        Err(e) => ds.push(
            Diagnostic::warning(
                format!("{label}: Object Lock of {bucket} not checked"),
                format!(
                    "{}. verify refuses a bucket with a default Object Lock retention; without this read, a canary \
                     version may stay undeletable. Grant s3:GetBucketObjectLockConfiguration to the provider's \
                     credentials.",
                    e.with_advice()
                ),
            )
            .at(at()),
        ),
    }
    ds
}

fn rule_ids(want: &Desired) -> Vec<String> {
    want.configuration.rules.iter().map(|r| r.id.clone().unwrap_or_default()).collect()
}

fn destination(want: &Desired, i: usize) -> &str {
    want.dests.get(i).map_or("?", |d| d.bucket_arn.as_str())
}

/// Warnings for the rules whose canaries are not theirs alone.
fn separately(label: &str, want: &Desired, plan: &[Result<Vec<Canary>, String>]) -> Vec<Diagnostic> {
    let ids = rule_ids(want);
    plan.iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let (summary, detail) = match c {
                Err(why) => ("is not verified", format!("Rule {} is not verified: {why}.", ids[i])),
                Ok(cs) if cs.first().is_some_and(|c| !c.together_with.is_empty()) => {
                    let c = &cs[0];
                    let others: Vec<String> =
                        c.together_with.iter().map(|&j| format!("{} ({})", ids[j], destination(want, j))).collect();
                    let detail = format!(
                        "The canary of rule {} is also selected by {}: S3 replicates it to those destinations too and \
                         reports one combined status, so a failure there fails this rule's check as well. Give the \
                         rules filters that do not overlap to verify them separately.",
                        ids[i],
                        others.join(", ")
                    );
                    ("cannot be verified separately", detail)
                }
                Ok(_) => return None,
            };
            let summary = format!("{label}: rule {} {summary}", ids[i]);
            Some(Diagnostic::warning(summary, detail).at(AttributePath::attr("destination").with_index(i)))
        })
        .collect()
}

/// One written canary and what became of it.
struct Written {
    canary: Canary,
    version: String,
    status: Status,
    /// Its status could not be read (reported): polling it ended.
    unread: bool,
}

impl Written {
    fn open(&self) -> bool {
        !self.unread && !matches!(self.status, Status::Completed | Status::Failed)
    }
}

/// How polling ended.
#[derive(PartialEq)]
enum Polled {
    /// Every canary has its final status, or could not be read.
    Done,
    /// The bound ran out first.
    TimedOut,
    /// The engine asked the provider to stop.
    Stopped,
}

/// Runs the check of `planned` against the configuration `want` now in place; returns the block with its results
/// and the diagnostics (an error per rule that did not replicate).
pub async fn run(
    aws: &AwsClients,
    stop: &StopToken,
    label: &str,
    want: &Desired,
    model: &SourceModel,
    planned: &VerifyBlock,
) -> (VerifyBlock, Diagnostics) {
    let mut out = planned.clone();
    let mut ds = Diagnostics::new();
    let prefix = planned.prefix.known().map_or(canary::DEFAULT_PREFIX, String::as_str);
    let timeout =
        planned.timeout.known().and_then(|t| canary::parse_timeout(t).ok()).unwrap_or(Duration::from_secs(120));
    let ids = rule_ids(want);
    let nonce = s3_canary::now_rfc3339().replace([':', '-'], "");
    let mut results: BTreeMap<String, String> = BTreeMap::new();
    let mut canaries = Vec::new();
    for (i, c) in canary::plan(&want.dests, &ids, prefix, &nonce).into_iter().enumerate() {
        match c {
            Ok(cs) => canaries.extend(cs),
            Err(_) => {
                results.insert(ids[i].clone(), NOT_VERIFIED.into());
            }
        }
    }
    out.checked_at = Known::Value(s3_canary::now_rfc3339());
    let bucket = want.bucket.as_str();
    let puts = futures_util::future::join_all(canaries.into_iter().map(|c| async move {
        let enc = c.kms_key.clone().map_or(CanaryEncryption::S3Managed, CanaryEncryption::Kms);
        let put = s3_canary::put(aws, bucket, &c.key, &c.tags, &enc).await;
        (c, put)
    }))
    .await;
    let mut written = Vec::new();
    for (c, put) in puts {
        match put {
            Ok(version) => written.push(Written { canary: c, version, status: Status::None, unread: false }),
            Err(e) => {
                merge(&mut results, &ids[c.rule], ERROR);
                let detail = format!(
                    "{}. verify writes its canary as the provider's credentials: they need s3:PutObject (and \
                     s3:PutObjectTagging for a rule with tags, kms:GenerateDataKey on an SSE-KMS rule's source keys).",
                    e.with_advice()
                );
                ds.push(
                    Diagnostic::error(format!("{label}: the canary of rule {} was not written", ids[c.rule]), detail)
                        .at(at()),
                );
            }
        }
    }
    let polled = poll(aws, stop, bucket, &mut written, timeout, &mut ds, label, &ids).await;
    let deletes = futures_util::future::join_all(
        written.iter().map(|w| s3_canary::delete_version(aws, bucket, &w.canary.key, &w.version)),
    )
    .await;
    for (w, deleted) in written.iter().zip(deletes) {
        if let Err(e) = deleted {
            ds.push(Diagnostic::warning(
                format!("{label}: canary s3://{bucket}/{} not deleted", w.canary.key),
                format!(
                    "{}. Deleting it needs s3:DeleteObjectVersion. Delete version {} of it by hand (that is not \
                     replicated); it is one small object.",
                    e.with_advice(),
                    w.version
                ),
            ));
        }
    }
    let any_failed = written.iter().any(|w| w.status == Status::Failed);
    let checked = if any_failed { diagnose(aws, want, model).await } else { String::new() };
    for w in &written {
        let id = &ids[w.canary.rule];
        let result = match w.status {
            Status::Completed => COMPLETED,
            Status::Failed => FAILED,
            _ if !w.unread && polled == Polled::TimedOut => TIMEOUT,
            _ => ERROR,
        };
        merge(&mut results, id, result);
        let to = std::iter::once(w.canary.rule)
            .chain(w.canary.together_with.iter().copied())
            .map(|j| format!("{} (rule {})", destination(want, j), ids[j]))
            .collect::<Vec<_>>()
            .join(", ");
        let sse = w.canary.kms_key.as_ref().map_or(String::new(), |k| format!(", SSE-KMS under source key {k}"));
        let object = format!("The canary s3://{bucket}/{} (version {}{sse})", w.canary.key, w.version);
        match result {
            FAILED => ds.push(
                Diagnostic::error(
                    format!("{label}: S3 could not replicate rule {id} into {}", destination(want, w.canary.rule)),
                    format!(
                        "{object} has replication status FAILED: S3 could not replicate it to {to}. S3 marks an \
                         object FAILED when the replication role lacks a permission, a KMS key policy does not admit \
                         it, or the destination bucket (its policy, versioning, Object Lock) refuses it.\n\nWhat \
                         crossrepl checked from the source account:\n{checked}\n\nNot checkable from here: the \
                         destination bucket policy and its key policies as they are now, versioning of a destination \
                         in another account, and service control policies. Fix the cause and apply again: the check \
                         runs again until it passes."
                    ),
                )
                .at(at()),
            ),
            TIMEOUT => ds.push(
                Diagnostic::error(
                    format!("{label}: replication check of rule {id} timed out"),
                    format!(
                        "{object} was still PENDING (or had no replication status yet) after {}: S3 keeps an \
                         object PENDING through temporary failures and while a new configuration takes effect, so \
                         this is not a FAILED replication. Replication to {to} may still complete. Raise \
                         verify.timeout, or apply again later: the check runs again until it passes.",
                        planned.timeout.known().map_or("the timeout", String::as_str)
                    ),
                )
                .at(at()),
            ),
            _ => {}
        }
    }
    out.results = map_value(results);
    (out, ds)
}

/// Records `result` for rule `id`, or keeps the worse one it has from another canary of the rule.
fn merge(results: &mut BTreeMap<String, String>, id: &str, result: &str) {
    let kept = results.get(id).map_or(result, |r| canary::worst(r, result)).to_string();
    results.insert(id.to_string(), kept);
}

/// Polls every canary until each is `COMPLETED` or `FAILED` (or unreadable), `timeout` runs out, or the engine
/// asks the provider to stop (an error diagnostic then says so).
#[allow(clippy::too_many_arguments)]
async fn poll(
    aws: &AwsClients,
    stop: &StopToken,
    bucket: &str,
    written: &mut [Written],
    timeout: Duration,
    ds: &mut Diagnostics,
    label: &str,
    ids: &[String],
) -> Polled {
    let end = tokio::time::Instant::now() + timeout;
    let mut wait = FIRST_POLL;
    loop {
        let open: Vec<usize> = (0..written.len()).filter(|&i| written[i].open()).collect();
        if open.is_empty() {
            return Polled::Done;
        }
        let now = tokio::time::Instant::now();
        if now >= end {
            return Polled::TimedOut;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait.min(end - now)) => {}
            _ = stop.stopped() => {
                let detail = "The engine asked the provider to stop before every canary's replication status was \
                              known; the canaries are deleted and the check runs again on the next apply.";
                ds.push(Diagnostic::error(format!("{label}: replication check interrupted"), detail).at(at()));
                return Polled::Stopped;
            }
        }
        wait = (wait * 3 / 2).min(MAX_POLL);
        let heads = futures_util::future::join_all(open.iter().map(|&i| {
            let w = &written[i];
            s3_canary::status(aws, bucket, &w.canary.key, &w.version)
        }))
        .await;
        for (&i, head) in open.iter().zip(heads) {
            match head {
                Ok(s) => written[i].status = s,
                Err(e) => {
                    let id = &ids[written[i].canary.rule];
                    ds.push(
                        Diagnostic::error(
                            format!("{label}: the replication status of rule {id}'s canary was not read"),
                            format!(
                                "{}. verify reads it with HeadObject of that version, which needs s3:GetObjectVersion.",
                                e.with_advice()
                            ),
                        )
                        .at(at()),
                    );
                    written[i].unread = true;
                }
            }
        }
    }
}

/// What crossrepl can check from the source account after a FAILED canary, one line each: the role and its trust,
/// the role's policy as crossrepl wrote it, and for each rule the destination's grant.
async fn diagnose(aws: &AwsClients, want: &Desired, model: &SourceModel) -> String {
    let mut lines = Vec::new();
    let mark = |ok: bool| if ok { "ok" } else { "PROBLEM" };
    if want.existing_role {
        let name = want.role_arn.rsplit('/').next().unwrap_or_default();
        match iam::role(aws, name).await {
            Ok(Some(r)) => {
                let trusts = PolicyDocument::parse(&r.trust_policy).is_ok_and(|t| grants::trusts_s3(&t));
                lines.push(format!("- [{}] role {} trusts s3.amazonaws.com", mark(trusts), want.role_arn));
                lines
                    .push(format!("- [not checked] the policies of role {} (not managed by crossrepl)", want.role_arn));
            }
            Ok(None) => lines.push(format!("- [PROBLEM] role {} does not exist", want.role_arn)),
            Err(e) => lines.push(format!("- [not checked] role {}: {e}", want.role_arn)),
        }
    } else {
        match observe(aws, want).await {
            Ok(seen) => {
                let role = match &seen.role {
                    None => format!("- [PROBLEM] role {} does not exist", want.role_arn),
                    Some(_) => format!(
                        "- [{}] role {} exists with the trust policy crossrepl wrote (s3.amazonaws.com, this bucket)",
                        mark(seen.role_ok(want)),
                        want.role_arn
                    ),
                };
                lines.push(role);
                lines.push(format!(
                    "- [{}] policy {} is attached and its default version is the document crossrepl wrote (the \
                     s3:Get*/s3:Replicate* and KMS grants every rule needs)",
                    mark(seen.policy_ok(want)),
                    want.policy_arn
                ));
                if let Some(b) = seen.role.as_ref().and_then(|r| r.permissions_boundary.as_ref()) {
                    lines.push(format!("- [not checked] permissions boundary {b} (it may deny a replicate action)"));
                }
                if !seen.other_policies.is_empty() {
                    lines.push(format!(
                        "- [not checked] other policies of the role: {}",
                        seen.other_policies.join(", ")
                    ));
                }
            }
            Err((step, e)) => lines.push(format!("- [not checked] {step}: {e}")),
        }
    }
    for (i, g) in want.permissions_input.destinations.iter().enumerate() {
        let id = want.configuration.rules.get(i).and_then(|r| r.id.as_deref()).unwrap_or("?");
        let block = model.destination.known().and_then(|b| b.get(i));
        let grant = match (block.map(|b| &b.grant), &want.dests[i].account_id) {
            (Some(Known::Value(gm)), _) => {
                let admits = match (gm.role_arn.known(), gm.role_arn_pattern.known()) {
                    (Some(r), _) => Some(*r == want.role_arn),
                    (None, Some(p)) => Some(compact::arn_like(p, &want.role_arn)),
                    _ => None,
                };
                match admits {
                    Some(ok) => format!(
                        "- [{}] rule {id}: the grant of {} says its bucket policy admits role {} (as crossrepl_destination \
                         wrote it; a change made there since does not show here)",
                        mark(ok),
                        g.bucket_arn,
                        want.role_arn
                    ),
                    None => format!("- [not checked] rule {id}: the grant of {} names no role", g.bucket_arn),
                }
            }
            (_, None) => format!("- [same account] rule {id}: {} is a bucket of this account", g.bucket_arn),
            _ => format!("- [not checked] rule {id}: no grant given for {} (destination.grant)", g.bucket_arn),
        };
        lines.push(grant);
        if let Some(k) = &g.replica_kms_key_arn {
            lines.push(format!("- [not checked] the key policy of replica key {k} (its owner's account)"));
        }
    }
    for k in &want.permissions_input.source_kms_key_arns {
        lines.push(format!("- [not checked] the key policy of source key {k} admits the role (kms:Decrypt)"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use framework::AttrValue;

    use super::*;
    use crate::resources::source::schema::schema;

    fn model(result: &str, trigger: &str) -> SourceModel {
        let mut m = SourceModel::from_value(&schema().object(None, vec![("bucket", "b".into())])).unwrap();
        let map = |k: &str, v: &str| Known::Value(BTreeMap::from([(k.to_string(), Known::Value(v.to_string()))]));
        m.verify = Known::Value(vec![VerifyBlock {
            prefix: Known::Value(canary::DEFAULT_PREFIX.into()),
            timeout: Known::Value("2m".into()),
            triggers_replace: map("run", trigger),
            checked_at: Known::Value("2026-11-30T21:00:00Z".into()),
            results: map("rule", result),
        }]);
        m
    }

    fn reruns(planned: &SourceModel, prior: &SourceModel) -> bool {
        let mut planned = planned.clone();
        rerun(&mut planned, Some(prior));
        runs(&planned).is_some()
    }

    #[test]
    fn a_passed_check_runs_again_only_when_something_it_proves_changed() {
        let prior = model(COMPLETED, "1");
        assert!(!reruns(&prior, &prior), "a no-op plan runs no check");
        assert!(reruns(&model(COMPLETED, "2"), &prior), "triggers_replace changed");
        let mut role = prior.clone();
        role.role_arn = Known::Value("arn:aws:iam::111111111111:role/other".into());
        assert!(reruns(&role, &prior), "the role changed");
        let mut rules = prior.clone();
        rules.destination = Known::Value(Vec::new());
        assert!(reruns(&rules, &prior), "the rules changed");
        let mut tags = prior.clone();
        tags.tags = Known::Value(BTreeMap::from([("team".to_string(), Known::Value("x".to_string()))]));
        assert!(!reruns(&tags, &prior), "the role's tags are not something replication depends on");
    }

    #[test]
    fn a_check_that_did_not_pass_runs_again() {
        for result in [FAILED, TIMEOUT, ERROR] {
            assert!(reruns(&model(result, "1"), &model(result, "1")), "{result}");
        }
        assert!(!reruns(&model(NOT_VERIFIED, "1"), &model(NOT_VERIFIED, "1")));
    }
}
