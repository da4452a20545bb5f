//! AWS clients for the configured provider, one small module per service.

pub mod credentials;
pub mod error;
pub mod handoff;
pub mod iam;
pub mod kms;
pub mod once;
pub mod propagation;
pub mod recent;
pub mod s3;
pub mod s3_canary;
pub mod s3_replication;
pub mod s3control;
pub mod sts;

pub use error::{AwsError, ErrorKind};

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

/// The AWS clients of one configured provider block, and what it learns once (the account id). The SDK clients
/// stay inside this module: the rest of crossrepl calls the functions of its submodules. Clones are cheap and share
/// the connections and what was learnt.
#[derive(Clone)]
pub struct AwsClients {
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    kms: aws_sdk_kms::Client,
    s3control: aws_sdk_s3control::Client,
    /// The region requests go to.
    pub region: String,
    account_id: Arc<OnceCell<Arc<str>>>,
    credentials: credentials::Resolved,
    /// Reads of plan-time checks, for the apply that follows in this process.
    recent: Arc<recent::Recent>,
    /// The endpoint overrides, as part of what names the caller in [`handoff`].
    endpoints: Endpoints,
    /// Reads of plan-time checks handed between the provider processes of one engine run; set once the
    /// credentials are resolved.
    handoff: Arc<OnceLock<Option<handoff::Handoff>>>,
    /// These clients serve a plan: handed-on reads are taken over.
    planning: bool,
}

/// How to reach AWS: what a provider block says, explicit values first, the standard AWS environment and shared
/// config files for the rest (as hashicorp/aws resolves them).
#[derive(Debug, Default, PartialEq)]
pub struct Settings {
    /// AWS region.
    pub region: Option<String>,
    /// Shared config profile.
    pub profile: Option<String>,
    /// Static credentials: access key id, secret key, session token.
    pub static_keys: Option<(String, String, Option<String>)>,
    /// Role to assume with the base credentials.
    pub assume_role: Option<AssumeRole>,
    /// Endpoint overrides.
    pub endpoints: Endpoints,
    /// S3 path-style addressing.
    pub s3_use_path_style: bool,
    /// Attempts per AWS call (the first included) on throttling and transient errors.
    pub max_attempts: u32,
}

/// A role to assume.
#[derive(Debug, Default, PartialEq)]
pub struct AssumeRole {
    /// The role to assume.
    pub role_arn: String,
    /// The session name.
    pub session_name: String,
    /// The external id the role's trust policy requires.
    pub external_id: Option<String>,
    /// The session length.
    pub duration: Option<std::time::Duration>,
}

impl AwsClients {
    /// Resolves credentials and region as `settings` say and builds the clients; `Err` when no region is set
    /// anywhere.
    pub async fn connect(settings: &Settings) -> Result<Self, String> {
        use aws_config::BehaviorVersion;
        use aws_config::retry::RetryConfig;
        use aws_credential_types::Credentials;
        use aws_credential_types::provider::SharedCredentialsProvider;

        let retry = RetryConfig::standard().with_max_attempts(settings.max_attempts);
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry);
        if let Some(r) = &settings.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = &settings.profile {
            loader = loader.profile_name(p);
        }
        // The credentials are set below, once the region (which their sources need) is known.
        let mut sdk = loader.no_credentials().load().await;
        let region = sdk.region().cloned().ok_or("no region")?;
        let mut chain = match &settings.static_keys {
            Some((ak, sk, token)) => {
                SharedCredentialsProvider::new(Credentials::new(ak, sk, token.clone(), None, STATIC_KEYS_SOURCE))
            }
            None => credentials::default_chain(settings.profile.as_deref(), region),
        };
        sdk = sdk.to_builder().credentials_provider(chain.clone()).build();
        if let Some(ar) = &settings.assume_role {
            // Role assumption talks to STS, so it honours the sts endpoint override too.
            let sts_sdk = match &settings.endpoints.sts {
                Some(url) => sdk.to_builder().endpoint_url(url).build(),
                None => sdk.clone(),
            };
            let mut builder = aws_config::sts::AssumeRoleProvider::builder(&ar.role_arn)
                .session_name(&ar.session_name)
                .configure(&sts_sdk);
            if let Some(id) = &ar.external_id {
                builder = builder.external_id(id);
            }
            if let Some(d) = ar.duration {
                builder = builder.session_length(d);
            }
            chain = SharedCredentialsProvider::new(builder.build().await);
        }
        // Every client resolves through one `Resolved`: the configure-time check and the first request share it.
        let resolved = credentials::Resolved::new(chain);
        sdk = sdk.to_builder().credentials_provider(SharedCredentialsProvider::new(resolved.clone())).build();
        Ok(Self::new(&sdk, &settings.endpoints, settings.s3_use_path_style, resolved))
    }

    /// The credentials, resolved now (once: later requests reuse them). Names the caller for [`handoff`].
    pub async fn credentials(&self) -> Result<(), credentials::CredentialsProblem> {
        let keys = self.credentials.resolve().await?;
        self.handoff.get_or_init(|| {
            let endpoints = format!("{:?}", self.endpoints);
            let (id, secret, token) = (keys.access_key_id(), keys.secret_access_key(), keys.session_token());
            let parts = [self.region.as_bytes(), endpoints.as_bytes(), id.as_bytes(), secret.as_bytes()];
            handoff::Handoff::for_caller(&[&parts[..], &[token.unwrap_or_default().as_bytes()]].concat())
        });
        Ok(())
    }

    /// These clients for a plan: reads of its checks that another provider process of this engine run made
    /// moments ago are taken over ([`handoff`]).
    pub fn planning(&self) -> Self {
        Self { planning: true, ..self.clone() }
    }

    fn handoff(&self) -> Option<&handoff::Handoff> {
        self.handoff.get().and_then(Option::as_ref)
    }

    /// `read` (`op` on `resource`) and how long ago it was made: in a plan, what another provider process of this
    /// engine run read moments ago when there is such a read, else made now and handed on ([`handoff`]) when
    /// `lasting` says the answer cannot be undone by the run's other resources alone: an answer that the bucket does
    /// not exist is never handed on, since another resource of the configuration may make it between the walks.
    /// (A plain function returning [`handed`]'s future: one async layer less keeps the nested check futures of a
    /// plan small enough for a worker thread's stack in debug builds.)
    fn handed_read<V: Serialize + DeserializeOwned>(
        &self,
        op: &str,
        resource: &str,
        read: impl std::future::Future<Output = Result<V, AwsError>>,
        lasting: fn(&V) -> bool,
    ) -> impl std::future::Future<Output = Result<(V, Duration), AwsError>> {
        handed(self.handoff().filter(|_| self.planning), op, resource, read, lasting)
    }

    /// Drops what other processes of this engine run may take over about `resource` (a bucket, role or policy):
    /// crossrepl is about to change it.
    fn touched(&self, resource: &str) {
        if let Some(handoff) = self.handoff() {
            handoff.touched(resource);
        }
    }

    /// Clients built from `sdk` with per-service endpoint overrides.
    fn new(
        sdk: &aws_config::SdkConfig,
        endpoints: &Endpoints,
        s3_path_style: bool,
        credentials: credentials::Resolved,
    ) -> Self {
        let mut s3 = aws_sdk_s3::config::Builder::from(sdk).force_path_style(s3_path_style);
        if let Some(url) = &endpoints.s3 {
            s3 = s3.endpoint_url(url);
        }
        let mut iam = aws_sdk_iam::config::Builder::from(sdk);
        if let Some(url) = &endpoints.iam {
            iam = iam.endpoint_url(url);
        }
        let mut sts = aws_sdk_sts::config::Builder::from(sdk);
        if let Some(url) = &endpoints.sts {
            sts = sts.endpoint_url(url);
        }
        let mut kms = aws_sdk_kms::config::Builder::from(sdk);
        if let Some(url) = &endpoints.kms {
            kms = kms.endpoint_url(url);
        }
        let mut s3control = aws_sdk_s3control::config::Builder::from(sdk);
        match &endpoints.s3control {
            Some(url) if s3_path_style => {
                s3control = s3control.endpoint_resolver(s3control::PathStyleEndpoint { url: url.clone() })
            }
            Some(url) => s3control = s3control.endpoint_url(url),
            None => {}
        }
        Self {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            kms: aws_sdk_kms::Client::from_conf(kms.build()),
            s3control: aws_sdk_s3control::Client::from_conf(s3control.build()),
            region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            account_id: Arc::default(),
            credentials,
            recent: Arc::default(),
            endpoints: endpoints.clone(),
            handoff: Arc::default(),
            planning: false,
        }
    }

    /// The account these credentials belong to, asked of STS once and cached; taken over from another process of
    /// this engine run with the same credentials that asked moments ago ([`handoff`]).
    pub async fn account_id(&self) -> Result<Arc<str>, AwsError> {
        let ask = || async {
            let (account, _) =
                handed(self.handoff(), "GetCallerIdentity", "", sts::caller_account(self), |_| true).await?;
            Ok(Arc::from(account))
        };
        self.account_id.get_or_try_init(ask).await.cloned()
    }
}

/// `read` (`op` on `resource`) and its age: taken over from `handoff` when it holds the read, else made now and
/// handed on when `lasting` says so.
async fn handed<V: Serialize + DeserializeOwned>(
    handoff: Option<&handoff::Handoff>,
    op: &str,
    resource: &str,
    read: impl std::future::Future<Output = Result<V, AwsError>>,
    lasting: fn(&V) -> bool,
) -> Result<(V, Duration), AwsError> {
    let Some(handoff) = handoff else { return Ok((read.await?, Duration::ZERO)) };
    if let Some(got) = handoff.get(op, resource) {
        return Ok(got);
    }
    let value = read.await?;
    if lasting(&value) {
        handoff.put(op, resource, &value);
    }
    Ok((value, Duration::ZERO))
}

/// The source name of credentials given in the provider block (`access_key`, `secret_key`, `token`).
pub const STATIC_KEYS_SOURCE: &str = "crossrepl-provider-block";

/// Per-service endpoint overrides (LocalStack, VPC endpoints, FIPS endpoints, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// S3 endpoint URL.
    pub s3: Option<String>,
    /// IAM endpoint URL.
    pub iam: Option<String>,
    /// STS endpoint URL.
    pub sts: Option<String>,
    /// KMS endpoint URL.
    pub kms: Option<String>,
    /// S3 Control endpoint URL (Batch Operations jobs).
    pub s3control: Option<String>,
}
