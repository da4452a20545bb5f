//! The trait a managed resource implements, on its own typed model; resources see models and diagnostics,
//! never gRPC and never raw values. [`AnyResource`] is the same resource behind protocol values, as the server
//! drives it: it runs the schema's validators and plan rules and converts values to and from the model.

use std::sync::Arc;

use tfplugin::{AttributePath, Diagnostic, Diagnostics, StopToken, Value};

use crate::model::{AttrValue, ModelError};
use crate::plan::{default_plan, with_defaults};
use crate::schema::ResourceSchema;

/// What every resource call gets: the configured provider client and the stop signal.
pub struct Ctx<C> {
    /// The provider's configured client (e.g. AWS clients).
    pub client: Arc<C>,
    /// Fires when the engine asks the provider to stop; long waits must end promptly.
    pub stop: StopToken,
}

/// The result of a create, update or read: the state of what exists, and messages for the user.
#[derive(Debug)]
pub struct Outcome<M> {
    /// The state. On a failed create or update it records whatever was really made (or the prior state), so
    /// nothing goes untracked; `None` only when nothing exists (after a read: the resource is gone).
    pub state: Option<M>,
    /// Messages for the user.
    pub diagnostics: Diagnostics,
}

impl<M> Outcome<M> {
    /// A state with no messages.
    pub fn ok(state: M) -> Self {
        Outcome { state: Some(state), diagnostics: Diagnostics::new() }
    }
    /// `state` (or nothing) with one message.
    pub fn with(state: Option<M>, d: Diagnostic) -> Self {
        Outcome { state, diagnostics: d.into() }
    }
}

/// What a resource's plan refinement gets.
pub struct PlanRequest<'a, M> {
    /// The state before; `None` on create.
    pub prior: Option<&'a M>,
    /// The configuration.
    pub config: &'a M,
    /// Whether the engine will replace the resource (a `force_new` attribute changed): plan it as new.
    pub replacing: bool,
}

/// A managed resource type over its model `Self::Model` (declared with [`crate::model!`]).
#[async_trait::async_trait]
pub trait Resource<C: Send + Sync + 'static>: Send + Sync + 'static {
    /// The configuration, plan and state of one resource: one struct for all three.
    type Model: AttrValue + Clone + Send + Sync + 'static;

    /// The type name in HCL, e.g. `example_bucket`.
    fn type_name(&self) -> &'static str;

    /// The schema, with its validators and plan rules.
    fn schema(&self) -> ResourceSchema;

    /// Checks across attributes (each attribute's own checks are the schema's validators); values may be
    /// unknown. Attributes the configuration leaves null carry their schema default here.
    fn validate(&self, _config: &Self::Model) -> Diagnostics {
        Diagnostics::new()
    }

    /// Refines `planned`, which the schema's rules (defaults, plan modifiers, unknown computed values) made from
    /// the engine's proposal. `ctx` is `None` when the provider is not configured yet.
    async fn plan(
        &self,
        _ctx: Option<&Ctx<C>>,
        planned: Self::Model,
        _req: PlanRequest<'_, Self::Model>,
    ) -> (Self::Model, Diagnostics) {
        (planned, Diagnostics::new())
    }

    /// Creates the real object(s) for `planned`.
    async fn create(&self, ctx: &Ctx<C>, planned: &Self::Model) -> Outcome<Self::Model>;

    /// Refreshes `state` from the real world.
    async fn read(&self, ctx: &Ctx<C>, state: &Self::Model) -> Outcome<Self::Model>;

    /// Updates in place from `prior` to `planned`.
    async fn update(&self, ctx: &Ctx<C>, prior: &Self::Model, planned: &Self::Model) -> Outcome<Self::Model>;

    /// Deletes what `prior` records. On error the engine keeps the prior state.
    async fn delete(&self, ctx: &Ctx<C>, prior: &Self::Model) -> Diagnostics;

    /// Builds a state from an import id; the engine then reads it. The default refuses imports.
    async fn import(&self, _ctx: &Ctx<C>, _id: &str) -> Result<Self::Model, Diagnostics> {
        Err(Diagnostic::error(
            "Import not supported",
            format!("Resources of type {} cannot be imported.", self.type_name()),
        )
        .into())
    }
}

/// The result of planning, in protocol values.
#[derive(Debug, Default)]
pub struct PlanOutcome {
    /// The planned state.
    pub planned: Value,
    /// Attributes whose change replaces the resource.
    pub requires_replace: Vec<AttributePath>,
    /// Messages for the user.
    pub diagnostics: Diagnostics,
}

/// The result of an apply or read, in protocol values.
#[derive(Debug, Default)]
pub struct ValueOutcome {
    /// The new state (`Value::Null`: nothing exists).
    pub state: Value,
    /// Messages for the user.
    pub diagnostics: Diagnostics,
}

/// A [`Resource`] behind protocol values: what the server drives.
#[async_trait::async_trait]
pub trait AnyResource<C: Send + Sync + 'static>: Send + Sync + 'static {
    /// The type name.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> ResourceSchema;
    /// The schema's validators, then the resource's own checks.
    fn validate(&self, config: &Value) -> Diagnostics;
    /// The schema's plan rules, then the resource's refinement.
    async fn plan(&self, ctx: Option<&Ctx<C>>, prior: &Value, proposed: &Value, config: &Value) -> PlanOutcome;
    /// Create (`prior` null), update, or delete (`planned` null).
    async fn apply(&self, ctx: &Ctx<C>, prior: &Value, planned: &Value) -> ValueOutcome;
    /// Read.
    async fn read(&self, ctx: &Ctx<C>, state: &Value) -> ValueOutcome;
    /// Import.
    async fn import(&self, ctx: &Ctx<C>, id: &str) -> Result<Value, Diagnostics>;
    /// Upgrades a state stored with an older schema version: only the current version is accepted,
    /// attributes the schema no longer has are dropped.
    fn upgrade_state(&self, version: i64, raw_json: &[u8]) -> Result<Value, Diagnostics>;
}

/// A configuration's checks: the schema's validators, then (on the model, with defaults filled in) the checks
/// across attributes; also the model, when the value fits it. A value that does not fit the model is a bug, and
/// reported as one unless a validator already said what is wrong with it.
pub fn check<M: AttrValue>(
    rules: &crate::schema::PlanRules,
    config: &Value,
    what: &str,
    across: impl FnOnce(&M) -> Diagnostics,
) -> (Diagnostics, Option<M>) {
    let mut ds = rules.validate(config, &AttributePath::root());
    match M::from_value(&with_defaults(rules, config)) {
        Ok(model) => {
            ds.extend(across(&model));
            (ds, Some(model))
        }
        Err(e) if !ds.has_errors() => {
            ds.push(misfit(what, "configuration", &e));
            (ds, None)
        }
        Err(_) => (ds, None),
    }
}

fn misfit(what: &str, part: &str, e: &ModelError) -> Diagnostic {
    Diagnostic::error(
        format!("{what}: the {part} does not fit the provider's model"),
        format!("{e}. This is a bug in the provider; please report it."),
    )
    .at(e.path.clone())
}

/// `resource` as the server drives it.
pub fn erase<C: Send + Sync + 'static, R: Resource<C>>(resource: R) -> Arc<dyn AnyResource<C>> {
    Arc::new(Erased(resource))
}

struct Erased<R>(R);

impl<R> Erased<R> {
    fn decode<C: Send + Sync + 'static, M: AttrValue>(&self, what: &str, v: &Value) -> Result<M, Diagnostics>
    where
        R: Resource<C>,
    {
        M::from_value(v).map_err(|e: ModelError| Diagnostics::from(misfit(self.0.type_name(), what, &e)))
    }
}

fn encode<M: AttrValue>(state: Option<M>) -> Value {
    state.map_or(Value::Null, |m| m.to_value())
}

#[async_trait::async_trait]
impl<C: Send + Sync + 'static, R: Resource<C>> AnyResource<C> for Erased<R> {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn schema(&self) -> ResourceSchema {
        self.0.schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        check(&self.0.schema().rules, config, self.0.type_name(), |m: &R::Model| self.0.validate(m)).0
    }

    async fn plan(&self, ctx: Option<&Ctx<C>>, prior: &Value, proposed: &Value, config: &Value) -> PlanOutcome {
        let (planned, requires_replace) = default_plan(&self.0.schema().rules, prior, proposed, config);
        if planned.is_null() {
            return PlanOutcome { planned, requires_replace, diagnostics: Diagnostics::new() };
        }
        let decoded = (|| {
            let prior = if prior.is_null() { None } else { Some(self.decode::<C, R::Model>("prior state", prior)?) };
            Ok::<_, Diagnostics>((
                self.decode::<C, R::Model>("plan", &planned)?,
                prior,
                self.decode("configuration", config)?,
            ))
        })();
        let (model, prior, config) = match decoded {
            Ok(v) => v,
            Err(diagnostics) => return PlanOutcome { planned, requires_replace, diagnostics },
        };
        let req = PlanRequest { prior: prior.as_ref(), config: &config, replacing: !requires_replace.is_empty() };
        let (model, diagnostics) = self.0.plan(ctx, model, req).await;
        PlanOutcome { planned: model.to_value(), requires_replace, diagnostics }
    }

    async fn apply(&self, ctx: &Ctx<C>, prior: &Value, planned: &Value) -> ValueOutcome {
        let keep = |diagnostics| ValueOutcome { state: prior.clone(), diagnostics };
        let prior_model = if prior.is_null() {
            None
        } else {
            match self.decode::<C, R::Model>("prior state", prior) {
                Ok(m) => Some(m),
                Err(d) => return keep(d),
            }
        };
        if planned.is_null() {
            let Some(prior_model) = prior_model else { return ValueOutcome::default() };
            let diagnostics = self.0.delete(ctx, &prior_model).await;
            // A failed delete keeps the prior state so the engine still tracks what exists.
            let state = if diagnostics.has_errors() { prior.clone() } else { Value::Null };
            return ValueOutcome { state, diagnostics };
        }
        let planned_model = match self.decode::<C, R::Model>("plan", planned) {
            Ok(m) => m,
            Err(d) => return keep(d),
        };
        let out = match &prior_model {
            None => self.0.create(ctx, &planned_model).await,
            Some(p) => self.0.update(ctx, p, &planned_model).await,
        };
        ValueOutcome { state: encode(out.state), diagnostics: out.diagnostics }
    }

    async fn read(&self, ctx: &Ctx<C>, state: &Value) -> ValueOutcome {
        let model = match self.decode::<C, R::Model>("state", state) {
            Ok(m) => m,
            Err(diagnostics) => return ValueOutcome { state: state.clone(), diagnostics },
        };
        let out = self.0.read(ctx, &model).await;
        ValueOutcome { state: encode(out.state), diagnostics: out.diagnostics }
    }

    async fn import(&self, ctx: &Ctx<C>, id: &str) -> Result<Value, Diagnostics> {
        self.0.import(ctx, id).await.map(|m| m.to_value())
    }

    fn upgrade_state(&self, version: i64, raw_json: &[u8]) -> Result<Value, Diagnostics> {
        let schema = self.0.schema().schema;
        if version != schema.version {
            return Err(Diagnostic::error(
                "Unsupported state version",
                format!(
                    "The state of this {} was written with schema version {version}, but this provider knows only \
                     version {}. Use the provider version that wrote it, or remove and re-import the resource.",
                    self.0.type_name(),
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
