//! AWS clients for the configured provider, one small module per service.

pub mod error;
pub mod iam;
pub mod once;
pub mod s3;
pub mod sts;

pub use error::{AwsError, ErrorKind};

use std::sync::Arc;

use tokio::sync::OnceCell;

/// The AWS clients of one configured provider block, and what it learns once (the account id).
pub struct AwsClients {
    /// Amazon S3.
    pub s3: aws_sdk_s3::Client,
    /// AWS IAM.
    pub iam: aws_sdk_iam::Client,
    /// AWS STS.
    pub sts: aws_sdk_sts::Client,
    /// The region requests go to.
    pub region: String,
    account_id: OnceCell<Arc<str>>,
}

impl AwsClients {
    /// Clients built from `sdk` with per-service endpoint overrides.
    pub fn new(sdk: &aws_config::SdkConfig, endpoints: &Endpoints, s3_path_style: bool) -> Self {
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
        Self {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            account_id: OnceCell::new(),
        }
    }

    /// The account these credentials belong to, asked of STS once and cached.
    pub async fn account_id(&self) -> Result<Arc<str>, AwsError> {
        self.account_id.get_or_try_init(|| async { sts::caller_account(&self.sts).await.map(Arc::from) }).await.cloned()
    }
}

/// Per-service endpoint overrides (LocalStack, VPC endpoints, FIPS endpoints, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// S3 endpoint URL.
    pub s3: Option<String>,
    /// IAM endpoint URL.
    pub iam: Option<String>,
    /// STS endpoint URL.
    pub sts: Option<String>,
}
