//! Declarative attribute validators, attached in the schema builder ([`crate::Attr::validate`]) and run by the
//! framework on every configuration before the resource sees it. Each names the attribute in its diagnostics
//! and describes itself for the generated docs.

use std::fmt;
use std::sync::Arc;

use tfplugin::{AttributePath, Diagnostic, Diagnostics, Value};

/// A check of one attribute's value. The framework calls it only for known, non-null values.
pub trait Validator: Send + Sync + 'static {
    /// What the value must be, for the docs: a sentence.
    fn description(&self) -> String;
    /// Diagnostics for `value`, found at `path`.
    fn validate(&self, value: &Value, path: &AttributePath) -> Diagnostics;
}

/// A shared validator, as the schema keeps it.
#[derive(Clone)]
pub struct AnyValidator(pub Arc<dyn Validator>);

impl fmt::Debug for AnyValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Validator({:?})", self.0.description())
    }
}

/// A check of any known value: `check` returns why it is wrong; the diagnostic gets `summary`.
pub fn value(
    summary: &'static str,
    description: &'static str,
    check: fn(&Value) -> Result<(), String>,
) -> AnyValidator {
    struct ValueCheck {
        summary: &'static str,
        description: &'static str,
        check: fn(&Value) -> Result<(), String>,
    }
    impl Validator for ValueCheck {
        fn description(&self) -> String {
            self.description.to_string()
        }
        fn validate(&self, value: &Value, path: &AttributePath) -> Diagnostics {
            match (self.check)(value) {
                Err(msg) => Diagnostic::error(self.summary, msg).at(path.clone()).into(),
                Ok(()) => Diagnostics::new(),
            }
        }
    }
    AnyValidator(Arc::new(ValueCheck { summary, description, check }))
}

/// A string check: `check` returns why the value is wrong; the diagnostic gets `summary`.
pub fn string(summary: &'static str, description: &'static str, check: fn(&str) -> Result<(), String>) -> AnyValidator {
    struct StringCheck {
        summary: &'static str,
        description: &'static str,
        check: fn(&str) -> Result<(), String>,
    }
    impl Validator for StringCheck {
        fn description(&self) -> String {
            self.description.to_string()
        }
        fn validate(&self, value: &Value, path: &AttributePath) -> Diagnostics {
            match value.as_str().map(self.check) {
                Some(Err(msg)) => Diagnostic::error(self.summary, msg).at(path.clone()).into(),
                _ => Diagnostics::new(),
            }
        }
    }
    AnyValidator(Arc::new(StringCheck { summary, description, check }))
}

/// A check of each entry of a map: `check(key, value)` returns why the entry is wrong; the diagnostic names
/// the entry (`tags["key"]`).
pub fn each_entry(
    summary: &'static str,
    description: &'static str,
    check: fn(&str, &Value) -> Result<(), String>,
) -> AnyValidator {
    struct EntryCheck {
        summary: &'static str,
        description: &'static str,
        check: fn(&str, &Value) -> Result<(), String>,
    }
    impl Validator for EntryCheck {
        fn description(&self) -> String {
            self.description.to_string()
        }
        fn validate(&self, value: &Value, path: &AttributePath) -> Diagnostics {
            let mut ds = Diagnostics::new();
            for (k, v) in value.as_entries().into_iter().flatten() {
                if let Err(msg) = (self.check)(k, v) {
                    ds.push(Diagnostic::error(self.summary, msg).at(path.with_key(k.clone())));
                }
            }
            ds
        }
    }
    AnyValidator(Arc::new(EntryCheck { summary, description, check }))
}

/// At most `max` elements or entries; `detail` says what to do, given the count found.
pub fn max_size(max: usize, summary: &'static str, detail: fn(usize) -> String) -> AnyValidator {
    struct MaxSize {
        max: usize,
        summary: &'static str,
        detail: fn(usize) -> String,
    }
    impl Validator for MaxSize {
        fn description(&self) -> String {
            format!("at most {} entries;", self.max)
        }
        fn validate(&self, value: &Value, path: &AttributePath) -> Diagnostics {
            let n = value.as_entries().map(|m| m.len()).or(value.as_elements().map(<[Value]>::len)).unwrap_or(0);
            if n > self.max {
                Diagnostic::error(self.summary, (self.detail)(n)).at(path.clone()).into()
            } else {
                Diagnostics::new()
            }
        }
    }
    AnyValidator(Arc::new(MaxSize { max, summary, detail }))
}

/// A check of each string element of a list or set; list elements are named by index, set elements by the set.
pub fn each_string(
    summary: &'static str,
    description: &'static str,
    check: fn(&str) -> Result<(), String>,
) -> AnyValidator {
    struct EachString {
        summary: &'static str,
        description: &'static str,
        check: fn(&str) -> Result<(), String>,
    }
    impl Validator for EachString {
        fn description(&self) -> String {
            self.description.to_string()
        }
        fn validate(&self, value: &Value, path: &AttributePath) -> Diagnostics {
            let mut ds = Diagnostics::new();
            for (i, e) in value.as_elements().into_iter().flatten().enumerate() {
                if let Some(Err(msg)) = e.as_str().map(self.check) {
                    // Set elements have no address: the path stops at the set.
                    let at = if matches!(value, Value::Set(_)) { path.clone() } else { path.with_index(i) };
                    ds.push(Diagnostic::error(self.summary, msg).at(at));
                }
            }
            ds
        }
    }
    AnyValidator(Arc::new(EachString { summary, description, check }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn even(s: &str) -> Result<(), String> {
        if s.len().is_multiple_of(2) { Ok(()) } else { Err(format!("{s:?} has an odd length")) }
    }

    #[test]
    fn validators_name_their_paths() {
        let at = AttributePath::attr("name");
        assert!(string("Odd", "Even length.", even).0.validate(&"ab".into(), &at).is_empty());
        let ds = string("Odd", "Even length.", even).0.validate(&"abc".into(), &at);
        assert_eq!(ds.0[0].attribute, Some(at.clone()));
        let map = Value::Map([("k".to_string(), Value::from("x"))].into());
        let ds = each_entry("Bad", "", |k, _| Err(k.to_string())).0.validate(&map, &AttributePath::attr("tags"));
        assert_eq!(ds.0[0].attribute.as_ref().unwrap().to_string(), r#"tags["k"]"#);
        let list = Value::List(vec!["ab".into(), "abc".into()]);
        let ds = each_string("Odd", "", even).0.validate(&list, &at);
        assert_eq!(ds.0[0].attribute.as_ref().unwrap().to_string(), "name[1]");
        let set = Value::Set(vec!["abc".into()]);
        assert_eq!(each_string("Odd", "", even).0.validate(&set, &at).0[0].attribute, Some(at.clone()));
        assert_eq!(max_size(1, "Too many", |n| format!("{n}")).0.validate(&list, &at).0[0].detail, "2");
        assert!(max_size(2, "Too many", |n| format!("{n}")).0.validate(&list, &at).is_empty());
    }
}
