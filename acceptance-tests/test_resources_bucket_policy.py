"""Scenario 6: crossrepl_destination merges into the bucket policy: foreign statements survive apply and destroy,
and three source accounts fan in to one destination bucket in a single apply."""

from __future__ import annotations

import pytest

from lib.aws_readers import Aws, check_destination_grant, check_nothing_left, crossrepl_statements
from lib.harness import Workspace, assert_converged, counts, planned_changes
from lib.naming import Names, arn, role_arn
from lib.scenarios import TwoAccounts, destination_resource, providers, source_resource, to
from lib.services import LocalStack


def foreign_statement(bucket: str) -> dict:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [arn(bucket), arn(bucket) + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def test_foreign_statements_survive(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    foreign = foreign_statement(dst)
    aws.put_bucket_policy(dst_acct, dst, {"Version": "2012-10-17", "Statement": [foreign]})
    ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
             + destination_resource("dr", "dst", dst, src_acct, src)
             + source_resource("data", "src", src, [to("dr")]))
    ws.init()
    ws.plan()
    ws.apply()
    statements = aws.statements(dst_acct, dst)
    assert foreign in statements, f"apply lost or altered the foreign statement: {statements}"
    check_destination_grant(statements, dst, src_acct, role_arn(src_acct, src))
    assert len(statements) == 3, statements
    assert_converged(ws, "apply")
    aws.objects().prove(src_acct, src, dst_acct, dst)

    ws.destroy()
    assert aws.statements(dst_acct, dst) == [foreign], \
        f"destroy must leave exactly the foreign statement: {aws.bucket_policy(dst_acct, dst)}"
    check_nothing_left(aws, src_acct, src)


def test_fan_in_three_source_accounts(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """Three crossrepl_destination resources on one bucket, same provider block, created in parallel in one
    apply: all six statements must be there (the provider serializes the policy read-modify-write)."""
    n = Names(request.node.nodeid)
    dst_acct = n.account(9)
    dst = n.bucket("dst")
    sources = [(n.account(i), n.bucket(f"src{i}")) for i in range(3)]
    aws = Aws(ls)
    aws.create_bucket(dst_acct, dst)
    hcl = providers(ls.endpoint, dst=dst_acct, **{f"s{i}": acct for i, (acct, _) in enumerate(sources)})
    for i, (acct, bucket) in enumerate(sources):
        aws.create_bucket(acct, bucket)
        hcl += destination_resource(f"from{i}", "dst", dst, acct, bucket)
        hcl += source_resource(f"data{i}", f"s{i}", bucket, [to(f"from{i}")])
    ws.write(hcl)
    ws.init()
    plan = ws.plan()
    assert counts(plan) == (6, 0, 0), plan.change_summary()
    ws.apply()

    statements = aws.statements(dst_acct, dst)
    assert len(crossrepl_statements(statements)) == 6, \
        f"expected 6 crossrepl statements (3 sources x 2) after one parallel apply, got: " \
        f"{sorted(s.get('Sid') for s in statements)}"
    for acct, bucket in sources:
        check_destination_grant(statements, dst, acct, role_arn(acct, bucket))
        cfg = aws.replication(acct, bucket)
        assert cfg and cfg["Rules"][0]["Destination"] == {"Bucket": arn(dst), "Account": dst_acct}, cfg
    assert_converged(ws, "the fan-in apply")
    objs = aws.objects()
    for acct, bucket in sources:
        objs.assert_replicated(objs.put(acct, bucket, "fan-in.txt", tags={"from": acct}), dst_acct, dst)

    # dropping one source pair removes only its two statements
    ws.write(hcl.split('\nresource "crossrepl_destination" "from2"')[0])
    plan = ws.plan()
    assert counts(plan) == (0, 0, 2), f"removing the third pair: {plan.change_summary()}: {planned_changes(plan)}"
    ws.apply()
    statements = aws.statements(dst_acct, dst)
    assert len(crossrepl_statements(statements)) == 4, sorted(s.get("Sid") for s in statements)
    assert crossrepl_statements(statements, sources[2][0]) == [], "the removed source's statements are still there"
    check_nothing_left(aws, *sources[2])

    ws.destroy()
    assert aws.bucket_policy(dst_acct, dst) is None, \
        f"no statement was foreign: the policy should be gone, got {aws.bucket_policy(dst_acct, dst)}"
    for acct, bucket in sources:
        check_nothing_left(aws, acct, bucket)
    assert aws.bucket_exists(dst_acct, dst)
