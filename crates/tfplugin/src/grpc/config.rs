//! The configuration RPCs: validating the provider's and a resource's configuration, configuring the provider.

use super::{ProviderService, diags, one};
use crate::convert::decode;
use crate::proto::tfplugin6 as pb;
use crate::server::{ConfigureRequest, ProviderServer};

impl<P: ProviderServer> ProviderService<P> {
    /// `ValidateProviderConfig`: decodes the `provider` block and lets the provider check it.
    pub(super) async fn validate_provider(
        &self,
        req: pb::validate_provider_config::Request,
    ) -> pb::validate_provider_config::Response {
        let diagnostics = match decode(req.config.as_ref(), &self.provider_type, "provider configuration") {
            Ok(config) => diags(self.provider.validate_provider_config(config).await),
            Err(d) => one(d),
        };
        pb::validate_provider_config::Response { diagnostics }
    }

    /// `ValidateResourceConfig`: decodes a resource's configuration against its type and lets the provider check it.
    pub(super) async fn validate_resource(
        &self,
        req: pb::validate_resource_config::Request,
    ) -> pb::validate_resource_config::Response {
        let decoded =
            self.resource_type(&req.type_name).and_then(|ty| decode(req.config.as_ref(), ty, "resource configuration"));
        let diagnostics = match decoded {
            Ok(config) => diags(self.provider.validate_resource_config(&req.type_name, config).await),
            Err(d) => one(d),
        };
        pb::validate_resource_config::Response { diagnostics }
    }

    /// `ConfigureProvider`: hands the decoded `provider` block and the engine version to the provider.
    pub(super) async fn configure(&self, req: pb::configure_provider::Request) -> pb::configure_provider::Response {
        let diagnostics = match decode(req.config.as_ref(), &self.provider_type, "provider configuration") {
            Ok(config) => {
                let configure = ConfigureRequest { engine_version: req.terraform_version, config };
                diags(self.provider.configure_provider(configure, self.stop_token()).await)
            }
            Err(d) => one(d),
        };
        pb::configure_provider::Response { diagnostics }
    }
}
