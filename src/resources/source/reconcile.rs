//! Act: make AWS match a wanted source (create and update), part by part, recording in the state what exists
//! even when a step fails.

use framework::{Ctx, Known, Outcome};
use tfplugin::{Diagnostic, Diagnostics};

use super::model::{Desired, SourceModel, owned_by};
use super::observe::{Observed, observe};
use super::ownership::{self, Claim, Occupants};
use super::{batch, verify};
use crate::aws::{AwsClients, AwsError, ErrorKind, iam, s3};
use crate::domain::arn::Partition;
use crate::domain::policy::PolicyDocument;
use crate::resources::checks::{aws_diag, bucket_not_found, retry_diag, versioning_off};
use crate::resources::ensure_versioning;
use crate::retry::{Backoff, RetryError, retry};

/// One source being reconciled.
pub struct Reconcile<'a> {
    /// The provider's clients and stop signal.
    pub ctx: &'a Ctx<AwsClients>,
    /// The diagnostics' label.
    pub label: String,
    /// The partition.
    pub partition: &'static Partition,
    /// The source bucket's account.
    pub account: String,
    /// The plan being applied.
    pub planned: &'a SourceModel,
    /// What it asks for.
    pub want: Desired,
}

impl Reconcile<'_> {
    fn aws(&self) -> &AwsClients {
        &self.ctx.client
    }

    fn state(&self, role_ok: bool, policy_ok: bool, rules_ok: &[bool]) -> SourceModel {
        self.want.state(self.planned, self.partition, role_ok, policy_ok, rules_ok)
    }

    /// Makes AWS match the plan. On create (`prior` None), refuses to touch a role, policy or replication
    /// configuration crossrepl did not create; on update, a renamed role or policy likewise. `old` is the prior
    /// desired state on update, whose role and policy are removed when their names changed. Returns the state of
    /// what exists, even on error.
    pub async fn converge(&self, old: Option<Desired>, prior: Option<&SourceModel>) -> Outcome<SourceModel> {
        let create = prior.is_none();
        let nothing = vec![false; self.want.dests.len()];
        let before = (!create).then(|| self.state(false, false, &nothing));
        let seen = match observe(self.aws(), &self.want).await {
            Ok(o) => o,
            Err((step, e)) => return Outcome::with(before, aws_diag(&self.label, &step, &e)),
        };
        if !seen.bucket_exists {
            return Outcome::with(before, bucket_not_found(&self.label, &self.want.bucket));
        }
        // The refusal to adopt, again at apply: a saved plan or `-refresh=false` may be stale, and on update a
        // renamed role or policy is a claim on a name as new as on create.
        let renamed =
            old.as_ref().is_some_and(|o| o.role_name != self.want.role_name || o.policy_arn != self.want.policy_arn);
        if create || renamed {
            let mut occupants = self.occupants(&seen).await;
            if !create {
                occupants.configuration_role = None; // ours: written by this resource under its old role
            }
            let refused = ownership::refusals(&self.claim(), &occupants);
            if !refused.is_empty() {
                return Outcome { state: prior.cloned(), diagnostics: Diagnostics(refused) };
            }
        }
        let (role_ok, policy_ok, mut ds) = self.ensure_parts(&seen).await;
        if ds.has_errors() {
            return Outcome { state: Some(self.state(role_ok, policy_ok, &nothing)), diagnostics: ds };
        }
        if let Err(d) = self.ensure_configuration(&seen).await {
            ds.push(d);
            return Outcome { state: Some(self.state(role_ok, policy_ok, &nothing)), diagnostics: ds };
        }
        if let Some(old) = &old {
            ds.extend(remove_renamed(self.aws(), old, &self.want, &self.label).await);
        }
        let mut state = self.state(role_ok, policy_ok, &vec![true; self.want.dests.len()]);
        ds.extend(self.existing_objects(&mut state, old.as_ref(), prior).await);
        if let Some(block) = verify::runs(self.planned) {
            let (block, vds) =
                verify::run(self.aws(), &self.ctx.stop, &self.label, &self.want, self.planned, block).await;
            state.verify = Known::Value(vec![block]);
            ds.extend(vds);
        }
        Outcome { state: Some(state), diagnostics: ds }
    }

    /// After the configuration is in place: the batch role and, when the plan asks for one, the Batch Replication
    /// job of `existing_objects`; the batch role of a block the update removed is deleted.
    async fn existing_objects(
        &self,
        state: &mut SourceModel,
        old: Option<&Desired>,
        prior: Option<&SourceModel>,
    ) -> Diagnostics {
        let planned = self.planned.existing_objects.known().and_then(|b| b.first());
        let Some(planned) = planned else {
            return match old.and_then(|o| o.batch.as_ref()) {
                Some(b) => batch::remove(self.aws(), &self.label, &self.want.bucket, b).await,
                None => Diagnostics::new(),
            };
        };
        let previous = prior.and_then(|p| p.existing_objects.known()?.first()?.job_id.known().cloned());
        let at = (self.partition, self.account.as_str());
        let (block, ds) = batch::ensure(self.aws(), &self.label, &self.want, at, planned, previous.as_deref()).await;
        state.existing_objects = Known::Value(vec![block]);
        ds
    }

    fn claim(&self) -> Claim<'_> {
        let w = &self.want;
        Claim {
            label: &self.label,
            bucket: &w.bucket,
            role_name: &w.role_name,
            role_arn: &w.role_arn,
            policy_arn: &w.policy_arn,
        }
    }

    /// Who holds the wanted names, for the refusal to adopt; a policy whose tags cannot be read is not ours.
    async fn occupants(&self, seen: &Observed) -> Occupants {
        let policy_tags = match seen.policy_document {
            Some(_) => Some(iam::policy_tags(self.aws(), &self.want.policy_arn).await.unwrap_or_default()),
            None => None,
        };
        Occupants {
            role_tags: seen.role.as_ref().map(|r| r.tags.clone()),
            policy_tags,
            configuration_role: seen.configuration.as_ref().map(|c| c.role.clone()),
        }
    }

    /// Versioning (of the source and of same-account destinations), role and policy, which are independent:
    /// concurrently; then the attachment.
    /// With an existing role, only versioning.
    async fn ensure_parts(&self, seen: &Observed) -> (bool, bool, Diagnostics) {
        if self.want.existing_role {
            let (versioning, mut ds) =
                tokio::join!(self.ensure_versioning(seen.versioning), self.ensure_destination_versioning());
            versioning.map_err(|d| ds.push(d)).ok();
            return (true, false, ds);
        }
        let (versioning, destinations, role, permissions) = tokio::join!(
            self.ensure_versioning(seen.versioning),
            self.ensure_destination_versioning(),
            ensure_role(self.aws(), &self.want, seen.role.as_ref(), &self.label),
            ensure_policy(self.aws(), &self.want, seen.policy_document.as_ref(), &self.label),
        );
        let mut ds = destinations;
        let role_ok = role.map_err(|d| ds.push(d)).is_ok();
        let mut policy_ok = permissions.map_err(|d| ds.push(d)).is_ok();
        versioning.map_err(|d| ds.push(d)).ok();
        if role_ok
            && policy_ok
            && !seen.attached
            && let Err(e) = iam::attach(self.aws(), &self.want.role_name, &self.want.policy_arn).await
        {
            ds.push(aws_diag(&self.label, "attaching the policy to the role", &e));
            policy_ok = false;
        }
        (role_ok, policy_ok, ds)
    }

    async fn ensure_versioning(&self, seen: s3::Versioning) -> Result<(), Diagnostic> {
        if seen == s3::Versioning::Enabled {
            return Ok(());
        }
        if !self.want.enable_versioning {
            return Err(versioning_off(&self.label, &self.want.bucket, seen));
        }
        s3::enable_versioning(self.aws(), &self.want.bucket)
            .await
            .map_err(|e| aws_diag(&self.label, "enabling versioning", &e))
    }

    /// Versioning on every destination bucket of this account: S3 refuses a replication configuration whose
    /// destination is not versioned ("Requirements and considerations for replication",
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-requirements.html>), and for a
    /// same-account destination there is no `crossrepl_destination` to turn it on.
    async fn ensure_destination_versioning(&self) -> Diagnostics {
        let (aws, enable) = (self.aws(), self.want.enable_versioning);
        let results = futures_util::future::join_all(self.want.same_account_buckets.iter().map(|bucket| async move {
            match ensure_versioning(aws, &self.label, bucket, enable).await {
                Ok(true) => None,
                Ok(false) => Some(dest_not_found(&self.label, bucket)),
                Err(d) => Some(d),
            }
        }))
        .await;
        Diagnostics(results.into_iter().flatten().collect())
    }

    /// Writes the replication configuration unless S3 holds it already, waiting out the documented refusals of
    /// [`crate::aws::propagation`], then waits until it reads back, so the next refresh sees it.
    async fn ensure_configuration(&self, seen: &Observed) -> Result<(), Diagnostic> {
        if seen.rules_ok(&self.want).iter().all(|ok| *ok) {
            return Ok(());
        }
        let (aws, want, stop) = (self.aws(), &self.want, &self.ctx.stop);
        retry(stop, Backoff::PROPAGATION, || s3::put_replication(aws, &want.bucket, &want.configuration))
            .await
            .map_err(|e| retry_diag(&self.label, "writing the replication configuration", &e, put_hint(&e)))?;
        retry(stop, Backoff::VISIBILITY, || configuration_visible(aws, want)).await.map_err(|e| {
            retry_diag(&self.label, "confirming the replication configuration", &e, "Apply again to check.")
        })
    }
}

/// A same-account destination bucket that does not exist.
fn dest_not_found(label: &str, bucket: &str) -> Diagnostic {
    Diagnostic::error(
        format!("{label}: destination bucket {bucket} not found"),
        format!(
            "Destination bucket {bucket} has no account_id, so it should be in this provider block's account, but \
             no such bucket is visible here. Create it first, or set account_id if it belongs to another account."
        ),
    )
    .at(tfplugin::AttributePath::attr("destination"))
}

/// What to check when PutBucketReplication failed: versioning after waiting in vain, else the permissions.
fn put_hint(e: &RetryError) -> &'static str {
    match e {
        RetryError::Failed { error, .. } if error.kind == ErrorKind::Propagating => {
            "S3 still refused after crossrepl waited: versioning is off on the source bucket or on a destination \
             bucket (crossrepl_destination turns it on for its bucket), or S3 has not seen it yet."
        }
        _ => "PutBucketReplication needs s3:PutReplicationConfiguration on the bucket and iam:PassRole on the role.",
    }
}

/// Whether S3 returns the configuration just written; right after the write it may answer that there is none
/// (hashicorp/aws waits for it too: https://github.com/hashicorp/terraform-provider-aws/issues/30646).
async fn configuration_visible(aws: &AwsClients, want: &Desired) -> Result<(), AwsError> {
    let seen = s3::replication(aws, &want.bucket).await?;
    if want.configuration.matching(seen.as_ref()).iter().all(|ok| *ok) {
        return Ok(());
    }
    let msg = "the new replication configuration is not visible yet";
    Err(AwsError::local("s3", "GetBucketReplication", format!("bucket {}", want.bucket), msg, ErrorKind::Propagating))
}

/// Creates the role, or brings an existing one (ours) to the wanted path, trust, boundary and tags.
async fn ensure_role(
    aws: &AwsClients,
    want: &Desired,
    have: Option<&iam::Role>,
    label: &str,
) -> Result<(), Diagnostic> {
    let found;
    let have = match have {
        Some(have) => have,
        None => match create_role(aws, want, label).await? {
            None => return Ok(()),
            Some(ours) => {
                found = ours;
                &found
            }
        },
    };
    if have.path != want.path {
        return Err(Diagnostic::error(
            format!("{label}: role {} has path {}", want.role_name, have.path),
            format!("IAM cannot move a role to another path; rename it (role_name) to create one at {}.", want.path),
        )
        .at(tfplugin::AttributePath::attr("role_path")));
    }
    if !PolicyDocument::parse(&have.trust_policy).is_ok_and(|t| t.semantically_equal(&want.trust)) {
        iam::update_trust_policy(aws, &want.role_name, &want.trust.to_json())
            .await
            .map_err(|e| aws_diag(label, "updating the role's trust policy", &e))?;
    }
    if have.permissions_boundary != want.boundary {
        iam::set_permissions_boundary(aws, &want.role_name, want.boundary.as_deref())
            .await
            .map_err(|e| aws_diag(label, "setting the permissions boundary", &e))?;
    }
    let mut have_tags = have.tags.clone();
    have_tags.sort();
    let want_tags = want.aws_tags();
    if have_tags != want_tags {
        iam::set_role_tags(aws, &want.role_name, &have_tags, &want_tags)
            .await
            .map_err(|e| aws_diag(label, "tagging the role", &e))?;
    }
    Ok(())
}

/// Creates the role; `Some(role)` when the name turns out taken by a role of ours (our own create whose answer
/// was lost and which the SDK sent again), which the caller then brings up to date.
async fn create_role(aws: &AwsClients, want: &Desired, label: &str) -> Result<Option<iam::Role>, Diagnostic> {
    let new = iam::NewRole {
        name: &want.role_name,
        path: &want.path,
        trust_policy: &want.trust.to_json(),
        permissions_boundary: want.boundary.as_deref(),
        tags: &want.aws_tags(),
        description: &format!("S3 replication role of bucket {}, managed by crossrepl", want.bucket),
    };
    let taken = || ownership::role_taken(label, &want.bucket, &want.role_name);
    create_owned_role(aws, &new, &want.bucket, label, taken).await
}

/// Creates the role `new` of the source of `bucket`; `Some(role)` when the name turns out taken by a role of ours,
/// `taken()` when by one crossrepl did not create.
pub(super) async fn create_owned_role(
    aws: &AwsClients,
    new: &iam::NewRole<'_>,
    bucket: &str,
    label: &str,
    taken: impl FnOnce() -> Diagnostic,
) -> Result<Option<iam::Role>, Diagnostic> {
    match iam::create_role(aws, new).await {
        Ok(_) => Ok(None),
        // Absent when observed a moment ago: ours whose answer was lost, or someone else's created since.
        // Only the ownership tag tells them apart.
        Err(e) if e.is_code("EntityAlreadyExists") => {
            let role = iam::role(aws, new.name)
                .await
                .map_err(|e| aws_diag(label, &format!("reading role {} after EntityAlreadyExists", new.name), &e))?;
            role.filter(|r| owned_by(&r.tags, bucket)).map(Some).ok_or_else(taken)
        }
        Err(e) => Err(aws_diag(label, &format!("creating role {}", new.name), &e)),
    }
}

/// Creates the policy, or brings an existing one (ours, or adopted by import) to the wanted tags and document.
async fn ensure_policy(
    aws: &AwsClients,
    want: &Desired,
    have: Option<&PolicyDocument>,
    label: &str,
) -> Result<(), Diagnostic> {
    let doc = want.permissions.to_json();
    let is_ours = |text: &str| PolicyDocument::parse(text).is_ok_and(|d| d.semantically_equal(&want.permissions));
    let Some(have) = have else {
        return match iam::create_policy(aws, &want.policy_name, &want.path, &doc, &want.aws_tags()).await {
            Ok(_) => Ok(()),
            // Absent when observed: ours whose answer was lost, or someone else's created since. Only the
            // ownership tag tells; ours gets our document only if it differs (a needless CreatePolicyVersion
            // would leave two identical versions).
            Err(e) if e.is_code("EntityAlreadyExists") => {
                let tags = iam::policy_tags(aws, &want.policy_arn)
                    .await
                    .map_err(|e| aws_diag(label, "reading the role policy's tags after EntityAlreadyExists", &e))?;
                if !want.owns(&tags) {
                    return Err(ownership::policy_taken(label, &want.bucket, &want.policy_arn));
                }
                let current = iam::default_policy_document(aws, &want.policy_arn)
                    .await
                    .map_err(|e| aws_diag(label, "reading the role policy", &e))?;
                if current.as_deref().is_some_and(is_ours) {
                    return Ok(());
                }
                iam::set_policy_document(aws, &want.policy_arn, &doc, is_ours)
                    .await
                    .map_err(|e| aws_diag(label, "updating the role policy", &e))
            }
            Err(e) => Err(aws_diag(label, "creating the role policy", &e)),
        };
    };
    // Tags first: an adopted (imported) policy gets the ownership tag, as the role does.
    let mut have_tags = iam::policy_tags(aws, &want.policy_arn)
        .await
        .map_err(|e| aws_diag(label, "reading the role policy's tags", &e))?;
    have_tags.sort();
    let want_tags = want.aws_tags();
    if have_tags != want_tags {
        iam::set_policy_tags(aws, &want.policy_arn, &have_tags, &want_tags)
            .await
            .map_err(|e| aws_diag(label, "tagging the role policy", &e))?;
    }
    if have.semantically_equal(&want.permissions) {
        return Ok(());
    }
    iam::set_policy_document(aws, &want.policy_arn, &doc, is_ours)
        .await
        .map_err(|e| aws_diag(label, "updating the role policy", &e))
}

/// After an update that renamed the role or policy, removes the old ones: detaches the old policy, and deletes
/// the old role and policy only when they carry this resource's ownership tag (an imported role or policy that was
/// never adopted under its old name is left in place, only detached). Moving to an existing role (`role_arn` set)
/// removes crossrepl's role and policy the same way; an old existing role is never touched, nor the role that is
/// now the existing one (an imported role, declared existing after the import) or its policies.
async fn remove_renamed(aws: &AwsClients, old: &Desired, want: &Desired, label: &str) -> Diagnostics {
    let mut ds = Diagnostics::new();
    if old.existing_role || (want.existing_role && old.role_arn == want.role_arn) {
        return ds;
    }
    let owned = |tags: Result<Vec<(String, String)>, AwsError>| tags.is_ok_and(|t| old.owns(&t));
    if old.policy_arn != want.policy_arn {
        if let Err(e) = iam::detach(aws, &old.role_name, &old.policy_arn).await
            && e.kind != ErrorKind::NotFound
        {
            ds.push(aws_diag(label, "detaching the old policy", &e));
        }
        if owned(iam::policy_tags(aws, &old.policy_arn).await)
            && let Err(e) = iam::delete_policy(aws, &old.policy_arn).await
        {
            ds.push(aws_diag(label, "deleting the old policy", &e));
        }
    }
    if old.role_name != want.role_name {
        if old.policy_arn == want.policy_arn
            && let Err(e) = iam::detach(aws, &old.role_name, &old.policy_arn).await
            && e.kind != ErrorKind::NotFound
        {
            ds.push(aws_diag(label, "detaching the policy from the old role", &e));
        }
        let role_tags = iam::role(aws, &old.role_name).await.map(|r| r.map(|r| r.tags).unwrap_or_default());
        if owned(role_tags)
            && let Err(e) = iam::delete_role(aws, &old.role_name).await
        {
            ds.push(aws_diag(label, "deleting the old role", &e));
        }
    }
    ds
}

/// Keeps only what the state records as existing: used when a plan cannot be understood at all.
pub fn unreadable(label: &str, msg: String) -> Outcome<SourceModel> {
    Outcome::with(None, Diagnostic::error(format!("{label}: invalid plan"), msg))
}

/// A `Known` string for what exists, null for what does not.
pub fn known_if(ok: bool, value: &str) -> Known<String> {
    if ok { Known::Value(value.to_string()) } else { Known::Null }
}
