"""Scenario 3: updates in place (destinations added and removed, prefix, storage class, RTC, owner override),
and replacement when the source `bucket` changes."""

from __future__ import annotations

import pytest

from lib.aws_readers import Aws, admitted_roles, check_destination_grant, check_nothing_left, check_role, rules_by_id
from lib.constants import OWNER_OVERRIDE_SID
from lib.harness import Workspace, assert_converged, counts, planned_changes
from lib.naming import Names, arn, policy_arn, role_arn, role_name, rule_id
from lib.scenarios import destination_resource, providers, source_resource, to
from lib.services import LocalStack


def test_updates_in_place_and_replacement(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    n = Names(request.node.nodeid)
    src_acct, dst_acct = n.account(0), n.account(1)
    src, src2, a, b = n.bucket("src"), n.bucket("src2"), n.bucket("dsta"), n.bucket("dstb")
    aws = Aws(ls)
    aws.create_bucket(src_acct, src)
    aws.create_bucket(src_acct, src2)
    aws.create_bucket(dst_acct, a)
    aws.create_bucket(dst_acct, b)

    def write(dests: list[dict], source_bucket: str = src) -> None:
        ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
                 + destination_resource("a", "dst", a, src_acct, source_bucket, accept_owner_override=True)
                 + destination_resource("b", "dst", b, src_acct, source_bucket)
                 + source_resource("data", "src", source_bucket, dests))

    def rules() -> dict[str, dict]:
        cfg = aws.replication(src_acct, src)
        assert cfg is not None, f"replication configuration of {src} disappeared"
        return rules_by_id(cfg)

    def update(what: str, dests: list[dict]) -> dict[str, dict]:
        """One in-place update: plan says exactly 1 to change, apply, then an empty plan."""
        write(dests)
        plan = ws.plan()
        assert counts(plan) == (0, 1, 0), f"{what}: expected 1 to change in place, got {plan.change_summary()}: " \
                                          f"{planned_changes(plan)}"
        applied = ws.apply()
        assert counts(applied) == (0, 1, 0), f"{what}: apply reported {applied.change_summary()}"
        assert_converged(ws, what)
        return rules()

    write([to("a")])
    ws.init()
    ws.plan()
    ws.apply()
    assert sorted(rules()) == [rule_id(a)]

    # add a destination (its crossrepl_destination exists already, so only the source changes)
    objs = aws.objects()
    got = update("adding destination b", [to("a"), to("b")])
    assert sorted(got) == sorted([rule_id(a), rule_id(b)]), got
    both = objs.put(src_acct, src, "both.txt")
    objs.assert_replicated(both, dst_acct, a)
    objs.assert_replicated(both, dst_acct, b)
    assert (got[rule_id(a)]["Priority"], got[rule_id(b)]["Priority"]) == (1, 2), got
    assert got[rule_id(b)]["Destination"] == {"Bucket": arn(b), "Account": dst_acct}, got[rule_id(b)]
    check_role(aws, src_acct, src, [a, b])

    # prefix
    got = update("setting prefix on b", [to("a"), {**to("b"), "prefix": "logs/"}])
    assert got[rule_id(b)]["Filter"].get("Prefix") == "logs/", got[rule_id(b)]
    assert got[rule_id(a)]["Filter"].get("Prefix", "") == "", f"rule a must not change: {got[rule_id(a)]}"
    not_logs = objs.put(src_acct, src, "data/1.txt")
    objs.assert_replicated(not_logs, dst_acct, a)
    assert objs.replica(dst_acct, b, not_logs.key, not_logs.version_id) is None, "b's rule is for logs/ only"

    # storage class
    b_final = {**to("b"), "prefix": "logs/", "storage_class": "STANDARD_IA"}
    got = update("setting storage_class on b", [to("a"), b_final])
    assert got[rule_id(b)]["Destination"].get("StorageClass") == "STANDARD_IA", got[rule_id(b)]
    assert got[rule_id(b)]["Filter"].get("Prefix") == "logs/", got[rule_id(b)]
    logs = objs.put(src_acct, src, "logs/1.txt")
    assert objs.assert_replicated(logs, dst_acct, b).storage_class == "STANDARD_IA"
    assert objs.assert_replicated(logs, dst_acct, a).storage_class == "STANDARD"

    # replication time control, with metrics
    got = update("enabling replication_time_control on a", [{**to("a"), "replication_time_control": True}, b_final])
    dest_a = got[rule_id(a)]["Destination"]
    assert dest_a.get("ReplicationTime") == {"Status": "Enabled", "Time": {"Minutes": 15}}, dest_a
    assert dest_a.get("Metrics") == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}, dest_a
    got = update("disabling replication_time_control on a", [to("a"), b_final])
    assert "ReplicationTime" not in got[rule_id(a)]["Destination"], got[rule_id(a)]

    # owner override on and off: each changes the role policy too (a new default version each time; IAM keeps
    # at most 5 versions, so crossrepl has to prune the old ones)
    for on in (True, False, True):
        got = update(f"owner_override = {on} on a", [{**to("a"), "owner_override": on}, b_final])
        dest_a = got[rule_id(a)]["Destination"]
        if on:
            assert dest_a.get("AccessControlTranslation") == {"Owner": "Destination"}, dest_a
        else:
            assert "AccessControlTranslation" not in dest_a, dest_a
        doc_actions = {act for s in aws.policy_document(src_acct, policy_arn(src_acct, src))["Statement"]
                       for act in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
        assert ("s3:ObjectOwnerOverrideToBucketOwner" in doc_actions) == on, \
            f"owner_override = {on}: role policy actions {sorted(doc_actions)}"
        owned = objs.assert_replicated(objs.put(src_acct, src, f"owner-{on}.txt"), dst_acct, a).owner
        dst_owner = aws.s3(dst_acct).get_bucket_acl(Bucket=a)["Owner"]["ID"]
        assert (owned == dst_owner) == on, f"owner_override = {on}: replica owned by {owned}, bucket by {dst_owner}"

    # remove a destination: only b's rule is left, now first in order (the sixth version of the role policy)
    got = update("removing destination a", [b_final])
    assert sorted(got) == [rule_id(b)], got
    assert got[rule_id(b)]["Priority"] == 1, f"b is now the first block: {got[rule_id(b)]}"
    check_role(aws, src_acct, src, [b])
    versions = aws.policy_versions(src_acct, policy_arn(src_acct, src))
    assert len(versions) <= 5, f"policy versions not pruned: {[v['VersionId'] for v in versions]}"

    # a new source bucket replaces the source (the destinations follow the derived role name in place)
    write([b_final], source_bucket=src2)
    plan = ws.plan()
    assert counts(plan) == (1, 2, 1), f"changing the source bucket: {plan.change_summary()}: {planned_changes(plan)}"
    replaced = [c for c in planned_changes(plan) if c.startswith("crossrepl_source.data:")]
    assert replaced == ["crossrepl_source.data: replace"], planned_changes(plan)
    ws.apply()
    assert aws.replication(src_acct, src) is None, "the old source bucket still has a replication configuration"
    assert aws.role(src_acct, role_name(src)) is None, "the old role was not deleted"
    assert aws.local_policies(src_acct) == [policy_arn(src_acct, src2)], aws.local_policies(src_acct)
    check_role(aws, src_acct, src2, [b])
    cfg = aws.replication(src_acct, src2)
    assert cfg and cfg["Role"] == role_arn(src_acct, src2) and sorted(rules_by_id(cfg)) == [rule_id(b)], cfg
    for bucket in (a, b):
        statements = aws.statements(dst_acct, bucket)
        check_destination_grant(statements, bucket, src_acct, role_arn(src_acct, src2))
        new = [role_arn(src_acct, src2)]
        assert admitted_roles(statements) == new and admitted_roles(statements, OWNER_OVERRIDE_SID) in ([], new), \
            f"the old role is still admitted on {bucket}: {statements}"
    objs.assert_replicated(objs.put(src_acct, src2, "logs/from-src2.txt"), dst_acct, b)
    assert_converged(ws, "replacing the source")

    ws.destroy()
    check_nothing_left(aws, src_acct, src2)
    for bucket in (a, b):
        assert aws.bucket_policy(dst_acct, bucket) is None, bucket
