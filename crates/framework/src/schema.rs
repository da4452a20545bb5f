//! Schema builder: attributes and blocks with their descriptions, flags, defaults, replacement rules,
//! validators and plan modifiers.

use tfplugin::{
    Attribute, AttributePath, AttributeType, Block, Diagnostics, NestedAttributes, NestedBlock, Nesting, Schema, Type,
    Value,
};

use crate::planmodifier::AnyPlanModifier;
use crate::validator::AnyValidator;

/// One attribute under construction.
#[derive(Debug, Clone)]
pub struct Attr {
    attribute: Attribute,
    default: Option<Value>,
    force_new: bool,
    validators: Vec<AnyValidator>,
    modifiers: Vec<AnyPlanModifier>,
}

impl Attr {
    fn new(name: &str, ty: AttributeType) -> Self {
        Attr {
            attribute: Attribute {
                name: name.to_string(),
                ty,
                description: String::new(),
                required: false,
                optional: true,
                computed: false,
                sensitive: false,
                deprecated: false,
            },
            default: None,
            force_new: false,
            validators: Vec::new(),
            modifiers: Vec::new(),
        }
    }
    /// A string attribute (optional until told otherwise).
    pub fn string(name: &str) -> Self {
        Self::new(name, AttributeType::Plain(Type::String))
    }
    /// A bool attribute.
    pub fn bool(name: &str) -> Self {
        Self::new(name, AttributeType::Plain(Type::Bool))
    }
    /// A number attribute.
    pub fn number(name: &str) -> Self {
        Self::new(name, AttributeType::Plain(Type::Number))
    }
    /// A map of strings.
    pub fn string_map(name: &str) -> Self {
        Self::new(name, AttributeType::Plain(Type::map(Type::String)))
    }
    /// A set of strings.
    pub fn string_set(name: &str) -> Self {
        Self::new(name, AttributeType::Plain(Type::set(Type::String)))
    }
    /// Protocol-6 nested attributes: a list of objects with their own attributes.
    pub fn nested_list(name: &str, attributes: Vec<Attr>) -> Self {
        Self::nested(name, attributes, Nesting::List)
    }
    /// Protocol-6 nested attributes: one object with its own attributes, assignable as a whole from an expression
    /// (e.g. another resource's attribute of the same shape).
    pub fn nested_single(name: &str, attributes: Vec<Attr>) -> Self {
        Self::nested(name, attributes, Nesting::Single)
    }
    fn nested(name: &str, attributes: Vec<Attr>, nesting: Nesting) -> Self {
        let attributes = attributes.into_iter().map(|a| a.attribute).collect();
        Self::new(name, AttributeType::Nested(NestedAttributes { attributes, nesting }))
    }

    /// The markdown description shown in docs and by language servers.
    pub fn describe(mut self, text: &str) -> Self {
        self.attribute.description = text.to_string();
        self
    }
    /// Must be set.
    pub fn required(mut self) -> Self {
        self.attribute.required = true;
        self.attribute.optional = false;
        self.attribute.computed = false;
        self
    }
    /// Set by the provider only (read-only).
    pub fn computed(mut self) -> Self {
        self.attribute.computed = true;
        self.attribute.optional = false;
        self.attribute.required = false;
        self
    }
    /// May be set; the provider fills it in when not set.
    pub fn optional_computed(mut self) -> Self {
        self.attribute.optional = true;
        self.attribute.computed = true;
        self.attribute.required = false;
        self
    }
    /// Hidden in plan output and logs.
    pub fn sensitive(mut self) -> Self {
        self.attribute.sensitive = true;
        self
    }
    /// When unset in configuration, the value becomes `value` (the attribute becomes optional + computed).
    pub fn default(mut self, value: Value) -> Self {
        self.default = Some(value);
        self.optional_computed()
    }
    /// A change of this attribute replaces the resource.
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// Checks the attribute's known values with `validator` (see [`crate::validator`]).
    pub fn validate(mut self, validator: AnyValidator) -> Self {
        self.validators.push(validator);
        self
    }
    /// Plans the attribute's value with `modifier`, after defaults (see [`crate::planmodifier`]).
    pub fn plan_modifier(mut self, modifier: AnyPlanModifier) -> Self {
        self.modifiers.push(modifier);
        self
    }

    /// The attribute's name.
    pub fn name(&self) -> &str {
        &self.attribute.name
    }
}

/// A block under construction: attributes and nested blocks.
#[derive(Debug, Clone, Default)]
pub struct BlockSpec {
    description: String,
    attributes: Vec<Attr>,
    blocks: Vec<(String, BlockSpec, Nesting, i64, i64)>,
}

impl BlockSpec {
    /// An empty block described by `description`.
    pub fn new(description: &str) -> Self {
        Self { description: description.to_string(), ..Self::default() }
    }
    /// Adds an attribute.
    pub fn attr(mut self, attr: Attr) -> Self {
        self.attributes.push(attr);
        self
    }
    /// Adds a nested block type that may appear at most once (a list of at most one, as hashicorp/aws does).
    pub fn single_block(mut self, name: &str, block: BlockSpec) -> Self {
        self.blocks.push((name.to_string(), block, Nesting::List, 0, 1));
        self
    }
    /// Adds a repeated nested block type with `min..=max` items (`max` 0: unbounded).
    pub fn list_block(mut self, name: &str, block: BlockSpec, min: i64, max: i64) -> Self {
        self.blocks.push((name.to_string(), block, Nesting::List, min, max));
        self
    }

    /// The protocol block.
    pub fn to_block(&self) -> Block {
        Block {
            attributes: self.attributes.iter().map(|a| a.attribute.clone()).collect(),
            blocks: self
                .blocks
                .iter()
                .map(|(name, b, nesting, min, max)| NestedBlock {
                    name: name.clone(),
                    block: b.to_block(),
                    nesting: *nesting,
                    min_items: *min,
                    max_items: *max,
                })
                .collect(),
            description: self.description.clone(),
            deprecated: false,
        }
    }

    /// Builds the schema at `version`, collecting the plan rules (defaults, replacement) of every attribute.
    pub fn build(self, version: i64) -> ResourceSchema {
        let mut rules = PlanRules::default();
        self.collect(&AttributePath::root(), &mut rules);
        ResourceSchema { schema: Schema { version, block: self.to_block() }, rules }
    }

    fn collect(&self, at: &AttributePath, rules: &mut PlanRules) {
        for a in &self.attributes {
            let path = at.with_attr(a.name());
            if a.force_new {
                rules.force_new.push(path.clone());
            }
            if let Some(d) = &a.default {
                rules.defaults.push((path.clone(), d.clone()));
            }
            if a.attribute.computed && a.default.is_none() {
                rules.computed.push(path.clone());
            }
            rules.validators.extend(a.validators.iter().map(|v| (path.clone(), v.clone())));
            rules.modifiers.extend(a.modifiers.iter().map(|m| (path.clone(), m.clone())));
        }
        for (name, b, ..) in &self.blocks {
            rules.blocks.push((at.with_attr(name), b.clone().build_rules()));
        }
    }

    fn build_rules(self) -> PlanRules {
        let mut rules = PlanRules::default();
        self.collect(&AttributePath::root(), &mut rules);
        rules
    }
}

/// What the plan helpers need to know beyond the protocol schema. Paths are relative to their block.
#[derive(Debug, Clone, Default)]
pub struct PlanRules {
    /// Attributes whose change replaces the resource.
    pub force_new: Vec<AttributePath>,
    /// Attributes with a default for when configuration leaves them null.
    pub defaults: Vec<(AttributePath, Value)>,
    /// Attributes the provider computes (read-only, or optional without a default): unknown on create when
    /// configuration leaves them null.
    pub computed: Vec<AttributePath>,
    /// Validators of attributes, run on known, non-null configuration values.
    pub validators: Vec<(AttributePath, AnyValidator)>,
    /// Plan modifiers of attributes, run after defaults, in declaration order.
    pub modifiers: Vec<(AttributePath, AnyPlanModifier)>,
    /// Rules of each nested block type (each block instance follows them).
    pub blocks: Vec<(AttributePath, PlanRules)>,
}

impl PlanRules {
    /// The validators, plan modifiers and default of the attribute `name` of this block, for the docs.
    pub fn constraints_of(&self, name: &str) -> (Vec<String>, Vec<String>, Option<&Value>) {
        let here = |p: &AttributePath| p == &AttributePath::attr(name);
        (
            self.validators.iter().filter(|(p, _)| here(p)).map(|(_, v)| v.0.description()).collect(),
            self.modifiers.iter().filter(|(p, _)| here(p)).map(|(_, m)| m.0.description()).collect(),
            self.defaults.iter().find(|(p, _)| here(p)).map(|(_, d)| d),
        )
    }

    /// The rules of the nested block type `name`.
    pub fn block(&self, name: &str) -> Option<&PlanRules> {
        self.blocks.iter().find(|(p, _)| p == &AttributePath::attr(name)).map(|(_, r)| r)
    }

    /// Runs every attribute validator on the known, non-null values of `config` (an object of this block),
    /// nested blocks included; diagnostics carry paths from `at`.
    pub fn validate(&self, config: &Value, at: &AttributePath) -> Diagnostics {
        let mut ds = Diagnostics::new();
        for (path, validator) in &self.validators {
            let Some(name) = single_attr(path) else { continue };
            let value = config.get(name);
            if !value.is_null() && !value.is_unknown() {
                ds.extend(validator.0.validate(value, &at.with_attr(name)));
            }
        }
        for (path, rules) in &self.blocks {
            let Some(name) = single_attr(path) else { continue };
            for (i, item) in config.get(name).as_elements().unwrap_or(&[]).iter().enumerate() {
                ds.extend(rules.validate(item, &at.with_attr(name).with_index(i)));
            }
        }
        ds
    }
}

/// The attribute name of a one-step path.
pub(crate) fn single_attr(path: &AttributePath) -> Option<&str> {
    match path.0.as_slice() {
        [tfplugin::PathStep::Attribute(name)] => Some(name),
        _ => None,
    }
}

/// A resource's protocol schema plus its plan rules.
#[derive(Debug, Clone)]
pub struct ResourceSchema {
    /// The schema sent to the engine.
    pub schema: Schema,
    /// The rules the default plan applies.
    pub rules: PlanRules,
}

impl ResourceSchema {
    /// An object of this schema's type, every attribute null but `given` (as the engine sends a configuration):
    /// for tests. With `block`, an object of that nested block type instead.
    pub fn object(&self, block: Option<&str>, given: Vec<(&str, Value)>) -> Value {
        let block = match block {
            Some(name) => &self.schema.block.block(name).unwrap_or_else(|| panic!("no block {name}")).block,
            None => &self.schema.block,
        };
        let Type::Object(attrs) = block.value_type() else { unreachable!("a block's type is an object") };
        let mut v: std::collections::BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
        for (k, x) in given {
            assert!(v.insert(k.to_string(), x).is_some(), "unknown attribute {k}");
        }
        Value::Object(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_flags_and_rules() {
        let s = BlockSpec::new("A thing.")
            .attr(Attr::string("bucket").required().force_new().describe("The bucket."))
            .attr(Attr::bool("enable_versioning").default(Value::Bool(true)))
            .attr(Attr::string("id").computed())
            .list_block("destination", BlockSpec::new("").attr(Attr::number("priority").optional_computed()), 1, 0)
            .build(1);
        let b = &s.schema.block;
        let bucket = b.attribute("bucket").unwrap();
        assert!(bucket.required && !bucket.optional && !bucket.computed);
        let ev = b.attribute("enable_versioning").unwrap();
        assert!(ev.optional && ev.computed);
        assert_eq!(s.rules.force_new, vec![AttributePath::attr("bucket")]);
        assert_eq!(s.rules.defaults, vec![(AttributePath::attr("enable_versioning"), Value::Bool(true))]);
        assert_eq!(s.rules.computed, vec![AttributePath::attr("id")]);
        assert_eq!(s.rules.blocks[0].1.computed, vec![AttributePath::attr("priority")]);
        assert_eq!(b.block("destination").unwrap().min_items, 1);
        assert_eq!(s.schema.version, 1);
    }

    #[test]
    fn nested_attributes_keep_their_own_flags() {
        let s = BlockSpec::new("")
            .attr(Attr::nested_list("rules", vec![Attr::string("id").required(), Attr::string("arn").computed()]))
            .build(0);
        let rules = s.schema.block.attribute("rules").unwrap();
        let tfplugin::AttributeType::Nested(n) = &rules.ty else { panic!("not nested") };
        assert_eq!(n.nesting, tfplugin::Nesting::List);
        assert!(n.attributes[0].required && n.attributes[1].computed && !n.attributes[1].optional);
        assert_eq!(
            rules.value_type(),
            tfplugin::Type::list(tfplugin::Type::object([
                ("arn", tfplugin::Type::String),
                ("id", tfplugin::Type::String)
            ]))
        );
    }
}
