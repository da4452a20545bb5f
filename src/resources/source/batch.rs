//! The `existing_objects` block: the batch role (created, owned and tagged like the replication role) and the S3
//! Batch Replication job that copies what the bucket held before its replication configuration existed.

use framework::Known;
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use super::model::{BATCH_POLICY_NAME, BatchDesired, Desired, ExistingObjectsBlock, owned_by};
use super::reconcile;
use crate::aws::{AwsClients, AwsError, iam, s3control};
use crate::domain::arn::{Partition, bucket_arn};
use crate::domain::batch::{self, BatchReplicationJob};
use crate::domain::policy::PolicyDocument;
use crate::resources::checks::aws_diag;

fn at() -> AttributePath {
    AttributePath::attr("existing_objects")
}

/// The job that `want` asks for, after the job `previous` (none on the first run).
fn job(want: &Desired, partition: &Partition, account: &str, previous: Option<&str>) -> Option<BatchReplicationJob> {
    let b = want.batch.as_ref()?;
    Some(BatchReplicationJob {
        account_id: account.to_string(),
        source_bucket_arn: bucket_arn(partition, &want.bucket),
        role_arn: b.role_arn.clone(),
        prefixes: batch::prefixes(want.dests.iter().map(|d| (d.prefix.as_str(), d.enabled))),
        statuses: b.statuses.clone(),
        report_bucket_arn: b.report_bucket_arn.clone(),
        report_prefix: b.report_prefix.clone(),
        client_token: batch::client_token(&want.bucket, &b.trigger, previous),
    })
}

/// Brings the batch role to `b` and, when `planned` asks for a new job (its `job_id` unknown), starts it. Returns
/// the block as it now is: the role's ARN only when it exists as wanted, the job's id only when one was started.
pub async fn ensure(
    aws: &AwsClients,
    label: &str,
    want: &Desired,
    (partition, account): (&Partition, &str),
    planned: &ExistingObjectsBlock,
    previous_job: Option<&str>,
) -> (ExistingObjectsBlock, Diagnostics) {
    let mut out = planned.clone();
    let Some(b) = &want.batch else { return (out, Diagnostics::new()) };
    let mut ds = Diagnostics::new();
    let role_ok = match ensure_role(aws, label, want, b).await {
        Ok(()) => true,
        Err(d) => {
            ds.push(d);
            false
        }
    };
    out.role_arn = if role_ok { Known::Value(b.role_arn.clone()) } else { Known::Null };
    if !planned.job_id.is_unknown() {
        return (out, ds);
    }
    (out.job_id, out.job_status, out.job_failure_reasons) = (Known::Null, Known::Null, Known::Null);
    if !role_ok {
        return (out, ds);
    }
    let Some(spec) = job(want, partition, account, previous_job) else { return (out, ds) };
    let id = match start_job(aws, label, &spec).await {
        Ok(id) => id,
        Err(mut d) => {
            d.detail.push_str(" The next apply tries again.");
            ds.push(d.at(at()));
            return (out, ds);
        }
    };
    out.job_id = Known::Value(id.clone());
    // Not read yet: the next refresh reads it.
    (out.job_status, out.job_failure_reasons) = (Known::Value(String::new()), Known::Value(String::new()));
    match s3control::job(aws, account, &id).await {
        Ok(Some(j)) => set_job(&mut out, j),
        Ok(None) => {}
        Err(e) => ds.push(Diagnostic::warning(
            format!("{label}: Batch Replication job {id} started, its status not read"),
            format!("{}. The next refresh reads it again.", e.with_advice()),
        )),
    }
    (out, ds)
}

/// Starts the Batch Replication job `spec` (S3 Control CreateJob, no confirmation asked) and returns its id; the
/// error says what starting it needs. The `existing_objects` block and the `crossrepl_batch_replication` action
/// both start their jobs here.
pub async fn start_job(aws: &AwsClients, label: &str, spec: &BatchReplicationJob) -> Result<String, Diagnostic> {
    s3control::create_replication_job(aws, spec).await.map_err(|e| {
        let detail = format!(
            "{}. Starting it needs s3:CreateJob, and iam:PassRole on {}, for the provider's credentials.",
            e.with_advice(),
            spec.role_arn
        );
        Diagnostic::error(format!("{label}: the Batch Replication job was not started"), detail)
    })
}

fn set_job(block: &mut ExistingObjectsBlock, j: s3control::Job) {
    block.job_status = Known::Value(j.status);
    // Empty, not null, without failures: a null computed value would be planned unknown again on every plan.
    block.job_failure_reasons = Known::Value(j.failure_reasons.join("; "));
}

/// Creates the batch role, or brings ours to the wanted trust, tags and inline policy; refuses a role of that name
/// crossrepl did not create.
async fn ensure_role(aws: &AwsClients, label: &str, want: &Desired, b: &BatchDesired) -> Result<(), Diagnostic> {
    let step = |s: &'static str| move |e: AwsError| aws_diag(label, s, &e).at(at());
    let found = iam::role(aws, &b.role_name).await.map_err(step("reading the batch role"))?;
    let role = match found {
        Some(r) => r,
        None => {
            let new = iam::NewRole {
                name: &b.role_name,
                path: &b.path,
                trust_policy: &b.trust.to_json(),
                permissions_boundary: want.boundary.as_deref(),
                tags: &want.aws_tags(),
                description: &format!("S3 Batch Replication role of bucket {}, managed by crossrepl", want.bucket),
            };
            let taken = || role_taken(label, &want.bucket, &b.role_name);
            match reconcile::create_owned_role(aws, &new, &want.bucket, label, taken).await {
                Ok(None) => return put_policy(aws, label, b, None).await,
                Ok(Some(ours)) => ours,
                Err(d) => return Err(d.at(at())),
            }
        }
    };
    if !owned_by(&role.tags, &want.bucket) {
        return Err(role_taken(label, &want.bucket, &b.role_name));
    }
    if role.path != b.path {
        return Err(Diagnostic::error(
            format!("{label}: batch role {} has path {}", b.role_name, role.path),
            format!(
                "IAM cannot move a role to another path; delete role {} to let crossrepl create it at {}.",
                b.role_name, b.path
            ),
        )
        .at(at()));
    }
    if !PolicyDocument::parse(&role.trust_policy).is_ok_and(|t| t.semantically_equal(&b.trust)) {
        iam::update_trust_policy(aws, &b.role_name, &b.trust.to_json())
            .await
            .map_err(step("updating the batch role's trust policy"))?;
    }
    let mut have_tags = role.tags.clone();
    have_tags.sort();
    if have_tags != want.aws_tags() {
        iam::set_role_tags(aws, &b.role_name, &have_tags, &want.aws_tags())
            .await
            .map_err(step("tagging the batch role"))?;
    }
    let current = iam::inline_policy(aws, &b.role_name, BATCH_POLICY_NAME)
        .await
        .map_err(step("reading the batch role's policy"))?;
    put_policy(aws, label, b, current.as_deref()).await
}

/// Writes the batch role's inline policy unless `current` is it already.
async fn put_policy(aws: &AwsClients, label: &str, b: &BatchDesired, current: Option<&str>) -> Result<(), Diagnostic> {
    if current.is_some_and(|c| PolicyDocument::parse(c).is_ok_and(|d| d.semantically_equal(&b.permissions))) {
        return Ok(());
    }
    iam::put_inline_policy(aws, &b.role_name, BATCH_POLICY_NAME, &b.permissions.to_json())
        .await
        .map_err(|e| aws_diag(label, "writing the batch role's policy", &e).at(at()))
}

/// The batch role's name is taken by a role crossrepl did not create (refused at plan and at apply time).
pub fn role_taken(label: &str, bucket: &str, role_name: &str) -> Diagnostic {
    Diagnostic::error(
        format!("{label}: role {role_name} already exists"),
        format!(
            "crossrepl names the batch role of bucket {bucket} {role_name}, and a role of that name exists that \
             crossrepl did not create. crossrepl does not adopt it: delete or rename that role, or remove the \
             existing_objects block."
        ),
    )
    .at(at())
}

/// Plan-time checks of a new `existing_objects` block (read-only): the batch role's name is free or ours, and the
/// report bucket is in the source's partition (the batch role's policy names it).
pub async fn preflight(
    aws: &AwsClients,
    label: &str,
    bucket: &str,
    partition: &Partition,
    report: &str,
) -> Diagnostics {
    let mut ds = Diagnostics::new();
    if let Ok(parsed) = report.parse::<crate::domain::arn::BucketArn>()
        && parsed.partition.id != partition.id
    {
        let detail = format!(
            "The report bucket {report} is in partition {}, the source bucket in {}. Use a bucket of the source \
             bucket's account.",
            parsed.partition.id, partition.id
        );
        ds.push(
            Diagnostic::error(format!("{label}: report bucket in another partition"), detail)
                .at(at().with_index(0).with_attr("report_bucket_arn")),
        );
    }
    let name = crate::domain::grants::batch_role_name_for_bucket(bucket);
    if let Ok(Some(role)) = iam::role(aws, &name).await
        && !owned_by(&role.tags, bucket)
    {
        ds.push(role_taken(label, bucket, &name));
    }
    ds
}

/// The block as AWS now has it: the role's ARN only when it exists as wanted (ours, trust and policy as written),
/// and the job's status and failure reasons read again (kept when S3 no longer knows the job).
pub async fn refresh(
    aws: &AwsClients,
    want: &Desired,
    account: &str,
    state: &ExistingObjectsBlock,
) -> Result<ExistingObjectsBlock, (String, AwsError)> {
    let mut out = state.clone();
    let Some(b) = &want.batch else { return Ok(out) };
    let job = async {
        match state.job_id.known() {
            Some(id) => s3control::job(aws, account, id).await,
            None => Ok(None),
        }
    };
    let (role, policy, job) =
        tokio::join!(iam::role(aws, &b.role_name), iam::inline_policy(aws, &b.role_name, BATCH_POLICY_NAME), job);
    let step = |s: &'static str| move |e: AwsError| (s.to_string(), e);
    let role = role.map_err(step("reading the batch role"))?;
    let policy = policy.map_err(step("reading the batch role's policy"))?;
    let role_ok = role.is_some_and(|r| {
        owned_by(&r.tags, &want.bucket)
            && PolicyDocument::parse(&r.trust_policy).is_ok_and(|t| t.semantically_equal(&b.trust))
    }) && policy
        .is_some_and(|p| PolicyDocument::parse(&p).is_ok_and(|d| d.semantically_equal(&b.permissions)));
    out.role_arn = if role_ok { Known::Value(b.role_arn.clone()) } else { Known::Null };
    if let Some(j) = job.map_err(step("reading the Batch Replication job"))? {
        set_job(&mut out, j);
    }
    Ok(out)
}

/// Deletes the batch role of `b` (its inline policy first) when it is ours; never a job, a report or a replica.
pub async fn remove(aws: &AwsClients, label: &str, bucket: &str, b: &BatchDesired) -> Diagnostics {
    match iam::role(aws, &b.role_name).await {
        Ok(Some(r)) if owned_by(&r.tags, bucket) => {}
        Ok(_) => return Diagnostics::new(),
        Err(e) => return aws_diag(label, "reading the batch role", &e).into(),
    }
    if let Err(e) = iam::delete_inline_policy(aws, &b.role_name, BATCH_POLICY_NAME).await {
        return aws_diag(label, "deleting the batch role's policy", &e).into();
    }
    match iam::delete_role(aws, &b.role_name).await {
        Ok(()) => Diagnostics::new(),
        Err(e) => aws_diag(label, "deleting the batch role", &e).into(),
    }
}
