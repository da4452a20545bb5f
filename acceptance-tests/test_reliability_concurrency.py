"""Reliability 6: fan-in of 10 source accounts into one destination bucket, -parallelism=10 (issue 6, "Concurrency").

Ten provider blocks src0..src9 (one account each) with a crossrepl_source each, and ten crossrepl_destination
on ONE destination bucket through one destination provider block, applied with -parallelism=10: the ten
destinations read-modify-write the same bucket policy concurrently (LocalStack, like S3, is last-writer-wins).
After apply: all 20 crossrepl statements (2 per source account) are in the bucket policy, each source has its
role and replication configuration, an object from every source arrives in the bucket, and the plan is empty. After destroy (also -parallelism=10): no crossrepl
statement is left (a foreign statement put there first survives), and no role/policy/replication configuration.

Rounds: CROSSREPL_FANIN_ROUNDS (default 2; 10 with CROSSREPL_SOAK=1); sources: CROSSREPL_FANIN_SOURCES (10).
"""

from __future__ import annotations

import os

import pytest

from lib.aws_readers import Aws, check_destination_grant, crossrepl_statements
from lib.harness import Workspace, errors, plan_counts, planned_changes, state_list
from lib.naming import Names, arn, role_arn, rule_id
from lib.reliability import rounds
from lib.scenarios import destination_resource, providers, source_resource, to
from lib.services import LocalStack

FOREIGN = {"Sid": "SomeoneElses", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
           "Action": "s3:GetObject", "Resource": None}


# "per-source": ten provider processes race on one bucket policy. The per-bucket lock serializes writers within
# one process only; across processes, crossrepl looks at the policy again after a write or removal has settled and
# redoes it when another writer dropped it.
@pytest.mark.parametrize("dest_blocks", ["one", "per-source"])
def test_reliability_fan_in(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest, dest_blocks: str) -> None:
    """dest_blocks=one: the issue's setup, one destination provider block (one provider process serializes).
    dest_blocks=per-source: each crossrepl_destination through its own provider block of the same destination
    account, so ten provider PROCESSES race on the one bucket policy (as ten separate configurations would)."""
    n_rounds = rounds("CROSSREPL_FANIN_ROUNDS", 2, 10)
    n_src = int(os.environ.get("CROSSREPL_FANIN_SOURCES", "10"))
    names = Names(request.node.nodeid)
    aws = Aws(ls)
    dst_acct = names.account(99)
    dst = names.bucket("dst")
    srcs = [(names.account(i), names.bucket(f"src{i}")) for i in range(n_src)]
    aws.create_bucket(dst_acct, dst)
    foreign = dict(FOREIGN, Resource=arn(dst) + "/*")
    aws.put_bucket_policy(dst_acct, dst, {"Version": "2012-10-17", "Statement": [foreign]})
    for acct, b in srcs:
        aws.create_bucket(acct, b)

    blocks = {f"src{i}": acct for i, (acct, _) in enumerate(srcs)}
    if dest_blocks == "one":
        blocks["dst"] = dst_acct
    else:
        blocks.update({f"dst{i}": dst_acct for i in range(n_src)})
    hcl = providers(ls.endpoint, **blocks)
    for i, (acct, b) in enumerate(srcs):
        hcl += destination_resource(f"d{i}", "dst" if dest_blocks == "one" else f"dst{i}", dst, acct, b)
        hcl += source_resource(f"s{i}", f"src{i}", b, [to(f"d{i}")])
    ws.write(hcl)
    ws.init()

    log = []
    for rnd in range(n_rounds):
        where = f"round {rnd}"
        a = ws.run("apply", "-input=false", "-auto-approve", "-parallelism=10")
        assert a.ok, f"{where}: apply failed: {errors(a)}"
        statements = aws.statements(dst_acct, dst)
        ours = crossrepl_statements(statements)
        by_account = {acct: len(crossrepl_statements(statements, acct)) for acct, _ in srcs}
        assert len(ours) == 2 * n_src and all(v == 2 for v in by_account.values()), \
            f"{where}: {len(ours)} crossrepl statements in the policy of {dst}, expected {2 * n_src} " \
            f"(2 per source account): {by_account}"
        for acct, b in srcs:
            check_destination_grant(statements, dst, acct, role_arn(acct, b))
            cfg = aws.replication(acct, b)
            assert cfg and [r.get("ID") for r in cfg["Rules"]] == [rule_id(dst)], f"{where}: replication of {b}: {cfg}"
        assert any(s.get("Sid") == "SomeoneElses" for s in statements), f"{where}: the foreign statement was lost"
        # every source's objects reach the one bucket (each admitted by its own statements)
        objs = aws.objects()
        for acct, b in srcs:
            objs.assert_replicated(objs.put(acct, b, f"fan-in/{b}-{rnd}.txt", tags={"from": b}), dst_acct, dst)

        p = ws.run("plan", "-input=false", "-parallelism=10")
        assert p.ok and plan_counts(p) == (0, 0, 0), \
            f"{where}: plan after apply not empty: {errors(p)} {planned_changes(p)}"

        d = ws.run("destroy", "-input=false", "-auto-approve", "-parallelism=10")
        assert d.ok, f"{where}: destroy failed: {errors(d)}"
        assert state_list(ws) == [], f"{where}: state after destroy: {state_list(ws)}"
        left = crossrepl_statements(aws.statements(dst_acct, dst))
        assert left == [], f"{where}: {len(left)} crossrepl statements left after destroy: " \
                           f"{sorted(s.get('Sid') for s in left)}"
        assert [s.get("Sid") for s in aws.statements(dst_acct, dst)] == ["SomeoneElses"], \
            f"{where}: the foreign statement must survive alone: {aws.statements(dst_acct, dst)}"
        for acct, b in srcs:
            assert aws.local_roles(acct) == [] and aws.local_policies(acct) == [], f"{where}: IAM left in {acct}"
            assert aws.replication(acct, b) is None, f"{where}: replication left on {b}"
        log.append(f"{where}: apply {a.seconds:.1f} s, plan {p.seconds:.1f} s, destroy {d.seconds:.1f} s")
    print("\n".join(log))
