//! `crossrepl_destination`: in the destination account, versioning on the bucket and the bucket-policy
//! statements that let the source account's replication role write replicas, merged with whatever else the
//! policy holds.

use std::time::Duration;

use tfplugin::{AttributePath, Diagnostic, Diagnostics, StopToken, Value};

use super::{aws_diag, bucket_arn, lock_bucket, partition, role_arn, str_attr};
use crate::aws::{AwsClients, AwsError, s3};
use crate::framework::resource::PlanOutcome;
use crate::framework::schema::{Attr, BlockSpec, ResourceSchema};
use crate::framework::{ApplyOutcome, Ctx, ReadOutcome, Resource};
use crate::policy::{self, DestinationGrantInput, PolicyDocument, Statement};
use crate::{replication, validate};

/// The `crossrepl_destination` resource type.
pub struct DestinationResource;

const TYPE_NAME: &str = "crossrepl_destination";
/// Attempts at a bucket-policy write that another writer outside this process keeps overwriting.
const POLICY_WRITE_ATTEMPTS: u32 = 5;

/// Everything the resource derives from its configuration.
struct Desired {
    partition: String,
    bucket: String,
    source_account_id: String,
    source_role_arn: String,
    statements: Vec<Statement>,
    sids: Vec<String>,
    sid: String,
}

impl Desired {
    fn from(v: &Value, partition: &str) -> Option<Desired> {
        let bucket = str_attr(v, "bucket")?.to_string();
        let source_account_id = str_attr(v, "source_account_id")?.to_string();
        let name = str_attr(v, "source_role_name")?;
        let path = str_attr(v, "source_role_path").unwrap_or("/");
        let source_role_arn = role_arn(partition, &source_account_id, path, name);
        let input = DestinationGrantInput {
            partition: partition.to_string(),
            destination_bucket: bucket.clone(),
            source_account_id: source_account_id.clone(),
            source_role_arn: source_role_arn.clone(),
        };
        let statements = policy::destination_statements(&input);
        let sids = statements.iter().filter_map(|s| s.sid.clone()).collect();
        let sid = policy::destination_sid_prefix(&input);
        Some(Desired {
            partition: partition.to_string(),
            bucket,
            source_account_id,
            source_role_arn,
            statements,
            sids,
            sid,
        })
    }

    /// Whether `doc` holds our statements as we write them and no hand-written grant they supersede.
    fn in_place(&self, doc: &PolicyDocument) -> bool {
        policy::statements_match(doc, &self.statements) && !doc.statements.iter().any(|s| self.supersedes(s))
    }

    /// Whether `s` is a hand-written replication grant for the same role that our statements replace.
    fn supersedes(&self, s: &Statement) -> bool {
        policy::is_superseded_grant(s, &self.partition, &self.bucket, &self.source_role_arn)
    }
}

fn label(v: &Value) -> String {
    format!("{TYPE_NAME} {:?}", str_attr(v, "bucket").unwrap_or("?"))
}

fn schema() -> ResourceSchema {
    BlockSpec::new(
        "Lets a source account's replication role replicate into an existing bucket of this account: turns \
         versioning on and merges two statements into the bucket policy, leaving every other statement alone. \
         The principal is the source account root restricted to the role by an `aws:PrincipalArn` condition, so \
         this can be applied before the role exists and keeps working if the role is re-created. A hand-written \
         grant to the same role (principal the role ARN, only replication actions on this bucket, no condition), \
         as an imported hashicorp/aws setup has, is replaced by these statements in the same write.",
    )
    .attr(Attr::string("id").computed().describe("`<bucket>,<source_account_id>`, also the import id."))
    .attr(Attr::string("bucket").required().force_new().describe("Name of the destination bucket. It must already exist in this provider's account. Changing it replaces the resource."))
    .attr(Attr::string("source_account_id").required().describe("12-digit id of the account that owns the source bucket and the replication role."))
    .attr(Attr::string("source_bucket").required().describe("Name of the source bucket; the replication role's name is derived from it exactly as `crossrepl_source` derives it."))
    .attr(Attr::string("source_role_name").optional_computed().describe("Name of the replication role, when `crossrepl_source` sets `role_name`. Default: derived from `source_bucket`."))
    .attr(Attr::string("source_role_path").default(Value::from("/")).describe("Path of the replication role, when `crossrepl_source` sets `role_path`. Default `/`."))
    .attr(Attr::bool("enable_versioning").default(Value::Bool(true)).describe("Turn versioning on when it is off (default). With `false`, apply fails unless versioning is already enabled. Versioning is never turned off again: S3 cannot, once replication used it."))
    .attr(Attr::string("bucket_arn").computed().describe("ARN of the destination bucket, for `crossrepl_source`'s `destination.bucket_arn`."))
    .attr(Attr::string("account_id").computed().describe("Id of the destination account, for `crossrepl_source`'s `destination.account_id`."))
    .attr(Attr::string("source_role_arn").computed().describe("ARN of the replication role the statements admit."))
    .attr(Attr::string("statement_sid").computed().describe("Sid of the replication statement in the bucket policy (the second statement adds `Bucket`). Empty after a refresh that found the statements missing or changed; the next apply restores them."))
    .build(0)
}

fn validate_config(config: &Value) -> Diagnostics {
    let mut ds = Diagnostics::new();
    validate::string_attr(&mut ds, config, "bucket", replication::validate_bucket_name, "Invalid bucket name");
    validate::string_attr(
        &mut ds,
        config,
        "source_bucket",
        replication::validate_bucket_name,
        "Invalid source bucket name",
    );
    validate::string_attr(&mut ds, config, "source_account_id", validate::account_id, "Invalid source account id");
    validate::string_attr(&mut ds, config, "source_role_name", validate::iam_name, "Invalid role name");
    validate::string_attr(&mut ds, config, "source_role_path", validate::iam_path, "Invalid role path");
    ds
}

/// Reads the bucket policy under the caller's lock, or an error if it exists but cannot be parsed (never clobber
/// what we cannot read).
async fn read_policy(client: &AwsClients, bucket: &str) -> Result<Option<PolicyDocument>, String> {
    let text = s3::policy(&client.s3, bucket).await.map_err(|e| e.with_advice())?;
    match text {
        None => Ok(None),
        Some(t) => PolicyDocument::parse(&t).map(Some).map_err(|e| {
            format!("The bucket policy of {bucket} could not be parsed ({e}); crossrepl will not overwrite it. Fix it by hand.")
        }),
    }
}

/// How long after a bucket-policy write crossrepl looks at the policy again (plus up to [`SETTLE_JITTER_MS`]).
///
/// The per-bucket lock serialises writers in this process only. A writer in another process (another provider
/// block or configuration) that read the policy before our write lands its own write within about one round
/// trip, dropping our change; a second look after that window catches it, and the write is redone.
const SETTLE: Duration = Duration::from_millis(600);
/// Random extra wait, so that two processes catching each other do not redo their writes in lockstep.
const SETTLE_JITTER_MS: u64 = 400;

/// Waits [`SETTLE`] plus jitter; `false` when the engine asked to stop meanwhile.
async fn settle(stop: &StopToken) -> bool {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let wait = SETTLE + Duration::from_millis(u64::from(nanos) % SETTLE_JITTER_MS);
    tokio::select! {
        () = tokio::time::sleep(wait) => true,
        () = stop.stopped() => false,
    }
}

/// Merges our statements into the bucket policy, replacing `stale` Sids and the hand-written grants for the same
/// role that ours supersede (a migrated setup's); then verifies by reading back, at once and again after
/// [`settle`], and merges again if another writer dropped them.
async fn write_statements(
    client: &AwsClients,
    stop: &StopToken,
    want: &Desired,
    stale: &[String],
) -> Result<(), String> {
    let bucket = want.bucket.as_str();
    let done = |doc: &PolicyDocument| want.in_place(doc) && policy::find_statements(doc, stale).is_empty();
    for attempt in 1..=POLICY_WRITE_ATTEMPTS {
        {
            let _guard = lock_bucket(bucket).await;
            let existing = read_policy(client, bucket).await?;
            if existing.as_ref().is_some_and(done) {
                return Ok(());
            }
            let cleaned = existing
                .and_then(|doc| policy::remove_statements(doc, stale))
                .and_then(|doc| policy::remove_superseded_grants(doc, &want.partition, bucket, &want.source_role_arn));
            let merged = policy::merge_statements(cleaned, &want.statements);
            s3::put_policy(&client.s3, bucket, &merged.to_json()).await.map_err(|e| e.with_advice())?;
        }
        // S3 is last-writer-wins: a writer outside this process may race us. Look again after it would have
        // landed (outside the lock, so writers in this process are not held up), and merge again if so.
        if !settle(stop).await || read_policy(client, bucket).await?.as_ref().is_some_and(done) {
            return Ok(());
        }
        tracing::warn!(bucket, attempt, "bucket policy changed under us; merging again");
    }
    Err(format!(
        "The bucket policy of {bucket} kept changing while crossrepl merged its statements ({POLICY_WRITE_ATTEMPTS} \
         attempts). Another tool is rewriting it; stop it or let it own the statements, then apply again."
    ))
}

/// Removes our statements (deleting the policy if nothing else is left), and looks again after [`settle`] in case
/// a writer in another process put them back with a policy it read before.
async fn remove_statements(client: &AwsClients, stop: &StopToken, bucket: &str, sids: &[String]) -> Result<(), String> {
    for attempt in 1..=POLICY_WRITE_ATTEMPTS {
        {
            let _guard = lock_bucket(bucket).await;
            let Some(doc) = read_policy(client, bucket).await? else { return Ok(()) };
            if policy::find_statements(&doc, sids).is_empty() {
                return Ok(());
            }
            let result = match policy::remove_statements(doc, sids) {
                Some(rest) => s3::put_policy(&client.s3, bucket, &rest.to_json()).await,
                None => s3::delete_policy(&client.s3, bucket).await,
            };
            result.map_err(|e| e.with_advice())?;
        }
        let gone = |doc: Option<PolicyDocument>| doc.is_none_or(|d| policy::find_statements(&d, sids).is_empty());
        if !settle(stop).await || gone(read_policy(client, bucket).await?) {
            return Ok(());
        }
        tracing::warn!(bucket, attempt, "removed statements came back; removing again");
    }
    Err(format!(
        "crossrepl's statements in the bucket policy of {bucket} kept coming back ({POLICY_WRITE_ATTEMPTS} attempts). \
         Another tool is rewriting the policy from an old copy; stop it, then destroy again."
    ))
}

/// What versioning looked like before [`ensure_versioning`] acted.
enum BucketCheck {
    /// The bucket does not exist (or is not visible to these credentials).
    Missing,
    /// Versioning is (now) enabled.
    Versioned,
}

/// Turns versioning on unless it is on already (or refuses when `enable` is false). One GetBucketVersioning
/// doubles as the existence check.
async fn ensure_versioning(client: &AwsClients, bucket: &str, enable: bool) -> Result<BucketCheck, AwsError> {
    match s3::versioning(&client.s3, bucket).await? {
        None => return Ok(BucketCheck::Missing),
        Some(s3::Versioning::Enabled) => return Ok(BucketCheck::Versioned),
        Some(_) if !enable => {
            return Err(AwsError::local(
                "s3",
                "GetBucketVersioning",
                format!("bucket {bucket}"),
                "versioning is not enabled and enable_versioning = false; replication needs it. Enable versioning \
                 on the bucket or set enable_versioning = true",
                crate::aws::ErrorKind::Other,
            ));
        }
        Some(_) => {}
    }
    s3::enable_versioning(&client.s3, bucket).await.map(|()| BucketCheck::Versioned)
}

/// The account id: from the plan when it is known there (no call), else asked of STS once per process.
async fn account_of(client: &AwsClients, planned: &Value) -> Result<String, AwsError> {
    match planned.get("account_id").as_str() {
        Some(a) if validate::account_id(a).is_ok() => Ok(a.to_string()),
        _ => client.account_id().await.map(|a| a.to_string()),
    }
}

/// The error for a bucket that does not exist.
fn missing_bucket(label: &str, bucket: &str) -> Diagnostic {
    Diagnostic::error(
        format!("{label}: bucket not found"),
        format!(
            "Bucket {bucket} does not exist or is not visible to this provider block's account. Create it first \
             (crossrepl never creates or deletes buckets), or check the provider's credentials."
        ),
    )
    .at(AttributePath::attr("bucket"))
}

impl DestinationResource {
    /// Makes the bucket match `planned`; `stale` are Sids of a previous source role to remove.
    async fn apply(&self, ctx: &Ctx<AwsClients>, planned: &Value, stale: Vec<String>, prior: Value) -> ApplyOutcome {
        let client = &ctx.client;
        let part = partition(&client.region);
        let label = label(planned);
        let fail = |d: Diagnostic, state: Value| ApplyOutcome { state, diagnostics: d.into(), ..Default::default() };
        let Some(want) = Desired::from(planned, part) else {
            return fail(
                Diagnostic::error(format!("{label}: incomplete plan"), "Required values are unknown at apply."),
                prior,
            );
        };
        let enable = planned.get("enable_versioning").as_bool().unwrap_or(true);
        let (versioning, account) =
            tokio::join!(ensure_versioning(client, &want.bucket, enable), account_of(client, planned));
        match versioning {
            Ok(BucketCheck::Versioned) => {}
            Ok(BucketCheck::Missing) => return fail(missing_bucket(&label, &want.bucket), prior),
            Err(e) => {
                return fail(
                    aws_diag(&label, "enabling versioning", &e).at(AttributePath::attr("enable_versioning")),
                    prior,
                );
            }
        }
        let account = match account {
            Ok(a) => a,
            Err(e) => return fail(aws_diag(&label, "identifying the account", &e), prior),
        };
        if let Err(msg) = write_statements(client, &ctx.stop, &want, &stale).await {
            return fail(Diagnostic::error(format!("{label}: writing the bucket policy failed"), msg), prior);
        }
        ApplyOutcome { state: self.state(planned, &want, part, &account, true), ..Default::default() }
    }

    fn state(&self, base: &Value, want: &Desired, part: &str, account: &str, statements_ok: bool) -> Value {
        let mut state = base.clone();
        crate::framework::plan::set_attrs(
            &mut state,
            [
                ("id", Value::from(format!("{},{}", want.bucket, want.source_account_id))),
                ("bucket_arn", Value::from(bucket_arn(part, &want.bucket))),
                ("account_id", Value::from(account)),
                ("source_role_arn", Value::from(want.source_role_arn.clone())),
                ("statement_sid", if statements_ok { Value::from(want.sid.clone()) } else { Value::Null }),
            ],
        );
        state
    }
}

#[async_trait::async_trait]
impl Resource<AwsClients> for DestinationResource {
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
        let (mut planned, requires_replace) =
            crate::framework::plan::default_plan(&self.schema().rules, prior, proposed, config);
        if planned.is_null() {
            return PlanOutcome { planned, requires_replace, ..Default::default() };
        }
        let derived_role = match (config.get("source_role_name"), config.get("source_bucket")) {
            (Value::Null, Value::String(b)) => Value::from(policy::role_name_for_bucket(b)),
            (Value::Null, _) => Value::Unknown,
            (v, _) => v.clone(),
        };
        crate::framework::plan::set_attrs(&mut planned, [("source_role_name", derived_role)]);
        let Some(ctx) = ctx else { return PlanOutcome { planned, requires_replace, ..Default::default() } };
        let part = partition(&ctx.client.region);
        let account = match prior.get("account_id") {
            Value::String(a) if requires_replace.is_empty() => Value::from(a.clone()),
            _ => ctx.client.account_id().await.map(|a| Value::from(a.to_string())).unwrap_or(Value::Unknown),
        };
        let mut diagnostics = Diagnostics::new();
        match Desired::from(&planned, part) {
            Some(want) => {
                let acct = account.as_str().unwrap_or_default().to_string();
                // Planning a new object (create or replace): check read-only what apply would trip over.
                if (prior.is_null() || !requires_replace.is_empty()) && !acct.is_empty() {
                    let enable = planned.get("enable_versioning").as_bool().unwrap_or(true);
                    diagnostics =
                        super::preflight_bucket(&ctx.client, &label(&planned), &acct, &want.bucket, enable).await;
                }
                let mut state = self.state(&planned, &want, part, &acct, true);
                if account.is_unknown() {
                    crate::framework::plan::set_attrs(&mut state, [("account_id", Value::Unknown)]);
                }
                planned = state;
            }
            None => crate::framework::plan::set_attrs(
                &mut planned,
                ["id", "bucket_arn", "source_role_arn", "statement_sid"].map(|k| (k, Value::Unknown)),
            ),
        }
        PlanOutcome { planned, requires_replace, diagnostics }
    }

    async fn create(&self, ctx: &Ctx<AwsClients>, planned: &Value, _config: &Value) -> ApplyOutcome {
        self.apply(ctx, planned, Vec::new(), Value::Null).await
    }

    async fn read(&self, ctx: &Ctx<AwsClients>, state: &Value, private: &[u8]) -> ReadOutcome {
        let client = &ctx.client;
        let part = partition(&client.region);
        let label = label(state);
        let Some(want) = Desired::from(state, part) else {
            return ReadOutcome { state: state.clone(), private: private.to_vec(), ..Default::default() };
        };
        let fail =
            |d: Diagnostic| ReadOutcome { state: state.clone(), private: private.to_vec(), diagnostics: d.into() };
        let (versioning, doc) =
            tokio::join!(s3::versioning(&client.s3, &want.bucket), read_policy(client, &want.bucket));
        let versioning = match versioning {
            Ok(Some(v)) => v,
            // The bucket is gone, and with it everything this resource managed.
            Ok(None) => return ReadOutcome::default(),
            Err(e) => return fail(aws_diag(&label, "reading versioning", &e)),
        };
        let statements_ok = match doc {
            Ok(Some(doc)) => want.in_place(&doc),
            Ok(None) => false,
            Err(msg) => return fail(Diagnostic::error(format!("{label}: reading the bucket policy failed"), msg)),
        };
        let account = state.get("account_id").as_str().unwrap_or_default().to_string();
        let mut new_state = self.state(state, &want, part, &account, statements_ok);
        // Versioning drift shows as `enable_versioning` turning false; the plan then turns it back on.
        if state.get("enable_versioning").as_bool() == Some(true) && versioning != s3::Versioning::Enabled {
            crate::framework::plan::set_attrs(&mut new_state, [("enable_versioning", Value::Bool(false))]);
        }
        ReadOutcome { state: new_state, private: private.to_vec(), diagnostics: Diagnostics::new() }
    }

    async fn update(&self, ctx: &Ctx<AwsClients>, prior: &Value, planned: &Value, _config: &Value) -> ApplyOutcome {
        let part = partition(&ctx.client.region);
        let old = Desired::from(prior, part).map(|d| d.sids).unwrap_or_default();
        let new = Desired::from(planned, part).map(|d| d.sids).unwrap_or_default();
        let stale = old.into_iter().filter(|s| !new.contains(s)).collect();
        self.apply(ctx, planned, stale, prior.clone()).await
    }

    async fn delete(&self, ctx: &Ctx<AwsClients>, prior: &Value) -> Diagnostics {
        let part = partition(&ctx.client.region);
        let Some(want) = Desired::from(prior, part) else { return Diagnostics::new() };
        // A bucket that is gone reads as having no policy: nothing left to remove.
        match remove_statements(&ctx.client, &ctx.stop, &want.bucket, &want.sids).await {
            Ok(()) => Diagnostics::new(),
            Err(msg) => {
                Diagnostic::error(format!("{}: removing the bucket-policy statements failed", label(prior)), msg).into()
            }
        }
    }

    async fn import(&self, ctx: &Ctx<AwsClients>, id: &str) -> Result<Value, Diagnostics> {
        let parts: Vec<&str> = id.split(',').map(str::trim).collect();
        let usage = || {
            Diagnostics::from(Diagnostic::error(
                "Invalid import id",
                format!(
                    "Import {TYPE_NAME} as `<bucket>,<source_account_id>` (or `<bucket>,<source_account_id>,<source_bucket>` \
                     when the role name cannot tell the source bucket); got {id:?}."
                ),
            ))
        };
        let (bucket, account, source_bucket) = match parts.as_slice() {
            [b, a] => (*b, *a, None),
            [b, a, s] => (*b, *a, Some(s.to_string())),
            _ => return Err(usage()),
        };
        if replication::validate_bucket_name(bucket).is_err() || validate::account_id(account).is_err() {
            return Err(usage());
        }
        let doc = read_policy(&ctx.client, bucket)
            .await
            .map_err(|m| Diagnostics::from(Diagnostic::error(format!("Importing {TYPE_NAME} {id:?} failed"), m)))?;
        // crossrepl's own statements name the role; failing those, a hand-written grant does (a setup to migrate).
        let part = partition(&ctx.client.region);
        let roles = match doc.as_ref().map(|d| policy::destination_role_arns(d, account)) {
            Some(ours) if !ours.is_empty() => ours,
            _ => doc.as_ref().map(|d| policy::hand_written_grant_roles(d, part, bucket, account)).unwrap_or_default(),
        };
        let role = pick_role(&roles, source_bucket.as_deref()).map_err(|msg| {
            Diagnostics::from(Diagnostic::error(
                format!("Importing {TYPE_NAME} {id:?} failed"),
                format!("The policy of bucket {bucket}: {msg}"),
            ))
        })?;
        let after_role = role.split_once(":role").map(|(_, r)| r).unwrap_or("/");
        let (path, name) = after_role
            .rsplit_once('/')
            .map(|(p, n)| (format!("{p}/"), n.to_string()))
            .unwrap_or(("/".into(), after_role.into()));
        let source_bucket = source_bucket
            .or_else(|| name.strip_prefix("crossrepl-").filter(|b| policy::role_name_for_bucket(b) == name).map(str::to_string))
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    format!("Importing {TYPE_NAME} {id:?} needs the source bucket"),
                    format!("The role {role} does not tell the source bucket; import as `{bucket},{account},<source_bucket>`."),
                ))
            })?;
        Ok(Value::object([
            ("id", Value::from(format!("{bucket},{account}"))),
            ("bucket", Value::from(bucket)),
            ("source_account_id", Value::from(account)),
            ("source_bucket", Value::from(source_bucket)),
            ("source_role_name", Value::from(name)),
            ("source_role_path", Value::from(path)),
            ("enable_versioning", Value::Bool(true)),
            ("bucket_arn", Value::Null),
            ("account_id", ctx.client.account_id().await.map(|a| Value::from(a.to_string())).unwrap_or(Value::Null)),
            ("source_role_arn", Value::from(role.clone())),
            ("statement_sid", Value::Null),
        ]))
    }
}

/// The role an import is about: the only one of `account` in the policy, or, with a source bucket, the one named
/// after it (`crossrepl-<source bucket>`).
fn pick_role<'a>(roles: &'a [String], source_bucket: Option<&str>) -> Result<&'a String, String> {
    let name_of = |arn: &str| arn.rsplit('/').next().unwrap_or_default().to_string();
    match (roles, source_bucket) {
        ([], _) => Err("it holds neither crossrepl statements nor a hand-written replication grant (principal: a \
                        role of this source account; only replication actions on this bucket; no condition)."
            .into()),
        ([only], None) => Ok(only),
        (_, Some(b)) => {
            let want = policy::role_name_for_bucket(b);
            match roles.iter().find(|r| name_of(r) == want) {
                Some(r) => Ok(r),
                None if roles.len() == 1 => Ok(&roles[0]),
                None => Err(format!(
                    "none of its crossrepl statements names the role {want} of source bucket {b} (roles: {}).",
                    roles.iter().map(|r| name_of(r)).collect::<Vec<_>>().join(", ")
                )),
            }
        }
        (_, None) => Err(format!(
            "it holds crossrepl statements for {} roles of this source account; say which with \
             `<bucket>,<source_account_id>,<source_bucket>`.",
            roles.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_picks_the_role_of_the_source_bucket() {
        let roles = vec![
            "arn:aws:iam::111111111111:role/crossrepl-one".to_string(),
            "arn:aws:iam::111111111111:role/crossrepl-two".to_string(),
        ];
        assert_eq!(pick_role(&roles, Some("two")).unwrap(), &roles[1]);
        assert!(pick_role(&roles, None).unwrap_err().contains("<source_bucket>"));
        assert!(pick_role(&roles, Some("three")).is_err());
        assert_eq!(pick_role(&roles[..1], None).unwrap(), &roles[0]);
        // A custom role name: the only role of the account is the one, whatever its name.
        assert_eq!(pick_role(&roles[..1], Some("other")).unwrap(), &roles[0]);
        assert!(pick_role(&[], None).is_err());
    }

    fn config(pairs: Vec<(&str, Value)>) -> Value {
        let tfplugin::Type::Object(attrs) = schema().schema.block.value_type() else { unreachable!() };
        let mut v: std::collections::BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
        for (k, x) in pairs {
            v.insert(k.into(), x);
        }
        Value::Object(v)
    }

    #[test]
    fn validation_names_attributes() {
        let c = config(vec![
            ("bucket", "Bad_Bucket".into()),
            ("source_account_id", "123".into()),
            ("source_bucket", "ok-bucket".into()),
            ("source_role_path", "nope".into()),
        ]);
        let paths: Vec<String> =
            validate_config(&c).0.iter().map(|d| d.attribute.as_ref().unwrap().to_string()).collect();
        assert_eq!(paths, vec!["bucket", "source_account_id", "source_role_path"]);
        let unknown = config(vec![("bucket", Value::Unknown), ("source_account_id", Value::Unknown)]);
        assert!(validate_config(&unknown).is_empty());
    }

    #[tokio::test]
    async fn plan_without_client_derives_role_name_and_keeps_the_rest_unknown() {
        let c = config(vec![
            ("bucket", "dst".into()),
            ("source_account_id", "111111111111".into()),
            ("source_bucket", "src".into()),
        ]);
        let out = DestinationResource.plan(None, &Value::Null, &c, &c).await;
        assert_eq!(out.planned.get("source_role_name").as_str(), Some("crossrepl-src"));
        assert_eq!(out.planned.get("source_role_path").as_str(), Some("/"));
        assert_eq!(out.planned.get("enable_versioning"), &Value::Bool(true));
        assert!(out.planned.get("statement_sid").is_unknown());
    }

    #[test]
    fn desired_statements_follow_the_role() {
        let c = config(vec![
            ("bucket", "dst".into()),
            ("source_account_id", "111111111111".into()),
            ("source_role_name", "crossrepl-src".into()),
            ("source_role_path", "/".into()),
        ]);
        let d = Desired::from(&c, "aws").unwrap();
        assert_eq!(d.source_role_arn, "arn:aws:iam::111111111111:role/crossrepl-src");
        assert_eq!(d.sids.len(), 2);
        assert!(d.sids.contains(&d.sid));
    }
}
