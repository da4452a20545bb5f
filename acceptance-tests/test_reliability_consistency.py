"""Reliability 7: eventual consistency (issue 13, items 14 and 15), through the proxy's emulation of it
(testbed/consistency.py).

- A refusal S3 will never take back (a missing iam:PassRole, an invalid configuration) fails the apply at once:
  one PutBucketReplication in the proxy's journal, no "after N attempts" in the error, well under 10 s.
- Versioning not yet visible to S3 (PutBucketReplication refused with the documented refusals for a few seconds
  after PutBucketVersioning): the apply waits it out within its bound, says so in the provider's log (INFO), and
  S3 then replicates with what it set up.
- A fan-in of CROSSREPL_STALE_FANIN_SOURCES (4) source accounts into one bucket, applied with -parallelism=10
  while bucket-policy reads stay stale for STALE seconds after each write: no statement is lost (every source's
  objects replicate), and destroy leaves none behind.
"""

from __future__ import annotations

import os
import re
import time

import pytest

import awsproxy  # testbed/awsproxy.py
from consistency import DESTINATION_VERSIONING, SOURCE_VERSIONING, Consistency  # testbed/consistency.py
from lib.aws_readers import Aws
from lib.examples import Example
from lib.fan_in import FanIn
from lib.harness import Workspace, errors, plan_counts, planned_changes, state_list
from lib.naming import Names
from lib.reliability import check_clear_failure
from lib.scenarios import TwoAccounts
from lib.services import LocalStack

PUT_REPLICATION = "s3:PutBucketReplication"
# S3's answers to requests it will never accept: a missing iam:PassRole, and an invalid configuration
# (https://github.com/aws-controllers-k8s/community/issues/1885).
FINAL = {"access-denied": (403, "AccessDenied", "Access Denied"),
         "invalid-request": (400, "InvalidRequest",
                             "Replication configuration cannot be applied to an Object Lock enabled bucket")}
DELAY = 3.0  # seconds S3 takes to see new versioning here; crossrepl's bound is about two minutes
STALE = 2.0  # seconds a bucket-policy read answers what was there before the last write


def attempts(proxy: awsproxy.Proxy) -> list[str | None]:
    """The fault of every PutBucketReplication the provider sent, in order (None: accepted by LocalStack)."""
    return [c.fault for c in sorted(proxy.stats.calls, key=lambda c: c.start) if c.operation == PUT_REPLICATION]


@pytest.mark.parametrize("answer", sorted(FINAL))
def test_final_refusal_fails_the_apply_at_once(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts,
                                               answer: str) -> None:
    status, code, message = FINAL[answer]
    proxy = awsproxy.start(ls.endpoint, consistency=Consistency(refuse={PUT_REPLICATION: (status, code, message)}))
    try:
        Example.setup(ws, two_accounts, endpoint=proxy.url)
        ws.init()
        a = ws.run("apply", "-input=false", "-auto-approve")
        assert not a.ok, "apply passed although S3 refused the replication configuration"
        check_clear_failure(a)
        assert f"({code}): {message}" in errors(a), f"the error does not carry S3's answer: {errors(a)}"
        # the proof: crossrepl sent it once and did not wait (the 10 s bound is only a generous backstop)
        assert attempts(proxy) == ["refused"], f"PutBucketReplication attempts: {attempts(proxy)}"
        assert "attempts)" not in errors(a), f"the error says it was retried: {errors(a)}"
        assert a.seconds < 10, f"apply took {a.seconds:.1f} s to report a final refusal"
    finally:
        proxy.stop()


@pytest.mark.parametrize("fresh", ["source", "destination"])
def test_apply_waits_out_versioning_propagation(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts,
                                                fresh: str) -> None:
    """`fresh`: the bucket whose versioning crossrepl turns on in the apply (the other one has it already), so S3
    refuses with the refusal that names it until DELAY has passed."""
    t = two_accounts
    other = (t.dst_acct, t.dst) if fresh == "source" else (t.src_acct, t.src)
    t.aws.enable_versioning(*other)
    proxy = awsproxy.start(ls.endpoint, consistency=Consistency(versioning_delay=DELAY))
    try:
        ex = Example.setup(ws, t, endpoint=proxy.url)
        ws.init()
        ws.extra_env = {"TF_LOG_PROVIDER": "INFO"}
        a = ws.run("apply", "-input=false", "-auto-approve")
        assert a.ok, f"apply did not wait out versioning propagation: {errors(a)}"
        tries = attempts(proxy)
        assert tries[-1] is None and tries[:-1] and set(tries[:-1]) == {"propagation"}, tries
        expected = (SOURCE_VERSIONING if fresh == "source" else DESTINATION_VERSIONING)[2]
        waits = [line for line in a.stderr.splitlines() if "waiting for AWS to propagate" in line]
        assert len(waits) == len(tries) - 1 and all(expected in w for w in waits), \
            f"the provider log should show each wait with S3's refusal ({expected}):\n" + "\n".join(waits)
        assert re.search(r"propagated: succeeded after waiting", a.stderr), "no line for the end of the wait"
        assert a.seconds < DELAY + 30, f"apply took {a.seconds:.1f} s for a {DELAY} s propagation delay"
        ex.check_complete()
        print(f"apply {a.seconds:.1f} s; PutBucketReplication: {tries}\n" + "\n".join(waits))
    finally:
        proxy.stop()


def test_fan_in_keeps_every_statement_when_policy_reads_are_stale(ws: Workspace, ls: LocalStack,
                                                                  request: pytest.FixtureRequest) -> None:
    """Every crossrepl_destination through one provider block (one provider process), as one configuration has
    it. (Through a block each, i.e. a process each, one statement of four was lost in each of three runs: across
    processes nothing can tell a stale read from a current one; see docs/reliability.md.)"""
    fan = FanIn.create(Aws(ls), Names(request.node.nodeid), int(os.environ.get("CROSSREPL_STALE_FANIN_SOURCES", "4")))
    proxy = awsproxy.start(ls.endpoint, consistency=Consistency(stale_seconds=STALE, stale_reads=frozenset({"policy"})))
    try:
        ws.write(fan.hcl(proxy.url, "one"))
        ws.init()
        a = ws.run("apply", "-input=false", "-auto-approve", "-parallelism=10")
        assert a.ok, f"apply failed: {errors(a)}"
        stale = sum(c.fault == "stale" for c in proxy.stats.calls)
        assert stale, "no bucket-policy read was answered stale: the test did not test anything"
        fan.check_applied(f"apply ({stale} stale reads)", "stale")
        time.sleep(STALE)  # reads catch up, as they do on AWS
        p = ws.run("plan", "-input=false", "-parallelism=10")
        assert p.ok and plan_counts(p) == (0, 0, 0), f"plan after apply: {errors(p)} {planned_changes(p)}"
        d = ws.run("destroy", "-input=false", "-auto-approve", "-parallelism=10")
        assert d.ok, f"destroy failed: {errors(d)}"
        assert state_list(ws) == [], f"state after destroy: {state_list(ws)}"
        fan.check_destroyed("destroy")
        print(f"apply {a.seconds:.1f} s, destroy {d.seconds:.1f} s; {stale} stale reads in the apply")
    finally:
        proxy.stop()
