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

#[test]
fn rule_ids_are_stable_unique_and_short() {
    assert_eq!(rule_id(0, &spec("acme-dr")), "crossrepl-acme-dr");
    // Independent of position and of every other attribute.
    let changed = DestinationSpec { prefix: "x/".into(), priority: Some(3), enabled: false, ..spec("acme-dr") };
    assert_eq!(rule_id(7, &changed), "crossrepl-acme-dr");
    let names = ["a.b", "a-b", "ab1", &"z".repeat(63)];
    let ids: std::collections::HashSet<String> = names.iter().enumerate().map(|(i, n)| rule_id(i, &spec(n))).collect();
    assert_eq!(ids.len(), names.len());
    assert!(ids.iter().all(|id| id.len() <= MAX_RULE_ID_LEN));
    let long = DestinationSpec { bucket_arn: format!("arn:aws:s3:::{}", "é".repeat(300)), ..Default::default() };
    assert_eq!(rule_id(0, &long).chars().count(), MAX_RULE_ID_LEN);
    assert_eq!(rule_id(4, &DestinationSpec::default()), "crossrepl_destination_5");
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
    assert!(build(&[spec("a"), spec("a")]).unwrap_err().contains("rule id"));
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
    assert_eq!(rule_id(0, &kept), "allfiles");
    let cfg = ReplicationConfig::from_destinations(ROLE, &[kept]).expect("builds");
    assert_eq!(cfg.rules[0].id.as_deref(), Some("allfiles"));
}
