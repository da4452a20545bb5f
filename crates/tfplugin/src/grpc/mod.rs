//! The `tfplugin6.Provider` gRPC service: decodes requests, calls the [`ProviderServer`], encodes answers.
//!
//! This module holds the service and its trait impl, one short `async fn` per RPC. The RPCs that do real work
//! delegate to inherent methods in sibling modules, which take the request message and return the response
//! message: [`config`] (validating and configuring), [`resources`] (the managed resource lifecycle),
//! [`functions`] (provider-defined functions) and [`actions`] (actions, Terraform >= 1.14).
//!
//! RPCs for capabilities this server does not offer (data sources, resource identities, moves across resource
//! types, configuration generation, ephemeral resources, list resources, state stores) answer with a well-formed
//! response carrying a clear error diagnostic.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::convert;
use crate::diag::{Diagnostic, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider;
use crate::server::{ProviderServer, StopToken, Stopper};
use crate::types::Type;

mod actions;
mod config;
mod functions;
mod resources;
#[cfg(test)]
mod tests;

type Rpc<T> = Result<Response<T>, Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The Provider service over one [`ProviderServer`].
pub struct ProviderService<P> {
    provider: Arc<P>,
    schema_response: pb::get_provider_schema::Response,
    provider_type: Type,
    resource_types: BTreeMap<String, Type>,
    functions: BTreeMap<String, crate::schema::Function>,
    action_types: BTreeMap<String, Type>,
    stopper: Mutex<Stopper>,
}

impl<P: ProviderServer> ProviderService<P> {
    /// Wraps `provider`, computing and caching its schemas once.
    pub fn new(provider: Arc<P>) -> Self {
        let schemas = provider.schemas();
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(convert::schema(&schemas.provider)),
            resource_schemas: schemas.resources.iter().map(|(n, s)| (n.clone(), convert::schema(s))).collect(),
            functions: schemas.functions.iter().map(|(n, f)| (n.clone(), convert::function(f))).collect(),
            action_schemas: schemas
                .actions
                .iter()
                .map(|(n, s)| (n.clone(), pb::ActionSchema { schema: Some(convert::schema(s)) }))
                .collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        };
        Self {
            provider,
            schema_response,
            provider_type: schemas.provider.block.value_type(),
            resource_types: schemas.resources.iter().map(|(n, s)| (n.clone(), s.block.value_type())).collect(),
            functions: schemas.functions,
            action_types: schemas.actions.iter().map(|(n, s)| (n.clone(), s.block.value_type())).collect(),
            stopper: Mutex::new(Stopper::new()),
        }
    }

    fn stop_token(&self) -> StopToken {
        self.stopper.lock().unwrap_or_else(|e| e.into_inner()).token()
    }

    fn resource_type(&self, type_name: &str) -> Result<&Type, Diagnostic> {
        self.resource_types.get(type_name).ok_or_else(|| unknown_type("resource type", type_name))
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: false,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

fn unknown_type(kind: &str, name: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Unknown {kind} {name:?}"),
        format!("This provider has no {kind} named {name:?}. Check the provider version and the resource name."),
    )
}

fn unsupported(what: &str) -> Vec<pb::Diagnostic> {
    vec![convert::diagnostic(Diagnostic::error(
        format!("{what} not supported"),
        format!("This provider offers no {what}."),
    ))]
}

fn diags(ds: Diagnostics) -> Vec<pb::Diagnostic> {
    convert::diagnostics(ds)
}

fn one(d: Diagnostic) -> Vec<pb::Diagnostic> {
    vec![convert::diagnostic(d)]
}

/// Answers an unsupported RPC with its response type's default plus an error diagnostic.
macro_rules! unsupported_rpc {
    ($resp:ty, $what:expr) => {
        Ok(Response::new(<$resp>::default()).map(|mut r| {
            r.diagnostics = unsupported($what);
            r
        }))
    };
}

#[tonic::async_trait]
impl<P: ProviderServer> Provider for ProviderService<P> {
    async fn get_metadata(&self, _: Request<pb::get_metadata::Request>) -> Rpc<pb::get_metadata::Response> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: self
                .resource_types
                .keys()
                .map(|n| pb::get_metadata::ResourceMetadata { type_name: n.clone() })
                .collect(),
            functions: self.functions.keys().map(|n| pb::get_metadata::FunctionMetadata { name: n.clone() }).collect(),
            actions: self
                .action_types
                .keys()
                .map(|n| pb::get_metadata::ActionMetadata { type_name: n.clone() })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Rpc<pb::get_provider_schema::Response> {
        Ok(Response::new(self.schema_response.clone()))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Rpc<pb::validate_provider_config::Response> {
        Ok(Response::new(self.validate_provider(request.into_inner()).await))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Rpc<pb::validate_resource_config::Response> {
        Ok(Response::new(self.validate_resource(request.into_inner()).await))
    }

    async fn validate_data_resource_config(
        &self,
        _: Request<pb::validate_data_resource_config::Request>,
    ) -> Rpc<pb::validate_data_resource_config::Response> {
        unsupported_rpc!(pb::validate_data_resource_config::Response, "data sources")
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Rpc<pb::upgrade_resource_state::Response> {
        Ok(Response::new(self.upgrade(request.into_inner()).await))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Rpc<pb::get_resource_identity_schemas::Response> {
        Ok(Response::new(pb::get_resource_identity_schemas::Response::default()))
    }

    async fn upgrade_resource_identity(
        &self,
        _: Request<pb::upgrade_resource_identity::Request>,
    ) -> Rpc<pb::upgrade_resource_identity::Response> {
        unsupported_rpc!(pb::upgrade_resource_identity::Response, "resource identities")
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Rpc<pb::configure_provider::Response> {
        Ok(Response::new(self.configure(request.into_inner()).await))
    }

    async fn read_resource(&self, request: Request<pb::read_resource::Request>) -> Rpc<pb::read_resource::Response> {
        Ok(Response::new(self.read(request.into_inner()).await))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Rpc<pb::plan_resource_change::Response> {
        Ok(Response::new(self.plan(request.into_inner()).await))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Rpc<pb::apply_resource_change::Response> {
        Ok(Response::new(self.apply(request.into_inner()).await))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Rpc<pb::import_resource_state::Response> {
        Ok(Response::new(self.import(request.into_inner()).await))
    }
    async fn move_resource_state(
        &self,
        _: Request<pb::move_resource_state::Request>,
    ) -> Rpc<pb::move_resource_state::Response> {
        unsupported_rpc!(pb::move_resource_state::Response, "moved blocks across resource types")
    }

    async fn read_data_source(&self, _: Request<pb::read_data_source::Request>) -> Rpc<pb::read_data_source::Response> {
        unsupported_rpc!(pb::read_data_source::Response, "data sources")
    }

    async fn generate_resource_config(
        &self,
        _: Request<pb::generate_resource_config::Request>,
    ) -> Rpc<pb::generate_resource_config::Response> {
        unsupported_rpc!(pb::generate_resource_config::Response, "configuration generation")
    }

    async fn validate_ephemeral_resource_config(
        &self,
        _: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Rpc<pb::validate_ephemeral_resource_config::Response> {
        unsupported_rpc!(pb::validate_ephemeral_resource_config::Response, "ephemeral resources")
    }

    async fn open_ephemeral_resource(
        &self,
        _: Request<pb::open_ephemeral_resource::Request>,
    ) -> Rpc<pb::open_ephemeral_resource::Response> {
        unsupported_rpc!(pb::open_ephemeral_resource::Response, "ephemeral resources")
    }

    async fn renew_ephemeral_resource(
        &self,
        _: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Rpc<pb::renew_ephemeral_resource::Response> {
        unsupported_rpc!(pb::renew_ephemeral_resource::Response, "ephemeral resources")
    }

    async fn close_ephemeral_resource(
        &self,
        _: Request<pb::close_ephemeral_resource::Request>,
    ) -> Rpc<pb::close_ephemeral_resource::Response> {
        unsupported_rpc!(pb::close_ephemeral_resource::Response, "ephemeral resources")
    }

    type ListResourceStream = BoxStream<pb::list_resource::Event>;

    async fn list_resource(&self, _: Request<pb::list_resource::Request>) -> Rpc<Self::ListResourceStream> {
        let event = pb::list_resource::Event { diagnostic: unsupported("list resources"), ..Default::default() };
        Ok(Response::new(Box::pin(tokio_stream::once(Ok(event)))))
    }

    async fn validate_list_resource_config(
        &self,
        _: Request<pb::validate_list_resource_config::Request>,
    ) -> Rpc<pb::validate_list_resource_config::Response> {
        unsupported_rpc!(pb::validate_list_resource_config::Response, "list resources")
    }

    async fn get_functions(&self, _: Request<pb::get_functions::Request>) -> Rpc<pb::get_functions::Response> {
        Ok(Response::new(pb::get_functions::Response {
            functions: self.schema_response.functions.clone(),
            diagnostics: Vec::new(),
        }))
    }

    async fn call_function(&self, request: Request<pb::call_function::Request>) -> Rpc<pb::call_function::Response> {
        Ok(Response::new(self.call(request.into_inner()).await))
    }

    async fn validate_state_store_config(
        &self,
        _: Request<pb::validate_state_store::Request>,
    ) -> Rpc<pb::validate_state_store::Response> {
        unsupported_rpc!(pb::validate_state_store::Response, "state stores")
    }

    async fn configure_state_store(
        &self,
        _: Request<pb::configure_state_store::Request>,
    ) -> Rpc<pb::configure_state_store::Response> {
        unsupported_rpc!(pb::configure_state_store::Response, "state stores")
    }

    type ReadStateBytesStream = BoxStream<pb::read_state_bytes::Response>;

    async fn read_state_bytes(&self, _: Request<pb::read_state_bytes::Request>) -> Rpc<Self::ReadStateBytesStream> {
        let resp = pb::read_state_bytes::Response { diagnostics: unsupported("state stores"), ..Default::default() };
        Ok(Response::new(Box::pin(tokio_stream::once(Ok(resp)))))
    }

    async fn write_state_bytes(
        &self,
        _: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Rpc<pb::write_state_bytes::Response> {
        unsupported_rpc!(pb::write_state_bytes::Response, "state stores")
    }

    async fn lock_state(&self, _: Request<pb::lock_state::Request>) -> Rpc<pb::lock_state::Response> {
        unsupported_rpc!(pb::lock_state::Response, "state stores")
    }

    async fn unlock_state(&self, _: Request<pb::unlock_state::Request>) -> Rpc<pb::unlock_state::Response> {
        unsupported_rpc!(pb::unlock_state::Response, "state stores")
    }

    async fn get_states(&self, _: Request<pb::get_states::Request>) -> Rpc<pb::get_states::Response> {
        unsupported_rpc!(pb::get_states::Response, "state stores")
    }

    async fn delete_state(&self, _: Request<pb::delete_state::Request>) -> Rpc<pb::delete_state::Response> {
        unsupported_rpc!(pb::delete_state::Response, "state stores")
    }

    async fn plan_action(&self, request: Request<pb::plan_action::Request>) -> Rpc<pb::plan_action::Response> {
        Ok(Response::new(self.plan_action_call(request.into_inner()).await))
    }

    type InvokeActionStream = actions::InvokeEvents;

    async fn invoke_action(&self, request: Request<pb::invoke_action::Request>) -> Rpc<Self::InvokeActionStream> {
        Ok(Response::new(self.invoke(request.into_inner())))
    }

    async fn validate_action_config(
        &self,
        request: Request<pb::validate_action_config::Request>,
    ) -> Rpc<pb::validate_action_config::Response> {
        Ok(Response::new(self.validate_action(request.into_inner()).await))
    }

    async fn stop_provider(&self, _: Request<pb::stop_provider::Request>) -> Rpc<pb::stop_provider::Response> {
        tracing::info!("stop requested: cancelling work in flight");
        // Fire the tokens of all calls in flight; later calls get a fresh stopper.
        let old = std::mem::take(&mut *self.stopper.lock().unwrap_or_else(|e| e.into_inner()));
        old.stop();
        Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
    }
}
