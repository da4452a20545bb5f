//! The `tfplugin6.Provider` gRPC service: decodes requests, calls the [`ProviderServer`], encodes answers.
//!
//! RPCs for capabilities crossrepl does not offer (data sources, ephemeral resources, list resources, state
//! stores, actions, functions) answer with a well-formed response carrying a clear error diagnostic.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::convert::{self, decode, encode};
use crate::diag::{Diagnostic, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider;
use crate::server::{
    ApplyRequest, ConfigureRequest, PlanRequest, ProviderServer, ReadRequest, StopToken, Stopper, UpgradeRequest,
};
use crate::types::Type;

type Rpc<T> = Result<Response<T>, Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The Provider service over one [`ProviderServer`].
pub struct ProviderService<P> {
    provider: Arc<P>,
    schema_response: pb::get_provider_schema::Response,
    provider_type: Type,
    resource_types: BTreeMap<String, Type>,
    functions: BTreeMap<String, crate::schema::Function>,
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
            server_capabilities: Some(capabilities()),
            ..Default::default()
        };
        Self {
            provider,
            schema_response,
            provider_type: schemas.provider.block.value_type(),
            resource_types: schemas.resources.iter().map(|(n, s)| (n.clone(), s.block.value_type())).collect(),
            functions: schemas.functions,
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
        format!("The crossrepl provider offers no {what}; it manages resources only."),
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
        let req = request.into_inner();
        let diagnostics = match decode(req.config.as_ref(), &self.provider_type, "provider configuration") {
            Ok(config) => diags(self.provider.validate_provider_config(config).await),
            Err(d) => one(d),
        };
        Ok(Response::new(pb::validate_provider_config::Response { diagnostics }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Rpc<pb::validate_resource_config::Response> {
        let req = request.into_inner();
        let decoded =
            self.resource_type(&req.type_name).and_then(|ty| decode(req.config.as_ref(), ty, "resource configuration"));
        let diagnostics = match decoded {
            Ok(config) => diags(self.provider.validate_resource_config(&req.type_name, config).await),
            Err(d) => one(d),
        };
        Ok(Response::new(pb::validate_resource_config::Response { diagnostics }))
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
        let req = request.into_inner();
        let ty = match self.resource_type(&req.type_name) {
            Ok(ty) => ty,
            Err(d) => {
                return Ok(Response::new(pb::upgrade_resource_state::Response {
                    diagnostics: one(d),
                    ..Default::default()
                }));
            }
        };
        let raw = req.raw_state.unwrap_or_default();
        if raw.json.is_empty() && !raw.flatmap.is_empty() {
            let d = Diagnostic::error(
                "Legacy state format not supported",
                "The stored state uses the pre-0.12 flatmap format, which crossrepl never wrote. Re-import the resource.",
            );
            return Ok(Response::new(pb::upgrade_resource_state::Response {
                diagnostics: one(d),
                ..Default::default()
            }));
        }
        let upgrade = UpgradeRequest { type_name: req.type_name, version: req.version, raw_json: raw.json };
        let (value, mut ds) = self.provider.upgrade_resource_state(upgrade).await;
        let upgraded_state = match encode(&value, ty, "upgraded state") {
            Ok(dv) => Some(dv),
            Err(d) => {
                ds.push(d);
                None
            }
        };
        Ok(Response::new(pb::upgrade_resource_state::Response { upgraded_state, diagnostics: diags(ds) }))
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
        let req = request.into_inner();
        let diagnostics = match decode(req.config.as_ref(), &self.provider_type, "provider configuration") {
            Ok(config) => {
                let configure = ConfigureRequest { engine_version: req.terraform_version, config };
                diags(self.provider.configure_provider(configure, self.stop_token()).await)
            }
            Err(d) => one(d),
        };
        Ok(Response::new(pb::configure_provider::Response { diagnostics }))
    }

    async fn read_resource(&self, request: Request<pb::read_resource::Request>) -> Rpc<pb::read_resource::Response> {
        let req = request.into_inner();
        let fail = |d: Diagnostic, state: Option<pb::DynamicValue>| {
            Ok(Response::new(pb::read_resource::Response {
                new_state: state,
                diagnostics: one(d),
                ..Default::default()
            }))
        };
        let ty = match self.resource_type(&req.type_name) {
            Ok(ty) => ty,
            Err(d) => return fail(d, req.current_state),
        };
        let current_state = match decode(req.current_state.as_ref(), ty, "current state") {
            Ok(v) => v,
            Err(d) => return fail(d, req.current_state),
        };
        let read = ReadRequest { type_name: req.type_name, current_state, private: req.private };
        let resp = self.provider.read_resource(read, self.stop_token()).await;
        let mut ds = resp.diagnostics;
        let new_state = encode(&resp.new_state, ty, "refreshed state").map_err(|d| ds.push(d)).ok();
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            diagnostics: diags(ds),
            private: resp.private,
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Rpc<pb::plan_resource_change::Response> {
        let req = request.into_inner();
        let fail = |d: Diagnostic| {
            Ok(Response::new(pb::plan_resource_change::Response { diagnostics: one(d), ..Default::default() }))
        };
        let ty = match self.resource_type(&req.type_name) {
            Ok(ty) => ty,
            Err(d) => return fail(d),
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>((
                decode(req.prior_state.as_ref(), ty, "prior state")?,
                decode(req.proposed_new_state.as_ref(), ty, "proposed new state")?,
                decode(req.config.as_ref(), ty, "resource configuration")?,
            ))
        })();
        let (prior_state, proposed_new_state, config) = match decoded {
            Ok(v) => v,
            Err(d) => return fail(d),
        };
        let plan = PlanRequest {
            type_name: req.type_name,
            prior_state,
            proposed_new_state,
            config,
            prior_private: req.prior_private,
        };
        let resp = self.provider.plan_resource_change(plan, self.stop_token()).await;
        let mut ds = resp.diagnostics;
        let planned_state = if ds.has_errors() {
            None
        } else {
            encode(&resp.planned_state, ty, "planned state").map_err(|d| ds.push(d)).ok()
        };
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace: resp.requires_replace.into_iter().map(convert::attribute_path).collect(),
            planned_private: resp.planned_private,
            diagnostics: diags(ds),
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Rpc<pb::apply_resource_change::Response> {
        let req = request.into_inner();
        let fail = |d: Diagnostic, state: Option<pb::DynamicValue>| {
            Ok(Response::new(pb::apply_resource_change::Response {
                new_state: state,
                diagnostics: one(d),
                ..Default::default()
            }))
        };
        let ty = match self.resource_type(&req.type_name) {
            Ok(ty) => ty,
            Err(d) => return fail(d, req.prior_state),
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>((
                decode(req.prior_state.as_ref(), ty, "prior state")?,
                decode(req.planned_state.as_ref(), ty, "planned state")?,
                decode(req.config.as_ref(), ty, "resource configuration")?,
            ))
        })();
        let (prior_state, planned_state, config) = match decoded {
            Ok(v) => v,
            Err(d) => return fail(d, req.prior_state),
        };
        let apply = ApplyRequest {
            type_name: req.type_name,
            prior_state,
            planned_state,
            config,
            planned_private: req.planned_private,
        };
        let resp = self.provider.apply_resource_change(apply, self.stop_token()).await;
        let mut ds = resp.diagnostics;
        // The new state is returned even on error: it records whatever was really created.
        let new_state = encode(&resp.new_state, ty, "new state").map_err(|d| ds.push(d)).ok();
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private: resp.private,
            diagnostics: diags(ds),
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Rpc<pb::import_resource_state::Response> {
        let req = request.into_inner();
        if let Err(d) = self.resource_type(&req.type_name) {
            return Ok(Response::new(pb::import_resource_state::Response {
                diagnostics: one(d),
                ..Default::default()
            }));
        }
        let resp = self.provider.import_resource_state(&req.type_name, &req.id, self.stop_token()).await;
        let mut ds = resp.diagnostics;
        let mut imported_resources = Vec::new();
        for r in resp.resources {
            let state = self.resource_type(&r.type_name).and_then(|ty| encode(&r.state, ty, "imported state"));
            match state {
                Ok(dv) => imported_resources.push(pb::import_resource_state::ImportedResource {
                    type_name: r.type_name,
                    state: Some(dv),
                    private: r.private,
                    identity: None,
                }),
                Err(d) => ds.push(d),
            }
        }
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources,
            diagnostics: diags(ds),
            ..Default::default()
        }))
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
        let req = request.into_inner();
        let fail = |text: String, argument: Option<usize>| {
            Ok(Response::new(pb::call_function::Response {
                result: None,
                error: Some(pb::FunctionError { text, function_argument: argument.map(|a| a as i64) }),
            }))
        };
        let Some(function) = self.functions.get(&req.name) else {
            return fail(format!("crossrepl has no function named {:?}", req.name), None);
        };
        if req.arguments.len() != function.parameters.len() {
            return fail(
                format!("{} takes {} arguments, got {}", req.name, function.parameters.len(), req.arguments.len()),
                None,
            );
        }
        let mut args = Vec::with_capacity(req.arguments.len());
        for (i, (dv, p)) in req.arguments.iter().zip(&function.parameters).enumerate() {
            match decode(Some(dv), &p.ty, &format!("argument {}", p.name)) {
                Ok(v) if v.is_null() && !p.allow_null => return fail(format!("{} must not be null", p.name), Some(i)),
                Ok(v) => args.push(v),
                Err(d) => return fail(d.detail, Some(i)),
            }
        }
        match self.provider.call_function(&req.name, args).await {
            Ok(value) => match encode(&value, &function.return_type, "function result") {
                Ok(dv) => Ok(Response::new(pb::call_function::Response { result: Some(dv), error: None })),
                Err(d) => fail(d.detail, None),
            },
            Err(e) => fail(e.text, e.argument),
        }
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

    async fn plan_action(&self, _: Request<pb::plan_action::Request>) -> Rpc<pb::plan_action::Response> {
        unsupported_rpc!(pb::plan_action::Response, "actions")
    }

    type InvokeActionStream = BoxStream<pb::invoke_action::Event>;

    async fn invoke_action(&self, _: Request<pb::invoke_action::Request>) -> Rpc<Self::InvokeActionStream> {
        let event = pb::invoke_action::Event {
            r#type: Some(pb::invoke_action::event::Type::Completed(pb::invoke_action::event::Completed {
                diagnostics: unsupported("actions"),
            })),
        };
        Ok(Response::new(Box::pin(tokio_stream::once(Ok(event)))))
    }

    async fn validate_action_config(
        &self,
        _: Request<pb::validate_action_config::Request>,
    ) -> Rpc<pb::validate_action_config::Response> {
        unsupported_rpc!(pb::validate_action_config::Response, "actions")
    }

    async fn stop_provider(&self, _: Request<pb::stop_provider::Request>) -> Rpc<pb::stop_provider::Response> {
        tracing::info!("stop requested: cancelling work in flight");
        // Fire the tokens of all calls in flight; later calls get a fresh stopper.
        let old = std::mem::take(&mut *self.stopper.lock().unwrap_or_else(|e| e.into_inner()));
        old.stop();
        Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
    }
}

#[cfg(test)]
mod tests;
