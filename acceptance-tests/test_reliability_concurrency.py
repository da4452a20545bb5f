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

from lib.aws_readers import Aws
from lib.fan_in import FanIn
from lib.harness import Workspace, errors, plan_counts, planned_changes, state_list
from lib.naming import Names
from lib.reliability import rounds
from lib.services import LocalStack


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
    fan = FanIn.create(Aws(ls), Names(request.node.nodeid), n_src)
    ws.write(fan.hcl(ls.endpoint, dest_blocks))
    ws.init()

    log = []
    for rnd in range(n_rounds):
        where = f"round {rnd}"
        a = ws.run("apply", "-input=false", "-auto-approve", "-parallelism=10")
        assert a.ok, f"{where}: apply failed: {errors(a)}"
        fan.check_applied(where, str(rnd))

        p = ws.run("plan", "-input=false", "-parallelism=10")
        assert p.ok and plan_counts(p) == (0, 0, 0), \
            f"{where}: plan after apply not empty: {errors(p)} {planned_changes(p)}"

        d = ws.run("destroy", "-input=false", "-auto-approve", "-parallelism=10")
        assert d.ok, f"{where}: destroy failed: {errors(d)}"
        assert state_list(ws) == [], f"{where}: state after destroy: {state_list(ws)}"
        fan.check_destroyed(where)
        log.append(f"{where}: apply {a.seconds:.1f} s, plan {p.seconds:.1f} s, destroy {d.seconds:.1f} s")
    print("\n".join(log))


def test_fan_in_beyond_the_per_source_limit(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """60 source accounts into one bucket (per-source statements stopped at about 25), each crossrepl_destination
    through its own provider block, so 60 provider processes race on the one bucket policy: apply, an empty plan, an
    object from a sample of 10 sources replicated, destroy; the foreign statement kept throughout.
    Sources: CROSSREPL_FANIN_LARGE (default 60)."""
    n_src = int(os.environ.get("CROSSREPL_FANIN_LARGE", "60"))
    fan = FanIn.create(Aws(ls), Names(request.node.nodeid), n_src)
    ws.write(fan.hcl(ls.endpoint, "per-source"))
    ws.init()
    a = ws.run("apply", "-input=false", "-auto-approve", "-parallelism=10")
    assert a.ok, f"apply failed: {errors(a)}"
    fan.check_applied("apply", "large", sample=10)
    p = ws.run("plan", "-input=false", "-parallelism=10")
    assert p.ok and plan_counts(p) == (0, 0, 0), f"plan after apply not empty: {errors(p)} {planned_changes(p)}"
    d = ws.run("destroy", "-input=false", "-auto-approve", "-parallelism=10")
    assert d.ok, f"destroy failed: {errors(d)}"
    assert state_list(ws) == [], f"state after destroy: {state_list(ws)}"
    fan.check_destroyed("destroy")
    print(f"{n_src} sources: apply {a.seconds:.1f} s, plan {p.seconds:.1f} s, destroy {d.seconds:.1f} s")
