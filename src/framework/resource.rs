//! The trait a managed resource implements. Resources see values and diagnostics, never gRPC.

use std::sync::Arc;

use tfplugin::{Diagnostic, Diagnostics, StopToken, Value};

use super::plan::default_plan;
use super::schema::ResourceSchema;

/// What every resource call gets: the configured provider client and the stop signal.
pub struct Ctx<C> {
    /// The provider's configured client (e.g. AWS clients).
    pub client: Arc<C>,
    /// Fires when the engine asks the provider to stop; long waits must end promptly.
    pub stop: StopToken,
}

/// The result of a create or update.
#[derive(Debug, Default)]
pub struct ApplyOutcome {
    /// The state after the call. On failure it records whatever was really created (or the prior state), so
    /// nothing goes untracked; `Value::Null` only when nothing exists.
    pub state: Value,
    /// Private state to store alongside.
    pub private: Vec<u8>,
    /// Messages for the user.
    pub diagnostics: Diagnostics,
}

/// The result of a read.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// The refreshed state; `Value::Null` when the resource is gone.
    pub state: Value,
    /// Private state to store alongside.
    pub private: Vec<u8>,
    /// Messages for the user.
    pub diagnostics: Diagnostics,
}

/// The outcome of planning: the planned state, replacement paths and diagnostics.
#[derive(Debug, Default)]
pub struct PlanOutcome {
    /// The planned state.
    pub planned: Value,
    /// Attributes whose change replaces the resource.
    pub requires_replace: Vec<tfplugin::AttributePath>,
    /// Messages for the user.
    pub diagnostics: Diagnostics,
}

/// A managed resource type. Only the CRUD methods are required; the rest have sensible defaults.
#[async_trait::async_trait]
pub trait Resource<C: Send + Sync + 'static>: Send + Sync + 'static {
    /// The type name in HCL, e.g. `crossrepl_source`.
    fn type_name(&self) -> &'static str;

    /// The schema and plan rules.
    fn schema(&self) -> ResourceSchema;

    /// Validates a configuration without side effects; values may be unknown.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Plans a change. The default applies the schema's rules ([`default_plan`]); override to refine it
    /// (and call [`default_plan`] first).
    async fn plan(&self, _ctx: Option<&Ctx<C>>, prior: &Value, proposed: &Value, config: &Value) -> PlanOutcome {
        let (planned, requires_replace) = default_plan(&self.schema().rules, prior, proposed, config);
        PlanOutcome { planned, requires_replace, diagnostics: Diagnostics::new() }
    }

    /// Creates the real object(s) for `planned`.
    async fn create(&self, ctx: &Ctx<C>, planned: &Value, config: &Value) -> ApplyOutcome;

    /// Refreshes `state` from the real world.
    async fn read(&self, ctx: &Ctx<C>, state: &Value, private: &[u8]) -> ReadOutcome;

    /// Updates in place from `prior` to `planned`.
    async fn update(&self, ctx: &Ctx<C>, prior: &Value, planned: &Value, config: &Value) -> ApplyOutcome;

    /// Deletes what `prior` records. Returns diagnostics; on error the engine keeps the prior state.
    async fn delete(&self, ctx: &Ctx<C>, prior: &Value) -> Diagnostics;

    /// Builds a state from an import id; the engine then reads it. The default refuses imports.
    async fn import(&self, _ctx: &Ctx<C>, _id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            "Import not supported",
            format!("Resources of type {} cannot be imported.", self.type_name()),
        )
        .into())
    }

    /// Upgrades a state stored with an older schema version to the current one. The default accepts only the
    /// current version, dropping attributes the schema no longer has.
    fn upgrade_state(&self, version: i64, raw_json: &[u8]) -> Result<Value, Diagnostics> {
        let schema = self.schema().schema;
        if version != schema.version {
            return Err(Diagnostic::error(
                "Unsupported state version",
                format!(
                    "The state of this {} was written with schema version {version}, but this provider knows only \
                     version {}. Use the provider version that wrote it, or remove and re-import the resource.",
                    self.type_name(),
                    schema.version
                ),
            )
            .into());
        }
        tfplugin::codec::decode_json(raw_json, &schema.block.value_type(), true).map_err(|e| {
            Diagnostics::from(
                Diagnostic::error("Unreadable stored state", format!("The stored state could not be decoded: {e}"))
                    .at(e.path),
            )
        })
    }
}
