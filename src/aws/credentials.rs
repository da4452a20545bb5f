//! Credentials of a provider block, resolved once at configure: the standard AWS chain with a short
//! instance-metadata probe, and a wrapper that hands the SDK the credentials found at configure (so that
//! resolving them to check them costs no second round of calls).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::Region;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};

/// How long the instance-metadata (IMDS) probe waits to connect and for each answer, with one attempt. IMDS
/// answers an instance in milliseconds; where there is none, the SDK's defaults (1 s timeouts, 4 attempts) made a
/// plan without credentials take over 3 s before failing.
pub const IMDS_TIMEOUT: Duration = Duration::from_millis(250);

/// Credentials closer than this to their expiry are resolved again.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// The SDK's default credential chain, source by source in its order (aws-config `DefaultCredentialsChain`:
/// environment, shared config and credentials files with SSO and `credential_process`, web identity, container,
/// instance metadata), with two changes: the instance-metadata probe waits [`IMDS_TIMEOUT`] once, and its failure
/// (no IMDS, or IMDS disabled: "request forbidden") counts as "no credentials there" instead of ending the chain
/// with an error.
pub fn default_chain(profile: Option<&str>, region: Region) -> SharedCredentialsProvider {
    use aws_config::ecs::EcsCredentialsProvider;
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_config::imds::credentials::ImdsCredentialsProvider;
    use aws_config::meta::credentials::CredentialsProviderChain;
    use aws_config::profile::ProfileFileCredentialsProvider;
    use aws_config::provider_config::ProviderConfig;
    use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;

    let conf = ProviderConfig::default().with_region(Some(region));
    let mut profile_provider = ProfileFileCredentialsProvider::builder().configure(&conf);
    if let Some(p) = profile {
        profile_provider = profile_provider.profile_name(p);
    }
    let imds = aws_config::imds::Client::builder()
        .configure(&conf)
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .max_attempts(1)
        .build();
    let imds = ImdsCredentialsProvider::builder().configure(&conf).imds_client(imds).build();
    let chain = CredentialsProviderChain::first_try("Environment", EnvironmentVariableCredentialsProvider::new())
        .or_else("Profile", profile_provider.build())
        .or_else("WebIdentityToken", WebIdentityTokenCredentialsProvider::builder().configure(&conf).build())
        .or_else("EcsContainer", EcsCredentialsProvider::builder().configure(&conf).build())
        .or_else("Ec2InstanceMetadata", Optional(imds));
    SharedCredentialsProvider::new(chain)
}

/// A source whose failure means "no credentials here", so that the chain reports what it tried.
#[derive(Debug)]
struct Optional<P>(P);

impl<P: ProvideCredentials> ProvideCredentials for Optional<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.0.provide_credentials().await.map_err(|e| match e {
                CredentialsError::CredentialsNotLoaded(_) => e,
                other => CredentialsError::not_loaded(crate::error_chain(&other)),
            })
        })
    }
}

/// Why a provider block has no usable credentials (texts without any secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsProblem {
    /// No source of the chain had credentials.
    NotFound(String),
    /// A source was configured but failed (an expired SSO session, a failing `credential_process`, an invalid
    /// profile, a refused AssumeRole).
    Failed(String),
}

/// A credentials provider that resolves its inner provider once and hands out the result until shortly before
/// it expires; [`Resolved::resolve`] is the configure-time check. Clones share what was resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    inner: SharedCredentialsProvider,
    current: Arc<Mutex<Option<Credentials>>>,
}

impl Resolved {
    /// Wraps `inner`.
    pub fn new(inner: SharedCredentialsProvider) -> Self {
        Self { inner, current: Arc::new(Mutex::new(None)) }
    }

    /// The credentials, resolved now unless fresh ones are held.
    pub async fn resolve(&self) -> Result<Credentials, CredentialsProblem> {
        self.credentials().await.map_err(|e| {
            let text = crate::error_chain(&e);
            match e {
                CredentialsError::CredentialsNotLoaded(_) => CredentialsProblem::NotFound(text),
                _ => CredentialsProblem::Failed(text),
            }
        })
    }

    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let held = self.current.lock().map(|c| c.clone()).unwrap_or_default();
        if let Some(c) = held.filter(|c| c.expiry().is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE)) {
            return Ok(c);
        }
        let fresh = self.inner.provide_credentials().await?;
        if let Ok(mut slot) = self.current.lock() {
            *slot = Some(fresh.clone());
        }
        Ok(fresh)
    }
}

impl ProvideCredentials for Resolved {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Counts its calls; fails with "not loaded" when `creds` is None.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicU32>,
        creds: Option<Credentials>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let out = self.creds.clone().ok_or_else(|| CredentialsError::not_loaded("no source had credentials"));
            future::ProvideCredentials::ready(out)
        }
    }

    fn resolved(creds: Option<Credentials>) -> (Resolved, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        (Resolved::new(SharedCredentialsProvider::new(Counting { calls: calls.clone(), creds })), calls)
    }

    #[tokio::test]
    async fn resolves_once() {
        let (r, calls) = resolved(Some(Credentials::new("AKID", "SECRET", None, None, "Environment")));
        assert_eq!(r.resolve().await.map(|_| ()), Ok(()));
        let again = r.provide_credentials().await.expect("held credentials");
        assert_eq!(again.access_key_id(), "AKID");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the SDK's request resolved the credentials a second time");
    }

    #[tokio::test]
    async fn resolves_again_near_expiry() {
        let soon = SystemTime::now() + Duration::from_secs(60);
        let (r, calls) = resolved(Some(Credentials::new("AKID", "SECRET", None, Some(soon), "Sso")));
        r.resolve().await.expect("credentials");
        r.resolve().await.expect("credentials");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn no_source_is_not_found() {
        let (r, _) = resolved(None);
        match r.resolve().await {
            Err(CredentialsProblem::NotFound(text)) => assert!(text.contains("no source had credentials"), "{text}"),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
}
