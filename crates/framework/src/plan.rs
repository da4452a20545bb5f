//! Plan helpers: defaults, unknown computed values on create, stable computed values on update, and
//! replacement detection. Resources start from [`default_plan`] and refine with the helpers below.

use tfplugin::{AttributePath, Value};

use crate::planmodifier::ModifyRequest;
use crate::schema::{PlanRules, single_attr};

/// The engine's proposal turned into a plan by the schema's rules.
///
/// - destroy (`proposed` null): the plan is null;
/// - attributes with a default that configuration leaves null get the default;
/// - computed attributes that configuration leaves null are unknown on create (and in new nested blocks); on
///   update the engine has already carried over their prior values, so they stay stable;
/// - plan modifiers run next, in declaration order (see [`crate::planmodifier`]);
/// - a change to a `force_new` attribute is listed in the returned paths (the engine then plans a replacement).
pub fn default_plan(rules: &PlanRules, prior: &Value, proposed: &Value, config: &Value) -> (Value, Vec<AttributePath>) {
    if proposed.is_null() {
        return (Value::Null, Vec::new());
    }
    let mut planned = proposed.clone();
    apply_rules(rules, &mut planned, config, prior, None);
    let mut replace = Vec::new();
    if !prior.is_null() {
        collect_replacements(rules, &AttributePath::root(), prior, &planned, &mut replace);
    }
    (planned, replace)
}

/// `config` with the schema's defaults filled in where it leaves attributes null, nested blocks included: what
/// checks across attributes look at, so that no default is repeated in resource code.
pub fn with_defaults(rules: &PlanRules, config: &Value) -> Value {
    let mut out = config.clone();
    fill_defaults(rules, &mut out);
    out
}

fn fill_defaults(rules: &PlanRules, value: &mut Value) {
    let Value::Object(attrs) = value else { return };
    for (path, default) in &rules.defaults {
        if let Some(name) = single_attr(path)
            && attrs.get(name).is_none_or(Value::is_null)
        {
            attrs.insert(name.to_string(), default.clone());
        }
    }
    for (path, block_rules) in &rules.blocks {
        if let Some(Value::List(items)) = single_attr(path).and_then(|n| attrs.get_mut(n)) {
            items.iter_mut().for_each(|item| fill_defaults(block_rules, item));
        }
    }
}

fn apply_rules(rules: &PlanRules, planned: &mut Value, config: &Value, prior: &Value, index: Option<usize>) {
    let Value::Object(attrs) = planned else { return };
    for (path, default) in &rules.defaults {
        if let Some(name) = single_attr(path)
            && config.get(name).is_null()
        {
            attrs.insert(name.to_string(), default.clone());
        }
    }
    for path in &rules.computed {
        if let Some(name) = single_attr(path)
            && config.get(name).is_null()
            && (prior.is_null() || prior.get(name).is_null())
        {
            attrs.insert(name.to_string(), Value::Unknown);
        }
    }
    for (path, block_rules) in &rules.blocks {
        let Some(name) = single_attr(path) else { continue };
        let Some(Value::List(items)) = attrs.get_mut(name) else { continue };
        let config_items = config.get(name).as_elements().unwrap_or(&[]);
        let prior_items = prior.get(name).as_elements().unwrap_or(&[]);
        for (i, item) in items.iter_mut().enumerate() {
            let c = config_items.get(i).unwrap_or(&Value::Null);
            let p = prior_items.get(i).unwrap_or(&Value::Null);
            apply_rules(block_rules, item, c, p, Some(i));
        }
    }
    for (path, modifier) in &rules.modifiers {
        let Some(name) = single_attr(path) else { continue };
        let object = Value::Object(attrs.clone());
        let req = ModifyRequest { planned: object.get(name), config: config.get(name), object: &object, index };
        let value = modifier.0.modify(&req);
        attrs.insert(name.to_string(), value);
    }
}

fn collect_replacements(
    rules: &PlanRules,
    at: &AttributePath,
    prior: &Value,
    planned: &Value,
    out: &mut Vec<AttributePath>,
) {
    for path in &rules.force_new {
        if let Some(name) = single_attr(path)
            && prior.get(name) != planned.get(name)
        {
            out.push(at.with_attr(name));
        }
    }
    for (path, block_rules) in &rules.blocks {
        let Some(name) = single_attr(path) else { continue };
        let (Some(a), Some(b)) = (prior.get(name).as_elements(), planned.get(name).as_elements()) else { continue };
        for (i, (p, n)) in a.iter().zip(b).enumerate() {
            collect_replacements(block_rules, &at.with_attr(name).with_index(i), p, n, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attr, BlockSpec};

    fn rules() -> PlanRules {
        BlockSpec::new("")
            .attr(Attr::string("bucket").required().force_new())
            .attr(Attr::bool("enable_versioning").default(Value::Bool(true)))
            .attr(Attr::string("arn").computed())
            .attr(Attr::string("role_name").optional_computed())
            .list_block(
                "destination",
                BlockSpec::new("").attr(Attr::string("bucket_arn").required()).attr(Attr::string("rule_id").computed()),
                1,
                0,
            )
            .build(0)
            .rules
    }

    fn obj(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs)
    }

    fn set_attrs<'a>(value: &mut Value, attrs: impl IntoIterator<Item = (&'a str, Value)>) {
        if let Value::Object(map) = value {
            map.extend(attrs.into_iter().map(|(k, v)| (k.to_string(), v)));
        }
    }

    fn dest(arn: &str, rule: Value) -> Value {
        obj(vec![("bucket_arn", arn.into()), ("rule_id", rule)])
    }

    #[test]
    fn create_sets_defaults_and_unknowns() {
        let config = obj(vec![
            ("bucket", "b".into()),
            ("enable_versioning", Value::Null),
            ("arn", Value::Null),
            ("role_name", Value::Null),
            ("destination", Value::List(vec![dest("arn:aws:s3:::d", Value::Null)])),
        ]);
        let (planned, replace) = default_plan(&rules(), &Value::Null, &config, &config);
        assert_eq!(planned.get("enable_versioning"), &Value::Bool(true));
        assert!(planned.get("arn").is_unknown());
        assert!(planned.get("role_name").is_unknown());
        assert!(planned.get("destination").as_elements().unwrap()[0].get("rule_id").is_unknown());
        assert!(replace.is_empty());
    }

    #[test]
    fn update_keeps_computed_values_and_detects_replacement() {
        let prior = obj(vec![
            ("bucket", "b".into()),
            ("enable_versioning", Value::Bool(true)),
            ("arn", "arn:aws:s3:::b".into()),
            ("role_name", "r".into()),
            ("destination", Value::List(vec![dest("arn:aws:s3:::d", "rule-1".into())])),
        ]);
        // The engine's proposal carries prior computed values over; a new second destination has none.
        let proposed = obj(vec![
            ("bucket", "b".into()),
            ("enable_versioning", Value::Bool(true)),
            ("arn", "arn:aws:s3:::b".into()),
            ("role_name", "r".into()),
            (
                "destination",
                Value::List(vec![dest("arn:aws:s3:::d", "rule-1".into()), dest("arn:aws:s3:::e", Value::Null)]),
            ),
        ]);
        let mut config = proposed.clone();
        set_attrs(&mut config, [("arn", Value::Null), ("role_name", Value::Null)]);
        let (planned, replace) = default_plan(&rules(), &prior, &proposed, &config);
        assert_eq!(planned.get("arn").as_str(), Some("arn:aws:s3:::b"));
        let d = planned.get("destination").as_elements().unwrap();
        assert_eq!(d[0].get("rule_id").as_str(), Some("rule-1"));
        assert!(d[1].get("rule_id").is_unknown());
        assert!(replace.is_empty());

        let mut moved = proposed.clone();
        set_attrs(&mut moved, [("bucket", "other".into())]);
        let (_, replace) = default_plan(&rules(), &prior, &moved, &config);
        assert_eq!(replace, vec![AttributePath::attr("bucket")]);
    }

    #[test]
    fn destroy_plans_null() {
        let (planned, replace) = default_plan(&rules(), &obj(vec![("bucket", "b".into())]), &Value::Null, &Value::Null);
        assert!(planned.is_null() && replace.is_empty());
    }
}
