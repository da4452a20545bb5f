//! Encoding of [`crate::Value`]s as `DynamicValue` bytes: msgpack (the normal form) and JSON (raw state).
//!
//! Both follow cty, the type system of OpenTofu and Terraform: decoding is directed by the [`Type`] the schema
//! gives, and values of the `dynamic` type travel with their own type.

use std::fmt;

use crate::path::{AttributePath, PathStep};
use crate::types::Type;
use crate::value::{Number, Value};

mod json;
mod msgpack;

pub use json::{decode_json, encode_json};
pub use msgpack::{decode_msgpack, encode_msgpack};

/// Deepest value nesting accepted while decoding; `dynamic` values may nest without a schema to bound them.
const MAX_DEPTH: usize = 128;

/// Where decoding failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The value at fault; the root when the input as a whole is malformed.
    pub path: AttributePath,
    /// What is wrong.
    pub message: String,
}

/// A value that does not fit its type, found while encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    /// The value at fault.
    pub path: AttributePath,
    /// What is wrong.
    pub message: String,
}

fn fmt_error(f: &mut fmt::Formatter<'_>, path: &AttributePath, message: &str) -> fmt::Result {
    if path.is_root() { f.write_str(message) } else { write!(f, "at {path}: {message}") }
}

impl fmt::Display for DecodeError {
    /// `at destination[0].bucket: expected string, found integer`; just the message at the root.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_error(f, &self.path, &self.message)
    }
}

impl fmt::Display for EncodeError {
    /// `at tags["env"]: expected string, found number`; just the message at the root.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_error(f, &self.path, &self.message)
    }
}

impl std::error::Error for DecodeError {}
impl std::error::Error for EncodeError {}

/// The path being worked on, kept as a stack while walking a value.
#[derive(Default)]
struct PathStack(Vec<PathStep>);

impl PathStack {
    fn push(&mut self, step: PathStep) {
        self.0.push(step);
    }
    fn pop(&mut self) {
        self.0.pop();
    }
    fn decode_error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError { path: AttributePath(self.0.clone()), message: message.into() }
    }
    fn encode_error(&self, message: impl Into<String>) -> EncodeError {
        EncodeError { path: AttributePath(self.0.clone()), message: message.into() }
    }
}

/// An output format, driven by [`encode`]. A failing method returns the message of the error to report.
trait Sink {
    fn null(&mut self);
    fn unknown(&mut self) -> Result<(), String>;
    fn bool(&mut self, b: bool);
    fn number(&mut self, n: &Number) -> Result<(), String>;
    fn string(&mut self, s: &str) -> Result<(), String>;
    /// Starts a list, set or tuple; each element is preceded by [`Sink::seq_item`].
    fn begin_seq(&mut self, len: usize) -> Result<(), String>;
    fn seq_item(&mut self, index: usize);
    fn end_seq(&mut self);
    /// Starts a map or object; each entry's value is preceded by [`Sink::map_key`].
    fn begin_map(&mut self, len: usize) -> Result<(), String>;
    fn map_key(&mut self, index: usize, key: &str) -> Result<(), String>;
    fn end_map(&mut self);
    /// Wraps a value written where the type is `dynamic`, which is then written with `ty`.
    fn begin_dynamic(&mut self, ty: &Type) -> Result<(), String>;
    fn end_dynamic(&mut self, ty: &Type);
}

/// Writes `value` as `ty` to `sink`, checking that it fits.
fn encode(sink: &mut impl Sink, value: &Value, ty: &Type) -> Result<(), EncodeError> {
    Encoder { sink, path: PathStack::default() }.value(value, ty)
}

struct Encoder<'s, S> {
    sink: &'s mut S,
    path: PathStack,
}

impl<S: Sink> Encoder<'_, S> {
    fn value(&mut self, value: &Value, ty: &Type) -> Result<(), EncodeError> {
        match (ty, value) {
            (_, Value::Null) => self.sink.null(),
            (_, Value::Unknown) => self.sink.unknown().map_err(|m| self.path.encode_error(m))?,
            (Type::Dynamic, v) => {
                let inner = v.infer_type();
                self.sink.begin_dynamic(&inner).map_err(|m| self.path.encode_error(m))?;
                self.value(v, &inner)?;
                self.sink.end_dynamic(&inner);
            }
            (Type::Bool, Value::Bool(b)) => self.sink.bool(*b),
            (Type::Number, Value::Number(n)) => self.sink.number(n).map_err(|m| self.path.encode_error(m))?,
            (Type::String, Value::String(s)) => self.sink.string(s).map_err(|m| self.path.encode_error(m))?,
            (Type::List(e), Value::List(items)) | (Type::Set(e), Value::Set(items)) => self.seq(items, |_| e)?,
            (Type::Tuple(types), Value::Tuple(items)) => {
                if types.len() != items.len() {
                    let message = format!("expected a tuple of {} elements, found {}", types.len(), items.len());
                    return Err(self.path.encode_error(message));
                }
                self.seq(items, |i| &types[i])?;
            }
            (Type::Map(e), Value::Map(entries)) => {
                self.sink.begin_map(entries.len()).map_err(|m| self.path.encode_error(m))?;
                for (i, (key, v)) in entries.iter().enumerate() {
                    self.path.push(PathStep::Key(key.clone()));
                    self.sink.map_key(i, key).map_err(|m| self.path.encode_error(m))?;
                    self.value(v, e)?;
                    self.path.pop();
                }
                self.sink.end_map();
            }
            (Type::Object(types), Value::Object(attrs)) => {
                if let Some(extra) = attrs.keys().find(|k| !types.contains_key(*k)) {
                    return Err(self.path.encode_error(format!("unsupported attribute {extra:?}")));
                }
                self.sink.begin_map(types.len()).map_err(|m| self.path.encode_error(m))?;
                for (i, (name, t)) in types.iter().enumerate() {
                    self.path.push(PathStep::Attribute(name.clone()));
                    self.sink.map_key(i, name).map_err(|m| self.path.encode_error(m))?;
                    self.value(attrs.get(name).unwrap_or(&Value::Null), t)?;
                    self.path.pop();
                }
                self.sink.end_map();
            }
            (ty, v) => return Err(self.path.encode_error(format!("expected {ty}, found {}", value_kind(v)))),
        }
        Ok(())
    }

    fn seq<'t>(&mut self, items: &[Value], ty_at: impl Fn(usize) -> &'t Type) -> Result<(), EncodeError> {
        self.sink.begin_seq(items.len()).map_err(|m| self.path.encode_error(m))?;
        for (i, v) in items.iter().enumerate() {
            self.path.push(PathStep::Index(i as i64));
            self.sink.seq_item(i);
            self.value(v, ty_at(i))?;
            self.path.pop();
        }
        self.sink.end_seq();
        Ok(())
    }
}

/// What a value is, for error messages.
fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown => "unknown",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
        Value::Tuple(_) => "tuple",
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    use super::*;

    fn arb_type() -> impl Strategy<Value = Type> {
        let leaf = prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String), Just(Type::Dynamic)];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(Type::list),
                inner.clone().prop_map(Type::set),
                inner.clone().prop_map(Type::map),
                btree_map("[a-z_]{1,6}", inner.clone(), 0..4).prop_map(Type::Object),
                vec(inner, 0..4).prop_map(Type::Tuple),
            ]
        })
    }

    fn arb_string() -> impl Strategy<Value = String> {
        vec(any::<char>(), 0..6).prop_map(String::from_iter)
    }

    /// Numbers as a decoder makes them: from text matching the regex `re`.
    fn parsed(re: &'static str) -> impl Strategy<Value = Number> {
        re.prop_map(|text| Number::parse(&text).expect("a decimal literal"))
    }

    fn arb_number() -> impl Strategy<Value = Number> {
        prop_oneof![
            any::<i64>().prop_map(Number::Int),
            any::<f64>().prop_filter_map("finite", Number::from_f64),
            parsed("-?[1-9][0-9]{18,40}(\\.[0-9]{1,30})?"),
            parsed("-?[0-9]\\.[0-9]{1,25}[eE][+-]?[0-9]{1,3}"),
        ]
    }

    /// A value of type `ty`, null or unknown at any level; `dynamic` picks a type of its own (up to `budget` deep).
    fn arb_value(ty: &Type, budget: u32) -> BoxedStrategy<Value> {
        let known = match ty {
            Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
            Type::Number => arb_number().prop_map(Value::Number).boxed(),
            Type::String => arb_string().prop_map(Value::String).boxed(),
            Type::Dynamic if budget == 0 => prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String)]
                .prop_flat_map(|t| arb_value(&t, 0))
                .boxed(),
            Type::Dynamic => arb_type().prop_flat_map(move |t| arb_value(&t, budget - 1)).boxed(),
            Type::List(e) => vec(arb_value(e, budget), 0..4).prop_map(Value::List).boxed(),
            Type::Set(e) => vec(arb_value(e, budget), 0..4).prop_map(Value::Set).boxed(),
            Type::Map(e) => btree_map(arb_string(), arb_value(e, budget), 0..4).prop_map(Value::Map).boxed(),
            Type::Object(types) => types
                .iter()
                .map(|(name, t)| {
                    let name = name.clone();
                    arb_value(t, budget).prop_map(move |v| (name.clone(), v))
                })
                .collect::<Vec<_>>()
                .prop_map(|attrs| Value::Object(attrs.into_iter().collect()))
                .boxed(),
            Type::Tuple(types) => {
                types.iter().map(|t| arb_value(t, budget)).collect::<Vec<_>>().prop_map(Value::Tuple).boxed()
            }
        };
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 8 => known].boxed()
    }

    fn arb_typed_value() -> impl Strategy<Value = (Type, Value)> {
        arb_type().prop_flat_map(|ty| arb_value(&ty, 2).prop_map(move |v| (ty.clone(), v)))
    }

    fn without_unknowns(v: &Value) -> Value {
        match v {
            Value::Unknown => Value::Null,
            Value::List(items) => Value::List(items.iter().map(without_unknowns).collect()),
            Value::Set(items) => Value::Set(items.iter().map(without_unknowns).collect()),
            Value::Tuple(items) => Value::Tuple(items.iter().map(without_unknowns).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), without_unknowns(v))).collect()),
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), without_unknowns(v))).collect()),
            v => v.clone(),
        }
    }

    /// A valid encoding, damaged: some bytes overwritten, then possibly cut short.
    fn mutated(bytes: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
        let len = bytes.len();
        (vec((0..len.max(1), any::<u8>()), 1..4), 0..=len).prop_map(move |(edits, cut)| {
            let mut out = bytes.clone();
            for (at, b) in edits {
                if let Some(slot) = out.get_mut(at) {
                    *slot = b;
                }
            }
            out.truncate(cut.max(len / 2));
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn msgpack_round_trips((ty, value) in arb_typed_value()) {
            let bytes = encode_msgpack(&value, &ty).unwrap();
            prop_assert_eq!(decode_msgpack(&bytes, &ty).unwrap(), value);
        }

        #[test]
        fn json_round_trips((ty, value) in arb_typed_value()) {
            let known = without_unknowns(&value);
            let bytes = encode_json(&known, &ty).unwrap();
            prop_assert_eq!(decode_json(&bytes, &ty, false).unwrap(), known);
            prop_assert_eq!(encode_json(&value, &ty).is_ok(), value.is_wholly_known());
        }

        #[test]
        fn arbitrary_bytes_never_panic(ty in arb_type(), bytes in vec(any::<u8>(), 0..64), ignore in any::<bool>()) {
            // Whatever decodes is a value of its type again.
            if let Ok(v) = decode_msgpack(&bytes, &ty) {
                prop_assert!(encode_msgpack(&v, &ty).is_ok());
            }
            if let Ok(v) = decode_json(&bytes, &ty, ignore) {
                prop_assert!(encode_json(&v, &ty).is_ok());
            }
        }

        #[test]
        fn damaged_msgpack_never_panics(
            (ty, bytes) in arb_typed_value().prop_flat_map(|(ty, v)| {
                let bytes = encode_msgpack(&v, &ty).unwrap();
                (Just(ty), mutated(bytes))
            })
        ) {
            if let Ok(v) = decode_msgpack(&bytes, &ty) {
                prop_assert!(encode_msgpack(&v, &ty).is_ok());
            }
        }

        #[test]
        fn damaged_json_never_panics(
            (ty, bytes) in arb_typed_value().prop_flat_map(|(ty, v)| {
                let bytes = encode_json(&without_unknowns(&v), &ty).unwrap();
                (Just(ty), mutated(bytes))
            }),
            ignore in any::<bool>(),
        ) {
            if let Ok(v) = decode_json(&bytes, &ty, ignore) {
                prop_assert!(encode_json(&v, &ty).is_ok());
            }
        }
    }

    #[test]
    fn inferred_types() {
        let cases = [
            (Value::Null, Type::Dynamic),
            (Value::List(vec![]), Type::list(Type::Dynamic)),
            (Value::List(vec![Value::Null, Value::string("a")]), Type::list(Type::String)),
            (Value::Set(vec![Value::int(1), Value::string("a")]), Type::set(Type::Dynamic)),
            (Value::Map([("k".to_string(), Value::Bool(true))].into()), Type::map(Type::Bool)),
            (Value::Tuple(vec![Value::int(1), Value::Unknown]), Type::Tuple(vec![Type::Number, Type::Dynamic])),
            (
                Value::List(vec![
                    Value::object([("a", Value::Null), ("b", Value::int(1))]),
                    Value::object([("a", Value::string("x")), ("b", Value::Null)]),
                ]),
                Type::list(Type::object([("a", Type::String), ("b", Type::Number)])),
            ),
            // Objects with different attributes share no type; neither do lists whose elements share none.
            (
                Value::List(vec![Value::object([("a", Value::int(1))]), Value::object([("b", Value::int(1))])]),
                Type::list(Type::Dynamic),
            ),
            (
                Value::List(vec![
                    Value::List(vec![Value::int(1), Value::string("x")]),
                    Value::List(vec![Value::string("y")]),
                ]),
                Type::list(Type::Dynamic),
            ),
        ];
        for (value, ty) in cases {
            assert_eq!(value.infer_type(), ty, "{value:?}");
            assert!(value.conforms_to(&ty), "{value:?}");
        }
        assert!(!Value::object([("z", Value::Null)]).conforms_to(&Type::object([("a", Type::Bool)])));
        assert!(
            Value::object([("a", Value::Bool(true))])
                .conforms_to(&Type::object([("a", Type::Bool), ("b", Type::Bool)]))
        );
        assert!(!Value::Tuple(vec![]).conforms_to(&Type::Tuple(vec![Type::Bool])));
        assert!(!Value::List(vec![]).conforms_to(&Type::set(Type::Bool)));
    }
}
