//! AWS S3 Control calls crossrepl makes: the S3 Batch Operations job that replicates a source bucket's existing
//! objects (`CreateJob`, <https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_CreateJob.html>), and
//! its status (`DescribeJob`, <https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_DescribeJob.html>).

use aws_sdk_s3control::config::endpoint::{DefaultResolver, Endpoint, EndpointFuture, Params, ResolveEndpoint};
use aws_sdk_s3control::types::{
    JobManifestGenerator, JobManifestGeneratorFilter, JobOperation, JobReport, JobReportFormat, JobReportScope,
    KeyNameConstraint, ReplicationStatus, S3JobManifestGenerator, S3ReplicateObjectOperation,
};

use super::AwsClients;
use super::error::{AwsError, ErrorKind};
use crate::domain::batch::BatchReplicationJob;

/// The priority crossrepl's jobs get (higher runs first among the account's jobs; any value is allowed).
const PRIORITY: i32 = 10;

/// A job as DescribeJob reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its status: `New`, `Preparing`, `Ready`, `Active`, `Complete`, `Failed`, `Cancelled`, ...
    pub status: String,
    /// Why it failed, `<code>: <reason>` each.
    pub failure_reasons: Vec<String>,
    /// Its tasks (one per object version), as its progress summary counts them.
    pub tasks: Tasks,
}

/// The task counts of a job's progress summary (zero until S3 has counted them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tasks {
    /// Tasks in the job.
    pub total: i64,
    /// Tasks that succeeded.
    pub succeeded: i64,
    /// Tasks that failed.
    pub failed: i64,
}

/// With an endpoint override and path-style addressing, S3 Control requests go to the override URL itself, the
/// account only in the `x-amz-account-id` header (as LocalStack and S3-compatible endpoints expect); AWS's own rules
/// would put the account id in front of the host name. The rules still resolve the signing properties.
#[derive(Debug)]
pub(super) struct PathStyleEndpoint {
    /// The endpoint override.
    pub url: String,
}

impl ResolveEndpoint for PathStyleEndpoint {
    fn resolve_endpoint<'a>(&'a self, params: &'a Params) -> EndpointFuture<'a> {
        EndpointFuture::new(async move {
            let resolved = DefaultResolver::new().resolve_endpoint(params).await?;
            let endpoint = resolved
                .properties()
                .iter()
                .fold(Endpoint::builder().url(self.url.clone()), |b, (k, v)| b.property(k.clone(), v.clone()));
            Ok(endpoint.build())
        })
    }
}

fn job_res(account: &str, id: &str) -> String {
    format!("job {id} of account {account}")
}

/// Starts the Batch Replication job `job` without asking for confirmation, and returns its id (s3:CreateJob, and
/// iam:PassRole on the batch role).
pub async fn create_replication_job(aws: &AwsClients, job: &BatchReplicationJob) -> Result<String, AwsError> {
    let what = || format!("a Batch Replication job for {}", job.source_bucket_arn);
    let local = |msg: String| AwsError::local("s3control", "CreateJob", what(), msg, ErrorKind::Other);
    let statuses = job.statuses.iter().map(|s| ReplicationStatus::from(s.as_str())).collect();
    let prefixes = Some(job.prefixes.clone()).filter(|p| !p.is_empty());
    let filter = JobManifestGeneratorFilter::builder()
        .eligible_for_replication(true)
        .set_object_replication_statuses(Some(statuses))
        .set_key_name_constraint(prefixes.map(|p| KeyNameConstraint::builder().set_match_any_prefix(Some(p)).build()))
        .build();
    let generator = S3JobManifestGenerator::builder()
        .expected_bucket_owner(&job.account_id)
        .source_bucket(&job.source_bucket_arn)
        .enable_manifest_output(false)
        .filter(filter)
        .build()
        .map_err(|e| local(e.to_string()))?;
    let report = JobReport::builder()
        .bucket(&job.report_bucket_arn)
        .set_prefix(Some(job.report_prefix.clone()).filter(|p| !p.is_empty()))
        .format(JobReportFormat::ReportCsv20180820)
        .enabled(true)
        .report_scope(JobReportScope::AllTasks)
        .build();
    let operation = JobOperation::builder().s3_replicate_object(S3ReplicateObjectOperation::builder().build()).build();
    let out = aws
        .s3control
        .create_job()
        .account_id(&job.account_id)
        .confirmation_required(false)
        .operation(operation)
        .report(report)
        .client_request_token(&job.client_token)
        .manifest_generator(JobManifestGenerator::S3JobManifestGenerator(generator))
        .description(format!("crossrepl: existing objects of {}", job.source_bucket_arn))
        .priority(PRIORITY)
        .role_arn(&job.role_arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3control", "CreateJob", what(), e))?;
    out.job_id.filter(|id| !id.is_empty()).ok_or_else(|| local("the answer named no job id".into()))
}

/// The job `id` of `account`, or `None` when S3 no longer knows it (s3:DescribeJob; AWS keeps jobs for 90 days).
pub async fn job(aws: &AwsClients, account: &str, id: &str) -> Result<Option<Job>, AwsError> {
    match aws.s3control.describe_job().account_id(account).job_id(id).send().await {
        Ok(out) => Ok(out.job.map(|j| Job {
            status: j.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            failure_reasons: j
                .failure_reasons
                .unwrap_or_default()
                .iter()
                .map(|f| format!("{}: {}", f.failure_code().unwrap_or("?"), f.failure_reason().unwrap_or_default()))
                .collect(),
            tasks: j.progress_summary.map_or_else(Tasks::default, |p| Tasks {
                total: p.total_number_of_tasks.unwrap_or_default(),
                succeeded: p.number_of_tasks_succeeded.unwrap_or_default(),
                failed: p.number_of_tasks_failed.unwrap_or_default(),
            }),
        })),
        Err(e) => {
            let err = AwsError::from_sdk("s3control", "DescribeJob", job_res(account, id), e);
            if err.kind == ErrorKind::NotFound || err.is_code("NotFoundException") { Ok(None) } else { Err(err) }
        }
    }
}
