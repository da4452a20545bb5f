//! cty's JSON encoding, used for raw state and as the fallback form of `DynamicValue`.
//!
//! Input is parsed into a small syntax tree first (numbers kept as their exact text), then read against the type:
//! a `dynamic` value's `"value"` may come before the `"type"` that says how to read it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use self::syntax::Json;
use super::{DecodeError, EncodeError, MAX_DEPTH, PathStack, Sink};
use crate::path::PathStep;
use crate::types::Type;
use crate::value::{Number, Value};

mod syntax;

/// Decodes JSON `bytes` as a value of type `ty`.
///
/// Attributes missing from an object decode as null. Attributes its type lacks are skipped when
/// `ignore_undefined_attributes` is set (a state written by an older schema), else an error. Like cty, a string
/// holding a number or bool is accepted for those types, and a number or bool for a string.
pub fn decode_json(bytes: &[u8], ty: &Type, ignore_undefined_attributes: bool) -> Result<Value, DecodeError> {
    let syntax = |message: String| DecodeError { path: Default::default(), message };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| syntax(format!("invalid UTF-8 at byte {} of the JSON input", e.valid_up_to())))?;
    let json = syntax::parse(text).map_err(syntax)?;
    Reader { path: PathStack::default(), ignore_undefined_attributes }.value(json, ty, 0)
}

/// Encodes `value` as JSON of type `ty`, checking that it fits. Unknown values cannot be written as JSON.
///
/// Numbers keep their exact digits; `dynamic` values are written as `{"value": ..., "type": ...}`.
pub fn encode_json(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer(Vec::new());
    super::encode(&mut writer, value, ty)?;
    Ok(writer.0)
}

/// Reads a parsed JSON value against a type.
struct Reader {
    path: PathStack,
    ignore_undefined_attributes: bool,
}

impl Reader {
    fn value(&mut self, json: Json<'_>, ty: &Type, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.path.decode_error("value nests too deeply"));
        }
        Ok(match (ty, json) {
            (_, Json::Null) => Value::Null,
            (Type::Dynamic, Json::Object(members)) => {
                let (mut inner_ty, mut inner) = (None, None);
                for (key, v) in members {
                    match (key.as_ref(), &inner_ty, &inner) {
                        ("type", None, _) => {
                            let t = v.to_serde().and_then(|json| Type::from_json(&json));
                            inner_ty =
                                Some(t.map_err(|e| {
                                    self.path.decode_error(format!("invalid type of dynamic value: {e}"))
                                })?);
                        }
                        ("value", _, None) => inner = Some(v),
                        ("type" | "value", ..) => {
                            return Err(self.path.decode_error(format!("duplicate key {key:?} in dynamic value")));
                        }
                        (other, ..) => {
                            return Err(self.path.decode_error(format!("unexpected key {other:?} in dynamic value")));
                        }
                    }
                }
                let (Some(inner_ty), Some(inner)) = (inner_ty, inner) else {
                    return Err(self.path.decode_error("dynamic value needs both \"type\" and \"value\""));
                };
                self.value(inner, &inner_ty, depth + 1)?
            }
            (Type::Dynamic, json) => {
                let found = json.kind();
                return Err(self.path.decode_error(format!("expected {{\"value\", \"type\"}} object, found {found}")));
            }
            (Type::Bool, Json::Bool(b)) => Value::Bool(b),
            (Type::Bool, Json::String(s)) => match s.as_ref() {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => return Err(self.path.decode_error("expected bool, found a string that is not one")),
            },
            (Type::Number, Json::Number(text)) => {
                Value::Number(Number::parse(text).ok_or_else(|| self.path.decode_error("number has too many digits"))?)
            }
            (Type::Number, Json::String(s)) => Value::Number(
                Number::parse(&s)
                    .ok_or_else(|| self.path.decode_error("expected number, found a string that is not one"))?,
            ),
            (Type::String, Json::String(s)) => Value::String(s.into_owned()),
            (Type::String, Json::Number(text)) => Value::String(text.to_owned()),
            (Type::String, Json::Bool(b)) => Value::String(b.to_string()),
            (Type::List(e), Json::Array(items)) => Value::List(self.elements(items, |_| e, depth)?),
            (Type::Set(e), Json::Array(items)) => Value::Set(self.elements(items, |_| e, depth)?),
            (Type::Tuple(types), Json::Array(items)) => {
                if items.len() != types.len() {
                    let message = format!("expected a tuple of {} elements, found {}", types.len(), items.len());
                    return Err(self.path.decode_error(message));
                }
                Value::Tuple(self.elements(items, |i| &types[i], depth)?)
            }
            (Type::Map(e), Json::Object(members)) => {
                let mut entries = BTreeMap::new();
                for (key, v) in members {
                    self.path.push(PathStep::Key(key.to_string()));
                    let v = self.value(v, e, depth + 1)?;
                    self.path.pop();
                    if entries.insert(key.to_string(), v).is_some() {
                        return Err(self.path.decode_error(format!("duplicate key {key:?}")));
                    }
                }
                Value::Map(entries)
            }
            (Type::Object(types), Json::Object(members)) => {
                let mut attrs = BTreeMap::new();
                for (name, v) in members {
                    let Some(t) = types.get(name.as_ref()) else {
                        if self.ignore_undefined_attributes {
                            continue;
                        }
                        return Err(self.path.decode_error(format!("unsupported attribute {name:?}")));
                    };
                    self.path.push(PathStep::Attribute(name.to_string()));
                    let v = self.value(v, t, depth + 1)?;
                    self.path.pop();
                    if attrs.insert(name.to_string(), v).is_some() {
                        return Err(self.path.decode_error(format!("duplicate attribute {name:?}")));
                    }
                }
                for name in types.keys() {
                    if !attrs.contains_key(name) {
                        attrs.insert(name.clone(), Value::Null);
                    }
                }
                Value::Object(attrs)
            }
            (ty, json) => return Err(self.path.decode_error(format!("expected {ty}, found {}", json.kind()))),
        })
    }

    /// The elements of an array, the `i`th of type `ty_at(i)`.
    fn elements<'t>(
        &mut self,
        items: Vec<Json<'_>>,
        ty_at: impl Fn(usize) -> &'t Type,
        depth: usize,
    ) -> Result<Vec<Value>, DecodeError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            self.path.push(PathStep::Index(i as i64));
            out.push(self.value(item, ty_at(i), depth + 1)?);
            self.path.pop();
        }
        Ok(out)
    }
}

/// Writes compact JSON.
struct Writer(Vec<u8>);

impl Writer {
    fn str(&mut self, s: &str) {
        let out = &mut self.0;
        out.push(b'"');
        let mut start = 0;
        for (i, &b) in s.as_bytes().iter().enumerate() {
            let short: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x00..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(&s.as_bytes()[start..i]);
            if short.is_empty() {
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
            } else {
                out.extend_from_slice(short);
            }
            start = i + 1;
        }
        out.extend_from_slice(&s.as_bytes()[start..]);
        out.push(b'"');
    }
}

/// Number text as the JSON grammar wants it: [`Number::Big`] may carry redundant leading zeros (`007.5`).
fn json_number(text: &str) -> Cow<'_, str> {
    let (sign, magnitude) = text.strip_prefix('-').map_or(("", text), |m| ("-", m));
    let mut trimmed = magnitude.trim_start_matches('0');
    if !trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        // Keep one zero before a fraction or an exponent.
        trimmed = &magnitude[magnitude.len() - trimmed.len() - 1..];
    }
    if trimmed.len() == magnitude.len() { Cow::Borrowed(text) } else { Cow::Owned(format!("{sign}{trimmed}")) }
}

impl Sink for Writer {
    fn null(&mut self) {
        self.0.extend_from_slice(b"null");
    }
    fn unknown(&mut self) -> Result<(), String> {
        Err("an unknown value cannot be written as JSON".into())
    }
    fn bool(&mut self, b: bool) {
        self.0.extend_from_slice(if b { b"true" } else { b"false" });
    }
    fn number(&mut self, n: &Number) -> Result<(), String> {
        match n {
            Number::Big(text) => self.0.extend_from_slice(json_number(text).as_bytes()),
            // Integers and floats print as plain decimals, which are valid JSON and parse back to the same number.
            n => self.0.extend_from_slice(n.to_string().as_bytes()),
        }
        Ok(())
    }
    fn string(&mut self, s: &str) -> Result<(), String> {
        self.str(s);
        Ok(())
    }
    fn begin_seq(&mut self, _len: usize) -> Result<(), String> {
        self.0.push(b'[');
        Ok(())
    }
    fn seq_item(&mut self, index: usize) {
        if index > 0 {
            self.0.push(b',');
        }
    }
    fn end_seq(&mut self) {
        self.0.push(b']');
    }
    fn begin_map(&mut self, _len: usize) -> Result<(), String> {
        self.0.push(b'{');
        Ok(())
    }
    fn map_key(&mut self, index: usize, key: &str) -> Result<(), String> {
        if index > 0 {
            self.0.push(b',');
        }
        self.str(key);
        self.0.push(b':');
        Ok(())
    }
    fn end_map(&mut self) {
        self.0.push(b'}');
    }
    fn begin_dynamic(&mut self, _ty: &Type) -> Result<(), String> {
        self.0.extend_from_slice(b"{\"value\":");
        Ok(())
    }
    fn end_dynamic(&mut self, ty: &Type) {
        self.0.extend_from_slice(b",\"type\":");
        self.0.extend_from_slice(&ty.to_json_bytes());
        self.0.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::syntax::MAX_SYNTAX_DEPTH;
    use super::*;

    fn dec(text: &str, ty: &Type) -> Value {
        decode_json(text.as_bytes(), ty, false).unwrap_or_else(|e| panic!("decoding {text}: {e}"))
    }

    fn dec_err(text: &str, ty: &Type) -> String {
        decode_json(text.as_bytes(), ty, false).expect_err("decoding should fail").to_string()
    }

    fn enc(value: &Value, ty: &Type) -> String {
        String::from_utf8(encode_json(value, ty).unwrap_or_else(|e| panic!("encoding {value:?}: {e}"))).unwrap()
    }

    /// Encodes to exactly `text`, and decodes it back.
    fn exact(value: Value, ty: &Type, text: &str) {
        assert_eq!(enc(&value, ty), text, "{value:?}");
        assert_eq!(dec(text, ty), value, "{text}");
    }

    #[test]
    fn primitives() {
        exact(Value::Null, &Type::String, "null");
        exact(Value::Bool(true), &Type::Bool, "true");
        exact(Value::Bool(false), &Type::Bool, "false");
        exact(Value::int(-42), &Type::Number, "-42");
        exact(Value::Number(Number::Float(1.5)), &Type::Number, "1.5");
        exact(Value::string("hi"), &Type::String, r#""hi""#);
        assert_eq!(dec(" \t\n\r true \n", &Type::Bool), Value::Bool(true));
    }

    #[test]
    fn numbers_stay_exact() {
        for text in ["123456789012345678901234567890", "-0.1000000000000000000001", "1.5e400"] {
            let Value::Number(n) = dec(text, &Type::Number) else { panic!("{text}") };
            assert_eq!(n, Number::Big(text.into()));
            assert_eq!(enc(&Value::Number(n), &Type::Number), text);
        }
        // Numbers are canonical: the same value decodes the same whatever its spelling.
        assert_eq!(dec("1.5e+300", &Type::Number), Value::Number(Number::Float(1.5e300)));
        assert_eq!(dec("2.5E-3", &Type::Number), Value::Number(Number::Float(0.0025)));
        assert_eq!(dec("1e2", &Type::Number), Value::int(100));
        assert_eq!(dec("100.0", &Type::Number), Value::int(100));
        assert_eq!(
            dec("18446744073709551615", &Type::Number),
            Value::Number(Number::Big("18446744073709551615".into()))
        );
        assert_eq!(dec("0.1", &Type::Number), Value::Number(Number::Float(0.1)));
        // Redundant leading zeros a `Big` may carry are not valid JSON; they are dropped on the way out.
        for (big, json) in [("007.5", "7.5"), ("-00.5", "-0.5"), ("000e5", "0e5"), ("-0.5", "-0.5"), ("10.5", "10.5")] {
            assert_eq!(enc(&Value::Number(Number::Big(big.into())), &Type::Number), json);
        }
        for bad in ["01", "-", "1.", ".5", "1e", "+1", "NaN", "0x10"] {
            assert!(decode_json(bad.as_bytes(), &Type::Number, false).is_err(), "{bad}");
        }
        let long = "1".repeat(5000);
        assert_eq!(dec_err(&long, &Type::Number), "number has too many digits");
    }

    #[test]
    fn strings_escape() {
        exact(
            Value::string("a\"b\\c\n\r\t\u{1}\u{1f}é😀/"),
            &Type::String,
            "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001fé😀/\"",
        );
        assert_eq!(dec(r#""\ud83d\ude00 \u00e9 \/ \b\f""#, &Type::String), Value::string("😀 é / \u{8}\u{c}"));
        assert_eq!(dec_err(r#""\ud83d""#, &Type::String), "invalid JSON at byte 7: unpaired surrogate in string");
        assert_eq!(dec_err(r#""\ude00""#, &Type::String), "invalid JSON at byte 7: unpaired surrogate in string");
        assert_eq!(dec_err(r#""\ud83dx""#, &Type::String), "invalid JSON at byte 7: unpaired surrogate in string");
        assert_eq!(dec_err(r#""\x""#, &Type::String), "invalid JSON at byte 2: invalid escape in string");
        assert_eq!(dec_err(r#""\u12g4""#, &Type::String), "invalid JSON at byte 5: invalid \\u escape");
        assert_eq!(dec_err("\"a\nb\"", &Type::String), "invalid JSON at byte 2: control character in string");
        assert_eq!(dec_err(r#""abc"#, &Type::String), "invalid JSON at byte 4: unterminated string");
        assert_eq!(dec_err(r#""\"#, &Type::String), "invalid JSON at byte 2: invalid escape in string");
        let err = decode_json(b"\"\xff\"", &Type::String, false).unwrap_err();
        assert_eq!(err.to_string(), "invalid UTF-8 at byte 1 of the JSON input");
    }

    #[test]
    fn primitives_convert_like_cty() {
        assert_eq!(dec(r#""true""#, &Type::Bool), Value::Bool(true));
        assert_eq!(dec(r#""0""#, &Type::Bool), Value::Bool(false));
        assert_eq!(dec_err(r#""yes""#, &Type::Bool), "expected bool, found a string that is not one");
        assert_eq!(dec(r#""12.5""#, &Type::Number), Value::Number(Number::Float(12.5)));
        assert_eq!(dec_err(r#""x""#, &Type::Number), "expected number, found a string that is not one");
        assert_eq!(dec("12.50", &Type::String), Value::string("12.50"));
        assert_eq!(dec("false", &Type::String), Value::string("false"));
        assert_eq!(dec_err("[]", &Type::String), "expected string, found array");
    }

    #[test]
    fn structures() {
        let rule = Type::object([("id", Type::Number), ("on", Type::Bool)]);
        let ty = Type::object([("name", Type::String), ("rules", Type::list(rule)), ("tags", Type::map(Type::String))]);
        let value = Value::object([
            ("name", Value::string("x")),
            ("rules", Value::List(vec![Value::object([("id", Value::int(1)), ("on", Value::Null)])])),
            ("tags", Value::Map([("env".to_string(), Value::string("prod"))].into())),
        ]);
        exact(value, &ty, r#"{"name":"x","rules":[{"id":1,"on":null}],"tags":{"env":"prod"}}"#);
        // Missing attributes are null; whitespace is fine.
        let sparse = dec(r#" { "name" : "x" } "#, &ty);
        assert_eq!(
            sparse,
            Value::object([("name", Value::string("x")), ("rules", Value::Null), ("tags", Value::Null)])
        );

        exact(Value::Set(vec![Value::int(1), Value::int(2)]), &Type::set(Type::Number), "[1,2]");
        let tuple_ty = Type::Tuple(vec![Type::String, Type::Bool]);
        exact(Value::Tuple(vec![Value::string("a"), Value::Bool(true)]), &tuple_ty, r#"["a",true]"#);
        assert_eq!(dec_err(r#"["a"]"#, &tuple_ty), "expected a tuple of 2 elements, found 1");
        exact(Value::List(vec![]), &Type::list(Type::String), "[]");
        exact(Value::Map(BTreeMap::new()), &Type::map(Type::String), "{}");
    }

    #[test]
    fn undefined_attributes() {
        let ty = Type::object([("a", Type::Number)]);
        let text = br#"{"a":1,"dropped":{"x":[1,2]}}"#;
        assert_eq!(decode_json(text, &ty, false).unwrap_err().to_string(), r#"unsupported attribute "dropped""#);
        assert_eq!(decode_json(text, &ty, true).unwrap(), Value::object([("a", Value::int(1))]));
        let nested = Type::object([("b", Type::list(ty))]);
        let err = decode_json(br#"{"b":[{"a":1,"c":2}]}"#, &nested, false).unwrap_err();
        assert_eq!(err.to_string(), r#"at b[0]: unsupported attribute "c""#);
    }

    #[test]
    fn dynamic_values_carry_their_type() {
        exact(Value::string("hi"), &Type::Dynamic, r#"{"value":"hi","type":"string"}"#);
        assert_eq!(dec(r#"{"type":"string","value":"hi"}"#, &Type::Dynamic), Value::string("hi"));
        exact(Value::Null, &Type::Dynamic, "null");
        let obj = Value::object([("a", Value::List(vec![Value::int(1)]))]);
        exact(obj, &Type::Dynamic, r#"{"value":{"a":[1]},"type":["object",{"a":["list","number"]}]}"#);
        assert_eq!(dec(r#"{"value":null,"type":"number"}"#, &Type::Dynamic), Value::Null);
        let missing = r#"dynamic value needs both "type" and "value""#;
        assert_eq!(dec_err(r#"{"value":1}"#, &Type::Dynamic), missing);
        assert_eq!(dec_err(r#"{"type":"number"}"#, &Type::Dynamic), missing);
        assert_eq!(
            dec_err(r#"{"type":"number","value":1,"x":1}"#, &Type::Dynamic),
            r#"unexpected key "x" in dynamic value"#
        );
        let dup = r#"{"type":"number","value":1,"value":2}"#;
        assert_eq!(dec_err(dup, &Type::Dynamic), r#"duplicate key "value" in dynamic value"#);
        let err = dec_err(r#"{"type":"int","value":1}"#, &Type::Dynamic);
        assert!(err.starts_with("invalid type of dynamic value:"), "{err}");
        assert_eq!(dec_err("1", &Type::Dynamic), r#"expected {"value", "type"} object, found number"#);
    }

    #[test]
    fn unknown_cannot_be_json() {
        let ty = Type::object([("a", Type::list(Type::String))]);
        let value = Value::object([("a", Value::List(vec![Value::Unknown]))]);
        let err = encode_json(&value, &ty).unwrap_err();
        assert_eq!(err.to_string(), "at a[0]: an unknown value cannot be written as JSON");
    }

    #[test]
    fn errors_name_the_path() {
        let ty = Type::object([("destination", Type::list(Type::object([("bucket", Type::String)])))]);
        let err = dec_err(r#"{"destination":[{"bucket":{}}]}"#, &ty);
        assert_eq!(err, "at destination[0].bucket: expected string, found object");
        let tags = Type::map(Type::Bool);
        assert_eq!(dec_err(r#"{"env":[]}"#, &tags), r#"at ["env"]: expected bool, found array"#);
    }

    #[test]
    fn strictness() {
        let map = Type::map(Type::Number);
        assert_eq!(dec_err(r#"{"a":1,"a":2}"#, &map), r#"duplicate key "a""#);
        let obj = Type::object([("a", Type::Number)]);
        assert_eq!(dec_err(r#"{"a":1,"a":2}"#, &obj), r#"duplicate attribute "a""#);
        assert_eq!(dec_err("true false", &Type::Bool), "invalid JSON at byte 5: trailing characters after the value");
        assert_eq!(dec_err("", &Type::Bool), "invalid JSON at byte 0: unexpected end of input");
        assert_eq!(dec_err("[1,]", &Type::list(Type::Number)), "invalid JSON at byte 3: unexpected character");
        assert_eq!(dec_err("[1 2]", &Type::list(Type::Number)), "invalid JSON at byte 3: expected ',' or ']'");
        assert_eq!(dec_err(r#"{"a" 1}"#, &map), "invalid JSON at byte 5: expected ':'");
        assert_eq!(dec_err(r#"{1:1}"#, &map), "invalid JSON at byte 1: expected a string key");
        assert_eq!(dec_err(r#"{"a":1 "b":2}"#, &map), "invalid JSON at byte 7: expected ',' or '}'");
        assert_eq!(dec_err("nul", &Type::Bool), "invalid JSON at byte 0: unexpected character");
        let deep = "[".repeat(100_000);
        assert_eq!(
            dec_err(&deep, &Type::Dynamic),
            format!("invalid JSON at byte {}: nesting too deep", MAX_SYNTAX_DEPTH + 1)
        );
    }
}
