//! `crossrepl_source`: in the source account, the replication role and its least-privilege policy, versioning
//! on the source bucket, and the replication configuration with one rule per `destination` block.

use std::collections::BTreeMap;

use aws_sdk_s3::types::ReplicationConfiguration;
use tfplugin::{AttributePath, Diagnostic, Diagnostics, Value};

use super::{aws_diag, bucket_arn, partition, policy_arn, retry_diag, role_arn, str_attr};
use crate::aws::{AwsClients, AwsError, ErrorKind, iam, s3};
use crate::framework::plan::{default_plan, set_attrs};
use crate::framework::resource::PlanOutcome;
use crate::framework::schema::{Attr, BlockSpec, ResourceSchema};
use crate::framework::{ApplyOutcome, Ctx, ReadOutcome, Resource};
use crate::policy::{self, DestinationGrant, PolicyDocument, RolePolicyInput};
use crate::replication::{self, DestinationSpec};
use crate::retry::{Backoff, retry};
use crate::validate;

/// The `crossrepl_source` resource type.
pub struct SourceResource;

const TYPE_NAME: &str = "crossrepl_source";

/// Tag crossrepl puts on the role and the policy it creates, naming the source bucket. It is how a re-run after
/// an interrupted create (a killed provider or engine, a lost answer) recognises its own role and policy instead
/// of refusing them as foreign. It never shows in the `tags` attribute.
const OWNER_TAG: &str = "crossrepl:source-bucket";
/// IAM's 50 tags per role or policy, less the ownership tag.
const MAX_USER_TAGS: usize = 49;

fn schema() -> ResourceSchema {
    let destination = BlockSpec::new("One replication rule: where replicas of (part of) the bucket go.")
        .attr(Attr::string("bucket_arn").required().describe("ARN of the destination bucket, e.g. `crossrepl_destination.dr.bucket_arn`."))
        .attr(Attr::string("account_id").describe("Account owning the destination bucket, e.g. `crossrepl_destination.dr.account_id`. Omit for same-account replication."))
        .attr(Attr::string("prefix").describe("Replicate only keys with this prefix. Default: every object."))
        .attr(Attr::string_map("tags").describe("Replicate only objects carrying all these tags (requires `delete_marker_replication = false`)."))
        .attr(Attr::string("storage_class").describe("Storage class of the replicas (`STANDARD`, `STANDARD_IA`, `ONEZONE_IA`, `INTELLIGENT_TIERING`, `GLACIER`, `GLACIER_IR`, `DEEP_ARCHIVE`, `REDUCED_REDUNDANCY`). Default: the source object's class."))
        .attr(Attr::bool("delete_marker_replication").default(Value::Bool(true)).describe("Replicate delete markers. Default `true`."))
        .attr(Attr::bool("owner_override").default(Value::Bool(false)).describe("Make the destination account own the replicas (needs `account_id`). Default `false`."))
        .attr(Attr::string("replica_kms_key_arn").describe("KMS key ARN (in the destination's region) to encrypt replicas with."))
        .attr(Attr::string_set("source_kms_key_arns").describe("KMS key ARNs source objects are encrypted with; set to replicate SSE-KMS objects (needs `replica_kms_key_arn`)."))
        .attr(Attr::bool("replication_time_control").default(Value::Bool(false)).describe("S3 Replication Time Control (15 minutes), with replication metrics. Default `false`."))
        .attr(Attr::bool("replica_modifications").default(Value::Bool(false)).describe("Replicate metadata changes made on replicas (for two-way replication). Default `false`."))
        .attr(Attr::number("priority").optional_computed().describe("Rule priority. Default: the block's position (1, 2, ...), so appending a destination changes no other rule."))
        .attr(Attr::bool("enabled").default(Value::Bool(true)).describe("Whether the rule is enabled. Default `true`."))
        .attr(Attr::string("rule_id").optional_computed().describe("Id of the replication rule. Default: `crossrepl-<destination bucket>`. Set it to keep an existing rule's id when adopting a hand-written setup (see the migration guide). Empty after a refresh that found the rule missing or changed; the next apply restores it."));
    BlockSpec::new(
        "Replicates an existing bucket of this account to one or more destination buckets: creates the \
         replication role and its least-privilege policy, turns versioning on, and writes the replication \
         configuration (one rule per `destination`). Never adopts a role, policy or replication configuration \
         it did not create: import them instead.",
    )
    .attr(Attr::string("id").computed().describe("The source bucket name, also the import id."))
    .attr(Attr::string("bucket").required().force_new().describe("Name of the source bucket. It must already exist in this provider's account and region. Changing it replaces the resource."))
    .attr(Attr::string("role_name").optional_computed().describe("Name of the replication role. Default: derived from the bucket (`crossrepl-<bucket>`, shortened with a hash past 64 characters)."))
    .attr(Attr::string("policy_name").optional_computed().describe("Name of the role's managed policy. Default: derived from the bucket (`crossrepl-policy-<bucket>`)."))
    .attr(Attr::string("role_path").default(Value::from("/")).describe("IAM path of the role and the policy. Default `/`."))
    .attr(Attr::string("permissions_boundary").describe("ARN of a managed policy to set as the role's permissions boundary."))
    .attr(Attr::string_map("tags").describe("Tags for the role and the policy."))
    .attr(Attr::bool("enable_versioning").default(Value::Bool(true)).describe("Turn versioning on when it is off (default). With `false`, apply fails unless versioning is already enabled. Versioning stays enabled on destroy: S3 cannot turn it off."))
    .attr(Attr::string("role_arn").computed().describe("ARN of the replication role. Empty after a refresh that found the role missing or its trust policy changed."))
    .attr(Attr::string("policy_arn").computed().describe("ARN of the role's policy. Empty after a refresh that found it missing, changed or detached."))
    .attr(Attr::string("bucket_arn").computed().describe("ARN of the source bucket."))
    .list_block("destination", destination, 1, replication::MAX_DESTINATIONS as i64)
    .build(0)
}

/// Everything the resource derives from a (planned or stored) state.
struct Desired {
    bucket: String,
    role_name: String,
    policy_name: String,
    path: String,
    boundary: Option<String>,
    tags: Vec<(String, String)>,
    enable_versioning: bool,
    role_arn: String,
    policy_arn: String,
    trust: PolicyDocument,
    permissions: PolicyDocument,
    dests: Vec<DestinationSpec>,
    configuration: ReplicationConfiguration,
}

impl Desired {
    /// The user's tags plus the ownership tag: what the role and the policy carry in AWS.
    fn aws_tags(&self) -> Vec<(String, String)> {
        let mut tags = self.tags.clone();
        tags.push((OWNER_TAG.to_string(), self.bucket.clone()));
        tags.sort();
        tags
    }

    /// Whether `tags` carry this resource's ownership tag.
    fn owns(&self, tags: &[(String, String)]) -> bool {
        tags.iter().any(|(k, v)| k == OWNER_TAG && *v == self.bucket)
    }

    fn from(v: &Value, part: &str, account: &str, region: &str) -> Result<Desired, String> {
        let need = |name: &str| str_attr(v, name).map(str::to_string).ok_or_else(|| format!("`{name}` is not known"));
        let bucket = need("bucket")?;
        let role_name = need("role_name")?;
        let policy_name = need("policy_name")?;
        let path = str_attr(v, "role_path").unwrap_or("/").to_string();
        let dests: Vec<DestinationSpec> =
            v.get("destination").as_elements().unwrap_or(&[]).iter().map(DestinationSpec::from_value).collect();
        let role_arn = role_arn(part, account, &path, &role_name);
        let trust = policy::replication_trust_policy(part, account, &bucket);
        let permissions = policy::replication_role_policy(&RolePolicyInput {
            partition: part.to_string(),
            source_bucket: bucket.clone(),
            region: region.to_string(),
            destinations: dests
                .iter()
                .map(|d| DestinationGrant {
                    bucket_arn: d.bucket_arn.clone(),
                    owner_override: d.owner_override,
                    replica_kms_key_arn: d.replica_kms_key_arn.clone(),
                })
                .collect(),
            source_kms_key_arns: dests.iter().flat_map(|d| d.source_kms_key_arns.iter().cloned()).collect(),
        })
        .map_err(|e| e.to_string())?;
        let configuration = replication::build_configuration(&role_arn, &dests)?;
        Ok(Desired {
            policy_arn: policy_arn(part, account, &path, &policy_name),
            boundary: str_attr(v, "permissions_boundary").map(str::to_string),
            tags: v
                .get("tags")
                .as_entries()
                .map(|m| m.iter().filter_map(|(k, x)| Some((k.clone(), x.as_str()?.to_string()))).collect())
                .unwrap_or_default(),
            enable_versioning: v.get("enable_versioning").as_bool().unwrap_or(true),
            bucket,
            role_name,
            policy_name,
            path,
            role_arn,
            trust,
            permissions,
            dests,
            configuration,
        })
    }
}

fn label(v: &Value) -> String {
    format!("{TYPE_NAME} {:?}", str_attr(v, "bucket").unwrap_or("?"))
}

fn validate_config(config: &Value) -> Diagnostics {
    let mut ds = Diagnostics::new();
    validate::string_attr(&mut ds, config, "bucket", replication::validate_bucket_name, "Invalid bucket name");
    validate::string_attr(&mut ds, config, "role_name", validate::iam_name, "Invalid role name");
    validate::string_attr(&mut ds, config, "policy_name", validate::iam_name, "Invalid policy name");
    validate::string_attr(&mut ds, config, "role_path", validate::iam_path, "Invalid role path");
    validate::string_attr(
        &mut ds,
        config,
        "permissions_boundary",
        validate::policy_arn,
        "Invalid permissions boundary",
    );
    if let Some(tags) = config.get("tags").as_entries() {
        if tags.len() > MAX_USER_TAGS {
            ds.push(
                Diagnostic::error(
                    "Too many tags",
                    format!(
                        "IAM allows 50 tags per role or policy, and crossrepl adds its ownership tag \
                         ({OWNER_TAG}); set at most {MAX_USER_TAGS}, not {}.",
                        tags.len()
                    ),
                )
                .at(AttributePath::attr("tags")),
            );
        }
        for (k, v) in tags {
            let value_ok = v.as_str().is_none_or(|s| s.len() <= 256);
            if k.is_empty() || k.len() > 128 || k.starts_with("aws:") || !value_ok {
                ds.push(
                    Diagnostic::error(
                        "Invalid tag",
                        "IAM tag keys have 1 to 128 characters and may not start with `aws:`; values at most 256.",
                    )
                    .at(AttributePath::attr("tags").with_key(k.clone())),
                );
            }
        }
    }
    if let Some(dests) = config.get("destination").as_elements() {
        ds.extend(replication::validate_destinations(config.get("bucket").as_str(), dests));
    }
    ds
}

/// Why replication may fail right after the role or versioning changed: IAM and S3 are eventually consistent.
fn propagation_retryable(e: &AwsError) -> bool {
    matches!(e.kind, ErrorKind::Transient | ErrorKind::Conflict | ErrorKind::AccessDenied)
        || e.is_code("InvalidRequest")
        || e.is_code("InvalidArgument")
}

/// What a read found, part by part.
struct Observed {
    bucket_exists: bool,
    versioning: s3::Versioning,
    role: Option<iam::Role>,
    policy_document: Option<PolicyDocument>,
    attached: bool,
    configuration: Option<ReplicationConfiguration>,
}

async fn observe(client: &AwsClients, want: &Desired) -> Result<Observed, (String, AwsError)> {
    let step = |s: &'static str| move |e: AwsError| (s.to_string(), e);
    // Every part is read concurrently; GetBucketVersioning doubles as the existence check of the bucket.
    let policy_doc = async {
        let text = iam::default_policy_document(&client.iam, &want.policy_arn).await?;
        // A document we cannot parse still exists: it is drift to overwrite, never a policy to create.
        Ok::<_, AwsError>(text.map(|t| PolicyDocument::parse(&t).unwrap_or_else(|_| PolicyDocument::new(Vec::new()))))
    };
    let attached = async {
        match iam::attached_policies(&client.iam, &want.role_name).await {
            Ok(arns) => Ok(arns.contains(&want.policy_arn)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    };
    let (versioning, role, policy_document, attached, configuration) = tokio::join!(
        s3::versioning(&client.s3, &want.bucket),
        iam::role(&client.iam, &want.role_name),
        policy_doc,
        attached,
        s3::replication(&client.s3, &want.bucket),
    );
    let Some(versioning) = versioning.map_err(step("reading versioning"))? else {
        return Ok(Observed {
            bucket_exists: false,
            versioning: s3::Versioning::Off,
            role: None,
            policy_document: None,
            attached: false,
            configuration: None,
        });
    };
    Ok(Observed {
        bucket_exists: true,
        versioning,
        role: role.map_err(step("reading the role"))?,
        policy_document: policy_document.map_err(step("reading the role policy"))?,
        attached: attached.map_err(step("reading the role's policies"))?,
        configuration: configuration.map_err(step("reading the replication configuration"))?,
    })
}

fn role_matches(want: &Desired, role: &iam::Role) -> bool {
    role.path == want.path && PolicyDocument::parse(&role.trust_policy).is_ok_and(|t| t.semantically_equal(&want.trust))
}

/// Rule ids that S3 holds exactly as we would write them (all `None` when the configuration is foreign or has
/// rules we did not write).
fn matching_rules(want: &Desired, actual: Option<&ReplicationConfiguration>) -> Vec<bool> {
    let Some(actual) = actual else { return vec![false; want.dests.len()] };
    let ours = want.configuration.rules();
    let extra = actual.rules().iter().any(|r| !ours.iter().any(|o| o.id() == r.id()));
    if actual.role() != want.configuration.role() || extra {
        return vec![false; want.dests.len()];
    }
    ours.iter().map(|o| actual.rules().iter().any(|r| r.id() == o.id() && replication::rules_equal(r, o))).collect()
}

/// The state recording what exists: computed attributes are set for parts that exist and match, null otherwise.
fn state_of(base: &Value, want: &Desired, part: &str, role_ok: bool, policy_ok: bool, rules_ok: &[bool]) -> Value {
    let mut state = base.clone();
    set_attrs(
        &mut state,
        [
            ("id", Value::from(want.bucket.clone())),
            ("bucket_arn", Value::from(bucket_arn(part, &want.bucket))),
            ("role_arn", if role_ok { Value::from(want.role_arn.clone()) } else { Value::Null }),
            ("policy_arn", if policy_ok { Value::from(want.policy_arn.clone()) } else { Value::Null }),
        ],
    );
    if let Some(Value::List(dests)) =
        crate::framework::plan::attrs_mut(&mut state).and_then(|m| m.get_mut("destination"))
    {
        for (i, d) in dests.iter_mut().enumerate() {
            let spec = &want.dests[i.min(want.dests.len().saturating_sub(1))];
            let ok = rules_ok.get(i).copied().unwrap_or(false);
            set_attrs(
                d,
                [
                    ("rule_id", if ok { Value::from(replication::rule_id(i, spec)) } else { Value::Null }),
                    ("priority", Value::int(replication::effective_priority(i, spec) as i64)),
                ],
            );
        }
    }
    state
}

impl SourceResource {
    /// The account id and partition: the account from the role or policy ARN in `v` when known (no call),
    /// else asked of STS once per process.
    async fn context(ctx: &Ctx<AwsClients>, v: &Value) -> Result<(String, &'static str), AwsError> {
        let part = partition(&ctx.client.region);
        let from_arn = ["role_arn", "policy_arn"].iter().find_map(|k| {
            let account = v.get(k).as_str()?.split(':').nth(4)?;
            validate::account_id(account).is_ok().then(|| account.to_string())
        });
        match from_arn {
            Some(account) => Ok((account, part)),
            None => Ok((ctx.client.account_id().await?.to_string(), part)),
        }
    }

    /// Makes AWS match `planned`. With `adopt_nothing` (create), refuses to touch a role, policy or replication
    /// configuration that already exists. `old` is the prior desired state on update, whose role and policy are
    /// removed when their names changed. Returns the state of what exists, even on error.
    async fn converge(
        &self,
        ctx: &Ctx<AwsClients>,
        planned: &Value,
        old: Option<Desired>,
        create: bool,
    ) -> ApplyOutcome {
        let client = &ctx.client;
        let label = label(planned);
        let (account, part) = match Self::context(ctx, planned).await {
            Ok(v) => v,
            Err(e) => return fail(Value::Null, aws_diag(&label, "identifying the account", &e)),
        };
        let want = match Desired::from(planned, part, &account, &client.region) {
            Ok(w) => w,
            Err(msg) => return fail(Value::Null, Diagnostic::error(format!("{label}: invalid plan"), msg)),
        };
        let nothing = vec![false; want.dests.len()];
        let before = if create { Value::Null } else { state_of(planned, &want, part, false, false, &nothing) };
        let seen = match observe(client, &want).await {
            Ok(o) => o,
            Err((step, e)) => return fail(before, aws_diag(&label, &step, &e)),
        };
        if !seen.bucket_exists {
            return fail(
                before,
                Diagnostic::error(
                    format!("{label}: bucket not found"),
                    format!(
                        "Bucket {} does not exist or is not visible to this provider block's account. Create it first \
                         (crossrepl never creates or deletes buckets), or check the provider's credentials and region.",
                        want.bucket
                    ),
                )
                .at(AttributePath::attr("bucket")),
            );
        }
        if create && let Some(d) = refuse_foreign(client, &label, &want, &seen).await {
            return fail(Value::Null, d);
        }

        // Versioning, role and policy are independent: do them concurrently.
        let versioning = async {
            if seen.versioning == s3::Versioning::Enabled {
                return Ok(());
            }
            if !want.enable_versioning {
                return Err(Diagnostic::error(
                    format!("{label}: versioning is off"),
                    format!(
                        "Replication needs versioning on bucket {}, and enable_versioning = false. Enable versioning \
                         on the bucket or set enable_versioning = true.",
                        want.bucket
                    ),
                )
                .at(AttributePath::attr("enable_versioning")));
            }
            s3::enable_versioning(&client.s3, &want.bucket)
                .await
                .map_err(|e| aws_diag(&label, "enabling versioning", &e))
        };
        let role = ensure_role(client, &want, seen.role.as_ref(), &label);
        let permissions = ensure_policy(client, &want, seen.policy_document.as_ref(), &label);
        let (versioning, role, permissions) = tokio::join!(versioning, role, permissions);
        let mut ds = Diagnostics::new();
        let role_ok = role.map_err(|d| ds.push(d)).is_ok();
        let mut policy_ok = permissions.map_err(|d| ds.push(d)).is_ok();
        let versioning_ok = versioning.map_err(|d| ds.push(d)).is_ok();
        if role_ok
            && policy_ok
            && !seen.attached
            && let Err(e) = iam::attach(&client.iam, &want.role_name, &want.policy_arn).await
        {
            ds.push(aws_diag(&label, "attaching the policy to the role", &e));
            policy_ok = false;
        }
        let partial = |ds: Diagnostics, rules: &[bool]| ApplyOutcome {
            state: state_of(planned, &want, part, role_ok, policy_ok, rules),
            private: Vec::new(),
            diagnostics: ds,
        };
        if ds.has_errors() || !versioning_ok {
            return partial(ds, &nothing);
        }

        let rules_ok = matching_rules(&want, seen.configuration.as_ref());
        if !rules_ok.iter().all(|ok| *ok) {
            let put = retry(&ctx.stop, Backoff::PROPAGATION, propagation_retryable, || {
                s3::put_replication(&client.s3, &want.bucket, want.configuration.clone())
            })
            .await;
            if let Err(e) = put {
                let hint = "S3 could not use the new role or versioning yet, or the credentials lack \
                            s3:PutReplicationConfiguration or iam:PassRole on the role.";
                ds.push(retry_diag(&label, "writing the replication configuration", &e, hint));
                return partial(ds, &nothing);
            }
            // S3 is eventually consistent: wait until the configuration reads back, so the next refresh sees it.
            let visible = retry(
                &ctx.stop,
                Backoff::VISIBILITY,
                |e| e.kind == ErrorKind::Transient,
                || async {
                    let seen = s3::replication(&client.s3, &want.bucket).await?;
                    if matching_rules(&want, seen.as_ref()).iter().all(|ok| *ok) {
                        Ok(())
                    } else {
                        Err(AwsError::local(
                            "s3",
                            "GetBucketReplication",
                            format!("bucket {}", want.bucket),
                            "the new replication configuration is not visible yet",
                            ErrorKind::Transient,
                        ))
                    }
                },
            )
            .await;
            if let Err(e) = visible {
                ds.push(retry_diag(&label, "confirming the replication configuration", &e, "Apply again to check."));
                return partial(ds, &nothing);
            }
        }
        if let Some(old) = old {
            ds.extend(remove_renamed(client, &old, &want, &label).await);
        }
        partial(ds, &vec![true; want.dests.len()])
    }
}

fn fail(state: Value, d: Diagnostic) -> ApplyOutcome {
    ApplyOutcome { state, private: Vec::new(), diagnostics: d.into() }
}

/// What to do about a role, policy or replication configuration crossrepl did not create.
fn adopt_advice(bucket: &str) -> String {
    format!(
        "crossrepl does not adopt what it did not create. Import the existing setup with `tofu import` (or \
         `terraform import`) `{TYPE_NAME}.<name> {bucket}`, or an `import` block; or choose other names with \
         `role_name` / `policy_name`."
    )
}

/// Plan-time checks, read-only, of what apply would trip over, in one round of concurrent calls: on create, the
/// bucket (exists, this account's, versioned or allowed to be), a replication configuration crossrepl does not
/// own, role and policy names taken by something crossrepl did not create; on create or when they change, the
/// renamed role or policy, and replica KMS keys in another region than their destination bucket. Read failures
/// skip a check: apply reports them with context.
async fn preflight(client: &AwsClients, planned: &Value, prior: &Value, account: &str, part: &str) -> Diagnostics {
    let mut ds = Diagnostics::new();
    let (Some(bucket), Some(role_name), Some(policy_name)) =
        (str_attr(planned, "bucket"), str_attr(planned, "role_name"), str_attr(planned, "policy_name"))
    else {
        return ds;
    };
    let label = label(planned);
    let create = prior.is_null();
    let changed = |k: &str| create || prior.get(k) != planned.get(k);
    let path = str_attr(planned, "role_path").unwrap_or("/");
    let policy_arn = policy_arn(part, account, path, policy_name);
    let owned = |tags: &[(String, String)]| tags.iter().any(|(k, v)| k == OWNER_TAG && v == bucket);
    let enable = planned.get("enable_versioning").as_bool().unwrap_or(true);

    // Replica keys to check: those not already planned (with the same destination bucket) before.
    let prior_keys: Vec<(Option<&str>, Option<&str>)> = prior
        .get("destination")
        .as_elements()
        .unwrap_or(&[])
        .iter()
        .map(|d| (d.get("bucket_arn").as_str(), d.get("replica_kms_key_arn").as_str()))
        .collect();
    let keys: Vec<(usize, String, String)> = planned
        .get("destination")
        .as_elements()
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let (arn, key) = (d.get("bucket_arn").as_str()?, d.get("replica_kms_key_arn").as_str()?);
            let name = DestinationSpec { bucket_arn: arn.to_string(), ..Default::default() }.bucket_name()?.to_string();
            (!prior_keys.contains(&(Some(arn), Some(key)))).then(|| (i, name, key.to_string()))
        })
        .collect();
    let regions = futures_util::future::join_all(keys.iter().map(|(_, b, _)| s3::bucket_region(&client.s3, b)));

    let bucket_check = async {
        if create { super::preflight_bucket(client, &label, account, bucket, enable).await } else { Diagnostics::new() }
    };
    let replication = async { if create { s3::replication(&client.s3, bucket).await.ok().flatten() } else { None } };
    let role =
        async { if changed("role_name") { iam::role(&client.iam, role_name).await.ok().flatten() } else { None } };
    let policy_tags = async {
        if changed("policy_name") || changed("role_path") {
            iam::policy_tags(&client.iam, &policy_arn).await.ok()
        } else {
            None
        }
    };
    let (bucket_ds, replication, role, policy_tags, regions) =
        tokio::join!(bucket_check, replication, role, policy_tags, regions);

    ds.extend(bucket_ds);
    let role_ours = role.as_ref().map(|r| owned(&r.tags));
    if role_ours == Some(false) {
        ds.push(
            Diagnostic::error(format!("{label}: role {role_name} already exists"), adopt_advice(bucket))
                .at(AttributePath::attr("role_name")),
        );
    }
    if policy_tags.is_some_and(|tags| !owned(&tags)) {
        ds.push(
            Diagnostic::error(format!("{label}: policy {policy_arn} already exists"), adopt_advice(bucket))
                .at(AttributePath::attr("policy_name")),
        );
    }
    let our_role = role_arn(part, account, path, role_name);
    if let Some(cfg) = replication
        && !(role_ours == Some(true) && cfg.role() == our_role)
    {
        ds.push(
            Diagnostic::error(
                format!("{label}: bucket {bucket} already has a replication configuration"),
                format!(
                    "Its role is {}; crossrepl did not write it. {} Or remove the existing configuration first if \
                     it is no longer wanted.",
                    cfg.role(),
                    adopt_advice(bucket)
                ),
            )
            .at(AttributePath::attr("bucket")),
        );
    }
    for ((i, dest_bucket, key), region) in keys.iter().zip(regions) {
        let key_region = key.split(':').nth(3).unwrap_or_default();
        if let Ok(Some(region)) = region
            && region != key_region
        {
            ds.push(
                Diagnostic::error(
                    format!("{label}: replica KMS key is in {key_region}, destination bucket in {region}"),
                    format!(
                        "S3 encrypts replicas in {dest_bucket} with a key of the destination bucket's region \
                         ({region}); {key} is in {key_region}. Use a key in {region}."
                    ),
                )
                .at(AttributePath::attr("destination").with_index(*i).with_attr("replica_kms_key_arn")),
            );
        }
    }
    ds
}

/// On create, a role, policy or replication configuration that already exists is refused unless it carries this
/// resource's ownership tag (left by an interrupted create of this same resource): crossrepl never adopts what it
/// did not create.
async fn refuse_foreign(client: &AwsClients, label: &str, want: &Desired, seen: &Observed) -> Option<Diagnostic> {
    let role_ours = seen.role.as_ref().map(|r| want.owns(&r.tags));
    if role_ours == Some(false) {
        return Some(already_exists_role(label, want));
    }
    if seen.policy_document.is_some() {
        let ours = iam::policy_tags(&client.iam, &want.policy_arn).await.is_ok_and(|tags| want.owns(&tags));
        if !ours {
            return Some(already_exists_policy(label, want));
        }
    }
    if let Some(cfg) = &seen.configuration
        && !(role_ours == Some(true) && cfg.role() == want.role_arn)
    {
        return Some(
            Diagnostic::error(
                format!("{label}: bucket {} already has a replication configuration", want.bucket),
                format!(
                    "{} Or remove the existing configuration first if it is no longer wanted.",
                    adopt_advice(&want.bucket)
                ),
            )
            .at(AttributePath::attr("bucket")),
        );
    }
    None
}

/// The role name is taken by a role crossrepl did not create.
fn already_exists_role(label: &str, want: &Desired) -> Diagnostic {
    Diagnostic::error(format!("{label}: role {} already exists", want.role_name), adopt_advice(&want.bucket))
        .at(AttributePath::attr("role_name"))
}

/// The policy name is taken by a policy crossrepl did not create.
fn already_exists_policy(label: &str, want: &Desired) -> Diagnostic {
    Diagnostic::error(format!("{label}: policy {} already exists", want.policy_arn), adopt_advice(&want.bucket))
        .at(AttributePath::attr("policy_name"))
}

async fn ensure_role(
    client: &AwsClients,
    want: &Desired,
    have: Option<&iam::Role>,
    label: &str,
) -> Result<(), Diagnostic> {
    let trust = want.trust.to_json();
    let found;
    let have = match have {
        Some(have) => have,
        None => {
            let new = iam::NewRole {
                name: &want.role_name,
                path: &want.path,
                trust_policy: &trust,
                permissions_boundary: want.boundary.as_deref(),
                tags: &want.aws_tags(),
                description: &format!("S3 replication role of bucket {}, managed by crossrepl", want.bucket),
            };
            match iam::create_role(&client.iam, &new).await {
                Ok(_) => return Ok(()),
                // Absent when observed a moment ago: our own create whose answer was lost and which the SDK sent
                // again, or someone else's role created since. Only the ownership tag tells them apart.
                Err(e) if e.is_code("EntityAlreadyExists") => {
                    let role = iam::role(&client.iam, &want.role_name)
                        .await
                        .map_err(|e| aws_diag(label, "reading the role after EntityAlreadyExists", &e))?;
                    found = role.filter(|r| want.owns(&r.tags)).ok_or_else(|| already_exists_role(label, want))?;
                    &found
                }
                Err(e) => return Err(aws_diag(label, "creating the role", &e)),
            }
        }
    };
    if have.path != want.path {
        return Err(Diagnostic::error(
            format!("{label}: role {} has path {}", want.role_name, have.path),
            format!("IAM cannot move a role to another path; rename it (role_name) to create one at {}.", want.path),
        )
        .at(AttributePath::attr("role_path")));
    }
    if !PolicyDocument::parse(&have.trust_policy).is_ok_and(|t| t.semantically_equal(&want.trust)) {
        iam::update_trust_policy(&client.iam, &want.role_name, &trust)
            .await
            .map_err(|e| aws_diag(label, "updating the role's trust policy", &e))?;
    }
    if have.permissions_boundary != want.boundary {
        iam::set_permissions_boundary(&client.iam, &want.role_name, want.boundary.as_deref())
            .await
            .map_err(|e| aws_diag(label, "setting the permissions boundary", &e))?;
    }
    let mut have_tags = have.tags.clone();
    have_tags.sort();
    let want_tags = want.aws_tags();
    if have_tags != want_tags {
        iam::set_role_tags(&client.iam, &want.role_name, &have_tags, &want_tags)
            .await
            .map_err(|e| aws_diag(label, "tagging the role", &e))?;
    }
    Ok(())
}

async fn ensure_policy(
    client: &AwsClients,
    want: &Desired,
    have: Option<&PolicyDocument>,
    label: &str,
) -> Result<(), Diagnostic> {
    let doc = want.permissions.to_json();
    let is_ours = |text: &str| PolicyDocument::parse(text).is_ok_and(|d| d.semantically_equal(&want.permissions));
    let Some(have) = have else {
        return match iam::create_policy(&client.iam, &want.policy_name, &want.path, &doc, &want.aws_tags()).await {
            Ok(_) => Ok(()),
            // Absent when observed: our own create whose answer was lost and which the SDK sent again, or someone
            // else's policy created since. Only the ownership tag tells; our own gets our document only if it
            // differs (a needless CreatePolicyVersion would leave two identical versions).
            Err(e) if e.is_code("EntityAlreadyExists") => {
                let tags = iam::policy_tags(&client.iam, &want.policy_arn)
                    .await
                    .map_err(|e| aws_diag(label, "reading the role policy's tags after EntityAlreadyExists", &e))?;
                if !want.owns(&tags) {
                    return Err(already_exists_policy(label, want));
                }
                let current = iam::default_policy_document(&client.iam, &want.policy_arn)
                    .await
                    .map_err(|e| aws_diag(label, "reading the role policy", &e))?;
                if current.as_deref().is_some_and(is_ours) {
                    return Ok(());
                }
                iam::set_policy_document(&client.iam, &want.policy_arn, &doc, is_ours)
                    .await
                    .map_err(|e| aws_diag(label, "updating the role policy", &e))
            }
            Err(e) => Err(aws_diag(label, "creating the role policy", &e)),
        };
    };
    // Tags first: an adopted (imported) policy gets the ownership tag, as the role does.
    let mut have_tags = iam::policy_tags(&client.iam, &want.policy_arn)
        .await
        .map_err(|e| aws_diag(label, "reading the role policy's tags", &e))?;
    have_tags.sort();
    let want_tags = want.aws_tags();
    if have_tags != want_tags {
        iam::set_policy_tags(&client.iam, &want.policy_arn, &have_tags, &want_tags)
            .await
            .map_err(|e| aws_diag(label, "tagging the role policy", &e))?;
    }
    if have.semantically_equal(&want.permissions) {
        return Ok(());
    }
    iam::set_policy_document(&client.iam, &want.policy_arn, &doc, is_ours)
        .await
        .map_err(|e| aws_diag(label, "updating the role policy", &e))
}

/// After an update that renamed the role or policy, removes the old ones: detaches the old policy, and deletes
/// the old role and policy only when they carry this resource's ownership tag (an imported role or policy that was
/// never adopted under its old name is left in place, only detached).
async fn remove_renamed(client: &AwsClients, old: &Desired, want: &Desired, label: &str) -> Diagnostics {
    let mut ds = Diagnostics::new();
    let owned = |tags: Result<Vec<(String, String)>, AwsError>| tags.is_ok_and(|t| old.owns(&t));
    if old.policy_arn != want.policy_arn {
        if let Err(e) = iam::detach(&client.iam, &old.role_name, &old.policy_arn).await
            && e.kind != ErrorKind::NotFound
        {
            ds.push(aws_diag(label, "detaching the old policy", &e));
        }
        if owned(iam::policy_tags(&client.iam, &old.policy_arn).await)
            && let Err(e) = iam::delete_policy(&client.iam, &old.policy_arn).await
        {
            ds.push(aws_diag(label, "deleting the old policy", &e));
        }
    }
    if old.role_name != want.role_name {
        if old.policy_arn == want.policy_arn
            && let Err(e) = iam::detach(&client.iam, &old.role_name, &old.policy_arn).await
            && e.kind != ErrorKind::NotFound
        {
            ds.push(aws_diag(label, "detaching the policy from the old role", &e));
        }
        let role_tags = iam::role(&client.iam, &old.role_name).await.map(|r| r.map(|r| r.tags).unwrap_or_default());
        if owned(role_tags)
            && let Err(e) = iam::delete_role(&client.iam, &old.role_name).await
        {
            ds.push(aws_diag(label, "deleting the old role", &e));
        }
    }
    ds
}

/// The policy an import adopts among those attached to the role: the one named in the import id; else the
/// crossrepl-named one; else the only customer-managed one; else the only one whose document grants replication.
/// Anything else is ambiguous and refused: apply rewrites (and a later rename deletes) the adopted policy, so
/// guessing could destroy a policy that has nothing to do with replication.
async fn pick_policy(
    client: &AwsClients,
    attached: &[String],
    bucket: &str,
    chosen: Option<&str>,
) -> Result<String, String> {
    let customer: Vec<&String> = attached.iter().filter(|a| !a.contains(":iam::aws:")).collect();
    let named = |name: &str| customer.iter().find(|a| a.rsplit('/').next() == Some(name)).map(|a| a.to_string());
    if let Some(name) = chosen {
        return named(name).ok_or_else(|| format!("no customer-managed policy named {name} is attached."));
    }
    if let Some(arn) = named(&policy::policy_name_for_bucket(bucket)) {
        return Ok(arn);
    }
    match customer.as_slice() {
        [] => return Err("no customer-managed policy is attached.".into()),
        [only] => return Ok(only.to_string()),
        _ => {}
    }
    let grants_replication = |arn: String| async move {
        let text = iam::default_policy_document(&client.iam, &arn).await.ok().flatten()?;
        let doc = PolicyDocument::parse(&text).ok()?;
        let replicates = doc.statements.iter().flat_map(|s| s.action.iter().flat_map(|a| a.0.iter())).any(|a| {
            ["s3:GetReplicationConfiguration", "s3:ReplicateObject", "s3:Replicate*"]
                .iter()
                .any(|r| r.eq_ignore_ascii_case(a))
        });
        replicates.then_some(arn)
    };
    let found: Vec<String> = futures_util::future::join_all(customer.iter().map(|a| grants_replication(a.to_string())))
        .await
        .into_iter()
        .flatten()
        .collect();
    match found.as_slice() {
        [only] => Ok(only.clone()),
        _ => Err(format!(
            "{} customer-managed policies are attached ({}) and {} of them grant replication; import as \
             `{bucket},<policy name>` to say which one crossrepl manages.",
            customer.len(),
            customer.iter().map(|a| a.rsplit('/').next().unwrap_or_default()).collect::<Vec<_>>().join(", "),
            found.len()
        )),
    }
}

#[async_trait::async_trait]
impl Resource<AwsClients> for SourceResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_config(config)
    }

    async fn plan(
        &self,
        ctx: Option<&Ctx<AwsClients>>,
        prior: &Value,
        proposed: &Value,
        config: &Value,
    ) -> PlanOutcome {
        let (mut planned, requires_replace) = default_plan(&self.schema().rules, prior, proposed, config);
        if planned.is_null() {
            return PlanOutcome { planned, requires_replace, ..Default::default() };
        }
        let bucket = config.get("bucket").as_str().map(str::to_string);
        let derive = |name: &str, f: fn(&str) -> String| match (config.get(name), &bucket) {
            (Value::Null, Some(b)) => Value::from(f(b)),
            (Value::Null, None) => Value::Unknown,
            (v, _) => v.clone(),
        };
        let role_name = derive("role_name", policy::role_name_for_bucket);
        let policy_name = derive("policy_name", policy::policy_name_for_bucket);
        set_attrs(&mut planned, [("role_name", role_name), ("policy_name", policy_name)]);
        // Rule ids and default priorities follow from each block; unknown until its bucket ARN is known.
        if let Some(Value::List(dests)) =
            crate::framework::plan::attrs_mut(&mut planned).and_then(|m| m.get_mut("destination"))
        {
            for (i, d) in dests.iter_mut().enumerate() {
                let known = d.get("bucket_arn").as_str().is_some();
                let spec = DestinationSpec::from_value(d);
                let configured = |name: &str| {
                    config
                        .get("destination")
                        .as_elements()
                        .and_then(|c| c.get(i))
                        .map_or(Value::Null, |c| c.get(name).clone())
                };
                let priority = match configured("priority") {
                    Value::Null => Value::int(replication::effective_priority(
                        i,
                        &DestinationSpec { priority: None, ..spec.clone() },
                    ) as i64),
                    p => p,
                };
                let rule_id = match configured("rule_id") {
                    Value::Null if known => {
                        Value::from(replication::rule_id(i, &DestinationSpec { rule_id: None, ..spec }))
                    }
                    Value::Null => Value::Unknown,
                    id => id,
                };
                set_attrs(d, [("rule_id", rule_id), ("priority", priority)]);
            }
        }
        let Some(ctx) = ctx else {
            set_attrs(&mut planned, ["id", "bucket_arn", "role_arn", "policy_arn"].map(|k| (k, Value::Unknown)));
            return PlanOutcome { planned, requires_replace, ..Default::default() };
        };
        let (account, part) = match Self::context(ctx, prior).await {
            Ok(v) => v,
            Err(_) => {
                set_attrs(&mut planned, ["role_arn", "policy_arn"].map(|k| (k, Value::Unknown)));
                (String::new(), partition(&ctx.client.region))
            }
        };
        let s = |k: &str| planned.get(k).as_str().map(str::to_string);
        if let (Some(b), Some(rn), Some(pn), Some(path)) =
            (s("bucket"), s("role_name"), s("policy_name"), s("role_path"))
        {
            set_attrs(
                &mut planned,
                [("id", Value::from(b.clone())), ("bucket_arn", Value::from(bucket_arn(part, &b)))],
            );
            if !account.is_empty() {
                set_attrs(
                    &mut planned,
                    [
                        ("role_arn", Value::from(role_arn(part, &account, &path, &rn))),
                        ("policy_arn", Value::from(policy_arn(part, &account, &path, &pn))),
                    ],
                );
            }
        } else {
            set_attrs(&mut planned, ["id", "bucket_arn", "role_arn", "policy_arn"].map(|k| (k, Value::Unknown)));
        }
        let diagnostics = if account.is_empty() {
            Diagnostics::new()
        } else {
            // A replacement is a new object: check it as a create.
            let before = if requires_replace.is_empty() { prior } else { &Value::Null };
            preflight(&ctx.client, &planned, before, &account, part).await
        };
        PlanOutcome { planned, requires_replace, diagnostics }
    }

    async fn create(&self, ctx: &Ctx<AwsClients>, planned: &Value, _config: &Value) -> ApplyOutcome {
        self.converge(ctx, planned, None, true).await
    }

    async fn read(&self, ctx: &Ctx<AwsClients>, state: &Value, private: &[u8]) -> ReadOutcome {
        let label = label(state);
        let keep =
            |d: Diagnostic| ReadOutcome { state: state.clone(), private: private.to_vec(), diagnostics: d.into() };
        let (account, part) = match Self::context(ctx, state).await {
            Ok(v) => v,
            Err(e) => return keep(aws_diag(&label, "identifying the account", &e)),
        };
        let want = match Desired::from(state, part, &account, &ctx.client.region) {
            Ok(w) => w,
            Err(msg) => return keep(Diagnostic::error(format!("{label}: unreadable state"), msg)),
        };
        let seen = match observe(&ctx.client, &want).await {
            Ok(o) => o,
            Err((step, e)) => return keep(aws_diag(&label, &step, &e)),
        };
        if !seen.bucket_exists {
            return ReadOutcome::default();
        }
        let role_ok = seen.role.as_ref().is_some_and(|r| role_matches(&want, r));
        let policy_ok =
            seen.attached && seen.policy_document.as_ref().is_some_and(|d| d.semantically_equal(&want.permissions));
        let rules_ok = matching_rules(&want, seen.configuration.as_ref());
        let mut new_state = state_of(state, &want, part, role_ok, policy_ok, &rules_ok);
        // Keep user-facing attributes honest so drift shows as a diff on them.
        if let Some(role) = &seen.role {
            let tags: BTreeMap<String, Value> = role
                .tags
                .iter()
                .filter(|(k, _)| k != OWNER_TAG)
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect();
            let tags = if tags.is_empty() && state.get("tags").is_null() { Value::Null } else { Value::Map(tags) };
            set_attrs(
                &mut new_state,
                [("tags", tags), ("permissions_boundary", Value::opt_string(role.permissions_boundary.clone()))],
            );
        }
        if want.enable_versioning && seen.versioning != s3::Versioning::Enabled {
            set_attrs(&mut new_state, [("enable_versioning", Value::Bool(false))]);
        }
        ReadOutcome { state: new_state, private: private.to_vec(), diagnostics: Diagnostics::new() }
    }

    async fn update(&self, ctx: &Ctx<AwsClients>, prior: &Value, planned: &Value, _config: &Value) -> ApplyOutcome {
        let old = match Self::context(ctx, prior).await {
            Ok((account, part)) => Desired::from(prior, part, &account, &ctx.client.region).ok(),
            Err(_) => None,
        };
        self.converge(ctx, planned, old, false).await
    }

    async fn delete(&self, ctx: &Ctx<AwsClients>, prior: &Value) -> Diagnostics {
        let client = &ctx.client;
        let label = label(prior);
        let (account, part) = match Self::context(ctx, prior).await {
            Ok(v) => v,
            Err(e) => return aws_diag(&label, "identifying the account", &e).into(),
        };
        let Ok(want) = Desired::from(prior, part, &account, &client.region) else { return Diagnostics::new() };
        // The replication configuration goes first: S3 needs the role until then. Only ours is removed.
        match s3::replication(&client.s3, &want.bucket).await {
            Ok(Some(cfg)) if cfg.role() == want.configuration.role() => {
                if let Err(e) = s3::delete_replication(&client.s3, &want.bucket).await {
                    return aws_diag(&label, "deleting the replication configuration", &e).into();
                }
            }
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return aws_diag(&label, "reading the replication configuration", &e).into(),
        }
        if let Err(e) = iam::detach(&client.iam, &want.role_name, &want.policy_arn).await
            && e.kind != ErrorKind::NotFound
        {
            return aws_diag(&label, "detaching the policy", &e).into();
        }
        let (p, r) = tokio::join!(
            iam::delete_policy(&client.iam, &want.policy_arn),
            iam::delete_role(&client.iam, &want.role_name)
        );
        let mut ds = Diagnostics::new();
        if let Err(e) = p {
            ds.push(aws_diag(&label, "deleting the policy", &e));
        }
        if let Err(e) = r {
            ds.push(aws_diag(&label, "deleting the role", &e));
        }
        ds
    }

    async fn import(&self, ctx: &Ctx<AwsClients>, id: &str) -> Result<Value, Diagnostics> {
        let client = &ctx.client;
        let (bucket, chosen_policy) = match id.split_once(',') {
            Some((b, p)) => (b.trim(), Some(p.trim())),
            None => (id.trim(), None),
        };
        let err =
            |msg: String| Diagnostics::from(Diagnostic::error(format!("Importing {TYPE_NAME} {bucket:?} failed"), msg));
        replication::validate_bucket_name(bucket)
            .map_err(|m| err(format!("The import id is the source bucket name, optionally `,<policy name>`: {m}")))?;
        let cfg = s3::replication(&client.s3, bucket)
            .await
            .map_err(|e| err(e.with_advice()))?
            .ok_or_else(|| err(format!("Bucket {bucket} has no replication configuration to import.")))?;
        let role_arn = cfg.role().to_string();
        let after = role_arn.split_once(":role").map(|(_, r)| r).unwrap_or("/");
        let (path, role_name) = after
            .rsplit_once('/')
            .map(|(p, n)| (format!("{p}/"), n.to_string()))
            .ok_or_else(|| err(format!("Unexpected role ARN {role_arn}.")))?;
        let attached = iam::attached_policies(&client.iam, &role_name).await.map_err(|e| err(e.with_advice()))?;
        let policy_arn = pick_policy(client, &attached, bucket, chosen_policy)
            .await
            .map_err(|m| err(format!("Role {role_name}: {m}")))?;
        let policy_name = policy_arn.rsplit('/').next().unwrap_or_default().to_string();
        let role = iam::role(&client.iam, &role_name).await.map_err(|e| err(e.with_advice()))?;
        // Source KMS keys live only in the role policy.
        let source_keys: Vec<Value> = iam::default_policy_document(&client.iam, &policy_arn)
            .await
            .ok()
            .flatten()
            .and_then(|t| PolicyDocument::parse(&t).ok())
            .map(|d| {
                d.statements
                    .iter()
                    .filter(|s| s.sid.as_deref() == Some("SourceKmsDecrypt"))
                    .flat_map(|s| s.resource.as_ref().map(|r| r.0.clone()).unwrap_or_default())
                    .map(Value::from)
                    .collect()
            })
            .unwrap_or_default();
        let dests: Vec<Value> = replication::specs_from_configuration(&cfg)
            .into_iter()
            .map(|r| {
                let s = r.spec;
                let keys = if s.replica_kms_key_arn.is_some() && !source_keys.is_empty() {
                    Value::Set(source_keys.clone())
                } else {
                    Value::Null
                };
                Value::object([
                    ("bucket_arn", Value::from(s.bucket_arn)),
                    ("account_id", Value::opt_string(s.account_id)),
                    ("prefix", if s.prefix.is_empty() { Value::Null } else { Value::from(s.prefix) }),
                    (
                        "tags",
                        if s.tags.is_empty() {
                            Value::Null
                        } else {
                            Value::Map(s.tags.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
                        },
                    ),
                    ("storage_class", Value::opt_string(s.storage_class)),
                    ("delete_marker_replication", Value::Bool(s.delete_marker_replication)),
                    ("owner_override", Value::Bool(s.owner_override)),
                    ("replica_kms_key_arn", Value::opt_string(s.replica_kms_key_arn)),
                    ("source_kms_key_arns", keys),
                    ("replication_time_control", Value::Bool(s.replication_time_control)),
                    ("replica_modifications", Value::Bool(s.replica_modifications)),
                    ("priority", r.priority.map_or(Value::Null, |p| Value::int(p as i64))),
                    ("enabled", Value::Bool(s.enabled)),
                    ("rule_id", Value::from(r.id)),
                ])
            })
            .collect();
        let user_tags: BTreeMap<String, Value> = role
            .iter()
            .flat_map(|r| r.tags.iter())
            .filter(|(k, _)| k != OWNER_TAG)
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        let tags = if user_tags.is_empty() { Value::Null } else { Value::Map(user_tags) };
        let boundary = Value::opt_string(role.as_ref().and_then(|r| r.permissions_boundary.clone()));
        Ok(Value::object([
            ("id", Value::from(bucket)),
            ("bucket", Value::from(bucket)),
            ("role_name", Value::from(role_name)),
            ("policy_name", Value::from(policy_name)),
            ("role_path", Value::from(path)),
            ("permissions_boundary", boundary),
            ("tags", tags),
            ("enable_versioning", Value::Bool(true)),
            ("role_arn", Value::Null),
            ("policy_arn", Value::Null),
            ("bucket_arn", Value::Null),
            ("destination", Value::List(dests)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: Vec<(&str, Value)>) -> Value {
        let tfplugin::Type::Object(attrs) = schema().schema.block.value_type() else { unreachable!() };
        let mut v: BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
        for (k, x) in pairs {
            v.insert(k.into(), x);
        }
        Value::Object(v)
    }

    fn dest(pairs: Vec<(&str, Value)>) -> Value {
        let block = schema().schema.block;
        let tfplugin::Type::Object(attrs) = block.block("destination").unwrap().block.value_type() else {
            unreachable!()
        };
        let mut v: BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
        for (k, x) in pairs {
            v.insert(k.into(), x);
        }
        Value::Object(v)
    }

    #[tokio::test]
    async fn plan_derives_names_rule_ids_and_priorities() {
        let c = config(vec![
            ("bucket", "acme-data".into()),
            (
                "destination",
                Value::List(vec![
                    dest(vec![("bucket_arn", "arn:aws:s3:::dr-one".into())]),
                    dest(vec![("bucket_arn", Value::Unknown)]),
                ]),
            ),
        ]);
        let out = SourceResource.plan(None, &Value::Null, &c, &c).await;
        assert!(out.diagnostics.is_empty());
        let p = &out.planned;
        assert_eq!(p.get("role_name").as_str(), Some("crossrepl-acme-data"));
        assert_eq!(p.get("policy_name").as_str(), Some("crossrepl-policy-acme-data"));
        let d = p.get("destination").as_elements().unwrap();
        assert_eq!(d[0].get("rule_id").as_str(), Some("crossrepl-dr-one"));
        assert_eq!(d[0].get("priority"), &Value::int(1));
        assert_eq!(d[0].get("delete_marker_replication"), &Value::Bool(true));
        assert!(d[1].get("rule_id").is_unknown());
        assert_eq!(d[1].get("priority"), &Value::int(2));
    }

    #[tokio::test]
    async fn plan_keeps_configured_rule_ids_and_derives_unset_priorities_from_position() {
        let block = |extra: Vec<(&str, Value)>| {
            let mut attrs = vec![("bucket_arn", Value::from("arn:aws:s3:::dr-one"))];
            attrs.extend(extra);
            config(vec![("bucket", "acme-data".into()), ("destination", Value::List(vec![dest(attrs)]))])
        };
        // An imported rule: its own id and priority 0 in the prior state.
        let prior = block(vec![("rule_id", "allfiles".into()), ("priority", Value::int(0))]);
        let kept = block(vec![("rule_id", "allfiles".into()), ("priority", Value::int(0))]);
        let out = SourceResource.plan(None, &prior, &kept, &kept).await;
        let d = &out.planned.get("destination").as_elements().unwrap()[0];
        assert_eq!((d.get("rule_id").as_str(), d.get("priority")), (Some("allfiles"), &Value::int(0)));
        // Unset in the configuration: the documented defaults, not the prior values.
        let unset = block(vec![]);
        let out = SourceResource.plan(None, &prior, &prior, &unset).await;
        let d = &out.planned.get("destination").as_elements().unwrap()[0];
        assert_eq!((d.get("rule_id").as_str(), d.get("priority")), (Some("crossrepl-dr-one"), &Value::int(1)));
    }

    #[test]
    fn validation_covers_the_resource_and_its_destinations() {
        let c = config(vec![
            ("bucket", "acme-data".into()),
            ("role_path", "bad".into()),
            ("tags", Value::Map([("aws:x".to_string(), Value::from("y"))].into())),
            (
                "destination",
                Value::List(vec![dest(vec![
                    ("bucket_arn", "arn:aws:s3:::acme-data".into()),
                    ("owner_override", true.into()),
                ])]),
            ),
        ]);
        let paths: Vec<String> =
            validate_config(&c).0.iter().filter_map(|d| d.attribute.as_ref()).map(|p| p.to_string()).collect();
        assert!(paths.contains(&"role_path".to_string()), "{paths:?}");
        let tags = |n: usize| Value::Map((0..n).map(|i| (format!("k{i}"), Value::from("v"))).collect());
        let too_many = config(vec![("bucket", "acme-data".into()), ("tags", tags(MAX_USER_TAGS + 1))]);
        assert_eq!(validate_config(&too_many).0[0].attribute, Some(AttributePath::attr("tags")));
        let enough = config(vec![("bucket", "acme-data".into()), ("tags", tags(MAX_USER_TAGS))]);
        assert!(validate_config(&enough).is_empty());
        assert!(paths.contains(&"tags[\"aws:x\"]".to_string()), "{paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("destination[0]")), "{paths:?}");
    }

    #[test]
    fn desired_documents_are_scoped_to_the_exact_arns() {
        let c = config(vec![
            ("bucket", "acme-data".into()),
            ("role_name", "r".into()),
            ("policy_name", "p".into()),
            ("role_path", "/".into()),
            (
                "destination",
                Value::List(vec![dest(vec![
                    ("bucket_arn", "arn:aws:s3:::dr-one".into()),
                    ("account_id", "222222222222".into()),
                ])]),
            ),
        ]);
        let d = Desired::from(&c, "aws", "111111111111", "us-east-1").unwrap();
        assert_eq!(d.role_arn, "arn:aws:iam::111111111111:role/r");
        assert_eq!(d.policy_arn, "arn:aws:iam::111111111111:policy/p");
        let json = d.permissions.to_json();
        assert!(json.contains("arn:aws:s3:::dr-one/*") && json.contains("arn:aws:s3:::acme-data/*"), "{json}");
        assert_eq!(d.configuration.role(), "arn:aws:iam::111111111111:role/r");
        assert_eq!(d.configuration.rules().len(), 1);
        assert_eq!(d.configuration.rules()[0].destination().unwrap().account(), Some("222222222222"));
    }
}
