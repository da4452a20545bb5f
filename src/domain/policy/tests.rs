use super::*;

fn parse(text: &str) -> PolicyDocument {
    PolicyDocument::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn equal(a: &str, b: &str) -> bool {
    let (a, b) = (parse(a), parse(b));
    assert_eq!(a.semantically_equal(&b), b.semantically_equal(&a), "symmetry");
    a.semantically_equal(&b)
}

fn strings(v: &Option<OneOrMany<String>>) -> Vec<&str> {
    v.as_ref().map(|v| v.0.iter().map(String::as_str).collect()).unwrap_or_default()
}

/// The values of condition `op` `key` in `s`.
pub(crate) fn condition<'a>(s: &'a Statement, op: &str, key: &str) -> Vec<&'a str> {
    s.condition.as_ref().unwrap().0[op][key].0.iter().map(String::as_str).collect()
}

/// RFC 3986 percent-encoding of every byte outside the unreserved set (what IAM returns).
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A foreign policy with one statement of every shape; the grants' merge tests use it too.
pub(crate) const SAMPLE: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "A",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:root", "Service": "s3.amazonaws.com"},
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
        "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}, "Bool": {"aws:SecureTransport": true}}
    }]
}"#;

#[test]
fn parses_raw_json() {
    let doc = parse(SAMPLE);
    assert_eq!(doc.version.as_deref(), Some("2012-10-17"));
    let s = &doc.statements[0];
    assert_eq!(s.sid.as_deref(), Some("A"));
    assert_eq!(s.effect, Effect::Allow);
    assert_eq!(strings(&s.action), ["s3:GetObject", "s3:PutObject"]);
    assert_eq!(strings(&s.resource), ["arn:aws:s3:::b/*", "arn:aws:s3:::b"]);
    let Some(Principal::Specific(p)) = &s.principal else { panic!("principal") };
    assert_eq!(strings(&p.aws), ["arn:aws:iam::111111111111:root"]);
    assert_eq!(strings(&p.service), ["s3.amazonaws.com"]);
    assert_eq!(condition(s, "Bool", "aws:SecureTransport"), ["true"]);
}

#[test]
fn parses_url_encoded_json() {
    let encoded = encode(SAMPLE);
    assert!(encoded.contains("%2F") && encoded.starts_with("%7B"));
    assert_eq!(parse(&encoded), parse(SAMPLE));
    // Lower-case hex digits and surrounding whitespace are fine.
    assert_eq!(parse(&format!("  {}\n", encoded.replace("%2F", "%2f"))), parse(SAMPLE));
}

#[test]
fn plus_is_a_literal_plus_in_url_encoded_documents() {
    let raw = concat!(
        r#"{"Version":"2012-10-17","#,
        r#""Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/a+b c"}}"#
    );
    let encoded = raw.replace('{', "%7B").replace('}', "%7D").replace('"', "%22").replace(' ', "%20");
    let doc = parse(&encoded);
    assert_eq!(strings(&doc.statements[0].resource), ["arn:aws:s3:::b/a+b c"]);
}

#[test]
fn rejects_bad_input_with_clear_errors() {
    for (text, expected) in [
        ("%7B%2", "percent escape"),
        ("%7B%ZZ%7D", "percent escape"),
        ("%FF%FE", "not UTF-8"),
        ("", "not a valid policy"),
        ("{", "not a valid policy"),
        (r#"{"Statement":[{"Effect":"Maybe"}]}"#, "Maybe"),
        (r#"{"Statement":[{"Effect":"Allow","Actions":"s3:GetObject"}]}"#, "Actions"),
        (r#"{"Version":"2012-10-17"}"#, "Statement"),
        (r#"{"Statement":{"Effect":"Allow","Principal":"someone"}}"#, "someone"),
        (r#"{"Statement":{"Effect":"Allow","Principal":{"Robot":"x"}}}"#, "Robot"),
        (r#"{"Statement":{"Effect":"Allow","Action":true}}"#, "boolean"),
    ] {
        let err = PolicyDocument::parse(text).expect_err(text).to_string();
        assert!(err.contains(expected), "{text}: {err}");
        assert!(err.starts_with("policy document is not"), "{err}");
    }
}

#[test]
fn single_statement_object_equals_one_element_array() {
    let statement = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#;
    let object = format!(r#"{{"Version":"2012-10-17","Statement":{statement}}}"#);
    let array = format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
    assert_eq!(parse(&object), parse(&array));
    assert!(equal(&object, &array));
}

#[test]
fn serializes_in_aws_key_order_and_round_trips() {
    let doc = parse(SAMPLE);
    let json = doc.to_json();
    let keys = [
        "\"Version\"",
        "\"Statement\"",
        "\"Sid\"",
        "\"Effect\"",
        "\"Principal\"",
        "\"Action\"",
        "\"Resource\"",
        "\"Condition\"",
    ];
    let positions: Vec<usize> = keys.iter().map(|k| json.find(k).unwrap()).collect();
    assert!(positions.is_sorted(), "{json}");
    assert!(json.contains(r#""Statement":[{"#), "statements always a list: {json}");
    assert!(json.contains(r#""aws:SourceAccount":"111111111111""#), "one value as a string: {json}");
    assert!(json.contains(r#""aws:SecureTransport":"true""#), "scalars as strings: {json}");
    assert!(!json.contains(' ') && !json.contains('\n'));
    assert_eq!(parse(&json), doc);
    assert_eq!(parse(&doc.to_json_pretty()), doc);
    assert!(doc.to_json_pretty().contains('\n'));
    assert_eq!(parse(&json).to_json(), json);
}

#[test]
fn semantic_equality_ignores_layout_and_order() {
    let base = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"A","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],
         "Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"],
         "Principal":{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::222222222222:root"]},
         "Condition":{"StringEquals":{"aws:SourceAccount":["1","2"]},"Bool":{"aws:SecureTransport":"true"},
                      "NumericLessThan":{"s3:max-keys":"10"}}},
        {"Sid":"B","Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    let reordered = r#"{ "Statement" : [
        {"Resource":"arn:aws:s3:::b/*","Action":["s3:DeleteObject"],"Effect":"Deny","Sid":"B"},
        {"Condition":{"NumericLessThan":{"s3:max-keys":10},"Bool":{"AWS:SecureTransport":true},
                      "StringEquals":{"aws:SourceAccount":["2","1","2"]}},
         "Principal":{"AWS":["arn:aws:iam::222222222222:root","arn:aws:iam::111111111111:root"]},
         "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Action":["S3:putobject","s3:GETOBJECT"],
         "Effect":"Allow","Sid":"A"}],
        "Version" : "2012-10-17" }"#;
    assert!(equal(base, reordered));
    assert!(equal(base, &encode(reordered)));
}

#[test]
fn semantic_equality_single_string_vs_list() {
    let one = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole",
        "Condition":{"StringEquals":{"aws:SourceAccount":"1"}}}]}"#;
    let list = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"Service":["s3.amazonaws.com"]},"Action":["sts:AssumeRole"],
        "Condition":{"StringEquals":{"aws:SourceAccount":["1"]}}}]}"#;
    assert!(equal(one, list));
}

#[test]
fn semantic_equality_detects_real_differences() {
    let base = concat!(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","#,
        r#""Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"s3:GetObject","#,
        r#""Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceAccount":"1"}}}]}"#
    );
    let variants = [
        base.replace("arn:aws:s3:::b/*", "arn:aws:s3:::c/*"),
        base.replace("arn:aws:s3:::b/*", "arn:aws:s3:::B/*"),
        base.replace("\"Allow\"", "\"Deny\""),
        base.replace("s3:GetObject", "s3:PutObject"),
        base.replace("\"Sid\":\"A\"", "\"Sid\":\"B\""),
        base.replace("\"Sid\":\"A\",", ""),
        base.replace("111111111111:root", "222222222222:root"),
        base.replace("111111111111:root", "111111111111:ROOT"),
        base.replace("\"Principal\"", "\"NotPrincipal\""),
        base.replace("\"Action\"", "\"NotAction\""),
        base.replace("\"Resource\"", "\"NotResource\""),
        base.replace("StringEquals", "StringLike"),
        base.replace("\"aws:SourceAccount\":\"1\"", "\"aws:SourceAccount\":\"2\""),
        base.replace("\"aws:SourceAccount\":\"1\"", "\"aws:SourceAccount\":[\"1\",\"2\"]"),
        base.replace("\"aws:SourceAccount\":\"1\"", "\"aws:SourceAccount\":\"1\",\"aws:SourceArn\":\"x\""),
        base.replace("}}}]", "},\"Bool\":{\"aws:SecureTransport\":\"true\"}}}]"),
        base.replace(",\"Condition\":{\"StringEquals\":{\"aws:SourceAccount\":\"1\"}}", ""),
        base.replace("\"Version\":\"2012-10-17\",", "\"Id\":\"x\",\"Version\":\"2012-10-17\","),
        base.replace("}]}", "},{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/*\"}]}"),
    ];
    for variant in &variants {
        assert_ne!(variant, base, "replacement did nothing");
        assert!(!equal(base, variant), "{variant}");
    }
    // A duplicated statement is a difference too (statements compare as a multiset).
    let statement = &base[base.find('[').unwrap() + 1..base.rfind(']').unwrap()];
    let doubled = base.replace(statement, &format!("{statement},{statement}"));
    assert!(!equal(base, &doubled));
}

#[test]
fn version_absent_means_2008() {
    let body = r#""Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]"#;
    let none = format!("{{{body}}}");
    let old = format!("{{\"Version\":\"2008-10-17\",{body}}}");
    let new = format!("{{\"Version\":\"2012-10-17\",{body}}}");
    assert!(!equal(&none, &new));
    assert!(!equal(&old, &new));
    assert!(equal(&none, &old));
}

#[test]
fn ignore_case_operators_compare_values_case_insensitively() {
    let a = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
        "Condition":{"StringEqualsIgnoreCase":{"aws:username":"Alice"}}}]}"#;
    assert!(equal(a, &a.replace("Alice", "alice")));
    let strict = a.replace("StringEqualsIgnoreCase", "StringEquals");
    assert!(!equal(&strict, &strict.replace("Alice", "alice")));
}

#[test]
fn bare_account_id_principal_equals_account_root_arn() {
    let arn = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::222222222222:role/r"]},
        "Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    let bare = arn.replace("arn:aws:iam::111111111111:root", "111111111111");
    assert!(equal(arn, &bare));
    assert!(!equal(arn, &bare.replace("111111111111", "333333333333")));
    // The rewrite follows the statement's partition.
    let cn = arn.replace("arn:aws:", "arn:aws-cn:");
    assert!(equal(&cn, &cn.replace("arn:aws-cn:iam::111111111111:root", "111111111111")));
    assert!(!equal(&cn, &bare));
    // Statement-level comparison does the same.
    let (a, b) = (parse(arn), parse(&bare));
    assert!(a.statements[0].semantically_equal(&b.statements[0]));
    // Not a 12-digit id: no rewrite.
    assert!(!equal(&arn.replace("111111111111", "11111"), &bare.replace("111111111111", "11111")));
}

#[test]
fn any_principal_forms_are_equal() {
    let star = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}"#;
    let aws_star = star.replace(r#""Principal":"*""#, r#""Principal":{"AWS":"*"}"#);
    assert!(equal(star, &aws_star));
    assert!(!equal(
        star,
        &star.replace(r#""Principal":"*""#, r#""Principal":{"AWS":"arn:aws:iam::111111111111:root"}"#)
    ));
}
