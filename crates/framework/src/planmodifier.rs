//! Declarative plan modifiers, attached in the schema builder ([`crate::Attr::plan_modifier`]) and run by the
//! framework when it plans a change, after defaults: values derived from a sibling attribute, or from a block's
//! position. (Replacement is the attribute flag [`crate::Attr::force_new`]; computed attributes keep their
//! state value on update unless the resource says otherwise: "use state for unknown" is the default.)

use std::fmt;
use std::sync::Arc;

use tfplugin::Value;

/// What a modifier sees of the attribute it plans.
pub struct ModifyRequest<'a> {
    /// The attribute's planned value so far (the engine's proposal after defaults).
    pub planned: &'a Value,
    /// The attribute's value in the configuration.
    pub config: &'a Value,
    /// The planned object the attribute belongs to (its siblings, after defaults).
    pub object: &'a Value,
    /// The position of that object in its block list, for attributes of nested blocks.
    pub index: Option<usize>,
}

/// Changes one attribute's planned value.
pub trait PlanModifier: Send + Sync + 'static {
    /// What it does, for the docs: a sentence.
    fn description(&self) -> String;
    /// The attribute's planned value.
    fn modify(&self, req: &ModifyRequest<'_>) -> Value;
}

/// A shared modifier, as the schema keeps it.
#[derive(Clone)]
pub struct AnyPlanModifier(pub Arc<dyn PlanModifier>);

impl fmt::Debug for AnyPlanModifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlanModifier({:?})", self.0.description())
    }
}

/// When the configuration leaves the attribute null, its value is `derive(sibling)` of the string attribute
/// `sibling`: unknown while the sibling is unknown (or `derive` has no answer), null when the sibling is null.
pub fn derive_from(
    sibling: &'static str,
    description: &'static str,
    derive: fn(&str) -> Option<String>,
) -> AnyPlanModifier {
    struct DeriveFrom {
        sibling: &'static str,
        description: &'static str,
        derive: fn(&str) -> Option<String>,
    }
    impl PlanModifier for DeriveFrom {
        fn description(&self) -> String {
            self.description.to_string()
        }
        fn modify(&self, req: &ModifyRequest<'_>) -> Value {
            if !req.config.is_null() {
                return req.planned.clone();
            }
            match req.object.get(self.sibling) {
                Value::String(s) => (self.derive)(s).map_or(Value::Unknown, Value::String),
                Value::Null => Value::Null,
                _ => Value::Unknown,
            }
        }
    }
    AnyPlanModifier(Arc::new(DeriveFrom { sibling, description, derive }))
}

/// When the configuration leaves the attribute of a nested block null, its value is `at(index)` of the block's
/// position in its list.
pub fn from_position(description: &'static str, at: fn(usize) -> Value) -> AnyPlanModifier {
    struct FromPosition {
        description: &'static str,
        at: fn(usize) -> Value,
    }
    impl PlanModifier for FromPosition {
        fn description(&self) -> String {
            self.description.to_string()
        }
        fn modify(&self, req: &ModifyRequest<'_>) -> Value {
            match (req.config, req.index) {
                (Value::Null, Some(i)) => (self.at)(i),
                _ => req.planned.clone(),
            }
        }
    }
    AnyPlanModifier(Arc::new(FromPosition { description, at }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(planned: &'a Value, config: &'a Value, object: &'a Value, index: Option<usize>) -> ModifyRequest<'a> {
        ModifyRequest { planned, config, object, index }
    }

    #[test]
    fn derive_from_follows_the_sibling_unless_configured() {
        let m = derive_from("bucket", "", |b| Some(format!("role-{b}")));
        let obj = Value::object([("bucket", "data".into())]);
        assert_eq!(m.0.modify(&req(&Value::Unknown, &Value::Null, &obj, None)), Value::from("role-data"));
        let set: Value = "mine".into();
        assert_eq!(m.0.modify(&req(&set, &set, &obj, None)), set);
        let unknown = Value::object([("bucket", Value::Unknown)]);
        assert!(m.0.modify(&req(&Value::Null, &Value::Null, &unknown, None)).is_unknown());
    }

    #[test]
    fn from_position_fills_in_unset_values() {
        let m = from_position("", |i| Value::int(i as i64 + 1));
        let obj = Value::Object(Default::default());
        assert_eq!(m.0.modify(&req(&Value::Unknown, &Value::Null, &obj, Some(2))), Value::int(3));
        assert_eq!(m.0.modify(&req(&Value::int(9), &Value::int(9), &obj, Some(2))), Value::int(9));
    }
}
