//! Schemas as the protocol describes them: blocks, attributes, nested attributes and nested blocks.

use std::collections::BTreeMap;

use crate::types::Type;

/// A versioned schema of a provider configuration or of a resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The state format version; bumping it makes the engine call `UpgradeResourceState`.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

/// A configuration block: attributes and nested blocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    /// Attributes, in declaration order.
    pub attributes: Vec<Attribute>,
    /// Nested block types, in declaration order.
    pub blocks: Vec<NestedBlock>,
    /// Markdown description.
    pub description: String,
    /// Whether the block is deprecated.
    pub deprecated: bool,
}

/// The type of an attribute: a plain type, or protocol-6 nested attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeType {
    /// A value of one cty type.
    Plain(Type),
    /// Nested attributes (an object, or a list/set/map of objects) with their own flags.
    Nested(NestedAttributes),
}

/// One attribute of a block.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Its name in HCL.
    pub name: String,
    /// Its type.
    pub ty: AttributeType,
    /// Markdown description.
    pub description: String,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// The provider may set it (alone: read-only; with `optional`: a default the provider computes).
    pub computed: bool,
    /// Hidden in plan output.
    pub sensitive: bool,
    /// Whether the attribute is deprecated.
    pub deprecated: bool,
}

/// How nested attributes or blocks repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// Exactly one object (or null).
    Single,
    /// A list of objects.
    List,
    /// A set of objects.
    Set,
    /// A map of objects.
    Map,
    /// A single block that is never null (blocks only).
    Group,
}

/// Protocol-6 nested attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedAttributes {
    /// The attributes of each object.
    pub attributes: Vec<Attribute>,
    /// How the objects repeat ([`Nesting::Group`] is not allowed here).
    pub nesting: Nesting,
}

/// A nested block type.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedBlock {
    /// The block's type name in HCL.
    pub name: String,
    /// Its contents.
    pub block: Block,
    /// How it repeats.
    pub nesting: Nesting,
    /// Fewest blocks allowed (0: no minimum).
    pub min_items: i64,
    /// Most blocks allowed (0: no maximum).
    pub max_items: i64,
}

impl Block {
    /// The cty type of a value of this block (an object).
    pub fn value_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = BTreeMap::new();
        for a in &self.attributes {
            attrs.insert(a.name.clone(), a.value_type());
        }
        for b in &self.blocks {
            attrs.insert(b.name.clone(), nest(b.nesting, b.block.value_type()));
        }
        Type::Object(attrs)
    }

    /// The attribute named `name`, if any.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The nested block type named `name`, if any.
    pub fn block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }
}

impl Attribute {
    /// The cty type of this attribute's value.
    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttributeType::Plain(t) => t.clone(),
            AttributeType::Nested(n) => {
                let obj = Type::Object(n.attributes.iter().map(|a| (a.name.clone(), a.value_type())).collect());
                nest(n.nesting, obj)
            }
        }
    }
}

fn nest(nesting: Nesting, object: Type) -> Type {
    match nesting {
        Nesting::Single | Nesting::Group => object,
        Nesting::List => Type::list(object),
        Nesting::Set => Type::set(object),
        Nesting::Map => Type::map(object),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(name: &str, ty: AttributeType) -> Attribute {
        Attribute {
            name: name.into(),
            ty,
            description: String::new(),
            required: false,
            optional: true,
            computed: false,
            sensitive: false,
            deprecated: false,
        }
    }

    #[test]
    fn block_type_includes_nested_blocks_and_attributes() {
        let block = Block {
            attributes: vec![
                attr("name", AttributeType::Plain(Type::String)),
                attr(
                    "rules",
                    AttributeType::Nested(NestedAttributes {
                        attributes: vec![attr("id", AttributeType::Plain(Type::String))],
                        nesting: Nesting::Set,
                    }),
                ),
            ],
            blocks: vec![NestedBlock {
                name: "endpoints".into(),
                block: Block { attributes: vec![attr("s3", AttributeType::Plain(Type::String))], ..Block::default() },
                nesting: Nesting::List,
                min_items: 0,
                max_items: 1,
            }],
            ..Block::default()
        };
        assert_eq!(
            block.value_type(),
            Type::object([
                ("name", Type::String),
                ("rules", Type::set(Type::object([("id", Type::String)]))),
                ("endpoints", Type::list(Type::object([("s3", Type::String)]))),
            ])
        );
    }
}

/// A provider-defined function (`provider::<name>::<function>(...)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// Positional parameters.
    pub parameters: Vec<Parameter>,
    /// The type of the result.
    pub return_type: Type,
    /// One line on what it returns.
    pub summary: String,
    /// Markdown description.
    pub description: String,
}

/// One parameter of a [`Function`].
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Its name, for documentation and error messages.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Whether null may be passed.
    pub allow_null: bool,
    /// Markdown description.
    pub description: String,
}
