//! The `crossrepl` provider block: AWS credentials, region, role assumption and endpoints, resolved the way
//! hashicorp/aws users expect (explicit values first, then the standard AWS environment and shared config).

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::aws::{AwsClients, Endpoints};
use crate::framework::schema::{Attr, BlockSpec};
use crate::framework::{AttributePath, Diagnostic, Diagnostics, Provider, Resource, StopToken, Value};

/// The crossrepl provider.
pub struct Crossrepl;

/// The provider block, decoded.
#[derive(Debug, Default, PartialEq)]
pub struct ProviderConfig {
    /// AWS region.
    pub region: Option<String>,
    /// Shared config profile.
    pub profile: Option<String>,
    /// Static access key id.
    pub access_key: Option<String>,
    /// Static secret key.
    pub secret_key: Option<String>,
    /// Session token for temporary credentials.
    pub token: Option<String>,
    /// Role to assume with the base credentials.
    pub assume_role: Option<AssumeRole>,
    /// Endpoint overrides.
    pub endpoints: Endpoints,
    /// S3 path-style addressing.
    pub s3_use_path_style: bool,
    /// Retries per AWS call on throttling and transient errors.
    pub max_retries: Option<u32>,
}

/// The `assume_role` block.
#[derive(Debug, Default, PartialEq)]
pub struct AssumeRole {
    /// The role to assume.
    pub role_arn: String,
    /// The session name (default `crossrepl`).
    pub session_name: Option<String>,
    /// The external id the role's trust policy requires.
    pub external_id: Option<String>,
    /// The session length.
    pub duration: Option<Duration>,
}

fn schema_block() -> BlockSpec {
    BlockSpec::new(
        "The crossrepl provider manages cross-account S3 replication. Configure one provider block per AWS \
         account (use `alias`). Every setting is optional and falls back to the standard AWS environment \
         (`AWS_PROFILE`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...) and shared config files, as in hashicorp/aws.",
    )
    .attr(Attr::string("region").describe("AWS region, e.g. `us-east-1`. Default: `AWS_REGION` or the profile's region."))
    .attr(Attr::string("profile").describe("Named profile of the shared AWS config and credentials files."))
    .attr(Attr::string("access_key").describe("Static access key id. Prefer profiles or environment variables."))
    .attr(Attr::string("secret_key").sensitive().describe("Static secret access key; set together with `access_key`."))
    .attr(Attr::string("token").sensitive().describe("Session token for temporary static credentials."))
    .attr(Attr::bool("s3_use_path_style").describe("Address S3 buckets by path (`host/bucket`) instead of virtual host. Needed by LocalStack and some S3-compatible endpoints. Default `false`."))
    .attr(Attr::number("max_retries").describe("Attempts beyond the first for throttled or transiently failing AWS calls. Default 25, as in hashicorp/aws."))
    .single_block(
        "assume_role",
        BlockSpec::new("Assume an IAM role with the credentials above and act as that role.")
            .attr(Attr::string("role_arn").required().describe("ARN of the role to assume, e.g. `arn:aws:iam::123456789012:role/replication-admin`."))
            .attr(Attr::string("session_name").describe("Session name recorded in CloudTrail. Default `crossrepl`."))
            .attr(Attr::string("external_id").describe("External id required by the role's trust policy."))
            .attr(Attr::string("duration").describe("Session length as a duration (`15m`, `1h`, `1h30m`), 15 minutes to 12 hours. Default 1 hour.")),
    )
    .single_block(
        "endpoints",
        BlockSpec::new("Custom service endpoints (for example LocalStack or VPC endpoints).")
            .attr(Attr::string("s3").describe("S3 endpoint URL."))
            .attr(Attr::string("iam").describe("IAM endpoint URL."))
            .attr(Attr::string("sts").describe("STS endpoint URL.")),
    )
}

/// Default retries per AWS call, as in hashicorp/aws.
pub const DEFAULT_MAX_RETRIES: u32 = 25;

/// Decodes and validates a provider block. Unknown values are skipped (nothing to check yet).
pub fn parse_config(config: &Value) -> (ProviderConfig, Diagnostics) {
    let mut ds = Diagnostics::new();
    let s = |name: &str| config.get(name).as_str().map(str::to_string);
    let mut out = ProviderConfig {
        region: s("region"),
        profile: s("profile"),
        access_key: s("access_key"),
        secret_key: s("secret_key"),
        token: s("token"),
        s3_use_path_style: config.get("s3_use_path_style").as_bool().unwrap_or(false),
        ..Default::default()
    };
    if let Some(r) = &out.region
        && !is_region(r)
    {
        ds.push(
            Diagnostic::error("Invalid AWS region", format!("{r:?} is not an AWS region name such as `us-east-1`."))
                .at(AttributePath::attr("region")),
        );
    }
    if let Some(p) = &out.profile
        && p.trim().is_empty()
    {
        ds.push(
            Diagnostic::error("Empty profile", "Remove `profile` or name a profile.")
                .at(AttributePath::attr("profile")),
        );
    }
    let known = |name: &str| !config.get(name).is_unknown();
    match (&out.access_key, &out.secret_key) {
        (Some(_), None) if known("secret_key") => ds.push(
            Diagnostic::error(
                "Incomplete static credentials",
                "`access_key` is set but `secret_key` is not; set both.",
            )
            .at(AttributePath::attr("secret_key")),
        ),
        (None, Some(_)) if known("access_key") => ds.push(
            Diagnostic::error(
                "Incomplete static credentials",
                "`secret_key` is set but `access_key` is not; set both.",
            )
            .at(AttributePath::attr("access_key")),
        ),
        _ => {}
    }
    if out.token.is_some() && out.access_key.is_none() && known("access_key") {
        ds.push(
            Diagnostic::error(
                "Session token without access key",
                "`token` only works with `access_key` and `secret_key`.",
            )
            .at(AttributePath::attr("token")),
        );
    }
    if let Value::Number(n) = config.get("max_retries") {
        match n.as_i64() {
            Some(v @ 0..=100) => out.max_retries = Some(v as u32),
            _ => ds.push(
                Diagnostic::error("Invalid max_retries", format!("{n} is not a whole number from 0 to 100."))
                    .at(AttributePath::attr("max_retries")),
            ),
        }
    }
    if let Some(ar) = single(config.get("assume_role")) {
        let at = AttributePath::attr("assume_role").with_index(0);
        let role_arn = ar.get("role_arn").as_str().unwrap_or_default().to_string();
        if !ar.get("role_arn").is_unknown() && !is_role_arn(&role_arn) {
            ds.push(
                Diagnostic::error(
                    "Invalid role ARN",
                    format!("{role_arn:?} is not an IAM role ARN such as `arn:aws:iam::123456789012:role/name`."),
                )
                .at(at.with_attr("role_arn")),
            );
        }
        let session_name = ar.get("session_name").as_str().map(str::to_string);
        if let Some(n) = &session_name
            && !(2..=64).contains(&n.len()) | !n.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
        {
            ds.push(
                Diagnostic::error(
                    "Invalid session name",
                    "A session name has 2 to 64 characters: letters, digits and `+=,.@-_`.",
                )
                .at(at.with_attr("session_name")),
            );
        }
        let external_id = ar.get("external_id").as_str().map(str::to_string);
        if let Some(e) = &external_id
            && !(2..=1224).contains(&e.len())
        {
            ds.push(
                Diagnostic::error("Invalid external id", "An external id has 2 to 1,224 characters.")
                    .at(at.with_attr("external_id")),
            );
        }
        let mut duration = None;
        if let Some(d) = ar.get("duration").as_str() {
            match parse_duration(d) {
                Some(v) if (Duration::from_secs(900)..=Duration::from_secs(43_200)).contains(&v) => duration = Some(v),
                _ => ds.push(
                    Diagnostic::error(
                        "Invalid duration",
                        format!("{d:?} is not a duration from 15m to 12h (write it like `1h`, `45m` or `1h30m`)."),
                    )
                    .at(at.with_attr("duration")),
                ),
            }
        }
        out.assume_role = Some(AssumeRole { role_arn, session_name, external_id, duration });
    }
    if let Some(ep) = single(config.get("endpoints")) {
        let at = AttributePath::attr("endpoints").with_index(0);
        let mut url = |name: &str| {
            let v = ep.get(name).as_str()?;
            if is_http_url(v) {
                Some(v.to_string())
            } else {
                ds.push(
                    Diagnostic::error("Invalid endpoint URL", format!("{v:?} is not an http:// or https:// URL."))
                        .at(at.with_attr(name)),
                );
                None
            }
        };
        out.endpoints = Endpoints { s3: url("s3"), iam: url("iam"), sts: url("sts") };
    }
    (out, ds)
}

fn single(v: &Value) -> Option<&Value> {
    v.as_elements().and_then(|e| e.first()).filter(|e| !e.is_null())
}

/// Whether `r` looks like an AWS region name (`us-east-1`, `us-gov-west-1`, `eu-central-2`).
pub fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1].iter().all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
}

/// Whether `arn` is an IAM role ARN: `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && matches!(
            parts[1],
            "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b" | "aws-iso-e" | "aws-iso-f" | "aws-eusc"
        )
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|n| !n.is_empty() && !n.ends_with('/'))
}

fn is_http_url(u: &str) -> bool {
    let rest = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.contains(char::is_whitespace)
    })
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

#[async_trait::async_trait]
impl Provider for Crossrepl {
    type Client = AwsClients;

    fn schema(&self) -> tfplugin::Schema {
        schema_block().build(0).schema
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        parse_config(config).1
    }

    async fn configure(&self, config: &Value, _stop: StopToken) -> Result<AwsClients, Diagnostics> {
        let (cfg, ds) = parse_config(config);
        if ds.has_errors() {
            return Err(ds);
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(
            RetryConfig::standard().with_max_attempts(cfg.max_retries.unwrap_or(DEFAULT_MAX_RETRIES) + 1),
        );
        if let Some(r) = &cfg.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = &cfg.profile {
            loader = loader.profile_name(p);
        }
        if let (Some(ak), Some(sk)) = (&cfg.access_key, &cfg.secret_key) {
            let creds = Credentials::new(ak, sk, cfg.token.clone(), None, "crossrepl-provider-block");
            loader = loader.credentials_provider(creds);
        }
        let mut sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(Diagnostic::error(
                "No AWS region",
                "Set `region` in the provider block, or AWS_REGION in the environment, or a region in the profile.",
            )
            .at(AttributePath::attr("region"))
            .into());
        }
        if let Some(ar) = &cfg.assume_role {
            // Role assumption talks to STS, so it honours the sts endpoint override too.
            let sts_sdk = match &cfg.endpoints.sts {
                Some(url) => sdk.to_builder().endpoint_url(url).build(),
                None => sdk.clone(),
            };
            let mut builder = aws_config::sts::AssumeRoleProvider::builder(&ar.role_arn)
                .session_name(ar.session_name.clone().unwrap_or_else(|| "crossrepl".into()))
                .configure(&sts_sdk);
            if let Some(id) = &ar.external_id {
                builder = builder.external_id(id);
            }
            if let Some(d) = ar.duration {
                builder = builder.session_length(d);
            }
            let provider = builder.build().await;
            sdk = sdk.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build();
        }
        tracing::info!(
            region = sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            profile = cfg.profile.as_deref().unwrap_or(""),
            assume_role = cfg.assume_role.as_ref().map(|a| a.role_arn.as_str()).unwrap_or(""),
            "provider configured"
        );
        Ok(AwsClients::new(&sdk, &cfg.endpoints, cfg.s3_use_path_style))
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<AwsClients>>> {
        vec![
            Arc::new(crate::resources::destination::DestinationResource),
            Arc::new(crate::resources::source::SourceResource),
        ]
    }

    fn functions(&self) -> Vec<Arc<dyn crate::framework::ProviderFunction>> {
        crate::functions::all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(pairs: Vec<(&str, Value)>) -> Value {
        let ty = schema_block().build(0).schema.block.value_type();
        let tfplugin::Type::Object(attrs) = ty else { unreachable!() };
        let mut v: std::collections::BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
        for (k, x) in pairs {
            v.insert(k.into(), x);
        }
        Value::Object(v)
    }

    fn paths(ds: &Diagnostics) -> Vec<String> {
        ds.0.iter().map(|d| d.attribute.as_ref().map(|p| p.to_string()).unwrap_or_default()).collect()
    }

    #[test]
    fn accepts_a_full_block() {
        let cfg = block(vec![
            ("region", "eu-central-1".into()),
            ("access_key", "AKIA".into()),
            ("secret_key", "s".into()),
            ("max_retries", Value::int(3)),
            ("s3_use_path_style", true.into()),
            (
                "assume_role",
                Value::List(vec![Value::object([
                    ("role_arn", Value::from("arn:aws:iam::123456789012:role/admin")),
                    ("session_name", "ci-run".into()),
                    ("external_id", "xyz".into()),
                    ("duration", "1h30m".into()),
                ])]),
            ),
            (
                "endpoints",
                Value::List(vec![Value::object([
                    ("s3", Value::from("http://127.0.0.1:4566")),
                    ("iam", Value::Null),
                    ("sts", "https://sts.example".into()),
                ])]),
            ),
        ]);
        let (c, ds) = parse_config(&cfg);
        assert!(ds.is_empty(), "{ds:?}");
        assert_eq!(c.max_retries, Some(3));
        assert_eq!(c.assume_role.unwrap().duration, Some(Duration::from_secs(5400)));
        assert_eq!(c.endpoints.s3.as_deref(), Some("http://127.0.0.1:4566"));
        assert!(c.s3_use_path_style);
    }

    #[test]
    fn names_the_attribute_of_each_error() {
        let cfg = block(vec![
            ("region", "useast1".into()),
            ("access_key", "AKIA".into()),
            ("max_retries", Value::int(-1)),
            (
                "assume_role",
                Value::List(vec![Value::object([
                    ("role_arn", Value::from("arn:aws:iam::123:user/x")),
                    ("session_name", Value::Null),
                    ("external_id", Value::Null),
                    ("duration", "2d".into()),
                ])]),
            ),
            (
                "endpoints",
                Value::List(vec![Value::object([
                    ("s3", Value::from("localhost:4566")),
                    ("iam", Value::Null),
                    ("sts", Value::Null),
                ])]),
            ),
        ]);
        let (_, ds) = parse_config(&cfg);
        assert_eq!(
            paths(&ds),
            vec![
                "region",
                "secret_key",
                "max_retries",
                "assume_role[0].role_arn",
                "assume_role[0].duration",
                "endpoints[0].s3"
            ]
        );
    }

    #[test]
    fn unknown_values_are_not_errors() {
        let cfg =
            block(vec![("access_key", "AKIA".into()), ("secret_key", Value::Unknown), ("region", Value::Unknown)]);
        assert!(parse_config(&cfg).1.is_empty());
    }

    #[test]
    fn helpers() {
        assert!(
            is_region("us-gov-west-1") && is_region("eu-central-2") && !is_region("us-east") && !is_region("US-EAST-1")
        );
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/name"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:role/") && !is_role_arn("arn:aws:s3:::bucket"));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration(""), None);
    }
}
