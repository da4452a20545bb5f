//! cty's msgpack encoding, the normal form of `DynamicValue`.

use std::collections::BTreeMap;

use super::{DecodeError, EncodeError, MAX_DEPTH, PathStack, Sink};
use crate::path::PathStep;
use crate::types::Type;
use crate::value::{Number, Value};

/// Extension type of an unknown value whose payload is a map of refinements.
const EXT_REFINED_UNKNOWN: i8 = 12;

/// Decodes msgpack `bytes` as a value of type `ty`.
///
/// Null is nil and an unknown is any extension value (refinements are dropped). Objects may omit attributes, which
/// decode as null, but not carry ones their type lacks. Trailing bytes, invalid UTF-8 and duplicate keys are errors.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    let mut decoder = Decoder { input: bytes, pos: 0, path: PathStack::default() };
    let value = decoder.value(ty, 0)?;
    if decoder.pos != bytes.len() {
        let trailing = bytes.len() - decoder.pos;
        return Err(decoder.path.decode_error(format!("unexpected data after the value ({trailing} bytes)")));
    }
    Ok(value)
}

/// Encodes `value` as msgpack of type `ty`, checking that it fits.
///
/// Unknown is written `d4 00 00`, numbers as the smallest integer, else a float64 or, when neither is exact, a
/// decimal string; `dynamic` values as `[type JSON as binary, value]`.
pub fn encode_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer(Vec::new());
    super::encode(&mut writer, value, ty)?;
    Ok(writer.0)
}

/// The head of one msgpack item. Strings, binaries and extensions carry their payload; arrays and maps their count.
enum Head<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(usize),
    Map(usize),
    Ext(i8, &'a [u8]),
}

impl Head<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Head::Nil => "nil",
            Head::Bool(_) => "bool",
            Head::Int(_) | Head::UInt(_) => "integer",
            Head::Float(_) => "float",
            Head::Str(_) => "string",
            Head::Bin(_) => "binary",
            Head::Array(_) => "array",
            Head::Map(_) => "map",
            Head::Ext(..) => "extension",
        }
    }
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    path: PathStack,
}

impl<'a> Decoder<'a> {
    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.path.decode_error("unexpected end of input"));
        }
        let bytes = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    /// A big-endian length of `N` (at most 4) bytes.
    fn len<const N: usize>(&mut self) -> Result<usize, DecodeError> {
        let len = self.fixed::<N>()?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        // A length beyond the address space cannot be backed by the input; `take` reports that.
        Ok(usize::try_from(len).unwrap_or(usize::MAX))
    }

    fn head(&mut self) -> Result<Head<'a>, DecodeError> {
        let marker = self.u8()?;
        Ok(match marker {
            0x00..=0x7f => Head::Int(i64::from(marker)),
            0x80..=0x8f => Head::Map(usize::from(marker & 0x0f)),
            0x90..=0x9f => Head::Array(usize::from(marker & 0x0f)),
            0xa0..=0xbf => Head::Str(self.take(usize::from(marker & 0x1f))?),
            0xc0 => Head::Nil,
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4 => Head::Bin(self.sized::<1>()?),
            0xc5 => Head::Bin(self.sized::<2>()?),
            0xc6 => Head::Bin(self.sized::<4>()?),
            0xc7 => self.ext::<1>()?,
            0xc8 => self.ext::<2>()?,
            0xc9 => self.ext::<4>()?,
            0xca => Head::Float(f64::from(f32::from_be_bytes(self.fixed()?))),
            0xcb => Head::Float(f64::from_be_bytes(self.fixed()?)),
            0xcc => Head::UInt(u64::from(self.u8()?)),
            0xcd => Head::UInt(u64::from(u16::from_be_bytes(self.fixed()?))),
            0xce => Head::UInt(u64::from(u32::from_be_bytes(self.fixed()?))),
            0xcf => Head::UInt(u64::from_be_bytes(self.fixed()?)),
            0xd0 => Head::Int(i64::from(i8::from_be_bytes(self.fixed()?))),
            0xd1 => Head::Int(i64::from(i16::from_be_bytes(self.fixed()?))),
            0xd2 => Head::Int(i64::from(i32::from_be_bytes(self.fixed()?))),
            0xd3 => Head::Int(i64::from_be_bytes(self.fixed()?)),
            0xd4..=0xd8 => {
                let code = i8::from_be_bytes(self.fixed()?);
                Head::Ext(code, self.take(1 << (marker - 0xd4))?)
            }
            0xd9 => Head::Str(self.sized::<1>()?),
            0xda => Head::Str(self.sized::<2>()?),
            0xdb => Head::Str(self.sized::<4>()?),
            0xdc => Head::Array(self.len::<2>()?),
            0xdd => Head::Array(self.len::<4>()?),
            0xde => Head::Map(self.len::<2>()?),
            0xdf => Head::Map(self.len::<4>()?),
            0xe0..=0xff => Head::Int(i64::from(marker as i8)),
            0xc1 => return Err(self.path.decode_error("invalid msgpack marker 0xc1")),
        })
    }

    /// A payload preceded by its `N`-byte length.
    fn sized<const N: usize>(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.len::<N>()?;
        self.take(len)
    }

    /// An extension value with an `N`-byte length.
    fn ext<const N: usize>(&mut self) -> Result<Head<'a>, DecodeError> {
        let len = self.len::<N>()?;
        let code = i8::from_be_bytes(self.fixed()?);
        Ok(Head::Ext(code, self.take(len)?))
    }

    fn utf8(&self, bytes: &'a [u8]) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(bytes).map_err(|_| self.path.decode_error("invalid UTF-8 in string"))
    }

    fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.path.decode_error("value nests too deeply"));
        }
        let head = self.head()?;
        Ok(match (ty, head) {
            (_, Head::Nil) => Value::Null,
            (_, Head::Ext(code, payload)) => {
                // Refinements constrain an unknown value further; dropping them leaves a valid, wider unknown.
                let map_marker = |b: u8| matches!(b, 0x80..=0x8f | 0xde | 0xdf);
                if code == EXT_REFINED_UNKNOWN && payload.len() > 1 && !map_marker(payload[0]) {
                    return Err(self.path.decode_error("refinements of an unknown value must be a map"));
                }
                Value::Unknown
            }
            (Type::Dynamic, Head::Array(2)) => {
                let inner = match self.head()? {
                    Head::Str(json) | Head::Bin(json) => Type::from_json_bytes(json)
                        .map_err(|e| self.path.decode_error(format!("invalid type of dynamic value: {e}")))?,
                    other => {
                        let found = other.kind();
                        return Err(self
                            .path
                            .decode_error(format!("expected type JSON of dynamic value, found {found}")));
                    }
                };
                self.value(&inner, depth + 1)?
            }
            (Type::Dynamic, head) => {
                let found = head.kind();
                return Err(self.path.decode_error(format!("expected [type, value] of dynamic value, found {found}")));
            }
            (Type::Bool, Head::Bool(b)) => Value::Bool(b),
            (Type::Number, Head::Int(i)) => Value::int(i),
            (Type::Number, Head::UInt(u)) => match i64::try_from(u) {
                Ok(i) => Value::int(i),
                Err(_) => Value::Number(
                    Number::parse(&u.to_string()).ok_or_else(|| self.path.decode_error("invalid integer"))?,
                ),
            },
            (Type::Number, Head::Float(f)) => {
                Value::Number(Number::from_f64(f).ok_or_else(|| self.path.decode_error("number is not finite"))?)
            }
            (Type::Number, Head::Str(text)) => {
                let text = self.utf8(text)?;
                let n = Number::parse(text).ok_or_else(|| self.path.decode_error("string is not a decimal number"))?;
                Value::Number(n)
            }
            (Type::String, Head::Str(text)) => Value::String(self.utf8(text)?.to_owned()),
            (Type::List(e), Head::Array(len)) => Value::List(self.elements(len, |_| e, depth)?),
            (Type::Set(e), Head::Array(len)) => Value::Set(self.elements(len, |_| e, depth)?),
            (Type::Tuple(types), Head::Array(len)) => {
                if len != types.len() {
                    let message = format!("expected a tuple of {} elements, found {len}", types.len());
                    return Err(self.path.decode_error(message));
                }
                Value::Tuple(self.elements(len, |i| &types[i], depth)?)
            }
            (Type::Map(e), Head::Map(len)) => {
                let mut entries = BTreeMap::new();
                for _ in 0..len {
                    let key = self.key()?;
                    self.path.push(PathStep::Key(key.to_owned()));
                    let v = self.value(e, depth + 1)?;
                    self.path.pop();
                    if entries.insert(key.to_owned(), v).is_some() {
                        return Err(self.path.decode_error(format!("duplicate key {key:?}")));
                    }
                }
                Value::Map(entries)
            }
            (Type::Object(types), Head::Map(len)) => {
                let mut attrs = BTreeMap::new();
                for _ in 0..len {
                    let name = self.key()?;
                    let Some(t) = types.get(name) else {
                        return Err(self.path.decode_error(format!("unsupported attribute {name:?}")));
                    };
                    self.path.push(PathStep::Attribute(name.to_owned()));
                    let v = self.value(t, depth + 1)?;
                    self.path.pop();
                    if attrs.insert(name.to_owned(), v).is_some() {
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
            (ty, head) => return Err(self.path.decode_error(format!("expected {ty}, found {}", head.kind()))),
        })
    }

    /// `len` elements, the `i`th of type `ty_at(i)`.
    fn elements<'t>(
        &mut self,
        len: usize,
        ty_at: impl Fn(usize) -> &'t Type,
        depth: usize,
    ) -> Result<Vec<Value>, DecodeError> {
        // Every element takes at least one byte: never reserve more than the input can hold.
        let mut items = Vec::with_capacity(len.min(self.remaining()));
        for i in 0..len {
            self.path.push(PathStep::Index(i as i64));
            items.push(self.value(ty_at(i), depth + 1)?);
            self.path.pop();
        }
        Ok(items)
    }

    /// A map key, which must be a string.
    fn key(&mut self) -> Result<&'a str, DecodeError> {
        match self.head()? {
            Head::Str(bytes) => self.utf8(bytes),
            other => Err(self.path.decode_error(format!("expected string key, found {}", other.kind()))),
        }
    }
}

/// Writes msgpack in its most compact forms.
struct Writer(Vec<u8>);

impl Writer {
    /// A header of a string, binary, array or map: the fix form when `len` fits `fix_max`, else the 8-bit (when
    /// `small` has one), 16-bit or 32-bit form.
    fn header(&mut self, len: usize, fix: Option<(u8, usize)>, small: Option<u8>, wide: [u8; 2]) -> Result<(), String> {
        match fix {
            Some((base, max)) if len <= max => self.0.push(base | len as u8),
            _ => match (small, u8::try_from(len), u16::try_from(len), u32::try_from(len)) {
                (Some(marker), Ok(n), _, _) => self.0.extend([marker, n]),
                (_, _, Ok(n), _) => {
                    self.0.push(wide[0]);
                    self.0.extend(n.to_be_bytes());
                }
                (_, _, _, Ok(n)) => {
                    self.0.push(wide[1]);
                    self.0.extend(n.to_be_bytes());
                }
                _ => return Err(format!("length {len} exceeds what msgpack can hold")),
            },
        }
        Ok(())
    }

    fn str(&mut self, s: &str) -> Result<(), String> {
        self.header(s.len(), Some((0xa0, 31)), Some(0xd9), [0xda, 0xdb])?;
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn int(&mut self, i: i64) {
        let out = &mut self.0;
        match i {
            -32..=0x7f => out.push(i as u8),
            0x80..=0xff => out.extend([0xcc, i as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend((i as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend((i as u32).to_be_bytes());
            }
            0x1_0000_0000.. => {
                out.push(0xcf);
                out.extend((i as u64).to_be_bytes());
            }
            -0x80..=-33 => out.extend([0xd0, i as u8]),
            -0x8000..=-0x81 => {
                out.push(0xd1);
                out.extend((i as i16).to_be_bytes());
            }
            -0x8000_0000..=-0x8001 => {
                out.push(0xd2);
                out.extend((i as i32).to_be_bytes());
            }
            _ => {
                out.push(0xd3);
                out.extend(i.to_be_bytes());
            }
        }
    }
}

impl Sink for Writer {
    fn null(&mut self) {
        self.0.push(0xc0);
    }
    fn unknown(&mut self) -> Result<(), String> {
        self.0.extend([0xd4, 0, 0]);
        Ok(())
    }
    fn bool(&mut self, b: bool) {
        self.0.push(if b { 0xc3 } else { 0xc2 });
    }
    fn number(&mut self, n: &Number) -> Result<(), String> {
        match n {
            Number::Int(i) => self.int(*i),
            Number::Float(f) => {
                self.0.push(0xcb);
                self.0.extend(f.to_be_bytes());
            }
            Number::Big(text) => self.str(text)?,
        }
        Ok(())
    }
    fn string(&mut self, s: &str) -> Result<(), String> {
        self.str(s)
    }
    fn begin_seq(&mut self, len: usize) -> Result<(), String> {
        self.header(len, Some((0x90, 15)), None, [0xdc, 0xdd])
    }
    fn seq_item(&mut self, _index: usize) {}
    fn end_seq(&mut self) {}
    fn begin_map(&mut self, len: usize) -> Result<(), String> {
        self.header(len, Some((0x80, 15)), None, [0xde, 0xdf])
    }
    fn map_key(&mut self, _index: usize, key: &str) -> Result<(), String> {
        self.str(key)
    }
    fn end_map(&mut self) {}
    fn begin_dynamic(&mut self, ty: &Type) -> Result<(), String> {
        let json = ty.to_json_bytes();
        self.0.push(0x92);
        self.header(json.len(), None, Some(0xc4), [0xc5, 0xc6])?;
        self.0.extend_from_slice(&json);
        Ok(())
    }
    fn end_dynamic(&mut self, _ty: &Type) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::AttributePath;

    fn dec(bytes: &[u8], ty: &Type) -> Value {
        decode_msgpack(bytes, ty).unwrap_or_else(|e| panic!("decoding {bytes:02x?}: {e}"))
    }

    fn dec_err(bytes: &[u8], ty: &Type) -> String {
        decode_msgpack(bytes, ty).expect_err("decoding should fail").to_string()
    }

    fn enc(value: &Value, ty: &Type) -> Vec<u8> {
        encode_msgpack(value, ty).unwrap_or_else(|e| panic!("encoding {value:?}: {e}"))
    }

    /// Encodes to exactly `bytes`, and decodes them back.
    fn exact(value: Value, ty: &Type, bytes: &[u8]) {
        assert_eq!(enc(&value, ty), bytes, "{value:?}");
        assert_eq!(dec(bytes, ty), value, "{bytes:02x?}");
    }

    #[test]
    fn null_and_unknown() {
        for ty in [Type::String, Type::list(Type::Number), Type::Dynamic, Type::object([("a", Type::Bool)])] {
            exact(Value::Null, &ty, &[0xc0]);
            exact(Value::Unknown, &ty, &[0xd4, 0x00, 0x00]);
        }
    }

    #[test]
    fn unknown_in_any_extension_form() {
        let forms: &[&[u8]] = &[
            &[0xd5, 0x00, 0x00, 0x00],                         // fixext2
            &[0xc7, 0x00, 0x00],                               // ext8, empty
            &[0xc7, 0x03, 0x05, 0x01, 0x02, 0x03],             // another extension type
            &[0xc8, 0x00, 0x01, 0x00, 0x00],                   // ext16
            &[0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2],             // refined: {1: false} (not null)
            &[0xd6, 0x0c, 0x81, 0x02, 0xa1, 0x78],             // refined: {2: "x"} (string prefix)
            &[0xc7, 0x05, 0x0c, 0x82, 0x05, 0x01, 0x06, 0x03], // refined: length between 1 and 3
        ];
        for bytes in forms {
            assert_eq!(dec(bytes, &Type::String), Value::Unknown, "{bytes:02x?}");
        }
        assert_eq!(
            dec_err(&[0xc7, 0x02, 0x0c, 0x01, 0x02], &Type::String),
            "refinements of an unknown value must be a map"
        );
        assert_eq!(dec_err(&[0xc7, 0x05, 0x0c, 0x81], &Type::String), "unexpected end of input");
    }

    #[test]
    fn bools() {
        exact(Value::Bool(false), &Type::Bool, &[0xc2]);
        exact(Value::Bool(true), &Type::Bool, &[0xc3]);
        assert_eq!(dec_err(&[0x01], &Type::Bool), "expected bool, found integer");
    }

    #[test]
    fn integers_use_the_smallest_form() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0xcc, 0x80]),
            (255, &[0xcc, 0xff]),
            (256, &[0xcd, 0x01, 0x00]),
            (65535, &[0xcd, 0xff, 0xff]),
            (65536, &[0xce, 0x00, 0x01, 0x00, 0x00]),
            (4294967295, &[0xce, 0xff, 0xff, 0xff, 0xff]),
            (4294967296, &[0xcf, 0, 0, 0, 1, 0, 0, 0, 0]),
            (i64::MAX, &[0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            (-1, &[0xff]),
            (-32, &[0xe0]),
            (-33, &[0xd0, 0xdf]),
            (-128, &[0xd0, 0x80]),
            (-129, &[0xd1, 0xff, 0x7f]),
            (-32768, &[0xd1, 0x80, 0x00]),
            (-32769, &[0xd2, 0xff, 0xff, 0x7f, 0xff]),
            (-2147483648, &[0xd2, 0x80, 0x00, 0x00, 0x00]),
            (-2147483649, &[0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]),
            (i64::MIN, &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for &(i, bytes) in cases {
            exact(Value::int(i), &Type::Number, bytes);
        }
    }

    #[test]
    fn integers_in_wider_forms_decode() {
        let cases: &[(&[u8], i64)] = &[
            (&[0xcc, 0x05], 5),
            (&[0xcd, 0x00, 0x05], 5),
            (&[0xce, 0x00, 0x00, 0x00, 0x05], 5),
            (&[0xcf, 0, 0, 0, 0, 0, 0, 0, 5], 5),
            (&[0xd0, 0x05], 5),
            (&[0xd1, 0xff, 0xfb], -5),
            (&[0xd2, 0xff, 0xff, 0xff, 0xfb], -5),
            (&[0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb], -5),
        ];
        for &(bytes, i) in cases {
            assert_eq!(dec(bytes, &Type::Number), Value::int(i), "{bytes:02x?}");
        }
        // A u64 beyond i64 stays exact.
        assert_eq!(
            dec(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], &Type::Number),
            Value::Number(Number::Big("18446744073709551615".into()))
        );
    }

    #[test]
    fn floats() {
        exact(Value::Number(Number::Float(1.5)), &Type::Number, &[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
        assert_eq!(dec(&[0xca, 0x3f, 0xc0, 0x00, 0x00], &Type::Number), Value::Number(Number::Float(1.5)));
        // An integral float is the integer.
        assert_eq!(dec(&[0xcb, 0x40, 0x45, 0, 0, 0, 0, 0, 0], &Type::Number), Value::int(42));
        assert_eq!(dec_err(&[0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], &Type::Number), "number is not finite");
        assert_eq!(dec_err(&[0xca, 0x7f, 0x80, 0, 0], &Type::Number), "number is not finite");
    }

    #[test]
    fn big_numbers_are_decimal_strings() {
        let text = "12345678901234567890123456.789";
        let mut bytes = vec![0xa0 | text.len() as u8];
        bytes.extend_from_slice(text.as_bytes());
        exact(Value::Number(Number::Big(text.into())), &Type::Number, &bytes);
        // Small numbers written as strings are accepted too.
        assert_eq!(dec(&[0xa2, b'4', b'2'], &Type::Number), Value::int(42));
        assert_eq!(dec_err(&[0xa2, b'4', b'x'], &Type::Number), "string is not a decimal number");
    }

    #[test]
    fn strings() {
        exact(Value::string(""), &Type::String, &[0xa0]);
        exact(Value::string("hi"), &Type::String, &[0xa2, b'h', b'i']);
        exact(Value::string("é"), &Type::String, &[0xa2, 0xc3, 0xa9]);
        let s31 = "x".repeat(31);
        let s32 = "x".repeat(32);
        let s256 = "x".repeat(256);
        assert_eq!(enc(&Value::string(&*s31), &Type::String)[0], 0xbf);
        assert_eq!(enc(&Value::string(&*s32), &Type::String)[..2], [0xd9, 32]);
        assert_eq!(enc(&Value::string(&*s256), &Type::String)[..3], [0xda, 0x01, 0x00]);
        assert_eq!(dec(&[0xd9, 0x02, b'h', b'i'], &Type::String), Value::string("hi"));
        assert_eq!(dec(&[0xda, 0x00, 0x02, b'h', b'i'], &Type::String), Value::string("hi"));
        assert_eq!(dec(&[0xdb, 0x00, 0x00, 0x00, 0x02, b'h', b'i'], &Type::String), Value::string("hi"));
        assert_eq!(dec_err(&[0xc4, 0x02, b'h', b'i'], &Type::String), "expected string, found binary");
        assert_eq!(dec_err(&[0xa1, 0xff], &Type::String), "invalid UTF-8 in string");
        assert_eq!(dec_err(&[0xa3, b'h', b'i'], &Type::String), "unexpected end of input");
    }

    #[test]
    fn nested_object_with_a_list_of_objects() {
        let rule = Type::object([("id", Type::Number), ("on", Type::Bool)]);
        let ty = Type::object([("name", Type::String), ("rules", Type::list(rule))]);
        let value = Value::object([
            ("name", Value::string("x")),
            ("rules", Value::List(vec![Value::object([("id", Value::int(1)), ("on", Value::Bool(true))])])),
        ]);
        #[rustfmt::skip]
        let bytes = [
            0x82,
                0xa4, b'n', b'a', b'm', b'e', 0xa1, b'x',
                0xa5, b'r', b'u', b'l', b'e', b's', 0x91,
                    0x82, 0xa2, b'i', b'd', 0x01, 0xa2, b'o', b'n', 0xc3,
        ];
        exact(value, &ty, &bytes);
        // Absent attributes are null, both ways.
        let sparse = Value::object([("name", Value::string("x"))]);
        assert_eq!(
            enc(&sparse, &ty),
            [0x82, 0xa4, b'n', b'a', b'm', b'e', 0xa1, b'x', 0xa5, b'r', b'u', b'l', b'e', b's', 0xc0]
        );
        let decoded = dec(&[0x81, 0xa4, b'n', b'a', b'm', b'e', 0xa1, b'x'], &ty);
        assert_eq!(decoded, Value::object([("name", Value::string("x")), ("rules", Value::Null)]));
    }

    #[test]
    fn collections() {
        let set = Value::Set(vec![Value::string("a"), Value::string("b")]);
        exact(set, &Type::set(Type::String), &[0x92, 0xa1, b'a', 0xa1, b'b']);
        // Duplicates in a set pass through.
        let dup = dec(&[0x92, 0xa1, b'a', 0xa1, b'a'], &Type::set(Type::String));
        assert_eq!(dup.as_elements().map(<[Value]>::len), Some(2));
        let map = Value::Map([("a".to_string(), Value::int(1))].into());
        exact(map, &Type::map(Type::Number), &[0x81, 0xa1, b'a', 0x01]);
        let tuple_ty = Type::Tuple(vec![Type::String, Type::Bool]);
        exact(Value::Tuple(vec![Value::string("a"), Value::Bool(true)]), &tuple_ty, &[0x92, 0xa1, b'a', 0xc3]);
        assert_eq!(dec_err(&[0x91, 0xa1, b'a'], &tuple_ty), "expected a tuple of 2 elements, found 1");
        exact(Value::List(vec![]), &Type::list(Type::String), &[0x90]);
        let long = Value::List(vec![Value::Bool(true); 16]);
        assert_eq!(enc(&long, &Type::list(Type::Bool))[..3], [0xdc, 0x00, 0x10]);
        let wide = Value::Map((0..16).map(|i| (format!("k{i:02}"), Value::Null)).collect());
        assert_eq!(enc(&wide, &Type::map(Type::Bool))[..3], [0xde, 0x00, 0x10]);
        assert_eq!(dec(&[0xdd, 0, 0, 0, 1, 0xc2], &Type::list(Type::Bool)), Value::List(vec![Value::Bool(false)]));
        assert_eq!(dec(&[0xdf, 0, 0, 0, 0], &Type::map(Type::Bool)), Value::Map(BTreeMap::new()));
    }

    #[test]
    fn dynamic_values_carry_their_type() {
        let mut bytes = vec![0x92, 0xc4, 8];
        bytes.extend_from_slice(br#""string""#);
        bytes.extend_from_slice(&[0xa2, b'h', b'i']);
        exact(Value::string("hi"), &Type::Dynamic, &bytes);
        // The type may also come as a str.
        bytes[1] = 0xa8;
        bytes.remove(2);
        assert_eq!(dec(&bytes, &Type::Dynamic), Value::string("hi"));

        let list = Value::List(vec![Value::int(1), Value::Null]);
        let json = br#"["list","number"]"#;
        let mut bytes = vec![0x92, 0xc4, json.len() as u8];
        bytes.extend_from_slice(json);
        bytes.extend_from_slice(&[0x92, 0x01, 0xc0]);
        exact(list, &Type::Dynamic, &bytes);

        // Inside a dynamic value, a null or unknown with an inner type decodes as such.
        let mut bytes = vec![0x92, 0xa8];
        bytes.extend_from_slice(br#""string""#);
        bytes.extend_from_slice(&[0xd4, 0x00, 0x00]);
        assert_eq!(dec(&bytes, &Type::Dynamic), Value::Unknown);

        assert_eq!(dec_err(&[0xa1, b'x'], &Type::Dynamic), "expected [type, value] of dynamic value, found string");
        assert_eq!(dec_err(&[0x92, 0x01, 0x01], &Type::Dynamic), "expected type JSON of dynamic value, found integer");
        let err = dec_err(&[0x92, 0xa3, b'"', b'x', b'"', 0x01], &Type::Dynamic);
        assert!(err.starts_with("invalid type of dynamic value:"), "{err}");
    }

    #[test]
    fn dynamic_nesting_is_bounded() {
        // A dynamic value whose type is `dynamic` again, ten thousand times over.
        let mut bytes = Vec::new();
        for _ in 0..10_000 {
            bytes.extend_from_slice(&[0x92, 0xa9]);
            bytes.extend_from_slice(br#""dynamic""#);
        }
        bytes.push(0xc0);
        assert_eq!(dec_err(&bytes, &Type::Dynamic), "value nests too deeply");
    }

    #[test]
    fn errors_name_the_path() {
        let ty = Type::object([("destination", Type::list(Type::object([("bucket", Type::String)])))]);
        #[rustfmt::skip]
        let bytes = [
            0x81, 0xab, b'd', b'e', b's', b't', b'i', b'n', b'a', b't', b'i', b'o', b'n', 0x91,
                0x81, 0xa6, b'b', b'u', b'c', b'k', b'e', b't', 0x05,
        ];
        let err = decode_msgpack(&bytes, &ty).unwrap_err();
        assert_eq!(err.path, AttributePath::attr("destination").with_index(0).with_attr("bucket"));
        assert_eq!(err.to_string(), "at destination[0].bucket: expected string, found integer");

        let tags = Type::map(Type::String);
        assert_eq!(dec_err(&[0x81, 0xa3, b'e', b'n', b'v', 0xc3], &tags), r#"at ["env"]: expected string, found bool"#);

        let value = Value::object([("destination", Value::List(vec![Value::object([("bucket", Value::int(5))])]))]);
        let err = encode_msgpack(&value, &ty).unwrap_err();
        assert_eq!(err.to_string(), "at destination[0].bucket: expected string, found number");
    }

    #[test]
    fn strictness() {
        let ty = Type::object([("a", Type::Bool)]);
        assert_eq!(dec_err(&[0x81, 0xa1, b'b', 0xc3], &ty), r#"unsupported attribute "b""#);
        assert_eq!(dec_err(&[0x82, 0xa1, b'a', 0xc3, 0xa1, b'a', 0xc2], &ty), r#"duplicate attribute "a""#);
        let map = Type::map(Type::Bool);
        assert_eq!(dec_err(&[0x82, 0xa1, b'a', 0xc3, 0xa1, b'a', 0xc2], &map), r#"duplicate key "a""#);
        assert_eq!(dec_err(&[0x81, 0x01, 0xc3], &map), "expected string key, found integer");
        assert_eq!(dec_err(&[0xc3, 0xc3], &Type::Bool), "unexpected data after the value (1 bytes)");
        assert_eq!(dec_err(&[], &Type::Bool), "unexpected end of input");
        assert_eq!(dec_err(&[0xc1], &Type::Bool), "invalid msgpack marker 0xc1");
        // A length prefix the input cannot back fails without reserving for it.
        assert_eq!(
            dec_err(&[0xdd, 0xff, 0xff, 0xff, 0xff], &Type::list(Type::Bool)),
            "at [0]: unexpected end of input"
        );
        assert_eq!(dec_err(&[0xdb, 0xff, 0xff, 0xff, 0xff], &Type::String), "unexpected end of input");

        let extra = Value::object([("b", Value::Bool(true))]);
        assert_eq!(encode_msgpack(&extra, &ty).unwrap_err().to_string(), r#"unsupported attribute "b""#);
        let list_for_set = Value::List(vec![]);
        let err = encode_msgpack(&list_for_set, &Type::set(Type::Bool)).unwrap_err();
        assert_eq!(err.to_string(), "expected set(bool), found list");
        let short = Value::Tuple(vec![]);
        let err = encode_msgpack(&short, &Type::Tuple(vec![Type::Bool])).unwrap_err();
        assert_eq!(err.to_string(), "expected a tuple of 1 elements, found 0");
    }
}
