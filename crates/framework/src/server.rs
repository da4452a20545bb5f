//! Drives a [`Provider`], its [`crate::Resource`]s and its [`crate::Action`]s through the protocol layer's [`ProviderServer`] trait.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use tfplugin::{
    ActionProgress, ApplyRequest, ApplyResponse, ConfigureRequest, Diagnostic, Diagnostics, FunctionError,
    ImportResponse, ImportedResource, PlanRequest, PlanResponse, ProviderSchemas, ProviderServer, ReadRequest,
    ReadResponse, StopToken, UpgradeRequest, Value,
};

use crate::action::AnyAction;
use crate::model::AttrValue;
use crate::resource::{AnyResource, Ctx, check};
use crate::schema::ResourceSchema;

/// A provider: its configuration schema, how it builds its client, and its resources.
#[async_trait::async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What resources get once the provider is configured (AWS clients, account id cache, ...).
    type Client: Send + Sync + 'static;

    /// The provider block's model (declared with [`crate::model!`]).
    type Model: AttrValue + Send + Sync + 'static;

    /// The schema of the `provider` block, with its validators.
    fn schema(&self) -> ResourceSchema;

    /// Checks across attributes of the provider block (each attribute's own checks are the schema's
    /// validators); values may be unknown.
    fn validate(&self, _config: &Self::Model) -> Diagnostics {
        Diagnostics::new()
    }

    /// Builds the client from the provider block.
    async fn configure(&self, config: &Self::Model, stop: StopToken) -> Result<Self::Client, Diagnostics>;

    /// The managed resource types (each a [`crate::Resource`] passed through [`crate::erase`]).
    fn resources(&self) -> Vec<Arc<dyn AnyResource<Self::Client>>>;

    /// The action types (each a [`crate::Action`] passed through [`crate::erase_action`]); none by default.
    fn actions(&self) -> Vec<Arc<dyn AnyAction<Self::Client>>> {
        Vec::new()
    }

    /// Provider-defined functions; none by default.
    fn functions(&self) -> Vec<Arc<dyn ProviderFunction>> {
        Vec::new()
    }
}

/// A provider-defined function: pure, callable before the provider is configured.
pub trait ProviderFunction: Send + Sync + 'static {
    /// Its name in `provider::<provider>::<name>(...)`.
    fn name(&self) -> &'static str;
    /// Its signature and documentation.
    fn definition(&self) -> tfplugin::Function;
    /// Computes the result from arguments already checked against the signature.
    fn call(&self, arguments: &[Value]) -> Result<Value, FunctionError>;
}

/// Serves a [`Provider`] over the protocol layer.
pub struct FrameworkServer<P: Provider> {
    provider: P,
    resources: BTreeMap<&'static str, Arc<dyn AnyResource<P::Client>>>,
    functions: BTreeMap<&'static str, Arc<dyn ProviderFunction>>,
    actions: BTreeMap<&'static str, Arc<dyn AnyAction<P::Client>>>,
    client: OnceLock<Arc<P::Client>>,
}

impl<P: Provider> FrameworkServer<P> {
    /// Wraps `provider`.
    pub fn new(provider: P) -> Self {
        let resources = provider.resources().into_iter().map(|r| (r.type_name(), r)).collect();
        let functions = provider.functions().into_iter().map(|f| (f.name(), f)).collect();
        let actions = provider.actions().into_iter().map(|a| (a.type_name(), a)).collect();
        Self { provider, resources, functions, actions, client: OnceLock::new() }
    }

    fn resource(&self, type_name: &str) -> Result<&Arc<dyn AnyResource<P::Client>>, Diagnostics> {
        self.resources.get(type_name).ok_or_else(|| {
            Diagnostic::error(format!("Unknown resource type {type_name:?}"), "This provider does not manage it.")
                .into()
        })
    }

    fn action(&self, type_name: &str) -> Result<&Arc<dyn AnyAction<P::Client>>, Diagnostics> {
        self.actions.get(type_name).ok_or_else(|| {
            Diagnostic::error(format!("Unknown action type {type_name:?}"), "This provider has no such action.").into()
        })
    }

    fn ctx(&self, stop: StopToken) -> Result<Ctx<P::Client>, Diagnostics> {
        let client = self.client.get().cloned().ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Provider not configured",
                "The provider was used before it was configured. This is a bug in the engine or provider.",
            ))
        })?;
        Ok(Ctx { client, stop })
    }
}

#[async_trait::async_trait]
impl<P: Provider> ProviderServer for FrameworkServer<P> {
    fn schemas(&self) -> ProviderSchemas {
        ProviderSchemas {
            provider: self.provider.schema().schema,
            resources: self.resources.iter().map(|(n, r)| (n.to_string(), r.schema().schema)).collect(),
            functions: self.functions.iter().map(|(n, f)| (n.to_string(), f.definition())).collect(),
            actions: self.actions.iter().map(|(n, a)| (n.to_string(), a.schema().schema)).collect(),
        }
    }

    async fn validate_provider_config(&self, config: Value) -> Diagnostics {
        let rules = self.provider.schema().rules;
        check(&rules, &config, "provider configuration", |m| self.provider.validate(m)).0
    }

    async fn configure_provider(&self, request: ConfigureRequest, stop: StopToken) -> Diagnostics {
        let rules = self.provider.schema().rules;
        let (ds, model) = check(&rules, &request.config, "provider configuration", |m| self.provider.validate(m));
        let Some(model) = model.filter(|_| !ds.has_errors()) else { return ds };
        match self.provider.configure(&model, stop).await {
            Ok(client) => {
                if self.client.set(Arc::new(client)).is_err() {
                    tracing::warn!("provider configured twice; keeping the first configuration");
                }
                Diagnostics::new()
            }
            Err(d) => d,
        }
    }

    async fn validate_resource_config(&self, type_name: &str, config: Value) -> Diagnostics {
        match self.resource(type_name) {
            Ok(r) => r.validate(&config),
            Err(d) => d,
        }
    }

    async fn upgrade_resource_state(&self, request: UpgradeRequest) -> (Value, Diagnostics) {
        match self.resource(&request.type_name).and_then(|r| r.upgrade_state(request.version, &request.raw_json)) {
            Ok(v) => (v, Diagnostics::new()),
            Err(d) => (Value::Null, d),
        }
    }

    async fn read_resource(&self, request: ReadRequest, stop: StopToken) -> ReadResponse {
        let prepared = self.resource(&request.type_name).and_then(|r| Ok((r, self.ctx(stop)?)));
        let (resource, ctx) = match prepared {
            Ok(v) => v,
            Err(diagnostics) => {
                return ReadResponse { new_state: request.current_state, private: request.private, diagnostics };
            }
        };
        let out = resource.read(&ctx, &request.current_state).await;
        ReadResponse { new_state: out.state, private: request.private, diagnostics: out.diagnostics }
    }

    async fn plan_resource_change(&self, request: PlanRequest, stop: StopToken) -> PlanResponse {
        let resource = match self.resource(&request.type_name) {
            Ok(r) => r,
            Err(diagnostics) => return PlanResponse { diagnostics, ..Default::default() },
        };
        let mut diagnostics = Diagnostics::new();
        if !request.config.is_null() {
            diagnostics.extend(resource.validate(&request.config));
            if diagnostics.has_errors() {
                return PlanResponse { diagnostics, ..Default::default() };
            }
        }
        // Planning works unconfigured too (the engine may plan before the provider's own inputs are known).
        let ctx = self.ctx(stop).ok();
        let out = resource.plan(ctx.as_ref(), &request.prior_state, &request.proposed_new_state, &request.config).await;
        diagnostics.extend(out.diagnostics);
        PlanResponse {
            planned_state: out.planned,
            requires_replace: out.requires_replace,
            planned_private: request.prior_private,
            diagnostics,
        }
    }

    async fn apply_resource_change(&self, request: ApplyRequest, stop: StopToken) -> ApplyResponse {
        let prepared = self.resource(&request.type_name).and_then(|r| Ok((r, self.ctx(stop)?)));
        let (resource, ctx) = match prepared {
            Ok(v) => v,
            Err(diagnostics) => {
                return ApplyResponse { new_state: request.prior_state, private: request.planned_private, diagnostics };
            }
        };
        let out = resource.apply(&ctx, &request.prior_state, &request.planned_state).await;
        ApplyResponse { new_state: out.state, private: request.planned_private, diagnostics: out.diagnostics }
    }

    async fn import_resource_state(&self, type_name: &str, id: &str, stop: StopToken) -> ImportResponse {
        let prepared = self.resource(type_name).and_then(|r| Ok((r, self.ctx(stop)?)));
        let (resource, ctx) = match prepared {
            Ok(v) => v,
            Err(diagnostics) => return ImportResponse { diagnostics, ..Default::default() },
        };
        match resource.import(&ctx, id).await {
            Ok(state) => ImportResponse {
                resources: vec![ImportedResource { type_name: type_name.to_string(), state, private: Vec::new() }],
                diagnostics: Diagnostics::new(),
            },
            Err(diagnostics) => ImportResponse { diagnostics, ..Default::default() },
        }
    }

    async fn validate_action_config(&self, type_name: &str, config: Value) -> Diagnostics {
        self.action(type_name).map_or_else(|d| d, |a| a.validate(&config))
    }

    async fn plan_action(&self, type_name: &str, config: Value, stop: StopToken) -> Diagnostics {
        match self.action(type_name) {
            // Planning works unconfigured too, as for resources.
            Ok(a) => a.plan(self.ctx(stop).ok().as_ref(), &config).await,
            Err(d) => d,
        }
    }

    async fn invoke_action(
        &self,
        type_name: &str,
        config: Value,
        progress: ActionProgress,
        stop: StopToken,
    ) -> Diagnostics {
        match self.action(type_name).and_then(|a| Ok((a, self.ctx(stop)?))) {
            Ok((a, ctx)) => a.invoke(&ctx, &config, &progress).await,
            Err(d) => d,
        }
    }

    async fn call_function(&self, name: &str, arguments: Vec<Value>) -> Result<Value, FunctionError> {
        match self.functions.get(name) {
            Some(f) => f.call(&arguments),
            None => {
                Err(FunctionError { text: format!("this provider has no function named {name:?}"), argument: None })
            }
        }
    }
}
