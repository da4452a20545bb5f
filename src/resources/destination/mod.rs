//! `crossrepl_destination`: in the destination account, versioning on the bucket, the bucket-policy statements
//! that let the source account's replication role write replicas, and a statement in the policy of each replica
//! key of this account that lets it encrypt them, each merged with whatever else the policy holds
//! ([`crate::resources::merged_policy`]).

pub mod import;
pub mod kms;
pub mod model;
pub mod plan;
pub mod schema;
pub mod validate;

use framework::{Ctx, Known, Outcome, PlanRequest, Resource, ResourceSchema};
use tfplugin::{Diagnostic, Diagnostics};

use self::model::{Desired, DestinationModel, InPlace};
use self::schema::TYPE_NAME;
use crate::aws::{AwsClients, AwsError, s3};
use crate::domain::arn::{AccountId, Partition};
use crate::resources::checks::{ACCOUNT_CHECKS, aws_diag, bucket_not_found, not_checked};
use crate::resources::merged_policy::{self, BucketPolicy};
use crate::resources::{bucket_settings, ensure_versioning};

/// What to do when the bucket policy would be over S3's limit with this source's entry.
const TOO_MANY_SOURCES: &str = "Each source role adds its ARN (and its account id, once per account) to crossrepl's \
    statement; beside this bucket's other statements no more fit. Admit the replication roles of an AWS \
    Organization with `source_organization_id` instead (one statement for every account), or make room in the \
    policy.";

/// The `crossrepl_destination` resource type.
pub struct DestinationResource;

fn label(m: &DestinationModel) -> String {
    format!("{TYPE_NAME} {:?}", m.bucket.known().map_or("?", String::as_str))
}

/// The account id: from the plan when it is known there (no call), else asked of STS once per process.
async fn account_of(aws: &AwsClients, planned: &DestinationModel) -> Result<String, AwsError> {
    match planned.account_id.known() {
        Some(a) if a.parse::<AccountId>().is_ok() => Ok(a.clone()),
        _ => aws.account_id().await.map(|a| a.to_string()),
    }
}

/// `planned`'s `default_kms_key_arn`, read now when the plan could not know it (the bucket did not exist yet);
/// null when it still cannot be read (no key policy then grants `kms:GenerateDataKey`).
async fn known_default_key(aws: &AwsClients, planned: &DestinationModel) -> DestinationModel {
    let mut m = planned.clone();
    if let (true, Some(bucket)) = (m.default_kms_key_arn.is_unknown(), m.bucket.known()) {
        let value = bucket_settings::default_key_value(&bucket_settings::default_key(aws, bucket).await);
        m.default_kms_key_arn = if value.is_unknown() { Known::Null } else { value };
    }
    m
}

/// Whether the bucket has Object Lock, for the grant: as planned when the plan knew it, else read now (unknown
/// when it cannot be read: a source then cannot check it).
async fn object_lock(aws: &AwsClients, bucket: &str, planned: &Known<bool>) -> Known<bool> {
    match planned {
        Known::Value(v) => Known::Value(*v),
        _ => s3::object_lock_enabled(aws, bucket).await.map_or(Known::Unknown, Known::Value),
    }
}

/// The grant's Object Lock as `m` records it.
fn recorded_lock(m: &DestinationModel) -> Known<bool> {
    m.grant.known().map_or(Known::Unknown, |g| g.object_lock.clone())
}

impl DestinationResource {
    /// Makes the bucket and the key policies match `planned`, concurrently: `prior`'s role (when another) leaves
    /// the bucket policy, its key-policy statement goes from keys no longer listed. A failure keeps `prior`; a
    /// create that admitted the source records what it made, for the next apply to finish.
    async fn apply(
        &self,
        ctx: &Ctx<AwsClients>,
        planned: &DestinationModel,
        prior: Option<&DestinationModel>,
    ) -> Outcome<DestinationModel> {
        let aws = &ctx.client;
        let label = label(planned);
        let fail = |d: Diagnostic| Outcome::with(prior.cloned(), d);
        let partition = Partition::of_region(&aws.region);
        let planned = known_default_key(aws, planned).await;
        let Some(want) = Desired::from_model(&planned, partition) else {
            return fail(Diagnostic::error(
                format!("{label}: incomplete plan"),
                "Required values are unknown at apply.",
            ));
        };
        let enable = planned.enable_versioning.known() != Some(&false);
        let recorded = recorded_lock(&planned);
        let policy = BucketPolicy { aws, bucket: &want.bucket };
        let prior_want = prior.and_then(|p| Desired::from_model(p, partition));
        let mut edits = want.admit();
        let keys: Vec<String> = edits.iter().map(|e| e.key()).collect();
        let released = prior_want.iter().filter(|p| p.bucket == want.bucket).flat_map(Desired::release);
        edits.extend(released.filter(|e| !keys.contains(&e.key())));
        // Versioning, the bucket policy and the key policies do not depend on each other: one round for all.
        let (versioning, account, lock, bucket_policy, mut diagnostics) = tokio::join!(
            ensure_versioning(aws, &label, &want.bucket, enable),
            account_of(aws, &planned),
            object_lock(aws, &want.bucket, &recorded),
            merged_policy::change(&policy, &ctx.stop, &edits, TOO_MANY_SOURCES),
            kms::sync(ctx, &label, &want, prior_want.as_ref())
        );
        let key_policies = diagnostics.is_empty();
        let bucket_gone = matches!(versioning, Ok(false));
        match versioning {
            Ok(true) => {}
            Ok(false) => diagnostics.push(bucket_not_found(&label, &want.bucket)),
            Err(d) => diagnostics.push(d),
        }
        let account = account.map_or_else(
            |e| {
                diagnostics.push(aws_diag(&label, "identifying the account", &e));
                Known::Null
            },
            Known::Value,
        );
        let wrote_policy = bucket_policy.is_ok();
        match bucket_policy {
            // No bucket, no policy: the error above says all.
            Err(_) if bucket_gone => {}
            Err(msg) => diagnostics.push(Diagnostic::error(format!("{label}: writing the bucket policy failed"), msg)),
            Ok(()) => {}
        }
        if diagnostics.is_empty() {
            return Outcome::ok(want.state(&planned, account, want.all_in_place(), lock));
        }
        // A create that admitted the source records it, so that the next apply finishes (or destroy takes it out).
        let in_place = InPlace { key_policies, ..want.all_in_place() };
        let made = wrote_policy.then(|| want.state(&planned, account, in_place, lock));
        Outcome { state: prior.cloned().or(made), diagnostics }
    }
}

#[async_trait::async_trait]
impl Resource<AwsClients> for DestinationResource {
    type Model = DestinationModel;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> ResourceSchema {
        schema::schema()
    }

    fn validate(&self, config: &DestinationModel) -> Diagnostics {
        validate::validate(config)
    }

    async fn plan(
        &self,
        ctx: Option<&Ctx<AwsClients>>,
        mut planned: DestinationModel,
        req: PlanRequest<'_, DestinationModel>,
    ) -> (DestinationModel, Diagnostics) {
        let Some(ctx) = ctx else { return (planned, Diagnostics::new()) };
        let aws = &ctx.client.planning();
        let mut unchecked = Diagnostics::new();
        let account = match req.prior.map(|p| &p.account_id) {
            Some(Known::Value(a)) if !req.replacing => Known::Value(a.clone()),
            _ => aws.account_id().await.map_or_else(
                |e| {
                    unchecked.push(not_checked(&label(&planned), ACCOUNT_CHECKS, &e));
                    Known::Unknown
                },
                |a| Known::Value(a.to_string()),
            ),
        };
        let Some(mut want) = Desired::from_model(&planned, Partition::of_region(&aws.region)) else {
            let unknown = Known::Unknown;
            let (id, bucket_arn, source_role_arn, statement_sid, default_kms_key_arn, kms_statement_sid) =
                (unknown.clone(), unknown.clone(), unknown.clone(), unknown.clone(), unknown.clone(), unknown);
            let planned = DestinationModel {
                id,
                bucket_arn,
                source_role_arn,
                statement_sid,
                default_kms_key_arn,
                kms_statement_sid,
                grant: Known::Unknown,
                ..planned
            };
            return (planned, Diagnostics::new());
        };
        // Planning a new object (create or replace): check read-only what apply would trip over.
        let new_object = req.prior.is_none() || req.replacing;
        let prior = req.prior.filter(|_| !new_object);
        // The bucket's Object Lock: read for a new object, else as the refresh before this plan recorded it.
        let lock = async {
            match prior {
                Some(p) => recorded_lock(p),
                None => object_lock(aws, &want.bucket, &Known::Unknown).await,
            }
        };
        let label = label(&planned);
        let checks = plan::preflight(aws, &label, &planned, prior, account.known().map(String::as_str));
        let ((default_key, diagnostics), lock) = tokio::join!(checks, lock);
        unchecked.extend(diagnostics);
        want.default_kms_key = default_key.known().cloned();
        planned.default_kms_key_arn = default_key;
        (want.state(&planned, account, want.all_in_place(), lock), unchecked)
    }

    async fn create(&self, ctx: &Ctx<AwsClients>, planned: &DestinationModel) -> Outcome<DestinationModel> {
        self.apply(ctx, planned, None).await
    }

    async fn read(&self, ctx: &Ctx<AwsClients>, state: &DestinationModel) -> Outcome<DestinationModel> {
        let aws = &ctx.client;
        let label = label(state);
        let Some(mut want) = Desired::from_model(state, Partition::of_region(&aws.region)) else {
            return Outcome::ok(state.clone());
        };
        let fail = |d: Diagnostic| Outcome::with(Some(state.clone()), d);
        let policy = BucketPolicy { aws, bucket: &want.bucket };
        let (versioning, doc, default_key, key_policies, lock) = tokio::join!(
            s3::versioning(aws, &want.bucket),
            merged_policy::read(&policy),
            bucket_settings::default_key(aws, &want.bucket),
            kms::read_policies(aws, &want.kms_keys),
            object_lock(aws, &want.bucket, &Known::Unknown)
        );
        let versioning = match versioning {
            Ok(Some(v)) => v,
            // The bucket is gone, and with it everything this resource managed.
            Ok(None) => return Outcome { state: None, diagnostics: Diagnostics::new() },
            Err(e) => return fail(aws_diag(&label, "reading versioning", &e)),
        };
        let bucket_policy = match doc {
            Ok(doc) => want.sid_in_place(doc.as_ref()),
            Err(msg) => return fail(Diagnostic::error(format!("{label}: reading the bucket policy failed"), msg)),
        };
        // The default key as it is now (its statement grants kms:GenerateDataKey); kept when it cannot be read.
        let mut base = state.clone();
        if let value @ (Known::Value(_) | Known::Null) = bucket_settings::default_key_value(&default_key) {
            base.default_kms_key_arn = value;
        }
        want.default_kms_key = base.default_kms_key_arn.known().cloned();
        let key_policies = match key_policies {
            Ok(docs) => kms::all_in_place(&want, &docs),
            Err(msg) => return fail(Diagnostic::error(format!("{label}: reading a key policy failed"), msg)),
        };
        let in_place = InPlace { bucket_policy, key_policies };
        let mut new_state = want.state(&base, state.account_id.clone(), in_place, lock);
        // Versioning drift shows as `enable_versioning` turning false; the plan then turns it back on.
        if state.enable_versioning == Known::Value(true) && versioning != s3::Versioning::Enabled {
            new_state.enable_versioning = Known::Value(false);
        }
        Outcome::ok(new_state)
    }

    async fn update(
        &self,
        ctx: &Ctx<AwsClients>,
        prior: &DestinationModel,
        planned: &DestinationModel,
    ) -> Outcome<DestinationModel> {
        self.apply(ctx, planned, Some(prior)).await
    }

    async fn delete(&self, ctx: &Ctx<AwsClients>, prior: &DestinationModel) -> Diagnostics {
        let Some(want) = Desired::from_model(prior, Partition::of_region(&ctx.client.region)) else {
            return Diagnostics::new();
        };
        let label = label(prior);
        // A bucket that is gone reads as having no policy, a key that is gone as having no key policy: nothing
        // left to remove.
        let policy = BucketPolicy { aws: &ctx.client, bucket: &want.bucket };
        let release = want.release();
        let (bucket_policy, mut diagnostics) = tokio::join!(
            merged_policy::change(&policy, &ctx.stop, &release, TOO_MANY_SOURCES),
            kms::remove(ctx, &label, &want.kms_keys, &want.kms_sid)
        );
        if let Err(msg) = bucket_policy {
            diagnostics.push(Diagnostic::error(format!("{label}: removing the bucket-policy statements failed"), msg));
        }
        diagnostics
    }

    async fn import(&self, ctx: &Ctx<AwsClients>, id: &str) -> Result<DestinationModel, Diagnostics> {
        import::import(&ctx.client, id).await
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
