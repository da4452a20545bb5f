"""Scenario 6: crossrepl_destination merges into the bucket policy: foreign statements survive apply and destroy,
three source accounts fan in to one destination bucket in a single apply, and the per-source statements of earlier
releases move into the one statement with no moment where a source is not admitted."""

from __future__ import annotations

import threading
import time

import pytest

from lib.aws_readers import Aws, admits, admitted_roles, check_destination_grant, check_nothing_left, \
    crossrepl_statements
from lib.constants import ROLES_SID
from lib.harness import Workspace, assert_converged, counts, plan_document, planned_changes
from lib.naming import Names, arn, destination_sid, role_arn
from lib.scenarios import TwoAccounts, destination_resource, providers, source_resource, to
from lib.services import LocalStack


def foreign_statement(bucket: str) -> dict:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [arn(bucket), arn(bucket) + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def fan_in_config(ls: LocalStack, aws: Aws, dst_acct: str, dst: str, sources: list[tuple[str, str]]) -> str:
    """Creates the source buckets; the HCL of one crossrepl_destination (through one destination provider block) and
    one crossrepl_source per source, all into bucket `dst`."""
    hcl = providers(ls.endpoint, dst=dst_acct, **{f"s{i}": acct for i, (acct, _) in enumerate(sources)})
    for i, (acct, bucket) in enumerate(sources):
        aws.create_bucket(acct, bucket)
        hcl += destination_resource(f"from{i}", "dst", dst, acct, bucket)
        hcl += source_resource(f"data{i}", f"s{i}", bucket, [to(f"from{i}")])
    return hcl


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
    assert len(statements) == 2, statements
    assert_converged(ws, "apply")
    aws.objects().prove(src_acct, src, dst_acct, dst)

    ws.destroy()
    assert aws.statements(dst_acct, dst) == [foreign], \
        f"destroy must leave exactly the foreign statement: {aws.bucket_policy(dst_acct, dst)}"
    check_nothing_left(aws, src_acct, src)


def test_fan_in_three_source_accounts(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """Three crossrepl_destination resources on one bucket, same provider block, created in parallel in one
    apply: crossrepl's one statement must admit all three roles (the provider serializes the policy
    read-modify-write)."""
    n = Names(request.node.nodeid)
    dst_acct = n.account(9)
    dst = n.bucket("dst")
    sources = [(n.account(i), n.bucket(f"src{i}")) for i in range(3)]
    aws = Aws(ls)
    aws.create_bucket(dst_acct, dst)
    hcl = fan_in_config(ls, aws, dst_acct, dst, sources)
    ws.write(hcl)
    ws.init()
    plan = ws.plan()
    assert counts(plan) == (6, 0, 0), plan.change_summary()
    ws.apply()

    statements = aws.statements(dst_acct, dst)
    assert admitted_roles(statements) == sorted(role_arn(acct, bucket) for acct, bucket in sources), \
        f"expected the 3 roles admitted after one parallel apply, got: {admitted_roles(statements)}"
    assert len(crossrepl_statements(statements)) == 1, sorted(s.get('Sid') for s in statements)
    for acct, bucket in sources:
        check_destination_grant(statements, dst, acct, role_arn(acct, bucket))
        cfg = aws.replication(acct, bucket)
        assert cfg and cfg["Rules"][0]["Destination"] == {"Bucket": arn(dst), "Account": dst_acct}, cfg
    assert_converged(ws, "the fan-in apply")
    objs = aws.objects()
    for acct, bucket in sources:
        objs.assert_replicated(objs.put(acct, bucket, "fan-in.txt", tags={"from": acct}), dst_acct, dst)

    # dropping one source pair removes only its role
    ws.write(hcl.split('\nresource "crossrepl_destination" "from2"')[0])
    plan = ws.plan()
    assert counts(plan) == (0, 0, 2), f"removing the third pair: {plan.change_summary()}: {planned_changes(plan)}"
    ws.apply()
    statements = aws.statements(dst_acct, dst)
    assert admitted_roles(statements) == sorted(role_arn(acct, bucket) for acct, bucket in sources[:2]), \
        f"the removed source's role must go, the others stay: {admitted_roles(statements)}"
    check_nothing_left(aws, *sources[2])

    ws.destroy()
    assert aws.bucket_policy(dst_acct, dst) is None, \
        f"no statement was foreign: the policy should be gone, got {aws.bucket_policy(dst_acct, dst)}"
    for acct, bucket in sources:
        check_nothing_left(aws, acct, bucket)
    assert aws.bucket_exists(dst_acct, dst)


def per_source_statements(dst: str, acct: str, role: str) -> list[dict]:
    """The two statements earlier releases merged for one source role (the shape of their golden documents)."""
    sid = destination_sid(acct, role.rsplit("/", 1)[1])
    principal, condition = {"AWS": f"arn:aws:iam::{acct}:root"}, {"ArnEquals": {"aws:PrincipalArn": role}}
    return [{"Sid": sid, "Effect": "Allow", "Principal": principal, "Condition": condition,
             "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], "Resource": arn(dst) + "/*"},
            {"Sid": sid + "Bucket", "Effect": "Allow", "Principal": principal, "Condition": condition,
             "Action": "s3:GetBucketVersioning", "Resource": arn(dst)}]


def test_per_source_statements_migrate_in_place(ws: Workspace, ls: LocalStack,
                                                request: pytest.FixtureRequest) -> None:
    """A bucket policy in the per-source form of earlier releases (two statements per source): the next plan shows
    an in-place update of statement_sid per destination, and the apply moves each role into the one statement while
    a sampler reading the policy throughout finds every role admitted in every sample."""
    n = Names(request.node.nodeid)
    dst_acct, dst = n.account(9), n.bucket("dst")
    sources = [(n.account(i), n.bucket(f"src{i}")) for i in range(2)]
    roles = [role_arn(acct, bucket) for acct, bucket in sources]
    aws = Aws(ls)
    aws.create_bucket(dst_acct, dst)
    hcl = fan_in_config(ls, aws, dst_acct, dst, sources)
    ws.write(hcl)
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    # What an earlier release left: per-source statements, beside a foreign one.
    foreign = foreign_statement(dst)
    legacy = [s for (acct, _), role in zip(sources, roles) for s in per_source_statements(dst, acct, role)]
    aws.put_bucket_policy(dst_acct, dst, {"Version": "2012-10-17", "Statement": [foreign] + legacy})

    plan = ws.plan()
    assert counts(plan) == (0, 2, 0), f"{plan.change_summary()}: {planned_changes(plan)}"
    changes = {c["address"]: c for c in plan_document(ws)["resource_changes"] if c["change"]["actions"] != ["no-op"]}
    for i, (acct, _) in enumerate(sources):
        change = changes[f"crossrepl_destination.from{i}"]["change"]
        assert change["before"]["statement_sid"] == destination_sid(acct, roles[i].rsplit("/", 1)[1]), change
        assert change["after"]["statement_sid"] == ROLES_SID, change

    samples, gaps, stop = [0], [], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            statements = aws.statements(dst_acct, dst)
            missing = [r for r in roles if not admits(statements, r)]
            if missing or foreign not in statements:
                gaps.append(f"not admitted: {missing}; statements: {[s.get('Sid') for s in statements]}")
            samples[0] += 1
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    ws.apply()
    stop.set()
    sampler.join(timeout=30)
    assert samples[0] >= 3 and not gaps, f"{len(gaps)} of {samples[0]} samples found a source not admitted: {gaps[:3]}"
    statements = aws.statements(dst_acct, dst)
    assert [s.get("Sid") for s in statements] == ["DenyInsecureTransport", ROLES_SID], statements
    assert admitted_roles(statements) == sorted(roles), statements
    assert_converged(ws, "the migration")
    objs = aws.objects()
    for acct, bucket in sources:
        objs.assert_replicated(objs.put(acct, bucket, "migrated.txt"), dst_acct, dst)
    ws.destroy()
    assert aws.statements(dst_acct, dst) == [foreign], aws.bucket_policy(dst_acct, dst)
