//! Typed models: a resource declares a Rust struct for its configuration, plan and state with [`model!`], and
//! the framework converts protocol [`Value`]s to and from it, so resource code never reads an attribute by name.
//!
//! Attributes that may be unset or not yet known are [`Known`]; plain Rust types (`String`, `bool`, `i64`,
//! `Vec<T>`, maps, sets) are for values that must be known and set.

use std::collections::BTreeMap;
use std::fmt;

use tfplugin::{AttributePath, Number, PathStep, Value};

/// An attribute value during plan: set, not set (null), or not known until apply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Known<T> {
    /// Not set.
    #[default]
    Null,
    /// Not known until apply.
    Unknown,
    /// Known and set.
    Value(T),
}

impl<T> Known<T> {
    /// The value, if known and set.
    pub fn known(&self) -> Option<&T> {
        match self {
            Known::Value(v) => Some(v),
            _ => None,
        }
    }
    /// Whether the value is not known yet.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Known::Unknown)
    }
    /// Whether the value is not set.
    pub fn is_null(&self) -> bool {
        matches!(self, Known::Null)
    }
    /// The value when known, `fallback` when null; `None` when unknown.
    pub fn or_when_null(&self, fallback: T) -> Option<T>
    where
        T: Clone,
    {
        match self {
            Known::Value(v) => Some(v.clone()),
            Known::Null => Some(fallback),
            Known::Unknown => None,
        }
    }
    /// Maps a set value.
    pub fn map<U>(&self, f: impl FnOnce(&T) -> U) -> Known<U> {
        match self {
            Known::Value(v) => Known::Value(f(v)),
            Known::Null => Known::Null,
            Known::Unknown => Known::Unknown,
        }
    }
}

impl<T> From<Option<T>> for Known<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Known::Null, Known::Value)
    }
}

/// A value that does not fit the model, with the path of the attribute it was found at.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    /// Where, from the model's root.
    pub path: AttributePath,
    /// What was expected.
    pub expected: &'static str,
    /// What was found (a short description of the value).
    pub found: String,
}

impl ModelError {
    fn new(expected: &'static str, found: &Value) -> Self {
        let found = match found {
            Value::Null => "null".to_string(),
            Value::Unknown => "an unknown value".to_string(),
            other => format!("{other:?}").chars().take(60).collect(),
        };
        ModelError { path: AttributePath::root(), expected, found }
    }

    /// The same error, one level down: inside attribute `name`.
    pub fn within(self, name: &str) -> Self {
        self.below(PathStep::Attribute(name.to_string()))
    }

    fn below(mut self, step: PathStep) -> Self {
        self.path.0.insert(0, step);
        self
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: expected {}, found {}", self.path, self.expected, self.found)
    }
}

impl std::error::Error for ModelError {}

/// A Rust type that stands for one attribute's (or a whole model's) value.
pub trait AttrValue: Sized {
    /// Decodes from a protocol value.
    fn from_value(v: &Value) -> Result<Self, ModelError>;
    /// Encodes as a protocol value.
    fn to_value(&self) -> Value;
}

impl AttrValue for String {
    fn from_value(v: &Value) -> Result<Self, ModelError> {
        v.as_str().map(str::to_string).ok_or_else(|| ModelError::new("a string", v))
    }
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl AttrValue for bool {
    fn from_value(v: &Value) -> Result<Self, ModelError> {
        v.as_bool().ok_or_else(|| ModelError::new("a bool", v))
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl AttrValue for i64 {
    fn from_value(v: &Value) -> Result<Self, ModelError> {
        v.as_number().and_then(Number::as_i64).ok_or_else(|| ModelError::new("a whole number", v))
    }
    fn to_value(&self) -> Value {
        Value::int(*self)
    }
}

impl AttrValue for Number {
    fn from_value(v: &Value) -> Result<Self, ModelError> {
        v.as_number().cloned().ok_or_else(|| ModelError::new("a number", v))
    }
    fn to_value(&self) -> Value {
        Value::Number(self.clone())
    }
}

impl<T: AttrValue> AttrValue for Known<T> {
    fn from_value(v: &Value) -> Result<Self, ModelError> {
        match v {
            Value::Null => Ok(Known::Null),
            Value::Unknown => Ok(Known::Unknown),
            other => T::from_value(other).map(Known::Value),
        }
    }
    fn to_value(&self) -> Value {
        match self {
            Known::Null => Value::Null,
            Known::Unknown => Value::Unknown,
            Known::Value(v) => v.to_value(),
        }
    }
}

impl<T: AttrValue> AttrValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self, ModelError> {
        match v {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
}

/// A list.
impl<T: AttrValue> AttrValue for Vec<T> {
    fn from_value(v: &Value) -> Result<Self, ModelError> {
        match v {
            Value::List(items) | Value::Tuple(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| T::from_value(x).map_err(|e| e.below(PathStep::Index(i as i64))))
                .collect(),
            other => Err(ModelError::new("a list", other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(T::to_value).collect())
    }
}

/// A set: its elements in the order the engine sent them (a set's order carries no meaning).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Set<T>(pub Vec<T>);

impl<T: AttrValue> AttrValue for Set<T> {
    fn from_value(v: &Value) -> Result<Self, ModelError> {
        match v {
            Value::Set(items) => items.iter().map(T::from_value).collect::<Result<_, _>>().map(Set),
            other => Err(ModelError::new("a set", other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::Set(self.0.iter().map(T::to_value).collect())
    }
}

/// A map with string keys.
impl<T: AttrValue> AttrValue for BTreeMap<String, T> {
    fn from_value(v: &Value) -> Result<Self, ModelError> {
        match v {
            Value::Map(entries) | Value::Object(entries) => entries
                .iter()
                .map(|(k, x)| T::from_value(x).map(|x| (k.clone(), x)).map_err(|e| e.below(PathStep::Key(k.clone()))))
                .collect(),
            other => Err(ModelError::new("a map", other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::Map(self.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
    }
}

/// Declares a model: a struct whose fields are the attributes (and nested blocks) of a schema, by the same
/// names, with [`AttrValue`] conversions to and from an object [`Value`].
///
/// ```
/// framework::model! {
///     /// A bucket.
///     pub struct Bucket {
///         /// Its name.
///         pub name: String,
///         /// Whether versioning is on.
///         pub versioning: framework::Known<bool>,
///     }
/// }
/// ```
#[macro_export]
macro_rules! model {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),* }

        impl $crate::model::AttrValue for $name {
            fn from_value(v: &$crate::Value) -> Result<Self, $crate::model::ModelError> {
                $crate::model::expect_object(v)?;
                Ok(Self {
                    $($field: $crate::model::AttrValue::from_value(v.get(stringify!($field)))
                        .map_err(|e| e.within(stringify!($field)))?),*
                })
            }
            fn to_value(&self) -> $crate::Value {
                $crate::Value::object([$((stringify!($field), $crate::model::AttrValue::to_value(&self.$field))),*])
            }
        }
    };
}

/// `Ok` when `v` is an object (for [`model!`]).
pub fn expect_object(v: &Value) -> Result<(), ModelError> {
    match v {
        Value::Object(_) => Ok(()),
        other => Err(ModelError::new("an object", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::model! {
        struct Rule {
            name: String,
            priority: Known<i64>,
        }
    }

    crate::model! {
        struct Thing {
            bucket: Known<String>,
            enabled: bool,
            tags: Known<BTreeMap<String, String>>,
            keys: Known<Set<Known<String>>>,
            rule: Vec<Rule>,
        }
    }

    fn thing() -> Value {
        Value::object([
            ("bucket", Value::Unknown),
            ("enabled", Value::Bool(true)),
            ("tags", Value::Null),
            ("keys", Value::Set(vec!["b".into(), Value::Unknown])),
            ("rule", Value::List(vec![Value::object([("name", "r".into()), ("priority", Value::int(3))])])),
        ])
    }

    #[test]
    fn round_trips_null_unknown_sets_and_blocks() {
        let t = Thing::from_value(&thing()).unwrap();
        assert!(t.bucket.is_unknown() && t.tags.is_null());
        assert_eq!(t.keys.known().unwrap().0, [Known::Value("b".to_string()), Known::Unknown]);
        assert_eq!(t.rule[0].priority, Known::Value(3));
        assert_eq!(t.to_value(), thing());
    }

    #[test]
    fn errors_name_the_attribute_path() {
        let mut bad = thing();
        if let Value::Object(m) = &mut bad {
            m.insert(
                "rule".into(),
                Value::List(vec![Value::object([("name", Value::Unknown), ("priority", Value::Null)])]),
            );
        }
        let e = Thing::from_value(&bad).unwrap_err();
        assert_eq!(e.path.to_string(), "rule[0].name");
        assert_eq!(e.expected, "a string");
        assert!(Thing::from_value(&Value::Null).is_err());
    }
}
