use super::*;

const ROLE: &str = "arn:aws:iam::111111111111:role/crossrepl-acme-data";

fn spec(bucket: &str) -> DestinationSpec {
    DestinationSpec { bucket_arn: format!("arn:aws:s3:::{bucket}"), ..Default::default() }
}

#[test]
fn priorities_stay_put_when_a_destination_is_appended() {
    let before = [spec("a"), DestinationSpec { priority: Some(10), ..spec("b") }, spec("c")];
    let mut after = before.to_vec();
    after.push(spec("d"));
    let p = |ds: &[DestinationSpec]| ds.iter().enumerate().map(|(i, d)| effective_priority(i, d)).collect::<Vec<_>>();
    assert_eq!(p(&before), [1, 10, 3]);
    assert_eq!(p(&after), [1, 10, 3, 4]);
    let config = |d: &[DestinationSpec]| ReplicationConfig::from_destinations(ROLE, d).expect("builds");
    let (b, a) = (config(&before), config(&after));
    assert!(b.rules.iter().zip(&a.rules).all(|(x, y)| x == y));
    // Clamping keeps out-of-range explicit values representable (validation rejects them).
    assert_eq!(effective_priority(0, &DestinationSpec { priority: Some(-5), ..spec("a") }), 0);
    assert_eq!(effective_priority(0, &DestinationSpec { priority: Some(i64::MAX), ..spec("a") }), i32::MAX);
}

fn id_of(i: usize, dests: &[DestinationSpec]) -> String {
    rule_ids(dests).swap_remove(i)
}

#[test]
fn rule_ids_are_stable_unique_and_short() {
    assert_eq!(id_of(0, &[spec("acme-dr")]), "crossrepl-acme-dr");
    // Independent of position and of every other attribute.
    let changed = DestinationSpec { prefix: "x/".into(), priority: Some(3), enabled: false, ..spec("acme-dr") };
    let before: Vec<_> = (0..7).map(|i| spec(&format!("other-{i}"))).collect();
    assert_eq!(id_of(7, &[before, vec![changed]].concat()), "crossrepl-acme-dr");
    let names = ["a.b", "a-b", "ab1", &"z".repeat(63)];
    let ids: std::collections::HashSet<String> = rule_ids(&names.map(spec)).into_iter().collect();
    assert_eq!(ids.len(), names.len());
    assert!(ids.iter().all(|id| id.len() <= MAX_RULE_ID_LEN));
    let long = DestinationSpec { bucket_arn: format!("arn:aws:s3:::{}", "é".repeat(300)), ..Default::default() };
    assert_eq!(id_of(0, &[long]).chars().count(), MAX_RULE_ID_LEN);
    let invalid: Vec<_> = (0..5).map(|_| DestinationSpec::default()).collect();
    assert_eq!(id_of(4, &invalid), "crossrepl_destination_5");
}

#[test]
fn several_rules_into_one_bucket_get_distinct_ids_and_the_first_keeps_its_own() {
    let dests = [spec("dr"), spec("dr-2"), spec("dr"), spec("dr")];
    // The first rule into `dr` keeps the id a configuration with one rule into `dr` has (no diff for existing
    // states); `#` cannot be part of a bucket name, so `dr#2` never meets the bucket `dr-2`'s id.
    assert_eq!(rule_ids(&dests), ["crossrepl-dr", "crossrepl-dr-2", "crossrepl-dr#2", "crossrepl-dr#3"]);
    assert_eq!(rule_ids(&dests[..1]), ["crossrepl-dr"]);
    let cfg = ReplicationConfig::from_destinations(ROLE, &dests).expect("distinct ids and priorities");
    assert_eq!(cfg.rules.iter().map(|r| r.priority).collect::<Vec<_>>(), [Some(1), Some(2), Some(3), Some(4)]);
    // An explicit id takes no number away from the derived ones.
    let named = [DestinationSpec { rule_id: Some("logs".into()), ..spec("dr") }, spec("dr")];
    assert_eq!(rule_ids(&named), ["logs", "crossrepl-dr#2"]);
}

#[test]
fn derived_ids_after_an_unknown_bucket_are_unknown() {
    let a = "arn:aws:s3:::a";
    assert_eq!(derived_rule_ids(&[Some(a), None, Some(a)]), [Some("crossrepl-a".to_string()), None, None]);
    assert_eq!(derived_rule_ids(&[Some(a), Some(a)]), [Some("crossrepl-a".to_string()), Some("crossrepl-a#2".into())]);
    assert_eq!(derived_rule_ids(&[Some("not an arn")]), [None]);
}

#[test]
fn overlapping_rules_are_those_into_one_bucket_that_can_select_one_object() {
    let with = |bucket: &str, prefix: &str, tags: &[(&str, &str)]| DestinationSpec {
        prefix: prefix.into(),
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..spec(bucket)
    };
    // Disjoint prefixes into one bucket, and any filters into different buckets, never overlap.
    assert!(overlapping_rules(&[with("dr", "logs/", &[]), with("dr", "data/", &[]), with("x", "", &[])]).is_empty());
    // An empty prefix overlaps every other; a longer prefix overlaps its start.
    assert_eq!(overlapping_rules(&[with("dr", "logs/", &[]), with("dr", "", &[])]), [(0, 1)]);
    assert_eq!(overlapping_rules(&[with("dr", "logs/a", &[]), with("dr", "logs/", &[])]), [(0, 1)]);
    // Tags: the same key with different values cannot both match; other tags can.
    assert!(overlapping_rules(&[with("dr", "", &[("t", "1")]), with("dr", "", &[("t", "2")])]).is_empty());
    assert_eq!(overlapping_rules(&[with("dr", "", &[("t", "1")]), with("dr", "", &[("u", "2")])]), [(0, 1)]);
    // A disabled rule selects nothing.
    let off = DestinationSpec { enabled: false, ..with("dr", "", &[]) };
    assert!(overlapping_rules(&[off, with("dr", "", &[])]).is_empty());
}

#[test]
fn from_destinations_refuses_malformed_configurations() {
    let build = |d: &[DestinationSpec]| ReplicationConfig::from_destinations(ROLE, d);
    assert!(build(&[]).is_err());
    let too_many: Vec<_> = (0..=MAX_DESTINATIONS).map(|i| spec(&format!("d-{i}"))).collect();
    assert!(build(&too_many).is_err());
    assert!(build(&too_many[..MAX_DESTINATIONS]).is_ok());
    let dup_priority = [spec("a"), DestinationSpec { priority: Some(1), ..spec("b") }];
    assert!(build(&dup_priority).unwrap_err().contains("priority 1"));
    let same_id = [spec("a"), DestinationSpec { rule_id: Some("crossrepl-a".into()), ..spec("b") }];
    assert!(build(&same_id).unwrap_err().contains("rule id"));
    for p in [-1, i64::from(i32::MAX) + 1] {
        assert!(build(&[DestinationSpec { priority: Some(p), ..spec("a") }]).is_err());
    }
}

#[test]
fn matching_needs_our_role_and_no_foreign_rules() {
    let want = ReplicationConfig::from_destinations(ROLE, &[spec("a"), spec("b")]).unwrap();
    assert_eq!(want.matching(Some(&want)), [true, true]);
    assert_eq!(want.matching(None), [false, false]);
    let mut changed = want.clone();
    changed.rules[1].prefix = "x/".into();
    assert_eq!(want.matching(Some(&changed)), [true, false]);
    let mut other_role = want.clone();
    other_role.role = "arn:aws:iam::111111111111:role/other".into();
    assert_eq!(want.matching(Some(&other_role)), [false, false]);
    let mut extra = want.clone();
    extra.rules.push(Rule { id: Some("foreign".into()), ..want.rules[0].clone() });
    assert_eq!(want.matching(Some(&extra)), [false, false]);
}

#[test]
fn explicit_rule_ids_are_kept() {
    let kept = DestinationSpec { rule_id: Some("allfiles".into()), ..spec("acme-dr") };
    assert_eq!(id_of(0, std::slice::from_ref(&kept)), "allfiles");
    let cfg = ReplicationConfig::from_destinations(ROLE, &[kept]).expect("builds");
    assert_eq!(cfg.rules[0].id.as_deref(), Some("allfiles"));
}
