//! Plan helpers: defaults, unknown computed values on create, stable computed values on update, and
//! replacement detection. Resources start from [`default_plan`] and refine with the helpers below.

use std::collections::BTreeMap;

use tfplugin::{AttributePath, PathStep, Value};

use super::schema::PlanRules;

/// The engine's proposal turned into a plan by the schema's rules.
///
/// - destroy (`proposed` null): the plan is null;
/// - attributes with a default that configuration leaves null get the default;
/// - computed attributes that configuration leaves null are unknown on create (and in new nested blocks); on
///   update the engine has already carried over their prior values, so they stay stable;
/// - a change to a `force_new` attribute is listed in the returned paths (the engine then plans a replacement).
pub fn default_plan(rules: &PlanRules, prior: &Value, proposed: &Value, config: &Value) -> (Value, Vec<AttributePath>) {
    if proposed.is_null() {
        return (Value::Null, Vec::new());
    }
    let mut planned = proposed.clone();
    apply_rules(rules, &mut planned, config, prior);
    let mut replace = Vec::new();
    if !prior.is_null() {
        collect_replacements(rules, &AttributePath::root(), prior, &planned, &mut replace);
    }
    (planned, replace)
}

fn apply_rules(rules: &PlanRules, planned: &mut Value, config: &Value, prior: &Value) {
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
            apply_rules(block_rules, item, c, p);
        }
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

fn single_attr(path: &AttributePath) -> Option<&str> {
    match path.0.as_slice() {
        [PathStep::Attribute(name)] => Some(name),
        _ => None,
    }
}

/// Marks `outputs` unknown when any of `inputs` differs between `prior` and `planned`: computed values stay
/// stable exactly as long as what they derive from does not change.
pub fn unknown_if_changed(planned: &mut Value, prior: &Value, inputs: &[&str], outputs: &[&str]) {
    if prior.is_null() || inputs.iter().all(|i| prior.get(i) == planned.get(i)) {
        return;
    }
    set_attrs(planned, outputs.iter().map(|o| (*o, Value::Unknown)));
}

/// Sets attributes of an object value (no-op on anything else).
pub fn set_attrs<'a>(value: &mut Value, attrs: impl IntoIterator<Item = (&'a str, Value)>) {
    if let Value::Object(map) = value {
        for (k, v) in attrs {
            map.insert(k.to_string(), v);
        }
    }
}

/// An object's attributes as a mutable map, if it is an object.
pub fn attrs_mut(value: &mut Value) -> Option<&mut BTreeMap<String, Value>> {
    match value {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attr, BlockSpec};

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

    #[test]
    fn unknown_if_changed_only_on_change() {
        let prior = obj(vec![("bucket", "a".into()), ("arn", "arn:aws:s3:::a".into())]);
        let mut same = prior.clone();
        unknown_if_changed(&mut same, &prior, &["bucket"], &["arn"]);
        assert_eq!(same.get("arn").as_str(), Some("arn:aws:s3:::a"));
        let mut changed = obj(vec![("bucket", "b".into()), ("arn", "arn:aws:s3:::a".into())]);
        unknown_if_changed(&mut changed, &prior, &["bucket"], &["arn"]);
        assert!(changed.get("arn").is_unknown());
    }
}
