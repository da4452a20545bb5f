"""Scenario 1: examples/cross-account/ applied as a user would, checked in both accounts with boto3."""

from __future__ import annotations

from lib.aws_readers import check_destination_grant, check_nothing_left, check_role
from lib.examples import copy_example
from lib.harness import Workspace, counts
from lib.constants import ROLES_SID
from lib.naming import arn, role_arn, role_name, rule_id
from lib.scenarios import TwoAccounts
from lib.services import LocalStack


def test_cross_account_example(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    src_acct, dst_acct, src, dst, aws, _ = two_accounts  # buckets unversioned: crossrepl turns versioning on
    copy_example(ws, source_bucket=src, destination_bucket=dst, source_account_id=src_acct,
                 source_access_key=src_acct, source_secret_key="test",
                 destination_access_key=dst_acct, destination_secret_key="test", endpoint=ls.endpoint)

    ws.init()
    plan = ws.plan()
    assert counts(plan) == (2, 0, 0), f"first plan: {plan.change_summary()}"
    ws.apply()
    role = role_arn(src_acct, src)

    # versioning, both accounts
    assert aws.versioning(src_acct, src) == "Enabled", "source bucket versioning"
    assert aws.versioning(dst_acct, dst) == "Enabled", "destination bucket versioning"

    # the role and its policy, in the source account only
    check_role(aws, src_acct, src, [dst])
    assert aws.local_roles(dst_acct) == [] and aws.local_policies(dst_acct) == [], \
        "crossrepl created IAM entities in the destination account"

    # the replication configuration
    cfg = aws.replication(src_acct, src)
    assert cfg is not None, f"no replication configuration on {src}"
    assert cfg["Role"] == role, cfg
    assert len(cfg["Rules"]) == 1, cfg
    rule = cfg["Rules"][0]
    assert rule.get("ID") == rule_id(dst), rule
    assert rule.get("Status") == "Enabled", rule
    assert rule.get("Priority") == 1, rule
    assert "Filter" in rule, f"V2 rule needs a Filter: {rule}"
    assert rule.get("DeleteMarkerReplication", {}).get("Status") == "Enabled", rule
    assert rule["Destination"].get("Bucket") == arn(dst), rule
    assert rule["Destination"].get("Account") == dst_acct, rule
    assert "AccessControlTranslation" not in rule["Destination"], f"owner override not asked for: {rule}"
    assert "ExistingObjectReplication" not in rule, rule

    # the destination bucket policy
    statements = aws.statements(dst_acct, dst)
    check_destination_grant(statements, dst, src_acct, role)
    assert len(statements) == 1, f"only crossrepl's statement expected: {statements}"

    # outputs of the example
    outputs = ws.must("output", "-json", json_out=False).document()
    assert outputs["replication_role_arn"]["value"] == role, outputs
    assert outputs["destination_statement_sid"]["value"] == ROLES_SID, outputs

    # S3 would replicate with it: an object (tags, metadata) and its delete marker reach the other account
    aws.objects().prove(src_acct, src, dst_acct, dst)

    again = ws.plan()
    assert counts(again) == (0, 0, 0), f"plan after apply not empty: {again.change_summary()}"

    destroy = ws.destroy()
    assert counts(destroy) == (0, 0, 2), f"destroy: {destroy.change_summary()}"
    check_nothing_left(aws, src_acct, src)
    assert aws.bucket_policy(dst_acct, dst) is None, \
        f"bucket policy left on {dst} (it had only crossrepl's statements): {aws.bucket_policy(dst_acct, dst)}"
    assert aws.bucket_exists(dst_acct, dst), f"destination bucket {dst} was deleted"
    assert aws.versioning(src_acct, src) == "Enabled" and aws.versioning(dst_acct, dst) == "Enabled", \
        "versioning must stay enabled after destroy"
