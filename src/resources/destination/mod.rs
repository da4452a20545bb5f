//! `crossrepl_destination`: in the destination account, versioning on the bucket and the bucket-policy
//! statements that let the source account's replication role write replicas, merged with whatever else the
//! policy holds ([`crate::resources::merged_policy`]).

pub mod import;
pub mod model;
pub mod schema;

use framework::{Ctx, Known, Outcome, PlanRequest, Resource, ResourceSchema};
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use self::model::{Desired, DestinationModel};
use self::schema::TYPE_NAME;
use crate::aws::{AwsClients, AwsError, s3};
use crate::domain::arn::{AccountId, Partition};
use crate::resources::bucket_settings;
use crate::resources::checks::{aws_diag, bucket_not_found};
use crate::resources::merged_policy::{self, BucketPolicy};
use crate::resources::{ensure_versioning, preflight_bucket};

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

impl DestinationResource {
    /// Makes the bucket match `planned`; `stale` are Sids of a previous source role to remove. A failure keeps
    /// `prior` (nothing of this resource's changed meaningfully).
    async fn apply(
        &self,
        ctx: &Ctx<AwsClients>,
        planned: &DestinationModel,
        stale: &[String],
        prior: Option<&DestinationModel>,
    ) -> Outcome<DestinationModel> {
        let aws = &ctx.client;
        let label = label(planned);
        let fail = |d: Diagnostic| Outcome::with(prior.cloned(), d);
        let Some(want) = Desired::from_model(planned, Partition::of_region(&aws.region)) else {
            return fail(Diagnostic::error(
                format!("{label}: incomplete plan"),
                "Required values are unknown at apply.",
            ));
        };
        let enable = planned.enable_versioning.known() != Some(&false);
        let (versioning, account) =
            tokio::join!(ensure_versioning(aws, &label, &want.bucket, enable), account_of(aws, planned));
        match versioning {
            Ok(true) => {}
            Ok(false) => return fail(bucket_not_found(&label, &want.bucket)),
            Err(d) => return fail(d),
        }
        let account = match account {
            Ok(a) => a,
            Err(e) => return fail(aws_diag(&label, "identifying the account", &e)),
        };
        let demands = match bucket_settings::recorded(&planned.grant) {
            Some(d) => d,
            None => match bucket_settings::read(aws, &want.bucket, &account).await {
                Ok(d) => d,
                Err(e) => return fail(aws_diag(&label, "reading Object Lock and default encryption", &e)),
            },
        };
        let supersedes = |s: &crate::domain::policy::Statement| want.supersedes(s);
        let policy = BucketPolicy { aws, bucket: &want.bucket };
        if let Err(msg) = merged_policy::put(&policy, &ctx.stop, &want.owned(stale, &supersedes)).await {
            return fail(Diagnostic::error(format!("{label}: writing the bucket policy failed"), msg));
        }
        Outcome::ok(want.state(planned, Known::Value(account), true, Some(&demands)))
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

    async fn plan(
        &self,
        ctx: Option<&Ctx<AwsClients>>,
        planned: DestinationModel,
        req: PlanRequest<'_, DestinationModel>,
    ) -> (DestinationModel, Diagnostics) {
        let Some(ctx) = ctx else { return (planned, Diagnostics::new()) };
        let aws = &ctx.client;
        let account = match req.prior.map(|p| &p.account_id) {
            Some(Known::Value(a)) if !req.replacing => Known::Value(a.clone()),
            _ => aws.account_id().await.map_or(Known::Unknown, |a| Known::Value(a.to_string())),
        };
        let Some(want) = Desired::from_model(&planned, Partition::of_region(&aws.region)) else {
            let unknown = Known::Unknown;
            let (id, bucket_arn, source_role_arn, statement_sid) =
                (unknown.clone(), unknown.clone(), unknown.clone(), unknown);
            let grant = Known::Unknown;
            return (
                DestinationModel { id, bucket_arn, source_role_arn, statement_sid, grant, ..planned },
                Diagnostics::new(),
            );
        };
        // An existing object's bucket settings were read by the refresh before this plan.
        let new_object = req.prior.is_none() || req.replacing;
        let recorded = req.prior.filter(|_| !new_object).and_then(|p| bucket_settings::recorded(&p.grant));
        let Some(acct) = account.known().filter(|_| recorded.is_none()) else {
            return (want.state(&planned, account.clone(), true, recorded.as_ref()), Diagnostics::new());
        };
        // A new object (create or replace): check read-only what apply would trip over, and read the settings
        // (a bucket that does not exist yet leaves them unknown).
        let enable = planned.enable_versioning.known() != Some(&false);
        let checks = async {
            if !new_object {
                return Diagnostics::new();
            }
            preflight_bucket(aws, &label(&planned), acct, &want.bucket, enable, AttributePath::attr("bucket")).await
        };
        let (diagnostics, demands) = tokio::join!(checks, bucket_settings::read(aws, &want.bucket, acct));
        (want.state(&planned, account.clone(), true, demands.ok().as_ref()), diagnostics)
    }

    async fn create(&self, ctx: &Ctx<AwsClients>, planned: &DestinationModel) -> Outcome<DestinationModel> {
        self.apply(ctx, planned, &[], None).await
    }

    async fn read(&self, ctx: &Ctx<AwsClients>, state: &DestinationModel) -> Outcome<DestinationModel> {
        let aws = &ctx.client;
        let label = label(state);
        let Some(want) = Desired::from_model(state, Partition::of_region(&aws.region)) else {
            return Outcome::ok(state.clone());
        };
        let fail = |d: Diagnostic| Outcome::with(Some(state.clone()), d);
        let policy = BucketPolicy { aws, bucket: &want.bucket };
        let account = state.account_id.known().cloned().unwrap_or_default();
        let (versioning, doc, demands) = tokio::join!(
            s3::versioning(aws, &want.bucket),
            merged_policy::read(&policy),
            bucket_settings::read(aws, &want.bucket, &account)
        );
        let versioning = match versioning {
            Ok(Some(v)) => v,
            // The bucket is gone, and with it everything this resource managed.
            Ok(None) => return Outcome { state: None, diagnostics: Diagnostics::new() },
            Err(e) => return fail(aws_diag(&label, "reading versioning", &e)),
        };
        let no_stale: &[String] = &[];
        let supersedes = |s: &crate::domain::policy::Statement| want.supersedes(s);
        let statements_ok = match doc {
            Ok(doc) => doc.is_some_and(|d| want.owned(no_stale, &supersedes).in_place(&d)),
            Err(msg) => return fail(Diagnostic::error(format!("{label}: reading the bucket policy failed"), msg)),
        };
        let demands = match demands {
            Ok(d) => d,
            Err(e) => return fail(aws_diag(&label, "reading Object Lock and default encryption", &e)),
        };
        let mut new_state = want.state(state, state.account_id.clone(), statements_ok, Some(&demands));
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
        let partition = Partition::of_region(&ctx.client.region);
        let sids = |m: &DestinationModel| Desired::from_model(m, partition).map(|d| d.sids).unwrap_or_default();
        let new = sids(planned);
        let stale: Vec<String> = sids(prior).into_iter().filter(|s| !new.contains(s)).collect();
        self.apply(ctx, planned, &stale, Some(prior)).await
    }

    async fn delete(&self, ctx: &Ctx<AwsClients>, prior: &DestinationModel) -> Diagnostics {
        let Some(want) = Desired::from_model(prior, Partition::of_region(&ctx.client.region)) else {
            return Diagnostics::new();
        };
        // A bucket that is gone reads as having no policy: nothing left to remove.
        let policy = BucketPolicy { aws: &ctx.client, bucket: &want.bucket };
        match merged_policy::take_out(&policy, &ctx.stop, &want.sids).await {
            Ok(()) => Diagnostics::new(),
            Err(msg) => {
                Diagnostic::error(format!("{}: removing the bucket-policy statements failed", label(prior)), msg).into()
            }
        }
    }

    async fn import(&self, ctx: &Ctx<AwsClients>, id: &str) -> Result<DestinationModel, Diagnostics> {
        import::import(&ctx.client, id).await
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
