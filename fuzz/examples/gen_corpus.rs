//! Writes the seed corpus of the fuzz targets into `fuzz/corpus/<target>/`, using the crate's own encoders:
//! valid encodings of values of several types, plus a few hostile inputs. Seeds are named `seed-*`; files that
//! fuzzing adds later (libFuzzer names them by content hash) are left alone.
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example gen_corpus

use std::collections::BTreeMap;
use std::path::Path;

use crossrepl_fuzz::type_to_bytes;
use tfplugin::codec::{encode_json, encode_msgpack};
use tfplugin::{Number, Type, Value};

fn s(text: &str) -> Value {
    Value::string(text)
}

fn big(text: &str) -> Value {
    Value::Number(Number::parse(text).expect("a decimal literal"))
}

/// Values of several types, as `(name, type, value)`.
fn samples() -> Vec<(&'static str, Type, Value)> {
    let rule = Type::object([("id", Type::String), ("value", Type::Number), ("tags", Type::map(Type::String))]);
    let resource = Type::object([
        ("name", Type::String),
        ("rules", Type::list(rule.clone())),
        ("type", Type::set(Type::String)),
        ("a", Type::Dynamic),
    ]);
    vec![
        ("bool", Type::Bool, Value::Bool(true)),
        ("int", Type::Number, Value::int(-129)),
        ("int64", Type::Number, Value::int(i64::MIN)),
        ("float", Type::Number, Value::Number(Number::Float(0.1))),
        ("bignum", Type::Number, big("123456789012345678901234567890.000000000000000000001")),
        ("u64", Type::Number, big("18446744073709551615")),
        ("exp", Type::Number, big("1e300")),
        ("string", Type::String, s("bucket-é-\u{1F600}\n\"\\")),
        ("string-long", Type::String, s(&"x".repeat(300))),
        ("null", Type::String, Value::Null),
        ("list", Type::list(Type::Number), Value::List(vec![Value::int(1), Value::Null, Value::int(300)])),
        ("list-16", Type::list(Type::Bool), Value::List(vec![Value::Bool(false); 16])),
        ("set", Type::set(Type::String), Value::Set(vec![s("a"), s("b")])),
        (
            "map",
            Type::map(Type::Bool),
            Value::Map(BTreeMap::from([("x".to_string(), Value::Bool(true)), ("".to_string(), Value::Null)])),
        ),
        (
            "tuple",
            Type::Tuple(vec![Type::String, Type::Number, Type::Bool]),
            Value::Tuple(vec![s("t"), Value::int(7), Value::Bool(false)]),
        ),
        ("dynamic-string", Type::Dynamic, s("hi")),
        ("dynamic-list", Type::Dynamic, Value::List(vec![Value::int(1), s("mixed")])),
        ("dynamic-object", Type::Dynamic, Value::object([("k", Value::List(vec![Value::Bool(true)]))])),
        (
            "resource",
            resource,
            Value::object([
                ("name", s("replication")),
                (
                    "rules",
                    Value::List(vec![Value::object([
                        ("id", s("r1")),
                        ("value", Value::int(1)),
                        ("tags", Value::Map(BTreeMap::from([("env".to_string(), s("prod"))]))),
                    ])]),
                ),
                ("type", Value::Set(vec![s("s3:GetObject")])),
                ("a", Value::Tuple(vec![Value::int(1), s("x")])),
            ]),
        ),
        (
            "object-sparse",
            Type::object([("b", Type::Bool), ("id", Type::String)]),
            Value::object([("b", Value::Bool(true))]),
        ),
        (
            "map-of-list",
            Type::map(Type::list(Type::Dynamic)),
            Value::Map(BTreeMap::from([("k".to_string(), Value::List(vec![Value::int(2)]))])),
        ),
    ]
}

/// The same value with every unknown replaced by null (JSON has no unknowns).
fn known(v: &Value) -> Value {
    match v {
        Value::Unknown => Value::Null,
        Value::List(items) => Value::List(items.iter().map(known).collect()),
        Value::Set(items) => Value::Set(items.iter().map(known).collect()),
        Value::Tuple(items) => Value::Tuple(items.iter().map(known).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), known(v))).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), known(v))).collect()),
        v => v.clone(),
    }
}

fn with_type(ty: &Type, payload: &[u8]) -> Vec<u8> {
    let mut out = type_to_bytes(ty);
    out.extend_from_slice(payload);
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    assert!(bytes.len() <= 4096, "seed {name} is longer than the fuzzers' -max_len");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let dirs = ["msgpack_decode", "json_decode", "type_json"].map(|t| root.join(t));
    for d in &dirs {
        std::fs::create_dir_all(d).expect("create corpus dir");
        // Rewrite the seeds; keep what fuzzing added.
        for entry in std::fs::read_dir(d).expect("read corpus dir") {
            let path = entry.expect("dir entry").path();
            if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seed-")) {
                std::fs::remove_file(path).expect("remove old seed");
            }
        }
    }
    let [mp, js, ty_dir] = &dirs;

    let mut count = 0;
    for (name, ty, value) in samples() {
        write(mp, name, &with_type(&ty, &encode_msgpack(&value, &ty).expect("msgpack seed")));
        write(js, name, &with_type(&ty, &encode_json(&known(&value), &ty).expect("JSON seed")));
        write(ty_dir, name, &ty.to_json_bytes());
        count += 3;
    }

    // Unknowns, which only msgpack carries: plain, nested, and refined (ext 12 with a map of refinements).
    let obj = Type::object([("a", Type::String), ("b", Type::list(Type::Number))]);
    let partly = Value::object([("a", Value::Unknown), ("b", Value::List(vec![Value::Unknown, Value::int(3)]))]);
    write(mp, "unknown-nested", &with_type(&obj, &encode_msgpack(&partly, &obj).unwrap()));
    write(mp, "unknown-refined", &with_type(&Type::String, &[0xc7, 0x05, 0x0c, 0x82, 0x01, 0xc2, 0x02, 0xa1, b'x']));
    count += 2;

    // Hostile msgpack: lengths the input cannot back, deep nesting, a dynamic value nesting dynamic types, bad
    // markers, invalid UTF-8, a refinement payload that is not a map.
    let list_bool = Type::list(Type::Bool);
    let hostile_mp: Vec<(&str, Type, Vec<u8>)> = vec![
        ("huge-array", list_bool.clone(), vec![0xdd, 0xff, 0xff, 0xff, 0xff, 0xc3]),
        ("huge-map", Type::map(Type::Bool), vec![0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, b'a', 0xc3]),
        ("huge-str", Type::String, vec![0xdb, 0xff, 0xff, 0xff, 0xff, b'a']),
        ("huge-ext", Type::String, vec![0xc9, 0xff, 0xff, 0xff, 0xff, 0x00]),
        ("deep-dynamic", Type::Dynamic, {
            let mut b = Vec::new();
            for _ in 0..200 {
                b.extend_from_slice(&[0x92, 0xa9]);
                b.extend_from_slice(br#""dynamic""#);
            }
            b.push(0xc0);
            b
        }),
        ("deep-type", Type::Dynamic, {
            let json = format!("{}\"string\"{}", "[\"list\",".repeat(70), "]".repeat(70));
            let mut b = vec![0x92, 0xda, 0, 0];
            b[2..4].copy_from_slice(&(json.len() as u16).to_be_bytes());
            b.extend_from_slice(json.as_bytes());
            b.push(0xc0);
            b
        }),
        ("marker-c1", Type::Bool, vec![0xc1]),
        ("bad-utf8", Type::String, vec![0xa2, 0xc3, 0x28]),
        ("refined-not-map", Type::String, vec![0xc7, 0x02, 0x0c, 0x01, 0x02]),
        ("trailing", Type::Bool, vec![0xc3, 0xc3]),
        ("nan", Type::Number, vec![0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]),
        ("dup-attr", obj.clone(), vec![0x82, 0xa1, b'a', 0xc0, 0xa1, b'a', 0xc0]),
    ];
    for (name, ty, bytes) in hostile_mp {
        write(mp, &format!("hostile-{name}"), &with_type(&ty, &bytes));
        count += 1;
    }

    // Hostile JSON.
    let hostile_js: Vec<(&str, Type, Vec<u8>)> = vec![
        ("deep-array", Type::Dynamic, "[".repeat(2000).into_bytes()),
        ("deep-dynamic", Type::Dynamic, {
            let mut t = String::new();
            for _ in 0..150 {
                t.push_str(r#"{"type":"dynamic","value":"#);
            }
            t.push_str("null");
            t.push_str(&"}".repeat(150));
            t.into_bytes()
        }),
        ("huge-exponent", Type::Number, b"1e999999999999999999".to_vec()),
        ("long-number", Type::Number, "9".repeat(3000).into_bytes()),
        ("surrogate", Type::String, br#""\ud800\u0041""#.to_vec()),
        ("bad-utf8", Type::String, b"\"\xff\"".to_vec()),
        ("undefined-attr", obj.clone(), br#"{"a":"x","zzz":[1,{"q":null}]}"#.to_vec()),
        (
            "number-as-string",
            Type::object([("id", Type::Number), ("b", Type::Bool)]),
            br#"{"id":"12.50","b":"1"}"#.to_vec(),
        ),
        ("dup-key", Type::map(Type::Number), br#"{"a":1,"a":2}"#.to_vec()),
        ("dynamic-type-last", Type::Dynamic, br#"{"value":[1,"2"],"type":["tuple",["number","string"]]}"#.to_vec()),
    ];
    for (name, ty, bytes) in hostile_js {
        write(js, &format!("hostile-{name}"), &with_type(&ty, &bytes));
        count += 1;
    }

    // Type JSON: optional-attribute markers, deep nesting, malformed kinds.
    let hostile_ty: Vec<(&str, String)> = vec![
        ("optional-attrs", r#"["object",{"a":"string","b":["list","number"]},["b"]]"#.into()),
        ("deep", format!("{}\"string\"{}", "[\"list\",".repeat(100), "]".repeat(100))),
        ("deep-object", format!("{}\"bool\"{}", "[\"object\",{\"a\":".repeat(40), "}]".repeat(40))),
        ("unknown-kind", r#"["list","int"]"#.into()),
        ("empty-array", "[]".into()),
        ("tuple-not-array", r#"["tuple",{"a":"string"}]"#.into()),
    ];
    for (name, text) in hostile_ty {
        write(ty_dir, &format!("hostile-{name}"), text.as_bytes());
        count += 1;
    }
    println!("wrote {count} seeds under {}", root.display());
}
