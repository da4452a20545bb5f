use super::compact::*;
use super::*;
use crate::domain::policy::edit::{Edit, apply_all};

const BUCKET: &str = "acme-dr-copy";

fn member(account: &str, role_name: &str, owner_override: bool) -> DestinationGrantInput {
    DestinationGrantInput {
        partition: "aws".into(),
        destination_bucket: BUCKET.into(),
        source_account_id: account.into(),
        source_role_arn: format!("arn:aws:iam::{account}:role/{role_name}"),
        owner_override,
    }
}

fn foreign() -> Statement {
    Statement {
        principal: Some(Principal::aws("arn:aws:iam::123456789012:root")),
        ..allow("SomeoneElses", &["s3:GetObject"], vec![format!("arn:aws:s3:::{BUCKET}/*")])
    }
}

fn sids(doc: &Option<PolicyDocument>) -> Vec<&str> {
    doc.iter().flat_map(|d| &d.statements).filter_map(|s| s.sid.as_deref()).collect()
}

fn roles(doc: &Option<PolicyDocument>, sid: &str) -> Vec<String> {
    doc.as_ref().map(|d| admitted_roles(d, sid).into_iter().collect()).unwrap_or_default()
}

#[test]
fn one_statement_admits_each_role_by_its_arn_and_its_account_by_a_fixed_value() {
    let a = member("111111111111", "crossrepl-a", false);
    let doc = Admit(a.clone()).apply(None).unwrap();
    let json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
    let s = &json["Statement"][0];
    assert_eq!(s["Sid"], ROLES_SID);
    assert_eq!(s["Principal"], "*");
    assert_eq!(s["Condition"]["ArnEquals"]["aws:PrincipalArn"], a.source_role_arn.as_str());
    assert_eq!(s["Condition"]["StringEquals"]["aws:PrincipalAccount"], "111111111111");
    let actions: Vec<&str> = s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(actions, ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:GetBucketVersioning"]);
    assert_eq!(
        s["Resource"],
        serde_json::json!([format!("arn:aws:s3:::{BUCKET}"), format!("arn:aws:s3:::{BUCKET}/*")])
    );
    // No wildcard anywhere in the conditions (S3 Block Public Access would count the statement as public).
    assert!(!s["Condition"].to_string().contains('*'), "{s}");
    assert_eq!(doc.statements.len(), 1, "no owner-override statement without such a member");
}

#[test]
fn members_come_and_go_without_touching_each_other_or_foreign_statements() {
    let a = member("111111111111", "crossrepl-a", false);
    let b = member("222222222222", "crossrepl-b", true);
    let c = member("111111111111", "crossrepl-c", false);
    let start = Some(PolicyDocument::new(vec![foreign()]));
    let edits: Vec<crate::domain::policy::edit::SharedEdit> =
        vec![Arc::new(Admit(a.clone())), Arc::new(Admit(b.clone())), Arc::new(Admit(c.clone()))];
    let all = apply_all(start, &edits);
    assert_eq!(sids(&all), ["SomeoneElses", ROLES_SID, OWNER_OVERRIDE_SID]);
    assert_eq!(
        roles(&all, ROLES_SID),
        [a.source_role_arn.clone(), c.source_role_arn.clone(), b.source_role_arn.clone()]
    );
    assert_eq!(roles(&all, OWNER_OVERRIDE_SID), std::slice::from_ref(&b.source_role_arn));
    let accounts = &by(&all, ROLES_SID).condition.as_ref().unwrap().0["StringEquals"]["aws:PrincipalAccount"];
    assert_eq!(accounts.0, ["111111111111", "222222222222"], "each account once");
    assert!(edits.iter().all(|e| e.holds(all.as_ref())));
    // Releasing b takes it out of both statements; the owner-override statement goes with its last member.
    let without_b = Release(b.clone()).apply(all.clone());
    assert!(Release(b.clone()).holds(without_b.as_ref()) && !Admit(b.clone()).holds(without_b.as_ref()));
    assert!(Admit(a.clone()).holds(without_b.as_ref()) && Admit(c.clone()).holds(without_b.as_ref()));
    assert_eq!(sids(&without_b), ["SomeoneElses", ROLES_SID]);
    let accounts = &by(&without_b, ROLES_SID).condition.as_ref().unwrap().0["StringEquals"]["aws:PrincipalAccount"];
    assert_eq!(accounts.0, ["111111111111"], "an account goes with its last role");
    // b no longer accepting owner override, re-admitted: in the replication statement only.
    let b_plain = DestinationGrantInput { owner_override: false, ..b.clone() };
    let readmitted = Admit(b_plain.clone()).apply(all.clone());
    assert!(Admit(b_plain).holds(readmitted.as_ref()) && !Admit(b.clone()).holds(readmitted.as_ref()));
    assert_eq!(sids(&readmitted), ["SomeoneElses", ROLES_SID]);
    // The last member out: the foreign statement stays; with nothing else the policy goes.
    let rest = [Release(a.clone()), Release(c.clone())].iter().fold(without_b, |d, e| e.apply(d));
    assert_eq!(sids(&rest), ["SomeoneElses"]);
    let alone = Admit(a.clone()).apply(None);
    assert_eq!(Release(a.clone()).apply(alone), None);
    // Releasing a role that is not there changes nothing.
    assert_eq!(Release(a).apply(rest.clone()), rest);
}

#[test]
fn admitting_replaces_the_per_source_statements_and_hand_written_grants_of_that_role_only() {
    let a = member("111111111111", "crossrepl-a", true);
    let b = member("222222222222", "crossrepl-b", false);
    let hand_written = Statement {
        principal: Some(Principal::aws(a.source_role_arn.clone())),
        ..allow("Manual", &["s3:ReplicateObject"], vec![format!("arn:aws:s3:::{BUCKET}/*")])
    };
    let mut statements = vec![foreign(), hand_written];
    statements.extend(destination_statements(&a));
    statements.extend(destination_statements(&b));
    let doc = Some(PolicyDocument::new(statements));
    let migrated = Admit(a.clone()).apply(doc.clone());
    let prefix_b = destination_sid_prefix(&b);
    let bucket_b = format!("{prefix_b}Bucket");
    assert_eq!(sids(&migrated), ["SomeoneElses", &prefix_b, &bucket_b, ROLES_SID, OWNER_OVERRIDE_SID]);
    assert!(!Admit(a.clone()).holds(doc.as_ref()) && Admit(a.clone()).holds(migrated.as_ref()));
    // Import finds roles in either form, by account; owner override from either form.
    let m = migrated.as_ref().unwrap();
    assert_eq!(destination_role_arns(m, "111111111111"), std::slice::from_ref(&a.source_role_arn));
    assert_eq!(destination_role_arns(m, "222222222222"), std::slice::from_ref(&b.source_role_arn));
    assert!(grants_owner_override(m, &a) && !grants_owner_override(m, &b));
    // Releasing a role still in the per-source form takes its statements out.
    assert_eq!(sids(&Release(b).apply(migrated)), ["SomeoneElses", ROLES_SID, OWNER_OVERRIDE_SID]);
}

#[test]
fn a_changed_compact_statement_is_drift_and_admitting_restores_it_with_every_member() {
    let a = member("111111111111", "crossrepl-a", false);
    let b = member("222222222222", "crossrepl-b", false);
    let doc = apply_all(None, &[Arc::new(Admit(a.clone())), Arc::new(Admit(b.clone()))]).unwrap();
    let mut changed = doc.clone();
    changed.statements[0].action = Some(OneOrMany::one("s3:ReplicateObject".into()));
    assert!(!Admit(a.clone()).holds(Some(&changed)) && !Admit(b.clone()).holds(Some(&changed)));
    let restored = Admit(a).apply(Some(changed));
    assert_eq!(restored.as_ref(), Some(&doc));
    assert!(Admit(b).holds(restored.as_ref()));
}

#[test]
fn two_hundred_and_fifty_sources_fit_in_a_bucket_policy() {
    // 17-character bucket names, each source in its own account, roles named as crossrepl_source names them.
    let members: Vec<DestinationGrantInput> = (0..300)
        .map(|i| {
            member(
                &format!("{:012}", 100_000_000_000u64 + i),
                &role_name_for_bucket(&format!("source-bucket-{i:03}")),
                false,
            )
        })
        .collect();
    assert_eq!(members[0].source_role_arn.len(), 58);
    let sizes: Vec<usize> = members
        .iter()
        .scan(None, |doc, m| {
            *doc = Admit(m.clone()).apply(doc.take());
            Some(doc.as_ref().map_or(0, |d| d.to_json().len()))
        })
        .collect();
    let limit = 20 * 1024;
    let fit = sizes.iter().take_while(|&&n| n <= limit).count();
    assert!(fit >= 250, "only {fit} sources fit ({} bytes for 250)", sizes[249]);
    assert!(fit < members.len(), "the limit must be reachable for this test to mean anything");
}

fn by<'a>(doc: &'a Option<PolicyDocument>, sid: &str) -> &'a Statement {
    doc.as_ref().unwrap().statements.iter().find(|s| s.sid.as_deref() == Some(sid)).unwrap()
}

fn organization(pattern: &str, owner_override: bool) -> OrganizationGrantInput {
    OrganizationGrantInput {
        partition: "aws".into(),
        destination_bucket: BUCKET.into(),
        organization_id: "o-a1b2c3d4e5".into(),
        role_arn_pattern: role_arn_pattern("aws", "/", pattern),
        owner_override,
    }
}

#[test]
fn an_organization_is_admitted_by_one_fixed_organization_id_and_a_role_pattern() {
    let input = organization("crossrepl-*", false);
    assert_eq!(input.role_arn_pattern, "arn:aws:iam::*:role/crossrepl-*");
    let s = organization_statement(&input);
    assert_eq!(s.principal, Some(Principal::Any));
    let condition = &s.condition.as_ref().unwrap().0;
    assert_eq!(condition["StringEquals"]["aws:PrincipalOrgID"].0, ["o-a1b2c3d4e5"]);
    assert_eq!(condition["ArnLike"]["aws:PrincipalArn"].0, ["arn:aws:iam::*:role/crossrepl-*"]);
    assert_eq!(s.action.as_ref().unwrap().0.len(), 4);
    let overriding = organization_statement(&organization("crossrepl-*", true));
    assert!(overriding.action.unwrap().0.contains(&OWNER_OVERRIDE_ACTION.to_string()));
    // The Sid follows the organization and the pattern, so several can share a bucket; import finds each.
    let other = organization("backup-*", true);
    assert_ne!(organization_sid(&input), organization_sid(&other));
    let doc = PolicyDocument::new(vec![foreign(), s, organization_statement(&other)]);
    assert_eq!(
        organization_grants(&doc, "o-a1b2c3d4e5"),
        [("arn:aws:iam::*:role/crossrepl-*".to_string(), false), ("arn:aws:iam::*:role/backup-*".to_string(), true)]
    );
    assert!(organization_grants(&doc, "o-0000000000").is_empty());
    // Its key-policy statement: the same restriction, through S3 only, for this bucket's replicas.
    let key = "arn:aws:kms:us-east-1:222222222222:key/1234abcd";
    let k = organization_key_statement(&input, key, true).unwrap();
    let c = &k.condition.as_ref().unwrap().0;
    assert_eq!(c["StringEquals"]["aws:PrincipalOrgID"].0, ["o-a1b2c3d4e5"]);
    assert_eq!(c["StringEquals"]["kms:ViaService"].0, ["s3.us-east-1.amazonaws.com"]);
    assert_eq!(c["ArnLike"]["aws:PrincipalArn"].0, ["arn:aws:iam::*:role/crossrepl-*"]);
    assert!(k.action.unwrap().0.contains(&"kms:GenerateDataKey".to_string()));
    assert!(k.sid.unwrap().ends_with("Kms"));
}

#[test]
fn arn_like_matches_component_by_component() {
    let pattern = "arn:aws:iam::*:role/crossrepl-*";
    assert!(arn_like(pattern, "arn:aws:iam::111111111111:role/crossrepl-acme"));
    assert!(!arn_like(pattern, "arn:aws:iam::111111111111:role/other"));
    assert!(!arn_like(pattern, "arn:aws:iam::111111111111:user/crossrepl-acme"));
    assert!(!arn_like(pattern, "arn:aws-cn:iam::111111111111:role/crossrepl-acme"));
    assert!(arn_like("arn:aws:iam::*:role/repl-??", "arn:aws:iam::1:role/repl-ab"));
    assert!(!arn_like("arn:aws:iam::*:role/repl-??", "arn:aws:iam::1:role/repl-abc"));
    // `*` stays within its component: it does not swallow the account's colon.
    assert!(!arn_like("arn:aws:iam:*:role/x", "arn:aws:iam::1:role/x"));
}
