//! `crossrepl_source`: in the source account, the replication role and its least-privilege policy, versioning
//! on the source bucket, and the replication configuration with one rule per `destination` block.
//!
//! [`schema`] declares the attributes; [`model`] holds them typed; [`validate`] checks across them; [`plan`]
//! computes ARNs and runs the plan-time checks; [`observe`] reads what exists, [`reconcile`] makes it match;
//! [`ownership`] is the refusal to adopt, shared by plan and apply; [`import`] builds a state from AWS; [`keys`]
//! resolves replica keys given by alias.

pub mod batch;
pub mod destinations;
pub mod import;
pub mod keys;
pub mod model;
pub mod observe;
pub mod ownership;
pub mod plan;
pub mod reconcile;
pub mod schema;
pub mod validate;
pub mod verify;

use framework::{Ctx, Known, Outcome, PlanRequest, Resource, ResourceSchema};
use tfplugin::{Diagnostic, Diagnostics};

use self::model::{Desired, SourceModel, is_existing_role, map_value};
use self::observe::observe;
use self::reconcile::Reconcile;
use self::schema::{OWNER_TAG, TYPE_NAME};
use crate::aws::{AwsClients, AwsError, ErrorKind, iam, s3};
use crate::domain::arn::{AccountId, Partition, account_of};
use crate::resources::checks::{ACCOUNT_CHECKS, aws_diag, not_checked};

/// The `crossrepl_source` resource type.
pub struct SourceResource;

fn label(m: &SourceModel) -> String {
    format!("{TYPE_NAME} {:?}", m.bucket.known().map_or("?", String::as_str))
}

/// The account and partition of the provider block: the account from the role or policy ARN of `m` when known
/// and crossrepl's (no call), else asked of STS once per process. An existing role's ARN is not used: it may name
/// another account, which plan refuses.
async fn context(aws: &AwsClients, m: &SourceModel) -> Result<(String, &'static Partition), AwsError> {
    let partition = Partition::of_region(&aws.region);
    let role_arn = if is_existing_role(m) { &Known::Null } else { &m.role_arn };
    let from_arn = [role_arn, &m.policy_arn].into_iter().find_map(|arn| {
        let account = account_of(arn.known()?)?;
        account.parse::<AccountId>().is_ok().then(|| account.to_string())
    });
    match from_arn {
        Some(account) => Ok((account, partition)),
        None => Ok((aws.account_id().await?.to_string(), partition)),
    }
}

/// The replication role carries policies crossrepl did not put there (an adopted or imported role, or a later
/// change by hand): reported, never kept or removed silently.
fn other_policies(label: &str, role: &str, policies: &[String]) -> Diagnostic {
    Diagnostic::warning(
        format!("{label}: role {role} has policies crossrepl does not manage"),
        format!(
            "Besides its crossrepl policy the replication role has {}. They widen what S3 may do as this role, and \
             crossrepl neither manages nor removes them (destroy fails while they are attached). Detach or delete \
             them unless they are meant to stay.",
            policies.join(", ")
        ),
    )
    .at(tfplugin::AttributePath::attr("role_name"))
}

impl SourceResource {
    async fn converge(
        &self,
        ctx: &Ctx<AwsClients>,
        planned: &SourceModel,
        old: Option<Desired>,
        prior: Option<&SourceModel>,
    ) -> Outcome<SourceModel> {
        let label = label(planned);
        let (account, partition) = match context(&ctx.client, planned).await {
            Ok(v) => v,
            Err(e) => return Outcome::with(None, aws_diag(&label, "identifying the account", &e)),
        };
        // Aliases unknown at plan time (created in the same apply) are resolved now.
        let mut planned = planned.clone();
        let resolved = planned.clone();
        let ds = keys::resolve(&ctx.client, &label, &mut planned, Some(&resolved), keys::Missing::Error).await;
        if ds.has_errors() {
            return Outcome { state: None, diagnostics: ds };
        }
        let want = match Desired::from_model(&planned, partition, &account, &ctx.client.region) {
            Ok(w) => w,
            Err(msg) => return Outcome::with(None, Diagnostic::error(format!("{label}: invalid plan"), msg)),
        };
        if !want.existing_role
            && let Err(d) = plan::policy_size(&label, &want)
        {
            return Outcome::with(None, d);
        }
        Reconcile { ctx, label, partition, account, planned: &planned, want }.converge(old, prior).await
    }
}

#[async_trait::async_trait]
impl Resource<AwsClients> for SourceResource {
    type Model = SourceModel;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> ResourceSchema {
        schema::schema()
    }

    fn validate(&self, config: &SourceModel) -> Diagnostics {
        validate::validate(config)
    }

    async fn plan(
        &self,
        ctx: Option<&Ctx<AwsClients>>,
        mut planned: SourceModel,
        req: PlanRequest<'_, SourceModel>,
    ) -> (SourceModel, Diagnostics) {
        plan::existing_role_names(&mut planned, req.config);
        plan::derived_ids(&mut planned, req.config);
        plan::rerun_on_trigger(&mut planned, req.prior.filter(|_| !req.replacing));
        let overlaps = validate::overlaps(&planned, req.config);
        let Some(ctx) = ctx else {
            plan::unknown_arns(&mut planned);
            verify::rerun(&mut planned, req.prior.filter(|_| !req.replacing));
            return (planned, overlaps);
        };
        let aws = &ctx.client.planning();
        let prior = req.prior.filter(|_| !req.replacing); // a replacement is a new object: check it as a create
        let mut unchecked = None;
        let (account, partition) = match context(aws, req.prior.unwrap_or(&planned)).await {
            Ok((a, p)) => (Some(a), p),
            Err(e) => {
                unchecked = Some(not_checked(&label(&planned), ACCOUNT_CHECKS, &e));
                (None, Partition::of_region(&aws.region))
            }
        };
        plan::computed_arns(&mut planned, partition, account.as_deref());
        let mut diagnostics = keys::resolve(aws, &label(&planned), &mut planned, prior, keys::Missing::Error).await;
        diagnostics.0.extend(unchecked);
        if let Some(a) = &account {
            diagnostics.extend(plan::preflight(aws, &label(&planned), &planned, prior, a, partition).await);
        }
        let want = account.as_deref().and_then(|a| Desired::from_model(&planned, partition, a, &aws.region).ok());
        if let Some(Err(d)) = want.as_ref().filter(|w| !w.existing_role).map(|w| plan::policy_size(&label(&planned), w))
        {
            diagnostics.push(d);
        }
        let want_ref = want.as_ref();
        verify::rerun(&mut planned, prior);
        diagnostics.extend(verify::preflight(aws, &label(&planned), &planned, want_ref).await);
        diagnostics.extend(overlaps);
        (planned, diagnostics)
    }

    async fn create(&self, ctx: &Ctx<AwsClients>, planned: &SourceModel) -> Outcome<SourceModel> {
        self.converge(ctx, planned, None, None).await
    }

    async fn read(&self, ctx: &Ctx<AwsClients>, state: &SourceModel) -> Outcome<SourceModel> {
        let label = label(state);
        let keep = |d: Diagnostic| Outcome::with(Some(state.clone()), d);
        let (account, partition) = match context(&ctx.client, state).await {
            Ok(v) => v,
            Err(e) => return keep(aws_diag(&label, "identifying the account", &e)),
        };
        // Aliases are read again: one pointed at another key shows as a change of the target and of the policy.
        let mut state = state.clone();
        let mut diagnostics = keys::resolve(&ctx.client, &label, &mut state, None, keys::Missing::Warn).await;
        if diagnostics.has_errors() {
            return Outcome { state: Some(state), diagnostics };
        }
        let state = &state;
        let want = match Desired::from_model(state, partition, &account, &ctx.client.region) {
            Ok(w) => w,
            Err(msg) => return keep(Diagnostic::error(format!("{label}: unreadable state"), msg)),
        };
        let seen = match observe(&ctx.client, &want).await {
            Ok(o) => o,
            Err((step, e)) => return keep(aws_diag(&label, &step, &e)),
        };
        if !seen.bucket_exists {
            return Outcome { state: None, diagnostics: Diagnostics::new() };
        }
        let mut new_state =
            want.state(state, partition, seen.role_ok(&want), seen.policy_ok(&want), &seen.rules_ok(&want));
        // Keep user-facing attributes honest so drift shows as a diff on them.
        if let Some(role) = &seen.role {
            let tags = role.tags.iter().filter(|(k, _)| k != OWNER_TAG).cloned().collect();
            new_state.tags = match map_value(tags) {
                Known::Null if !state.tags.is_null() => Known::Value(Default::default()),
                other => other,
            };
            new_state.permissions_boundary = Known::from(role.permissions_boundary.clone());
        }
        if let Some(block) = state.existing_objects.known().and_then(|b| b.first()) {
            match batch::refresh(&ctx.client, &want, &account, block).await {
                Ok(block) => new_state.existing_objects = Known::Value(vec![block]),
                Err((step, e)) => diagnostics.push(aws_diag(&label, &step, &e)),
            }
        }
        if want.enable_versioning && seen.versioning != s3::Versioning::Enabled {
            new_state.enable_versioning = Known::Value(false);
        }
        if !seen.other_policies.is_empty() {
            diagnostics.push(other_policies(&label, &want.role_name, &seen.other_policies));
        }
        Outcome { state: Some(new_state), diagnostics }
    }

    async fn update(&self, ctx: &Ctx<AwsClients>, prior: &SourceModel, planned: &SourceModel) -> Outcome<SourceModel> {
        let old = match context(&ctx.client, prior).await {
            Ok((account, partition)) => Desired::from_model(prior, partition, &account, &ctx.client.region).ok(),
            Err(_) => None,
        };
        self.converge(ctx, planned, old, Some(prior)).await
    }

    async fn delete(&self, ctx: &Ctx<AwsClients>, prior: &SourceModel) -> Diagnostics {
        let aws = &ctx.client;
        let label = label(prior);
        let (account, partition) = match context(aws, prior).await {
            Ok(v) => v,
            Err(e) => return aws_diag(&label, "identifying the account", &e).into(),
        };
        let Ok(want) = Desired::from_model(prior, partition, &account, &aws.region) else { return Diagnostics::new() };
        // The replication configuration goes first: S3 needs the role until then. Only ours is removed; an existing
        // role (role_arn set) and its policies are never touched.
        match s3::replication(aws, &want.bucket).await {
            Ok(Some(cfg)) if cfg.role == want.configuration.role => {
                if let Err(e) = s3::delete_replication(aws, &want.bucket).await {
                    return aws_diag(&label, "deleting the replication configuration", &e).into();
                }
            }
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return aws_diag(&label, "reading the replication configuration", &e).into(),
        }
        let batch_ds = match &want.batch {
            Some(b) => batch::remove(aws, &label, &want.bucket, b).await,
            None => Diagnostics::new(),
        };
        if want.existing_role || batch_ds.has_errors() {
            return batch_ds;
        }
        if let Err(e) = iam::detach(aws, &want.role_name, &want.policy_arn).await
            && e.kind != ErrorKind::NotFound
        {
            return aws_diag(&label, "detaching the policy", &e).into();
        }
        let (p, r) = tokio::join!(iam::delete_policy(aws, &want.policy_arn), iam::delete_role(aws, &want.role_name));
        let mut ds = Diagnostics::new();
        if let Err(e) = p {
            ds.push(aws_diag(&label, "deleting the policy", &e));
        }
        if let Err(e) = r {
            ds.push(aws_diag(&label, "deleting the role", &e));
        }
        ds
    }

    async fn import(&self, ctx: &Ctx<AwsClients>, id: &str) -> Result<SourceModel, Diagnostics> {
        import::import(&ctx.client, id).await
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
