//! Value types of the plugin protocol (the `cty` type system), with their JSON encoding.

use std::collections::BTreeMap;

use serde_json::Value as Json;

/// The type of a [`crate::Value`], as the plugin protocol (cty) knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// `bool`
    Bool,
    /// `number`: arbitrary-precision decimal
    Number,
    /// `string`: UTF-8 text
    String,
    /// The dynamic pseudo-type: the concrete type travels with the value.
    Dynamic,
    /// An ordered list of one element type.
    List(Box<Type>),
    /// An unordered set of one element type.
    Set(Box<Type>),
    /// A map from string keys to one element type.
    Map(Box<Type>),
    /// An object with named, individually typed attributes.
    Object(BTreeMap<String, Type>),
    /// A fixed-length sequence of individually typed elements.
    Tuple(Vec<Type>),
}

impl Type {
    /// `list(element)`
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }
    /// `set(element)`
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }
    /// `map(element)`
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }
    /// `object({...})` from `(name, type)` pairs.
    pub fn object<I, S>(attributes: I) -> Type
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Type::Object(attributes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The type as cty's JSON type notation (`"string"`, `["list","string"]`, `["object",{...}]`).
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => Json::from("bool"),
            Type::Number => Json::from("number"),
            Type::String => Json::from("string"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(e) => Json::Array(vec!["list".into(), e.to_json()]),
            Type::Set(e) => Json::Array(vec!["set".into(), e.to_json()]),
            Type::Map(e) => Json::Array(vec!["map".into(), e.to_json()]),
            Type::Object(attrs) => Json::Array(vec![
                "object".into(),
                Json::Object(attrs.iter().map(|(k, t)| (k.clone(), t.to_json())).collect()),
            ]),
            Type::Tuple(elems) => {
                Json::Array(vec!["tuple".into(), Json::Array(elems.iter().map(Type::to_json).collect())])
            }
        }
    }

    /// The type as the bytes of its cty JSON notation.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses cty's JSON type notation. Optional-attribute markers of object types are accepted and dropped.
    pub fn from_json(json: &Json) -> Result<Type, String> {
        Self::from_json_depth(json, 0)
    }

    /// Parses cty JSON type notation from bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, String> {
        let json: Json = serde_json::from_slice(bytes).map_err(|e| format!("invalid type JSON: {e}"))?;
        Self::from_json(&json)
    }

    fn from_json_depth(json: &Json, depth: usize) -> Result<Type, String> {
        if depth > MAX_TYPE_DEPTH {
            return Err("type nests too deeply".into());
        }
        match json {
            Json::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(format!("unknown primitive type {other:?}")),
            },
            Json::Array(items) if !items.is_empty() => {
                let kind = items[0].as_str().ok_or("type kind must be a string")?;
                let arg = items.get(1).ok_or_else(|| format!("{kind} type needs an argument"))?;
                let inner = |j: &Json| Self::from_json_depth(j, depth + 1);
                match (kind, items.len()) {
                    ("list", 2) => Ok(Type::list(inner(arg)?)),
                    ("set", 2) => Ok(Type::set(inner(arg)?)),
                    ("map", 2) => Ok(Type::map(inner(arg)?)),
                    ("object", 2 | 3) => {
                        let attrs = arg.as_object().ok_or("object type needs an attribute map")?;
                        let mut out = BTreeMap::new();
                        for (k, v) in attrs {
                            out.insert(k.clone(), inner(v)?);
                        }
                        Ok(Type::Object(out))
                    }
                    ("tuple", 2) => {
                        let elems = arg.as_array().ok_or("tuple type needs an element list")?;
                        Ok(Type::Tuple(elems.iter().map(inner).collect::<Result<_, _>>()?))
                    }
                    _ => Err(format!("unknown or malformed type kind {kind:?}")),
                }
            }
            _ => Err("a type is a string or a non-empty array".into()),
        }
    }
}

/// Deepest type nesting accepted from the wire, so hostile input cannot exhaust the stack.
pub const MAX_TYPE_DEPTH: usize = 64;

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(e) => write!(f, "list({e})"),
            Type::Set(e) => write!(f, "set({e})"),
            Type::Map(e) => write!(f, "map({e})"),
            Type::Object(_) => f.write_str("object"),
            Type::Tuple(_) => f.write_str("tuple"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let t = Type::object([
            ("a", Type::list(Type::String)),
            ("b", Type::map(Type::set(Type::Number))),
            ("c", Type::Tuple(vec![Type::Bool, Type::Dynamic])),
        ]);
        let json = t.to_json();
        assert_eq!(
            json.to_string(),
            r#"["object",{"a":["list","string"],"b":["map",["set","number"]],"c":["tuple",["bool","dynamic"]]}]"#
        );
        assert_eq!(Type::from_json(&json).unwrap(), t);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [r#""int""#, r#"[]"#, r#"["list"]"#, r#"["object",[]]"#, "3"] {
            assert!(Type::from_json_bytes(bad.as_bytes()).is_err(), "{bad}");
        }
        let deep = format!("{}\"string\"{}", "[\"list\",".repeat(100), "]".repeat(100));
        assert!(Type::from_json_bytes(deep.as_bytes()).is_err());
    }
}
