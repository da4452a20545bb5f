//! `crossrepl_batch_replication`: the S3 Batch Replication job of a `crossrepl_source`'s `existing_objects` block,
//! started on demand. It runs as the batch role that block creates (or the role given), starts the job as the block
//! does ([`start_job`]), and follows it with DescribeJob until it ends or the wait bound passes.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use framework::{
    Action, ActionProgress, Attr, AttributePath, BlockSpec, Ctx, Diagnostic, Diagnostics, Known, ResourceSchema, Set,
    validator,
};

use crate::aws::{AwsClients, iam, s3, s3control};
use crate::domain::arn::{Partition, bucket_arn};
use crate::domain::batch::{self, BatchReplicationJob, FINAL_STATUSES};
use crate::domain::grants::batch_role_name_for_bucket;
use crate::provider::parse_duration;
use crate::resources::checks::{self, aws_diag};
use crate::resources::source::batch::start_job;
use crate::resources::source::model::owned_by;
use crate::resources::source::schema::{
    DEFAULT_REPORT_PREFIX, check_bucket_arn, check_report_prefix, check_role_arn, check_selectable_status,
};

/// The action type's name.
pub const TYPE_NAME: &str = "crossrepl_batch_replication";

/// How long an invocation waits for its job by default.
pub const DEFAULT_TIMEOUT: &str = "10m";

/// The longest wait between two DescribeJob calls.
const MAX_POLL: Duration = Duration::from_secs(15);

/// The Batch Replication action.
pub struct BatchReplication;

framework::model! {
    /// The configuration of one invocation.
    pub struct BatchReplicationModel {
        /// The source bucket.
        pub source_bucket: Known<String>,
        /// The completion report's bucket ARN.
        pub report_bucket_arn: Known<String>,
        /// The completion report's key prefix.
        pub report_prefix: Known<String>,
        /// The replication statuses of the objects to replicate.
        pub replication_statuses: Known<Set<Known<String>>>,
        /// The role the job runs as.
        pub role_arn: Known<String>,
        /// How long to wait for the job.
        pub timeout: Known<String>,
    }
}

fn check_timeout(t: &str) -> Result<(), String> {
    match parse_duration(t) {
        Some(d) if d <= Duration::from_secs(86_400) => Ok(()),
        _ => Err(format!("{t:?} is not a duration up to 24h (write it like `10m`, `1h30m` or `0s`).")),
    }
}

fn schema() -> ResourceSchema {
    BlockSpec::new("Starts an S3 Batch Replication job that replicates the objects a source bucket already holds (by the rules of its replication configuration), reports its progress, and waits for it to end. The job is the one a `crossrepl_source`'s `existing_objects` block starts on apply, here on demand: `terraform apply -invoke=action.crossrepl_batch_replication.<name>`, or from a resource's `lifecycle.action_trigger`. It runs as the batch role that block creates (`crossrepl-batch-<bucket>`) unless `role_arn` names another; an action creates no role. Terraform 1.14 or later; OpenTofu has no actions (use `existing_objects` there). AWS charges per job and per object: see the existing-objects guide.")
        .attr(Attr::string("source_bucket").required().validate(checks::bucket_name("Invalid bucket name")).describe("Name of the source bucket, e.g. `crossrepl_source.<name>.bucket`. It needs a replication configuration: the job replicates by its rules."))
        .attr(Attr::string("report_bucket_arn").required().validate(validator::string("Invalid report bucket ARN", "an S3 bucket ARN `arn:<partition>:s3:::<bucket>`.", check_bucket_arn)).describe("ARN of the bucket the job writes its completion report to (CSV, every task). The batch role crossrepl creates may write only under the `existing_objects` block's `report_prefix` of its `report_bucket_arn`: use the same bucket and prefix."))
        .attr(Attr::string("report_prefix").validate(validator::string("Invalid report prefix", "at most 512 characters, without `*` or `?`.", check_report_prefix)).describe("Key prefix of the completion report; S3 writes it under `<prefix>/job-<job id>/`. Default `crossrepl-batch-replication`, as in `existing_objects`."))
        .attr(Attr::string_set("replication_statuses").validate(validator::each_string("Invalid replication status", "`NONE` (never replicated) or `FAILED`.", check_selectable_status)).describe("Which objects the job replicates, by replication status: `NONE` (never replicated) and/or `FAILED` (failed replication, e.g. after a permission was fixed). Default `[\"NONE\"]`."))
        .attr(Attr::string("role_arn").validate(validator::string("Invalid role ARN", "an IAM role ARN `arn:<partition>:iam::<account>:role/<name>`.", check_role_arn)).describe("ARN of the role the job runs as (trusted by `batchoperations.s3.amazonaws.com`). Default: the batch role crossrepl created for the source bucket's `existing_objects` block; without one the invocation fails and says so."))
        .attr(Attr::string("timeout").validate(validator::string("Invalid timeout", "a duration up to 24h.", check_timeout)).describe("How long the invocation waits for the job to end (`10m`, `1h`, `0s` to start it and not wait). A job still running then goes on in S3, and a warning names it. Default `10m`."))
        .build(0)
}

/// What an invocation asks for, its defaults filled in.
struct Invocation {
    bucket: String,
    report_bucket_arn: String,
    report_prefix: String,
    statuses: Vec<String>,
    role_arn: Option<String>,
    timeout: Duration,
}

impl Invocation {
    /// `None` while a value is unknown (never at invoke time).
    fn of(c: &BatchReplicationModel) -> Option<Self> {
        let statuses = match &c.replication_statuses {
            Known::Null => vec!["NONE".to_string()],
            Known::Value(set) => set.0.iter().map(|s| s.known().cloned()).collect::<Option<_>>()?,
            Known::Unknown => return None,
        };
        let or_default = |v: &Known<String>, default: &str| match v {
            Known::Null => Some(default.to_string()),
            other => other.known().cloned(),
        };
        Some(Invocation {
            bucket: c.source_bucket.known()?.clone(),
            report_bucket_arn: c.report_bucket_arn.known()?.clone(),
            report_prefix: or_default(&c.report_prefix, DEFAULT_REPORT_PREFIX)?,
            statuses,
            role_arn: match &c.role_arn {
                Known::Unknown => return None,
                other => other.known().cloned(),
            },
            timeout: parse_duration(&or_default(&c.timeout, DEFAULT_TIMEOUT)?)?,
        })
    }
}

#[async_trait::async_trait]
impl Action<AwsClients> for BatchReplication {
    type Model = BatchReplicationModel;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    async fn invoke(&self, ctx: &Ctx<AwsClients>, c: &BatchReplicationModel, progress: &ActionProgress) -> Diagnostics {
        let Some(run) = Invocation::of(c) else {
            return Diagnostic::error(format!("{TYPE_NAME}: values not known"), "This is a bug in the engine.").into();
        };
        let aws = &ctx.client;
        let label = format!("{TYPE_NAME} of {}", run.bucket);
        let account = match aws.account_id().await {
            Ok(a) => a.to_string(),
            Err(e) => return aws_diag(&label, "reading the account id (sts:GetCallerIdentity)", &e).into(),
        };
        let role_arn = match batch_role(aws, &label, &run).await {
            Ok(arn) => arn,
            Err(d) => return d.into(),
        };
        let rules = match s3::replication(aws, &run.bucket).await {
            Ok(Some(cfg)) => cfg.rules,
            Ok(None) => return no_replication(&label, &run.bucket).into(),
            Err(e) => return aws_diag(&label, "reading the replication configuration", &e).into(),
        };
        let spec = BatchReplicationJob {
            account_id: account.clone(),
            source_bucket_arn: bucket_arn(Partition::of_region(&aws.region), &run.bucket),
            role_arn,
            prefixes: batch::prefixes(rules.iter().map(|r| (r.prefix.as_str(), r.enabled))),
            statuses: run.statuses.clone(),
            report_bucket_arn: run.report_bucket_arn.clone(),
            report_prefix: run.report_prefix.clone(),
            // Every invocation is a new job; retries of one CreateJob keep the token.
            client_token: batch::client_token(&run.bucket, &invocation_nonce(), None),
        };
        let id = match start_job(aws, &label, &spec).await {
            Ok(id) => id,
            Err(d) => return d.into(),
        };
        progress.report(format!("Batch Replication job {id} started for bucket {} as {}", run.bucket, spec.role_arn));
        follow(aws, &label, (&account, &id), &run, progress, ctx).await
    }
}

/// The role the job runs as: `role_arn`, else the batch role crossrepl created for the bucket (never another role
/// of that name).
async fn batch_role(aws: &AwsClients, label: &str, run: &Invocation) -> Result<String, Diagnostic> {
    if let Some(arn) = &run.role_arn {
        return Ok(arn.clone());
    }
    let name = batch_role_name_for_bucket(&run.bucket);
    let at = AttributePath::attr("role_arn");
    match iam::role(aws, &name).await {
        Ok(Some(r)) if owned_by(&r.tags, &run.bucket) => Ok(r.arn),
        Ok(Some(r)) => Err(Diagnostic::error(
            format!("{label}: role {name} was not created by crossrepl"),
            format!(
                "The batch role of bucket {} is named {name}, and the role of that name was not created by \
                 crossrepl. To run the job as that role anyway, set role_arn = \"{}\".",
                run.bucket, r.arn
            ),
        )
        .at(at)),
        Ok(None) => Err(Diagnostic::error(
            format!("{label}: no batch role"),
            format!(
                "The job runs as the batch role crossrepl creates for a crossrepl_source with an `existing_objects` \
                 block ({name}), and there is none. Add an `existing_objects` block to the crossrepl_source of \
                 bucket {} and apply it, or set `role_arn` to a role S3 Batch Operations may assume. An action \
                 creates no role: a role would outlive it.",
                run.bucket
            ),
        )
        .at(at)),
        Err(e) => Err(aws_diag(label, &format!("reading the batch role {name}"), &e).at(at)),
    }
}

fn no_replication(label: &str, bucket: &str) -> Diagnostic {
    Diagnostic::error(
        format!("{label}: bucket {bucket} has no replication configuration"),
        "S3 Batch Replication replicates by the rules of the source bucket's replication configuration. Apply the \
         crossrepl_source of this bucket first (with `depends_on` or a reference to it, the action waits for it).",
    )
    .at(AttributePath::attr("source_bucket"))
}

/// A value no other invocation has: the client token's input.
fn invocation_nonce() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("invoked {nanos} by process {}", std::process::id())
}

/// One progress line about a job.
fn status_line(id: &str, j: &s3control::Job) -> String {
    let t = j.tasks;
    if t.total == 0 {
        format!("job {id}: {}", j.status)
    } else {
        format!("job {id}: {} ({} of {} tasks succeeded, {} failed)", j.status, t.succeeded, t.total, t.failed)
    }
}

/// Reads the job until it ends, the wait bound passes or the engine asks to stop; progress on each change.
async fn follow(
    aws: &AwsClients,
    label: &str,
    (account, id): (&str, &str),
    run: &Invocation,
    progress: &ActionProgress,
    ctx: &Ctx<AwsClients>,
) -> Diagnostics {
    let deadline = Instant::now() + run.timeout;
    let mut pause = Duration::from_secs(1);
    let mut last = String::new();
    loop {
        match s3control::job(aws, account, id).await {
            Ok(Some(j)) => {
                let line = status_line(id, &j);
                if line != last {
                    progress.report(line.clone());
                    last = line;
                }
                if FINAL_STATUSES.contains(&j.status.as_str()) {
                    return ended(label, id, run, &j);
                }
            }
            // Just created: S3 may not answer for it yet.
            Ok(None) => {}
            Err(e) => {
                let mut d = aws_diag(label, &format!("reading Batch Replication job {id}"), &e);
                d.detail.push_str(&format!(" The job goes on in S3 (s3:DescribeJob on job {id} follows it)."));
                return d.into();
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Diagnostic::warning(
                format!("{label}: Batch Replication job {id} still running"),
                format!(
                    "It had not ended after {} (`timeout`); it goes on in S3. Follow it with `aws s3control \
                     describe-job --account-id {account} --job-id {id}`.",
                    humantime(run.timeout)
                ),
            )
            .into();
        }
        tokio::select! {
            () = tokio::time::sleep(pause.min(left)) => {}
            () = ctx.stop.stopped() => {
                return Diagnostic::error(
                    format!("{label}: stopped waiting for Batch Replication job {id}"),
                    "The engine asked the provider to stop; the job goes on in S3.",
                )
                .into();
            }
        }
        pause = (pause * 2).min(MAX_POLL);
    }
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

/// The diagnostics of a job that ended: none when every task succeeded.
fn ended(label: &str, id: &str, run: &Invocation, j: &s3control::Job) -> Diagnostics {
    let report = format!(
        "{}/{}job-{id}/",
        run.report_bucket_arn,
        Some(run.report_prefix.trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(|p| format!("{p}/"))
            .unwrap_or_default()
    );
    match j.status.as_str() {
        "Complete" if j.tasks.failed == 0 => Diagnostics::new(),
        "Complete" => Diagnostic::warning(
            format!("{label}: {} of {} objects not replicated by job {id}", j.tasks.failed, j.tasks.total),
            format!("The job ran; its completion report under {report} gives each object's error."),
        )
        .into(),
        status => {
            let why = if j.failure_reasons.is_empty() {
                "S3 gave no reason".to_string()
            } else {
                j.failure_reasons.join("; ")
            };
            Diagnostic::error(format!("{label}: Batch Replication job {id} {}", status.to_lowercase()), why).into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(statuses: Known<Set<Known<String>>>, timeout: Known<String>) -> BatchReplicationModel {
        BatchReplicationModel {
            source_bucket: Known::Value("src".into()),
            report_bucket_arn: Known::Value("arn:aws:s3:::rep".into()),
            report_prefix: Known::Null,
            replication_statuses: statuses,
            role_arn: Known::Null,
            timeout,
        }
    }

    #[test]
    fn defaults_match_existing_objects() {
        let run = Invocation::of(&model(Known::Null, Known::Null)).unwrap();
        assert_eq!(run.statuses, ["NONE"]);
        assert_eq!(run.report_prefix, DEFAULT_REPORT_PREFIX);
        assert_eq!(run.timeout, Duration::from_secs(600));
        assert_eq!(run.role_arn, None);
        let set = Set(vec![Known::Value("FAILED".to_string())]);
        let run = Invocation::of(&model(Known::Value(set), Known::Value("0s".into()))).unwrap();
        assert_eq!((run.statuses, run.timeout), (vec!["FAILED".to_string()], Duration::ZERO));
        assert!(Invocation::of(&model(Known::Unknown, Known::Null)).is_none());
    }

    #[test]
    fn timeouts_are_bounded_durations() {
        assert!(check_timeout("10m").is_ok() && check_timeout("24h").is_ok() && check_timeout("0s").is_ok());
        assert!(check_timeout("25h").is_err());
        assert!(check_timeout("ten minutes").is_err());
        assert_eq!(humantime(Duration::from_secs(600)), "10m");
        assert_eq!(humantime(Duration::from_secs(5400)), "1h30m0s");
    }

    #[test]
    fn a_failed_job_is_an_error_with_its_reasons() {
        let run = Invocation::of(&model(Known::Null, Known::Null)).unwrap();
        let job = |status: &str, failed: i64, reasons: &[&str]| s3control::Job {
            status: status.into(),
            failure_reasons: reasons.iter().map(|r| r.to_string()).collect(),
            tasks: s3control::Tasks { total: 3, succeeded: 3 - failed, failed },
        };
        assert!(ended("l", "j", &run, &job("Complete", 0, &[])).is_empty());
        let partly = ended("l", "j", &run, &job("Complete", 1, &[]));
        assert!(
            !partly.has_errors() && partly.0[0].detail.contains("crossrepl-batch-replication/job-j/"),
            "{partly:?}"
        );
        let failed = ended("l", "j", &run, &job("Failed", 0, &["AccessDenied: no s3:PutObject"]));
        assert!(failed.has_errors());
        assert_eq!(failed.0[0].detail, "AccessDenied: no s3:PutObject");
        assert!(ended("l", "j", &run, &job("Cancelled", 0, &[])).has_errors());
    }
}
