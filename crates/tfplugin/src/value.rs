//! Values of the plugin protocol: cty values, including null and unknown.

use std::collections::BTreeMap;
use std::fmt;

use crate::types::Type;

/// A number as the protocol carries it: cty numbers are arbitrary-precision decimals.
///
/// Constructors normalise: a float with an integral value that fits `i64` becomes [`Number::Int`], and a
/// [`Number::Big`] that fits `i64` becomes [`Number::Int`], so equal numbers compare equal.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A finite, non-integral (or out-of-`i64`-range) binary float.
    Float(f64),
    /// A decimal that neither of the above holds exactly, in canonical text form (`-?digits(.digits)?(e-?digits)?`).
    Big(String),
}

impl Number {
    /// A number from a float; `None` for NaN and infinities, which cty numbers cannot hold.
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
            return Some(Number::Int(f as i64));
        }
        Some(Number::Float(f))
    }

    /// A number from decimal text (as JSON or msgpack strings carry big numbers); `None` if it is not a number.
    pub fn parse(text: &str) -> Option<Number> {
        let t = text.trim();
        if t.is_empty() || t.len() > MAX_NUMBER_TEXT {
            return None;
        }
        if let Ok(i) = t.parse::<i64>() {
            return Some(Number::Int(i));
        }
        if !is_decimal_literal(t) {
            return None;
        }
        let canonical = Decimal::parse(t)?;
        if let Some(i) = canonical.to_i64() {
            return Some(Number::Int(i));
        }
        // Keep exactness: collapse to a float only when the float denotes exactly the same decimal.
        if let Ok(f) = t.parse::<f64>()
            && f.is_finite()
            && Decimal::parse(&format_float(f)).as_ref() == Some(&canonical)
        {
            return Number::from_f64(f);
        }
        Some(Number::Big(canonical.to_string()))
    }

    /// The value as `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The value as a float, possibly rounded.
    pub fn as_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
            Number::Big(s) => s.parse().unwrap_or(f64::NAN),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => f.write_str(&format_float(*x)),
            Number::Big(s) => f.write_str(s),
        }
    }
}

/// Longest decimal text accepted as a number, so hostile input cannot make parsing expensive.
pub const MAX_NUMBER_TEXT: usize = 4096;

fn format_float(f: f64) -> String {
    // Rust's Display for f64 is the shortest text that round-trips.
    format!("{f}")
}

/// Largest decimal exponent accepted (`1e1000000`); beyond it a number is refused as invalid, not misread.
pub const MAX_DECIMAL_EXPONENT: u64 = 1_000_000;

/// A decimal in canonical form: `digits × 10^exponent`, no leading or trailing zeros in `digits`, so equal
/// numbers have equal representations (`1.0`, `1e0` and `1` are the same).
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

impl Decimal {
    fn parse(t: &str) -> Option<Decimal> {
        let (negative, rest) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let mut digits: String = int.chars().chain(frac.chars()).collect();
        let mut exponent = exp.checked_sub(frac.len() as i64)?;
        let trimmed = digits.trim_start_matches('0').len();
        digits.drain(..digits.len() - trimmed);
        while digits.ends_with('0') {
            digits.pop();
            exponent = exponent.checked_add(1)?;
        }
        if digits.is_empty() {
            return Some(Decimal { negative: false, digits: "0".into(), exponent: 0 });
        }
        // Far beyond any number a configuration holds, and it keeps all exponent arithmetic in range.
        if exponent.unsigned_abs() > MAX_DECIMAL_EXPONENT {
            return None;
        }
        Some(Decimal { negative, digits, exponent })
    }

    fn to_i64(&self) -> Option<i64> {
        if self.exponent < 0 || self.exponent > 18 {
            return None;
        }
        let text =
            format!("{}{}{}", if self.negative { "-" } else { "" }, self.digits, "0".repeat(self.exponent as usize));
        text.parse().ok()
    }
}

impl fmt::Display for Decimal {
    /// Plain decimal notation for moderate exponents, scientific notation beyond.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        let n = self.digits.len() as i64;
        if (0..=40).contains(&self.exponent) {
            write!(f, "{}{}", self.digits, "0".repeat(self.exponent as usize))
        } else if self.exponent < 0 && -self.exponent < n {
            let split = (n + self.exponent) as usize;
            write!(f, "{}.{}", &self.digits[..split], &self.digits[split..])
        } else if self.exponent < 0 && -self.exponent - n <= 40 {
            write!(f, "0.{}{}", "0".repeat((-self.exponent - n) as usize), self.digits)
        } else {
            let (first, rest) = self.digits.split_at(1);
            let sep = if rest.is_empty() { "" } else { "." };
            write!(f, "{first}{sep}{rest}e{}", self.exponent + n - 1)
        }
    }
}

fn is_decimal_literal(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && b[i] == b'-' {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == int_start {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac_start {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

/// A value of the plugin protocol. Its [`crate::Type`] comes from the schema it belongs to.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// Null: the attribute is not set.
    #[default]
    Null,
    /// Not known until apply. Refinements sent by newer engines are accepted and dropped.
    Unknown,
    /// A bool.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// A list, in order.
    List(Vec<Value>),
    /// A set; order carries no meaning and equality ignores it.
    Set(Vec<Value>),
    /// A map with string keys.
    Map(BTreeMap<String, Value>),
    /// An object (or a block): every attribute of its type is present, possibly null.
    Object(BTreeMap<String, Value>),
    /// A tuple.
    Tuple(Vec<Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) | (Unknown, Unknown) => true,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Set(a), Set(b)) => {
                a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
            }
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    /// An integer number value.
    pub fn int(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }
    /// An object value from `(name, value)` pairs.
    pub fn object<I, S>(attributes: I) -> Value
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Value::Object(attributes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
    /// A string value, or null when `s` is `None`.
    pub fn opt_string(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::String(s.into()))
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// Whether this value itself is unknown (not whether something inside it is).
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }
    /// Whether this value is known all the way down.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v.iter().all(Value::is_wholly_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// The string, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The bool, if this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The number, if this is a known number.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
    /// The elements, if this is a known list, set or tuple.
    pub fn as_elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }
    /// The entries, if this is a known map or object.
    pub fn as_entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }
    /// The attribute `name` of an object; `Null` when this is null or lacks it, `Unknown` when this is unknown.
    pub fn get(&self, name: &str) -> &Value {
        match self {
            Value::Object(m) | Value::Map(m) => m.get(name).unwrap_or(&Value::Null),
            Value::Unknown => &Value::Unknown,
            _ => &Value::Null,
        }
    }
}

impl Value {
    /// The type this value has on its own, as written where a schema says `dynamic`: `dynamic` for null and
    /// unknown, the value's shape otherwise. A collection's element type unifies its elements' types (`dynamic`
    /// for an empty one); when they share none, it is `dynamic` and each element carries its own type.
    pub fn infer_type(&self) -> Type {
        match self {
            Value::Null | Value::Unknown => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(items) => Type::list(element_type(items)),
            Value::Set(items) => Type::set(element_type(items)),
            Value::Map(entries) => Type::map(element_type(entries.values())),
            Value::Object(attrs) => Type::Object(attrs.iter().map(|(k, v)| (k.clone(), v.infer_type())).collect()),
            Value::Tuple(items) => Type::Tuple(items.iter().map(Value::infer_type).collect()),
        }
    }

    /// Whether this value fits `ty`: null and unknown fit every type, every value fits `dynamic`, otherwise kinds
    /// must match with all elements fitting. An object may lack attributes of its type (they are null), not add any.
    pub fn conforms_to(&self, ty: &Type) -> bool {
        match (ty, self) {
            (_, Value::Null | Value::Unknown) | (Type::Dynamic, _) => true,
            (Type::Bool, Value::Bool(_)) | (Type::Number, Value::Number(_)) | (Type::String, Value::String(_)) => true,
            (Type::List(e), Value::List(items)) | (Type::Set(e), Value::Set(items)) => {
                items.iter().all(|v| v.conforms_to(e))
            }
            (Type::Map(e), Value::Map(entries)) => entries.values().all(|v| v.conforms_to(e)),
            (Type::Object(types), Value::Object(attrs)) => {
                attrs.iter().all(|(k, v)| types.get(k).is_some_and(|t| v.conforms_to(t)))
            }
            (Type::Tuple(types), Value::Tuple(items)) => {
                types.len() == items.len() && items.iter().zip(types).all(|(v, t)| v.conforms_to(t))
            }
            _ => false,
        }
    }
}

/// The element type of a collection holding `items`, for [`Value::infer_type`].
fn element_type<'a>(items: impl IntoIterator<Item = &'a Value> + Clone) -> Type {
    let mut ty = Type::Dynamic;
    for item in items.clone() {
        match unify(ty, item.infer_type()) {
            Some(t) => ty = t,
            None => return Type::Dynamic,
        }
    }
    // `dynamic` inside an element's type may stand for elements that share no type; check they all fit.
    if items.into_iter().all(|v| v.conforms_to(&ty)) { ty } else { Type::Dynamic }
}

/// The most specific type both `a` and `b` fit, `dynamic` matching anything; `None` when they conflict.
fn unify(a: Type, b: Type) -> Option<Type> {
    match (a, b) {
        (Type::Dynamic, t) | (t, Type::Dynamic) => Some(t),
        (Type::List(a), Type::List(b)) => unify(*a, *b).map(Type::list),
        (Type::Set(a), Type::Set(b)) => unify(*a, *b).map(Type::set),
        (Type::Map(a), Type::Map(b)) => unify(*a, *b).map(Type::map),
        (Type::Object(a), Type::Object(b)) if a.len() == b.len() && a.keys().eq(b.keys()) => {
            let attrs = a.into_iter().zip(b.into_values()).map(|((k, a), b)| Some((k, unify(a, b)?)));
            attrs.collect::<Option<_>>().map(Type::Object)
        }
        (Type::Tuple(a), Type::Tuple(b)) if a.len() == b.len() => {
            a.into_iter().zip(b).map(|(a, b)| unify(a, b)).collect::<Option<_>>().map(Type::Tuple)
        }
        (a, b) => (a == b).then_some(a),
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::int(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_normalise() {
        assert_eq!(Number::from_f64(3.0), Some(Number::Int(3)));
        assert_eq!(Number::from_f64(f64::NAN), None);
        assert_eq!(Number::parse("42"), Some(Number::Int(42)));
        assert_eq!(Number::parse("1.5"), Some(Number::Float(1.5)));
        assert_eq!(
            Number::parse("123456789012345678901234567890"),
            Some(Number::Big("123456789012345678901234567890".into()))
        );
        assert_eq!(Number::parse("0.1000000000000000000001"), Some(Number::Big("0.1000000000000000000001".into())));
        assert_eq!(Number::parse("1.0"), Some(Number::Int(1)));
        assert_eq!(Number::parse("1e2"), Some(Number::Int(100)));
        assert_eq!(Number::parse("-0.0"), Some(Number::Int(0)));
        assert_eq!(Number::parse("0.10"), Some(Number::Float(0.1)));
        assert_eq!(Number::parse("1e400"), Some(Number::Big("1e400".into())));
        // Exponents found by the fuzzer to overflow: refused, never a panic or a misread.
        for extreme in ["1e-9223372036854775808", "9e-9223372036854775808", "12e9223372036854775807", "1e1000001"] {
            assert_eq!(Number::parse(extreme), None, "{extreme}");
        }
        assert_eq!(Number::parse("1e1000000"), Some(Number::Big("1e1000000".into())));
        assert_eq!(Number::parse("1.50e400"), Some(Number::Big("1.5e400".into())));
        assert_eq!(Number::parse("12345678901234567890.500"), Some(Number::Big("12345678901234567890.5".into())));
        for bad in ["", "1.", ".5", "1e", "abc", "NaN", "inf", "--1"] {
            assert_eq!(Number::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn sets_compare_unordered() {
        let a = Value::Set(vec!["x".into(), "y".into()]);
        let b = Value::Set(vec!["y".into(), "x".into()]);
        assert_eq!(a, b);
        assert_ne!(Value::List(vec!["x".into(), "y".into()]), Value::List(vec!["y".into(), "x".into()]));
    }

    #[test]
    fn get_walks_objects() {
        let v = Value::object([("a", Value::from("x"))]);
        assert_eq!(v.get("a").as_str(), Some("x"));
        assert!(v.get("b").is_null());
        assert!(Value::Unknown.get("a").is_unknown());
    }
}
