//! The `crossrepl` provider block: AWS credentials, region, role assumption and endpoints, resolved the way
//! hashicorp/aws users expect (explicit values first, then the standard AWS environment and shared config).

use std::sync::Arc;
use std::time::Duration;

use framework::{
    AnyAction, AnyResource, Attr, AttributePath, BlockSpec, Diagnostic, Diagnostics, Known, Provider, ProviderFunction,
    ResourceSchema, StopToken, Value, validator,
};

use crate::aws::{self, AwsClients, Endpoints, Settings};
use crate::domain::arn::{RoleArn, is_region};

/// The crossrepl provider.
pub struct Crossrepl;

/// Default retries per AWS call, as in hashicorp/aws.
pub const DEFAULT_MAX_RETRIES: i64 = 25;

framework::model! {
    /// The provider block.
    pub struct ProviderModel {
        /// AWS region.
        pub region: Known<String>,
        /// Shared config profile.
        pub profile: Known<String>,
        /// Static access key id.
        pub access_key: Known<String>,
        /// Static secret key.
        pub secret_key: Known<String>,
        /// Session token for temporary credentials.
        pub token: Known<String>,
        /// S3 path-style addressing.
        pub s3_use_path_style: Known<bool>,
        /// Retries per AWS call on throttling and transient errors.
        pub max_retries: Known<i64>,
        /// Skip the STS identity check at configure (credentials are still required).
        pub skip_credentials_validation: Known<bool>,
        /// Role to assume with the base credentials (at most one block).
        pub assume_role: Known<Vec<AssumeRoleModel>>,
        /// Endpoint overrides (at most one block).
        pub endpoints: Known<Vec<EndpointsModel>>,
    }
}

framework::model! {
    /// The `assume_role` block.
    pub struct AssumeRoleModel {
        /// The role to assume.
        pub role_arn: Known<String>,
        /// The session name.
        pub session_name: Known<String>,
        /// The external id the role's trust policy requires.
        pub external_id: Known<String>,
        /// The session length.
        pub duration: Known<String>,
    }
}

framework::model! {
    /// The `endpoints` block.
    pub struct EndpointsModel {
        /// S3 endpoint URL.
        pub s3: Known<String>,
        /// IAM endpoint URL.
        pub iam: Known<String>,
        /// STS endpoint URL.
        pub sts: Known<String>,
        /// KMS endpoint URL.
        pub kms: Known<String>,
        /// S3 Control endpoint URL.
        pub s3control: Known<String>,
    }
}

fn schema() -> ResourceSchema {
    let url = || validator::string("Invalid endpoint URL", "an http:// or https:// URL.", check_url);
    BlockSpec::new(
        "The crossrepl provider manages cross-account S3 replication. Configure one provider block per AWS \
         account (use `alias`). Every setting is optional and falls back to the standard AWS environment \
         (`AWS_PROFILE`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...) and shared config files, as in hashicorp/aws.",
    )
    .attr(Attr::string("region").validate(validator::string("Invalid AWS region", "an AWS region name.", check_region)).describe("AWS region, e.g. `us-east-1`. Default: `AWS_REGION` or the profile's region."))
    .attr(Attr::string("profile").validate(validator::string("Empty profile", "not empty.", check_profile)).describe("Named profile of the shared AWS config and credentials files."))
    .attr(Attr::string("access_key").describe("Static access key id. Prefer profiles or environment variables."))
    .attr(Attr::string("secret_key").sensitive().describe("Static secret access key; set together with `access_key`."))
    .attr(Attr::string("token").sensitive().describe("Session token for temporary static credentials."))
    .attr(Attr::bool("s3_use_path_style").describe("Address S3 buckets by path (`host/bucket`) instead of virtual host. Needed by LocalStack and some S3-compatible endpoints. Default `false`."))
    .attr(Attr::bool("skip_credentials_validation").describe("Skip the check at configure time that STS accepts the credentials (`sts:GetCallerIdentity`), for endpoints that do not implement STS. Credentials are still required: with none at all, configuring fails either way. Without the account id that check returns, the plan-time checks that need it do not run, and plan says so in a warning. Default `false`."))
    .attr(Attr::number("max_retries").validate(validator::value("Invalid max_retries", "a whole number from 0 to 100.", check_max_retries)).describe("Attempts beyond the first for throttled or transiently failing AWS calls. Default 25, as in hashicorp/aws."))
    .single_block(
        "assume_role",
        BlockSpec::new("Assume an IAM role with the credentials above and act as that role.")
            .attr(Attr::string("role_arn").required().validate(validator::string("Invalid role ARN", "an IAM role ARN.", |v| v.parse::<RoleArn>().map(|_| ()))).describe("ARN of the role to assume, e.g. `arn:aws:iam::123456789012:role/replication-admin`."))
            .attr(Attr::string("session_name").validate(validator::string("Invalid session name", "2 to 64 letters, digits and `+=,.@-_`.", check_session_name)).describe("Session name recorded in CloudTrail. Default `crossrepl`."))
            .attr(Attr::string("external_id").validate(validator::string("Invalid external id", "2 to 1,224 characters.", check_external_id)).describe("External id required by the role's trust policy."))
            .attr(Attr::string("duration").validate(validator::string("Invalid duration", "15 minutes to 12 hours.", check_duration)).describe("Session length as a duration (`15m`, `1h`, `1h30m`), 15 minutes to 12 hours. Default 1 hour.")),
    )
    .single_block(
        "endpoints",
        BlockSpec::new("Custom service endpoints (for example LocalStack or VPC endpoints).")
            .attr(Attr::string("s3").validate(url()).describe("S3 endpoint URL."))
            .attr(Attr::string("iam").validate(url()).describe("IAM endpoint URL."))
            .attr(Attr::string("sts").validate(url()).describe("STS endpoint URL."))
            .attr(Attr::string("kms").validate(url()).describe("KMS endpoint URL (replica keys' policies, the destination bucket's default key).")).attr(Attr::string("s3control").validate(url()).describe("S3 Control endpoint URL (the Batch Replication job of `crossrepl_source.existing_objects`). With `s3_use_path_style`, requests go to this URL as is, the account id only in the `x-amz-account-id` header (as LocalStack expects); otherwise the account id is put in front of its host name, as on AWS.")),
    )
    .build(0)
}

fn check_region(r: &str) -> Result<(), String> {
    if is_region(r) { Ok(()) } else { Err(format!("{r:?} is not an AWS region name such as `us-east-1`.")) }
}

fn check_profile(p: &str) -> Result<(), String> {
    if p.trim().is_empty() { Err("Remove `profile` or name a profile.".into()) } else { Ok(()) }
}

fn check_max_retries(v: &Value) -> Result<(), String> {
    match v.as_number() {
        Some(n) if n.as_i64().is_some_and(|v| (0..=100).contains(&v)) => Ok(()),
        Some(n) => Err(format!("{n} is not a whole number from 0 to 100.")),
        None => Ok(()),
    }
}

fn check_session_name(n: &str) -> Result<(), String> {
    if (2..=64).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c)) {
        return Ok(());
    }
    Err("A session name has 2 to 64 characters: letters, digits and `+=,.@-_`.".into())
}

fn check_external_id(e: &str) -> Result<(), String> {
    if (2..=1224).contains(&e.len()) { Ok(()) } else { Err("An external id has 2 to 1,224 characters.".into()) }
}

fn check_duration(d: &str) -> Result<(), String> {
    match parse_duration(d) {
        Some(v) if (Duration::from_secs(900)..=Duration::from_secs(43_200)).contains(&v) => Ok(()),
        _ => Err(format!("{d:?} is not a duration from 15m to 12h (write it like `1h`, `45m` or `1h30m`).")),
    }
}

fn check_url(u: &str) -> Result<(), String> {
    let rest = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.contains(char::is_whitespace)
    });
    if ok { Ok(()) } else { Err(format!("{u:?} is not an http:// or https:// URL.")) }
}

/// Parses a Go-style duration made of `h`, `m` and `s` parts (`1h30m`, `900s`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut num = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = num.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        num.clear();
        any = true;
    }
    (any && num.is_empty()).then(|| Duration::from_secs(total))
}

/// Checks across attributes: static credentials come in pairs, and a token needs them. Unknown values are not
/// errors (nothing to check yet).
fn validate(c: &ProviderModel) -> Diagnostics {
    let mut ds = Diagnostics::new();
    let incomplete = |missing: &str, set: &str| {
        Diagnostic::error("Incomplete static credentials", format!("`{set}` is set but `{missing}` is not; set both."))
            .at(AttributePath::attr(missing))
    };
    match (&c.access_key, &c.secret_key) {
        (Known::Value(_), Known::Null) => ds.push(incomplete("secret_key", "access_key")),
        (Known::Null, Known::Value(_)) => ds.push(incomplete("access_key", "secret_key")),
        _ => {}
    }
    if c.token.known().is_some() && c.access_key.is_null() {
        ds.push(
            Diagnostic::error(
                "Session token without access key",
                "`token` only works with `access_key` and `secret_key`.",
            )
            .at(AttributePath::attr("token")),
        );
    }
    ds
}

/// How to reach AWS, as the (valid, wholly known) provider block says.
pub fn settings(c: &ProviderModel) -> Settings {
    let assume_role = c.assume_role.known().and_then(|b| b.first().cloned());
    let endpoints = c.endpoints.known().and_then(|b| b.first().cloned());
    let static_keys = match (c.access_key.known(), c.secret_key.known()) {
        (Some(ak), Some(sk)) => Some((ak.clone(), sk.clone(), c.token.known().cloned())),
        _ => None,
    };
    Settings {
        region: c.region.known().cloned(),
        profile: c.profile.known().cloned(),
        static_keys,
        assume_role: assume_role.map(|a| aws::AssumeRole {
            role_arn: a.role_arn.known().cloned().unwrap_or_default(),
            session_name: a.session_name.known().cloned().unwrap_or_else(|| "crossrepl".into()),
            external_id: a.external_id.known().cloned(),
            duration: a.duration.known().and_then(|d| parse_duration(d)),
        }),
        endpoints: endpoints.map_or_else(Endpoints::default, |e| Endpoints {
            s3: e.s3.known().cloned(),
            iam: e.iam.known().cloned(),
            sts: e.sts.known().cloned(),
            kms: e.kms.known().cloned(),
            s3control: e.s3control.known().cloned(),
        }),
        s3_use_path_style: c.s3_use_path_style == Known::Value(true),
        max_attempts: (c.max_retries.known().copied().unwrap_or(DEFAULT_MAX_RETRIES) + 1) as u32,
    }
}

#[async_trait::async_trait]
impl Provider for Crossrepl {
    type Client = AwsClients;
    type Model = ProviderModel;

    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &ProviderModel) -> Diagnostics {
        validate(config)
    }

    /// Builds the clients, then checks the credentials as hashicorp/aws does: they must be found (always), and STS
    /// must accept them (`sts:GetCallerIdentity`, the call that also gives the account id, cached for the
    /// resources) unless `skip_credentials_validation`.
    async fn configure(&self, config: &ProviderModel, _stop: StopToken) -> Result<AwsClients, Diagnostics> {
        let settings = settings(config);
        let clients = AwsClients::connect(&settings).await.map_err(|_| {
            Diagnostics::from(
                Diagnostic::error(
                    "No AWS region",
                    "Set `region` in the provider block, or AWS_REGION in the environment, or a region in the profile.",
                )
                .at(AttributePath::attr("region")),
            )
        })?;
        let block = credentials::block_name(&settings, &clients.region);
        clients.credentials().await.map_err(|p| credentials::not_usable(&block, &settings, &p))?;
        if config.skip_credentials_validation != Known::Value(true) {
            clients.account_id().await.map_err(|e| credentials::refused(&block, &e))?;
        }
        tracing::info!(
            region = clients.region,
            profile = settings.profile.as_deref().unwrap_or(""),
            assume_role = settings.assume_role.as_ref().map(|a| a.role_arn.as_str()).unwrap_or(""),
            "provider configured"
        );
        Ok(clients)
    }

    fn resources(&self) -> Vec<Arc<dyn AnyResource<AwsClients>>> {
        vec![
            framework::erase(crate::resources::destination::DestinationResource),
            framework::erase(crate::resources::source::SourceResource),
        ]
    }

    fn actions(&self) -> Vec<Arc<dyn AnyAction<AwsClients>>> {
        vec![framework::erase_action(crate::actions::BatchReplication)]
    }

    fn functions(&self) -> Vec<Arc<dyn ProviderFunction>> {
        crate::functions::all()
    }
}

/// The configure-time diagnostics about credentials.
mod credentials {
    use framework::{Diagnostic, Diagnostics};

    use crate::aws::credentials::{CredentialsProblem, IMDS_TIMEOUT};
    use crate::aws::{AwsError, Settings};

    /// Which provider block a diagnostic is about. ConfigureProvider carries no alias (tfplugin6.proto), so the
    /// block is named by its region and what else it sets.
    pub fn block_name(s: &Settings, region: &str) -> String {
        let mut parts = vec![format!("region {region:?}")];
        if let Some(p) = &s.profile {
            parts.push(format!("profile {p:?}"));
        }
        if let Some(a) = &s.assume_role {
            parts.push(format!("assume_role {:?}", a.role_arn));
        }
        if s.static_keys.is_some() {
            parts.push("access_key set".into());
        }
        format!("provider \"crossrepl\" ({})", parts.join(", "))
    }

    /// The credential sources, in the order the SDK's default chain tries them.
    fn sources_tried(s: &Settings) -> String {
        let profile = s.profile.as_deref().map_or_else(|| "AWS_PROFILE, else \"default\"".into(), |p| format!("{p:?}"));
        let ms = IMDS_TIMEOUT.as_millis();
        format!(
            "Sources tried, in order:\n\
             1. static keys in the provider block (`access_key`, `secret_key`, `token`): not set;\n\
             2. environment: AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN);\n\
             3. profile {profile} of the shared config and credentials files (AWS_CONFIG_FILE, \
             AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials): keys, `credential_process`, \
             `role_arn` with `source_profile`;\n\
             4. SSO in that profile (`sso_session` or `sso_start_url`, after `aws sso login`);\n\
             5. web identity: AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN;\n\
             6. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI \
             (ECS, EKS Pod Identity);\n\
             7. EC2 instance metadata (IMDS, waited for {ms} ms; AWS_EC2_METADATA_DISABLED=true skips it)."
        )
    }

    /// No credentials found, or a configured source failed.
    pub fn not_usable(block: &str, s: &Settings, problem: &CredentialsProblem) -> Diagnostics {
        let fix = "Set `profile` in this provider block (or AWS_PROFILE) to a profile with credentials, or \
                   AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or `access_key` and `secret_key` in the block \
                   (e.g. for LocalStack). `skip_credentials_validation` does not help here: it skips only the \
                   STS check of credentials that were found.";
        let (summary, what) = match problem {
            CredentialsProblem::NotFound(e) => (format!("No AWS credentials for {block}"), format!("None found: {e}.")),
            CredentialsProblem::Failed(e) => {
                (format!("Loading AWS credentials failed for {block}"), format!("A source failed: {e}."))
            }
        };
        let tried = if s.static_keys.is_some() { String::new() } else { format!("\n\n{}", sources_tried(s)) };
        Diagnostic::error(summary, format!("{what}{tried}\n\n{fix}")).into()
    }

    /// STS did not accept the credentials (or could not be asked).
    pub fn refused(block: &str, e: &AwsError) -> Diagnostics {
        Diagnostic::error(
            format!("AWS did not accept the credentials of {block}"),
            format!(
                "{e}\n\nsts:GetCallerIdentity needs no permission, so the credentials themselves were refused \
                 (or STS could not be reached). Check that they are current \
                 (renew an expired session token or SSO session, e.g. `aws sso login`), belong to the intended \
                 account, and that STS is reachable (`endpoints {{ sts = ... }}`). For an endpoint that does not \
                 implement STS, set `skip_credentials_validation = true`."
            ),
        )
        .into()
    }
}

#[cfg(test)]
#[path = "provider_tests.rs"]
mod tests;
