//! Registry-layout documentation rendered from the schemas, so the docs cannot drift from the code
//! (`tests/docs.rs` fails when the files in `docs/` are stale; `make docs` rewrites them).

use std::fmt::Write as _;

use framework::{PlanRules, Provider, ResourceSchema};
use tfplugin::{Attribute, AttributeType, Block, Nesting, Value};

/// Every generated file of `provider` (the crossrepl provider): path relative to the repository root, and content.
pub fn files<P: Provider>(provider: &P) -> Vec<(String, String)> {
    let mut out = vec![(
        "docs/index.md".to_string(),
        page("crossrepl Provider", "", &provider.schema(), "provider", &example("provider")),
    )];
    for r in provider.resources() {
        let name = r.type_name();
        let short = name.trim_start_matches("crossrepl_");
        out.push((format!("docs/resources/{short}.md"), page(name, "", &r.schema(), "resource", &example(short))));
    }
    for a in provider.actions() {
        let name = a.type_name();
        let short = name.trim_start_matches("crossrepl_");
        out.push((format!("docs/actions/{short}.md"), page(name, "", &a.schema(), "action", &example(short))));
    }
    for f in provider.functions() {
        out.push((format!("docs/functions/{}.md", f.name()), function_page(f.name(), &f.definition())));
    }
    out
}

fn function_page(name: &str, f: &tfplugin::Function) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "---\npage_title: \"{name} function - crossrepl\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n",
        f.summary
    );
    let _ = writeln!(s, "# function: {name}\n\n{}\n\n{}\n", f.summary, f.description);
    let _ = writeln!(s, "<!-- generated from the function definition by `make docs`; do not edit -->\n## Signature\n");
    let params: Vec<String> = f.parameters.iter().map(|p| format!("{} {}", p.name, p.ty)).collect();
    let _ = writeln!(s, "```text\nprovider::crossrepl::{name}({}) string\n```\n", params.join(", "));
    let _ = writeln!(s, "## Arguments\n");
    for (i, p) in f.parameters.iter().enumerate() {
        let _ = writeln!(s, "{}. `{}` ({}) {}", i + 1, p.name, p.ty, p.description);
    }
    s
}

fn example(which: &str) -> String {
    match which {
        "provider" => include_str!("../examples/provider/provider.tf").to_string(),
        "destination" => include_str!("../examples/resources/crossrepl_destination/resource.tf").to_string(),
        "source" => include_str!("../examples/resources/crossrepl_source/resource.tf").to_string(),
        "batch_replication" => include_str!("../examples/actions/crossrepl_batch_replication/action.tf").to_string(),
        _ => String::new(),
    }
}

fn first_sentence(text: &str) -> &str {
    text.split_once(". ").map_or(text, |(s, _)| s).trim_end_matches('.')
}

fn page(title: &str, subcategory: &str, schema: &ResourceSchema, kind: &str, example: &str) -> String {
    let mut s = String::new();
    let desc = &schema.schema.block.description;
    // The Registry (and `tfplugindocs validate`, run by `make docs-validate`) rejects a `subcategory` in index.md;
    // the provider page's title is its heading, as in tfplugindocs' own template ("<name> Provider").
    let front = if kind == "provider" {
        format!("page_title: \"{title}\"\n")
    } else {
        format!("page_title: \"{title} {kind} - crossrepl\"\nsubcategory: \"{subcategory}\"\n")
    };
    let _ = writeln!(s, "---\n{front}description: |-\n  {}.\n---\n", first_sentence(desc));
    let heading = if kind == "provider" { title.to_string() } else { format!("{title} ({kind})") };
    let _ = writeln!(s, "# {heading}\n\n{desc}\n");
    if !example.trim().is_empty() {
        let _ = writeln!(s, "## Example Usage\n\n```terraform\n{}\n```\n", example.trim_end());
    }
    let _ = writeln!(s, "<!-- generated from the schema by `make docs`; do not edit -->\n## Schema\n");
    render_block(&mut s, &schema.schema.block, &schema.rules, "");
    if kind == "resource" {
        let short = title.trim_start_matches("crossrepl_");
        let (id, variant) = if short == "destination" {
            (
                "<bucket>,<source_account_id>",
                "Use `<bucket>,<source_account_id>,<source_bucket>` when the role's name does not tell the source \
                 bucket (a role crossrepl did not name).",
            )
        } else {
            (
                "<bucket>",
                "When the role has several customer-managed policies attached, say which one crossrepl manages: \
                 `<bucket>,<policy name>`. For a source that uses an existing role (`role_arn`), import with the \
                 same id and keep `role_arn` in the configuration: the import reads the role from the bucket's \
                 replication configuration and records it with its policy as crossrepl's, the next plan shows \
                 `role_name`, `policy_name` and `policy_arn` becoming null, and that apply leaves the role and its \
                 policies as they are. Without `role_arn`, apply adopts them (tags them, and rewrites the policy).",
            )
        };
        let _ = writeln!(
            s,
            "## Import\n\n```shell\ntofu import {title}.example '{id}'\n```\n\nor with an `import` block:\n\n```terraform\nimport {{\n  to = {title}.example\n  id = \"{id}\"\n}}\n```\n\n{variant} To adopt a setup written with hashicorp/aws resources, see the [migration guide](../guides/migrate-from-aws-provider.md)."
        );
    }
    s
}

/// Picks the attributes listed under one heading.
type Group = (&'static str, fn(&Attribute) -> bool);

/// What the schema declares of an attribute beyond its description: derived values, default, checks.
fn declared(rules: &PlanRules, name: &str) -> String {
    let (validators, modifiers, default) = rules.constraints_of(name);
    let mut out = String::new();
    for m in modifiers {
        let _ = write!(out, " {m}");
    }
    if let Some(d) = default {
        let shown = match d {
            Value::String(v) => v.clone(),
            other => format!("{other:?}").to_lowercase().replace("bool(", "").replace(')', ""),
        };
        let _ = write!(out, " Default: `{shown}`.");
    }
    if !validators.is_empty() {
        let _ = write!(out, " Checked at plan time: {}", validators.join(" "));
    }
    out
}

fn render_block(s: &mut String, block: &Block, rules: &PlanRules, anchor: &str) {
    let groups: [Group; 3] =
        [("Required", |a| a.required), ("Optional", |a| a.optional), ("Read-Only", |a| a.computed && !a.optional)];
    for (heading, pick) in groups {
        let attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| pick(a)).collect();
        let blocks: Vec<_> = block
            .blocks
            .iter()
            .filter(|b| match heading {
                "Required" => b.min_items > 0,
                "Optional" => b.min_items == 0,
                _ => false,
            })
            .collect();
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        let _ = writeln!(s, "### {heading}\n");
        for a in attrs {
            render_attribute(s, a, rules, anchor);
        }
        for b in blocks {
            let limits = match (b.min_items, b.max_items) {
                (0, 1) => "Block List, Max: 1".to_string(),
                (min, 0) => format!("Block List, Min: {min}"),
                (min, max) => format!("Block List, Min: {min}, Max: {max}"),
            };
            let _ = writeln!(
                s,
                "- `{}` ({limits}) {} (see [below for nested schema](#nestedblock--{anchor}{}))",
                b.name, b.block.description, b.name
            );
        }
        s.push('\n');
    }
    render_nested(s, block, rules, anchor);
}

fn render_attribute(s: &mut String, a: &Attribute, rules: &PlanRules, anchor: &str) {
    let sensitive = if a.sensitive { ", Sensitive" } else { "" };
    let below = match a.ty {
        AttributeType::Nested(_) => format!(" (see [below for nested schema](#nestedatt--{anchor}{}))", a.name),
        AttributeType::Plain(_) => String::new(),
    };
    let (name, ty, text, declared) = (&a.name, type_name(a), &a.description, declared(rules, &a.name));
    let _ = writeln!(s, "- `{name}` ({ty}{sensitive}) {text}{declared}{below}");
}

/// The sections of the nested blocks and nested attributes of `block`, after its own.
fn render_nested(s: &mut String, block: &Block, rules: &PlanRules, anchor: &str) {
    let heading = |s: &mut String, kind: &str, name: &str| {
        let _ =
            writeln!(s, "<a id=\"{kind}--{anchor}{name}\"></a>\n### Nested Schema for `{}{name}`\n", dotted(anchor));
    };
    for b in &block.blocks {
        heading(s, "nestedblock", &b.name);
        let nested = rules.block(&b.name).cloned().unwrap_or_default();
        render_block(s, &b.block, &nested, &format!("{anchor}{}--", b.name));
    }
    for a in &block.attributes {
        let AttributeType::Nested(n) = &a.ty else { continue };
        heading(s, "nestedatt", &a.name);
        let inner = Block {
            attributes: n.attributes.clone(),
            blocks: Vec::new(),
            description: String::new(),
            deprecated: false,
        };
        render_block(s, &inner, &PlanRules::default(), &format!("{anchor}{}--", a.name));
    }
}

/// An anchor prefix (`destination--`) as the attribute path it stands for (`destination.`).
fn dotted(anchor: &str) -> String {
    anchor.replace("--", ".")
}

fn type_name(a: &Attribute) -> String {
    match &a.ty {
        AttributeType::Plain(t) => match t {
            tfplugin::Type::String => "String".into(),
            tfplugin::Type::Bool => "Boolean".into(),
            tfplugin::Type::Number => "Number".into(),
            tfplugin::Type::Map(e) => format!("Map of {}", prim(e)),
            tfplugin::Type::Set(e) => format!("Set of {}", prim(e)),
            tfplugin::Type::List(e) => format!("List of {}", prim(e)),
            other => other.to_string(),
        },
        AttributeType::Nested(n) => match n.nesting {
            Nesting::List => "Attributes List".into(),
            Nesting::Set => "Attributes Set".into(),
            Nesting::Map => "Attributes Map".into(),
            _ => "Attributes".into(),
        },
    }
}

fn prim(t: &tfplugin::Type) -> String {
    match t {
        tfplugin::Type::String => "String".into(),
        tfplugin::Type::Number => "Number".into(),
        tfplugin::Type::Bool => "Boolean".into(),
        other => other.to_string(),
    }
}
