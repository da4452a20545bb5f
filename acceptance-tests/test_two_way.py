"""Two-way replication (issue #7): examples/two-way/ applied as a user would, checked in both accounts with boto3.

Bucket A (account A) replicates into bucket B (account B) and back, with replica modification sync, declared as
one crossrepl_destination + crossrepl_source pair per direction (no dependency cycle), applied in one go.
"""

from __future__ import annotations

import pytest

from lib.aws_readers import Aws, check_destination_grant, check_nothing_left, check_role
from lib.examples import copy_example
from lib.harness import Workspace, assert_converged_exit_code, counts, planned_changes
from lib.constants import ROLES_SID
from lib.naming import Names, arn, role_arn, role_name, rule_id
from lib.services import LocalStack


def check_two_way_rule(cfg: dict | None, bucket: str, role: str, to_bucket: str, to_account: str) -> None:
    """Exactly one enabled rule on `bucket`, into `to_bucket` of `to_account`, with replica modifications synced."""
    assert cfg is not None, f"no replication configuration on {bucket}"
    assert cfg["Role"] == role, f"replication role of {bucket}: {cfg['Role']}, expected {role}"
    assert len(cfg["Rules"]) == 1, f"{bucket}: expected one rule: {cfg}"
    rule = cfg["Rules"][0]
    assert rule.get("ID") == rule_id(to_bucket), rule
    assert rule.get("Status") == "Enabled", rule
    assert rule.get("Priority") == 1, rule
    assert "Filter" in rule, f"V2 rule needs a Filter: {rule}"
    assert rule["Destination"].get("Bucket") == arn(to_bucket), rule
    assert rule["Destination"].get("Account") == to_account, rule
    assert rule.get("DeleteMarkerReplication", {}).get("Status") == "Enabled", rule
    ssc = rule.get("SourceSelectionCriteria", {})
    assert ssc.get("ReplicaModifications", {}).get("Status") == "Enabled", \
        f"rule on {bucket} must sync replica modifications: {rule}"
    assert "SseKmsEncryptedObjects" not in ssc, f"no KMS asked for: {rule}"
    assert "AccessControlTranslation" not in rule["Destination"], f"owner override not asked for: {rule}"


def test_two_way_example(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    n = Names(request.node.nodeid)
    acct_a, acct_b = n.account(0), n.account(1)
    a, b = n.bucket("a"), n.bucket("b")
    aws = Aws(ls)
    aws.create_bucket(acct_a, a)  # versioning off on both: crossrepl turns it on
    aws.create_bucket(acct_b, b)
    copy_example(ws, "two-way", bucket_a=a, bucket_b=b, account_a_id=acct_a, account_b_id=acct_b,
                         access_key_a=acct_a, secret_key_a="test", access_key_b=acct_b, secret_key_b="test",
                         endpoint=ls.endpoint)

    ws.init()
    plan = ws.plan()  # a dependency cycle would fail here
    assert counts(plan) == (4, 0, 0), f"first plan: {plan.change_summary()}: {planned_changes(plan)}"
    ws.apply()
    role_a, role_b = role_arn(acct_a, a), role_arn(acct_b, b)

    # versioning on both buckets
    assert aws.versioning(acct_a, a) == "Enabled", "bucket A versioning"
    assert aws.versioning(acct_b, b) == "Enabled", "bucket B versioning"

    # one role per account, each scoped to its own bucket and the other bucket's objects
    check_role(aws, acct_a, a, [b])
    check_role(aws, acct_b, b, [a])
    assert aws.local_roles(acct_a) == [role_name(a)], f"roles in account A: {aws.local_roles(acct_a)}"
    assert aws.local_roles(acct_b) == [role_name(b)], f"roles in account B: {aws.local_roles(acct_b)}"

    # the replication configurations, A -> B and B -> A
    check_two_way_rule(aws.replication(acct_a, a), a, role_a, b, acct_b)
    check_two_way_rule(aws.replication(acct_b, b), b, role_b, a, acct_a)

    # each bucket's policy admits exactly the other account's role, and nothing else
    statements_b = aws.statements(acct_b, b)
    check_destination_grant(statements_b, b, acct_a, role_a)
    assert len(statements_b) == 1, f"only crossrepl's statement for account A expected on B: {statements_b}"
    statements_a = aws.statements(acct_a, a)
    check_destination_grant(statements_a, a, acct_b, role_b)
    assert len(statements_a) == 1, f"only crossrepl's statement for account B expected on A: {statements_a}"

    # outputs of the example
    outputs = ws.must("output", "-json", json_out=False).document()
    assert outputs["replication_role_arn_a"]["value"] == role_a, outputs
    assert outputs["replication_role_arn_b"]["value"] == role_b, outputs
    assert outputs["statement_sid_on_b"]["value"] == ROLES_SID, outputs
    assert outputs["statement_sid_on_a"]["value"] == ROLES_SID, outputs

    # converged: an empty plan, also by the engine's detailed exit code (0 = no changes, 2 = changes)
    assert_converged_exit_code(ws, "apply")

    # objects move both ways, replicas are not replicated back, and metadata changed on a replica flows back
    objs = aws.objects()
    objs.prove(acct_a, a, acct_b, b, key="from-a.txt")
    objs.prove(acct_b, b, acct_a, a, key="from-b.txt")
    put = objs.put(acct_a, a, "synced.txt", tags={"state": "new"})
    objs.assert_replicated(put, acct_b, b)
    assert objs.replica(acct_a, a, put.key, put.version_id).status == "COMPLETED", "the replica came back to A"
    aws.s3(acct_b).put_object_tagging(Bucket=b, Key=put.key, VersionId=put.version_id,
                                      Tagging={"TagSet": [{"Key": "state", "Value": "reviewed"}]})
    objs.journal()  # the engine is idle: the change on the replica in B has been replicated to A
    assert objs.replica(acct_a, a, put.key, put.version_id).tags == {"state": "reviewed"}, \
        "a tag change on the replica in B did not reach the original in A (replica modification sync)"

    destroy = ws.destroy()
    assert counts(destroy) == (0, 0, 4), f"destroy: {destroy.change_summary()}"
    for acct, bucket in ((acct_a, a), (acct_b, b)):
        check_nothing_left(aws, acct, bucket)  # no role, policy or replication configuration; bucket kept
        assert aws.bucket_policy(acct, bucket) is None, \
            f"bucket policy left on {bucket} (it had only crossrepl's statements): {aws.bucket_policy(acct, bucket)}"
        assert aws.versioning(acct, bucket) == "Enabled", f"versioning of {bucket} must stay enabled after destroy"
