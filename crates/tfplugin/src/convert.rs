//! Conversions between this crate's protocol-native types and the generated protobuf messages.

use crate::codec;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::path::{AttributePath, PathStep};
use crate::proto::tfplugin6 as pb;
use crate::schema::{Attribute, AttributeType, Block, Function, NestedBlock, Nesting, Schema};
use crate::types::Type;
use crate::value::Value;

/// A protobuf diagnostic from a native one.
pub fn diagnostic(d: Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error,
            Severity::Warning => pb::diagnostic::Severity::Warning,
        } as i32,
        summary: d.summary,
        detail: d.detail,
        attribute: d.attribute.filter(|p| !p.is_root()).map(attribute_path),
    }
}

/// Protobuf diagnostics from native ones.
pub fn diagnostics(ds: Diagnostics) -> Vec<pb::Diagnostic> {
    ds.into_iter().map(diagnostic).collect()
}

/// A protobuf attribute path from a native one.
pub fn attribute_path(p: AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .0
            .into_iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attribute(n) => Selector::AttributeName(n),
                    PathStep::Key(k) => Selector::ElementKeyString(k),
                    PathStep::Index(i) => Selector::ElementKeyInt(i),
                }),
            })
            .collect(),
    }
}

/// A protobuf schema from a native one. Descriptions are always markdown.
pub fn schema(s: &Schema) -> pb::Schema {
    pb::Schema { version: s.version, block: Some(block(&s.block)) }
}

/// A protobuf function signature from a native one. Descriptions are markdown.
pub fn function(f: &Function) -> pb::Function {
    pb::Function {
        parameters: f
            .parameters
            .iter()
            .map(|p| pb::function::Parameter {
                name: p.name.clone(),
                r#type: p.ty.to_json_bytes(),
                allow_null_value: p.allow_null,
                allow_unknown_values: false,
                description: p.description.clone(),
                description_kind: pb::StringKind::Markdown as i32,
            })
            .collect(),
        variadic_parameter: None,
        r#return: Some(pb::function::Return { r#type: f.return_type.to_json_bytes() }),
        summary: f.summary.clone(),
        description: f.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecation_message: String::new(),
    }
}

fn block(b: &Block) -> pb::schema::Block {
    pb::schema::Block {
        version: 0,
        attributes: b.attributes.iter().map(attribute).collect(),
        block_types: b.blocks.iter().map(nested_block).collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: b.deprecated,
        deprecation_message: String::new(),
    }
}

fn attribute(a: &Attribute) -> pb::schema::Attribute {
    let (ty, nested_type) = match &a.ty {
        AttributeType::Plain(t) => (t.to_json_bytes(), None),
        AttributeType::Nested(n) => (
            Vec::new(),
            Some(pb::schema::Object {
                attributes: n.attributes.iter().map(attribute).collect(),
                nesting: match n.nesting {
                    Nesting::Single | Nesting::Group => pb::schema::object::NestingMode::Single,
                    Nesting::List => pb::schema::object::NestingMode::List,
                    Nesting::Set => pb::schema::object::NestingMode::Set,
                    Nesting::Map => pb::schema::object::NestingMode::Map,
                } as i32,
                ..Default::default()
            }),
        ),
    };
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: a.deprecated,
        write_only: false,
        deprecation_message: String::new(),
    }
}

fn nested_block(b: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode as M;
    pb::schema::NestedBlock {
        type_name: b.name.clone(),
        block: Some(block(&b.block)),
        nesting: match b.nesting {
            Nesting::Single => M::Single,
            Nesting::List => M::List,
            Nesting::Set => M::Set,
            Nesting::Map => M::Map,
            Nesting::Group => M::Group,
        } as i32,
        min_items: b.min_items,
        max_items: b.max_items,
    }
}

/// Decodes a `DynamicValue` against `ty`: msgpack when present, else JSON; an absent value is null.
/// `what` names the value in the error (`config`, `prior_state`, ...).
pub fn decode(dv: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    let result = if !dv.msgpack.is_empty() {
        codec::decode_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        codec::decode_json(&dv.json, ty, false)
    } else {
        return Ok(Value::Null);
    };
    result.map_err(|e| {
        Diagnostic::error(
            format!("Invalid {what} received from the engine"),
            format!("The provider could not decode the {what}: {e}. This is a bug in the provider or the engine."),
        )
        .at(e.path)
    })
}

/// Encodes `value` as a msgpack `DynamicValue` of type `ty`.
pub fn encode(value: &Value, ty: &Type, what: &str) -> Result<pb::DynamicValue, Diagnostic> {
    codec::encode_msgpack(value, ty).map(|msgpack| pb::DynamicValue { msgpack, json: Vec::new() }).map_err(|e| {
        Diagnostic::error(
            format!("Provider produced an invalid {what}"),
            format!("The {what} does not match the schema: {e}. This is a bug in the provider."),
        )
        .at(e.path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_keep_paths_and_drop_root() {
        let d = Diagnostic::error("bad", "worse").at(AttributePath::attr("destination").with_index(2));
        let pd = diagnostic(d);
        assert_eq!(pd.severity, pb::diagnostic::Severity::Error as i32);
        let steps = pd.attribute.unwrap().steps;
        assert_eq!(steps.len(), 2);
        let root = diagnostic(Diagnostic::warning("w", "").at(AttributePath::root()));
        assert!(root.attribute.is_none());
    }

    #[test]
    fn absent_dynamic_value_is_null() {
        assert_eq!(decode(None, &Type::String, "config").unwrap(), Value::Null);
        assert_eq!(decode(Some(&pb::DynamicValue::default()), &Type::String, "config").unwrap(), Value::Null);
    }
}
