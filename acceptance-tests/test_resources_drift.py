"""Scenario 4: every managed part changed or deleted out of band with boto3; plan reports it, apply repairs it,
and the plan after that is empty."""

from __future__ import annotations

import json
from typing import Callable

from lib.aws_readers import check_destination_grant, check_nothing_left, check_role
from lib.constants import ROLES_SID
from lib.harness import Workspace, assert_converged, counts, planned_changes
from lib.naming import policy_arn, role_arn, role_name
from lib.scenarios import TwoAccounts, destination_resource, providers, source_resource, to
from lib.services import LocalStack

FOREIGN = {"Sid": "SomeoneElses", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
           "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/public/*"}


def test_drift_is_detected_and_repaired(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    foreign = json.loads(json.dumps(FOREIGN).replace("{bucket}", dst))
    aws.put_bucket_policy(dst_acct, dst, {"Version": "2012-10-17", "Statement": [foreign]})
    ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
             + destination_resource("dr", "dst", dst, src_acct, src)
             + source_resource("data", "src", src, [to("dr")]))
    ws.init()
    ws.plan()
    ws.apply()
    assert_converged(ws, "apply")

    role, rname, parn = role_arn(src_acct, src), role_name(src), policy_arn(src_acct, src)
    s3_src, s3_dst, iam = aws.s3(src_acct), aws.s3(dst_acct), aws.iam(src_acct)
    good_config = aws.replication(src_acct, src)
    objs = aws.objects()
    objs.prove(src_acct, src, dst_acct, dst)

    def check_all(with_foreign: bool) -> None:
        """Everything as crossrepl wrote it, after a repair."""
        assert aws.versioning(src_acct, src) == "Enabled", "source versioning"
        assert aws.versioning(dst_acct, dst) == "Enabled", "destination versioning"
        check_role(aws, src_acct, src, [dst])
        assert aws.replication(src_acct, src) == good_config, \
            f"replication configuration {aws.replication(src_acct, src)}, expected {good_config}"
        statements = aws.statements(dst_acct, dst)
        check_destination_grant(statements, dst, src_acct, role)
        if with_foreign:
            assert foreign in statements, f"the foreign statement was lost: {statements}"
        assert len(statements) == 1 + with_foreign, statements

    def drop_crossrepl_statements() -> None:
        aws.put_bucket_policy(dst_acct, dst, {"Version": "2012-10-17", "Statement": [foreign]})

    def alter_crossrepl_statement() -> None:
        doc = aws.bucket_policy(dst_acct, dst)
        for s in doc["Statement"]:
            if s.get("Sid") == ROLES_SID:
                s["Action"] = ["s3:ReplicateObject"]
        aws.put_bucket_policy(dst_acct, dst, doc)

    def change_rule() -> None:
        cfg = json.loads(json.dumps(good_config))
        cfg["Rules"][0]["DeleteMarkerReplication"] = {"Status": "Disabled"}
        cfg["Rules"][0]["Filter"] = {"Prefix": "only-this/"}
        s3_src.put_bucket_replication(Bucket=src, ReplicationConfiguration=cfg)

    def other_trust() -> None:
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "ec2.amazonaws.com"}}]}
        iam.update_assume_role_policy(RoleName=rname, PolicyDocument=json.dumps(doc))

    def other_policy_version() -> None:
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.create_policy_version(PolicyArn=parn, PolicyDocument=json.dumps(doc), SetAsDefault=True)

    def delete_role() -> None:
        iam.detach_role_policy(RoleName=rname, PolicyArn=parn)
        iam.delete_role(RoleName=rname)

    def delete_policy() -> None:
        iam.detach_role_policy(RoleName=rname, PolicyArn=parn)
        delete_policy_only()

    def delete_policy_only() -> None:
        for v in aws.policy_versions(src_acct, parn):
            if not v["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=parn, VersionId=v["VersionId"])
        iam.delete_policy(PolicyArn=parn)

    drifts: list[tuple[str, Callable[[], None]]] = [
        ("destination bucket-policy statements deleted", drop_crossrepl_statements),
        ("destination bucket-policy statement changed", alter_crossrepl_statement),
        ("destination bucket policy deleted", lambda: s3_dst.delete_bucket_policy(Bucket=dst)),
        ("destination versioning suspended",
         lambda: s3_dst.put_bucket_versioning(Bucket=dst, VersioningConfiguration={"Status": "Suspended"})),
        ("source versioning suspended",
         lambda: s3_src.put_bucket_versioning(Bucket=src, VersioningConfiguration={"Status": "Suspended"})),
        ("replication configuration deleted", lambda: s3_src.delete_bucket_replication(Bucket=src)),
        ("replication rule changed", change_rule),
        ("role trust policy replaced", other_trust),
        ("policy detached from the role", lambda: iam.detach_role_policy(RoleName=rname, PolicyArn=parn)),
        ("new default policy version with another document", other_policy_version),
        ("role deleted", delete_role),
        ("policy deleted", delete_policy),
    ]
    for i, (what, drift) in enumerate(drifts):
        drift()
        plan = ws.plan()
        add, change, remove = counts(plan)
        assert change >= 1 and add == 0 and remove == 0, \
            f"drift '{what}': plan should update in place, got {plan.change_summary()}: {planned_changes(plan)}"
        ws.apply()
        policy_gone = what == "destination bucket policy deleted"  # the foreign statement went with it
        try:
            check_all(with_foreign=not policy_gone)
            # repaired means S3 would replicate again: a new object arrives
            objs.assert_replicated(objs.put(src_acct, src, f"after-drift-{i}.txt"), dst_acct, dst)
        except AssertionError as e:
            raise AssertionError(f"after repairing drift '{what}': {e}") from None
        assert_converged(ws, f"repairing drift '{what}'")
        if policy_gone:  # put the foreign statement back next to crossrepl's, for the rest of the scenario
            doc = aws.bucket_policy(dst_acct, dst)
            aws.put_bucket_policy(dst_acct, dst, {**doc, "Statement": [foreign, *doc["Statement"]]})
            assert_converged(ws, "adding a foreign statement back")

    # destroy tolerates parts already deleted out of band
    s3_src.delete_bucket_replication(Bucket=src)
    delete_role()
    delete_policy_only()
    drop_crossrepl_statements()
    ws.destroy()
    check_nothing_left(aws, src_acct, src)
    assert aws.statements(dst_acct, dst) == [foreign], "only the foreign statement should be left"
