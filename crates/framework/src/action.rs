//! The trait an action implements (Terraform >= 1.14 `action` blocks, run on demand with
//! `terraform apply -invoke=action.<type>.<name>` or from a resource's `lifecycle.action_trigger`), on its own typed
//! model, as [`crate::Resource`] is for managed resources. [`AnyAction`] is the same action behind protocol values.

use std::sync::Arc;

use tfplugin::{ActionProgress, Diagnostics, Value};

use crate::model::AttrValue;
use crate::resource::{Ctx, check};
use crate::schema::ResourceSchema;

/// An action type over its configuration model `Self::Model` (declared with [`crate::model!`]). Its schema has
/// required and optional attributes only: an action keeps no state.
#[async_trait::async_trait]
pub trait Action<C: Send + Sync + 'static>: Send + Sync + 'static {
    /// The configuration of one invocation.
    type Model: AttrValue + Send + Sync + 'static;

    /// The type name in HCL, e.g. `example_run`.
    fn type_name(&self) -> &'static str;

    /// The schema, with its validators.
    fn schema(&self) -> ResourceSchema;

    /// Checks across attributes (each attribute's own checks are the schema's validators); values may be unknown.
    fn validate(&self, _config: &Self::Model) -> Diagnostics {
        Diagnostics::new()
    }

    /// Plan-time checks of an invocation, read-only; values may be unknown, and `ctx` is `None` when the provider
    /// is not configured yet.
    async fn plan(&self, _ctx: Option<&Ctx<C>>, _config: &Self::Model) -> Diagnostics {
        Diagnostics::new()
    }

    /// Runs the action with a wholly known configuration, reporting progress as it goes.
    async fn invoke(&self, ctx: &Ctx<C>, config: &Self::Model, progress: &ActionProgress) -> Diagnostics;
}

/// An [`Action`] behind protocol values: what the server drives.
#[async_trait::async_trait]
pub trait AnyAction<C: Send + Sync + 'static>: Send + Sync + 'static {
    /// The type name.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> ResourceSchema;
    /// The schema's validators, then the action's own checks.
    fn validate(&self, config: &Value) -> Diagnostics;
    /// [`AnyAction::validate`], then the action's plan-time checks.
    async fn plan(&self, ctx: Option<&Ctx<C>>, config: &Value) -> Diagnostics;
    /// [`AnyAction::validate`], then the action itself.
    async fn invoke(&self, ctx: &Ctx<C>, config: &Value, progress: &ActionProgress) -> Diagnostics;
}

/// `action` as the server drives it.
pub fn erase_action<C: Send + Sync + 'static, A: Action<C>>(action: A) -> Arc<dyn AnyAction<C>> {
    Arc::new(Erased(action))
}

struct Erased<A>(A);

impl<A> Erased<A> {
    /// The configuration's checks and, when they pass, its model (schema defaults filled in).
    fn checked<C: Send + Sync + 'static>(&self, config: &Value) -> (Diagnostics, Option<A::Model>)
    where
        A: Action<C>,
    {
        let (ds, model) = check(&self.0.schema().rules, config, self.0.type_name(), |m| self.0.validate(m));
        let model = model.filter(|_| !ds.has_errors());
        (ds, model)
    }
}

#[async_trait::async_trait]
impl<C: Send + Sync + 'static, A: Action<C>> AnyAction<C> for Erased<A> {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn schema(&self) -> ResourceSchema {
        self.0.schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        self.checked::<C>(config).0
    }

    async fn plan(&self, ctx: Option<&Ctx<C>>, config: &Value) -> Diagnostics {
        let (mut ds, model) = self.checked::<C>(config);
        if let Some(model) = model {
            ds.extend(self.0.plan(ctx, &model).await);
        }
        ds
    }

    async fn invoke(&self, ctx: &Ctx<C>, config: &Value, progress: &ActionProgress) -> Diagnostics {
        let (mut ds, model) = self.checked::<C>(config);
        if let Some(model) = model {
            ds.extend(self.0.invoke(ctx, &model, progress).await);
        }
        ds
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tfplugin::{Diagnostic, StopToken};

    use super::*;
    use crate::model::Known;
    use crate::schema::{Attr, BlockSpec};
    use crate::validator;

    crate::model! {
        struct Say {
            text: Known<String>,
        }
    }

    struct Echo;

    #[async_trait::async_trait]
    impl Action<()> for Echo {
        type Model = Say;
        fn type_name(&self) -> &'static str {
            "test_echo"
        }
        fn schema(&self) -> ResourceSchema {
            let not_empty = |t: &str| if t.is_empty() { Err("empty".to_string()) } else { Ok(()) };
            BlockSpec::new("Echoes.")
                .attr(Attr::string("text").required().validate(validator::string(
                    "Empty text",
                    "not empty.",
                    not_empty,
                )))
                .build(0)
        }
        async fn plan(&self, ctx: Option<&Ctx<()>>, config: &Say) -> Diagnostics {
            Diagnostic::warning("planned", format!("{:?} configured={}", config.text, ctx.is_some())).into()
        }
        async fn invoke(&self, _: &Ctx<()>, config: &Say, progress: &ActionProgress) -> Diagnostics {
            progress.report(config.text.known().cloned().unwrap_or_default());
            Diagnostics::new()
        }
    }

    fn config(text: Value) -> Value {
        Value::object([("text", text)])
    }

    #[tokio::test]
    async fn the_schema_is_checked_before_the_action_runs() {
        let action = erase_action(Echo);
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        let progress = ActionProgress::new(move |m| sink.lock().unwrap().push(m));
        let ctx = Ctx { client: Arc::new(()), stop: StopToken::never() };

        let ds = action.invoke(&ctx, &config(Value::from("")), &progress).await;
        assert_eq!(ds.0.iter().map(|d| d.summary.as_str()).collect::<Vec<_>>(), ["Empty text"]);
        assert!(heard.lock().unwrap().is_empty(), "an invalid configuration does not run the action");

        assert!(!action.invoke(&ctx, &config(Value::from("hi")), &progress).await.has_errors());
        assert_eq!(*heard.lock().unwrap(), ["hi"]);
    }

    #[tokio::test]
    async fn plan_sees_unknown_values_and_runs_unconfigured() {
        let action = erase_action(Echo);
        let ds = action.plan(None, &config(Value::Unknown)).await;
        assert_eq!(ds.0.iter().map(|d| d.detail.as_str()).collect::<Vec<_>>(), ["Unknown configured=false"]);
        assert!(action.validate(&config(Value::from(""))).has_errors());
        assert!(action.validate(&config(Value::Unknown)).is_empty());
    }
}
