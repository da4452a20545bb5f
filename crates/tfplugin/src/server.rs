//! The one trait a provider implements, with protocol-native requests and responses (no gRPC types).
//!
//! Values arrive decoded against the schema the provider declared, and are encoded back the same way; a
//! provider never sees msgpack, JSON or protobuf.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;

use crate::diag::Diagnostics;
use crate::path::AttributePath;
use crate::schema::{Function, Schema};
use crate::value::Value;

/// Everything the provider declares up front: its configuration schema and its resource types.
#[derive(Debug, Clone)]
pub struct ProviderSchemas {
    /// The schema of the `provider` block.
    pub provider: Schema,
    /// Managed resource types by type name (`example_thing`, ...).
    pub resources: BTreeMap<String, Schema>,
    /// Provider-defined functions by name.
    pub functions: BTreeMap<String, Function>,
    /// Action types by type name (Terraform >= 1.14 `action` blocks; engines without actions ignore them).
    pub actions: BTreeMap<String, Schema>,
}

/// Why a function call failed: a message for the user, and which argument (0-based) was at fault, if one was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// What went wrong.
    pub text: String,
    /// The argument at fault.
    pub argument: Option<usize>,
}

/// Signals that the engine asked the provider to stop (`StopProvider`, on Ctrl-C): long waits must end.
#[derive(Debug, Clone)]
pub struct StopToken(watch::Receiver<bool>);

impl StopToken {
    /// A token that never fires, for calls made outside a server (tests, tools).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        // Keep the sender alive forever so `stopped()` pends instead of seeing a closed channel.
        std::mem::forget(tx);
        Self(rx)
    }
    /// Whether stop has been requested.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
    /// Completes once stop has been requested.
    pub async fn stopped(&self) {
        let mut rx = self.0.clone();
        // An error means the sender is gone, which only happens when the server itself is going away.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

/// Fires [`StopToken`]s. The server keeps one; each `StopProvider` stops all work in flight.
#[derive(Debug)]
pub struct Stopper(watch::Sender<bool>);

impl Stopper {
    /// A stopper that has not fired.
    pub fn new() -> Self {
        Self(watch::channel(false).0)
    }
    /// A token that fires when [`Stopper::stop`] is called.
    pub fn token(&self) -> StopToken {
        StopToken(self.0.subscribe())
    }
    /// Stops all work holding a token.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Default for Stopper {
    fn default() -> Self {
        Self::new()
    }
}

/// Where an action reports progress while it runs: each message becomes an `InvokeAction` progress event, which
/// the engine prints as it arrives.
#[derive(Clone)]
pub struct ActionProgress(Arc<dyn Fn(String) + Send + Sync>);

impl ActionProgress {
    /// A sink that hands each message to `sink`.
    pub fn new(sink: impl Fn(String) + Send + Sync + 'static) -> Self {
        Self(Arc::new(sink))
    }
    /// Reports `message`.
    pub fn report(&self, message: impl Into<String>) {
        (self.0)(message.into());
    }
}

impl std::fmt::Debug for ActionProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ActionProgress")
    }
}

/// `ConfigureProvider`: the provider block's values.
#[derive(Debug, Clone)]
pub struct ConfigureRequest {
    /// The engine's version, e.g. `1.12.6`.
    pub engine_version: String,
    /// The provider configuration, decoded against the provider schema. May contain unknowns.
    pub config: Value,
}

/// `UpgradeResourceState`: a stored state, possibly written by an older schema version.
#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    /// The resource type.
    pub type_name: String,
    /// The schema version the state was written with.
    pub version: i64,
    /// The stored state as cty JSON.
    pub raw_json: Vec<u8>,
}

/// `ReadResource`: refresh a resource from the real world.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// The resource type.
    pub type_name: String,
    /// The state as last recorded.
    pub current_state: Value,
    /// Private state bytes as last recorded.
    pub private: Vec<u8>,
}

/// The answer to [`ReadRequest`].
#[derive(Debug, Clone, Default)]
pub struct ReadResponse {
    /// The refreshed state; `Value::Null` when the resource no longer exists.
    pub new_state: Value,
    /// Private state to record.
    pub private: Vec<u8>,
    /// Messages for the user.
    pub diagnostics: Diagnostics,
}

/// `PlanResourceChange`: propose the state after apply.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// The resource type.
    pub type_name: String,
    /// The current state (`Null` on create).
    pub prior_state: Value,
    /// The engine's merge of configuration and prior state (`Null` on destroy).
    pub proposed_new_state: Value,
    /// The configuration as written (`Null` on destroy).
    pub config: Value,
    /// Private state from the prior state.
    pub prior_private: Vec<u8>,
}

/// The answer to [`PlanRequest`].
#[derive(Debug, Clone, Default)]
pub struct PlanResponse {
    /// The planned state; unknown where apply decides.
    pub planned_state: Value,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<AttributePath>,
    /// Private state to hand to apply.
    pub planned_private: Vec<u8>,
    /// Messages for the user.
    pub diagnostics: Diagnostics,
}

/// `ApplyResourceChange`: make the real world match the plan (create, update, or delete when planned is `Null`).
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    /// The resource type.
    pub type_name: String,
    /// The state before apply (`Null` on create).
    pub prior_state: Value,
    /// The planned state (`Null` on delete).
    pub planned_state: Value,
    /// The configuration.
    pub config: Value,
    /// Private state from the plan.
    pub planned_private: Vec<u8>,
}

/// The answer to [`ApplyRequest`].
#[derive(Debug, Clone, Default)]
pub struct ApplyResponse {
    /// The state after apply: on failure, whatever was really created, so nothing goes unrecorded.
    pub new_state: Value,
    /// Private state to record.
    pub private: Vec<u8>,
    /// Messages for the user.
    pub diagnostics: Diagnostics,
}

/// One resource produced by an import.
#[derive(Debug, Clone)]
pub struct ImportedResource {
    /// Its resource type.
    pub type_name: String,
    /// Its state (refreshed by a read afterwards).
    pub state: Value,
    /// Its private state.
    pub private: Vec<u8>,
}

/// The answer to an import.
#[derive(Debug, Clone, Default)]
pub struct ImportResponse {
    /// The imported resources.
    pub resources: Vec<ImportedResource>,
    /// Messages for the user.
    pub diagnostics: Diagnostics,
}

/// A provider, as the protocol layer drives it. Every call gets a [`StopToken`] that fires on `StopProvider`.
#[async_trait::async_trait]
pub trait ProviderServer: Send + Sync + 'static {
    /// The provider's schemas. Called once; the result is cached and used to decode and encode values.
    fn schemas(&self) -> ProviderSchemas;

    /// Checks the provider configuration without side effects (values may be unknown).
    async fn validate_provider_config(&self, config: Value) -> Diagnostics;

    /// Configures the provider (builds clients); called once before any resource call.
    async fn configure_provider(&self, request: ConfigureRequest, stop: StopToken) -> Diagnostics;

    /// Checks a resource configuration without side effects (values may be unknown).
    async fn validate_resource_config(&self, type_name: &str, config: Value) -> Diagnostics;

    /// Upgrades a stored state to the current schema version.
    async fn upgrade_resource_state(&self, request: UpgradeRequest) -> (Value, Diagnostics);

    /// Refreshes a resource.
    async fn read_resource(&self, request: ReadRequest, stop: StopToken) -> ReadResponse;

    /// Plans a change.
    async fn plan_resource_change(&self, request: PlanRequest, stop: StopToken) -> PlanResponse;

    /// Applies a planned change.
    async fn apply_resource_change(&self, request: ApplyRequest, stop: StopToken) -> ApplyResponse;

    /// Imports an existing object by its import id.
    async fn import_resource_state(&self, type_name: &str, id: &str, stop: StopToken) -> ImportResponse;

    /// Calls a provider-defined function with arguments decoded against its parameter types. Engines may call
    /// functions before (or without) configuring the provider.
    async fn call_function(&self, name: &str, _arguments: Vec<Value>) -> Result<Value, FunctionError> {
        Err(FunctionError { text: format!("no function named {name:?}"), argument: None })
    }

    /// Checks an action's configuration without side effects (values may be unknown). Only called for the types
    /// of [`ProviderSchemas::actions`].
    async fn validate_action_config(&self, _type_name: &str, _config: Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Checks an action invocation at plan time (values may be unknown; the provider may not be configured yet).
    async fn plan_action(&self, _type_name: &str, _config: Value, _stop: StopToken) -> Diagnostics {
        Diagnostics::new()
    }

    /// Runs an action with a wholly known configuration, reporting progress as it goes; the diagnostics end it.
    async fn invoke_action(
        &self,
        type_name: &str,
        _config: Value,
        _progress: ActionProgress,
        _stop: StopToken,
    ) -> Diagnostics {
        crate::Diagnostic::error("Action not implemented", format!("The provider cannot run action {type_name:?}."))
            .into()
    }
}
