"""Reliability 1: the cross-account example through a fault-injecting proxy (issue 6, "Fault proxy").

Each round: apply -> plan -> destroy of examples/cross-account/ with the provider's S3, IAM and STS endpoints on
testbed/awsproxy.py at CROSSREPL_FAULT_RATE (default 0.2) in front of LocalStack: HTTP 500, 503 SlowDown,
400 Throttling, resets before and after forwarding, and latency. The seed is CROSSREPL_FAULT_SEED + round, so a
failing round is reproducible.

- Every command either succeeds or fails with a clear error (error diagnostics with a summary and a detail, no
  provider crash). A failed command is re-run against the SAME faulty proxy (the faults keep coming) until it
  succeeds, at most CROSSREPL_FAULT_ATTEMPTS (default 6) times: a re-run must converge under the faults
  that a user would meet, not only once they stop.
- After apply: the plan is empty, and AWS holds the complete setup (checked with boto3 directly on LocalStack).
- After destroy: the state is empty, and LocalStack holds nothing crossrepl made: no role, no local policy in
  either account, no replication configuration on the source bucket, no crossrepl statement in the destination
  bucket policy (the buckets stay).

Rounds: CROSSREPL_FAULT_ROUNDS (default 2; 20 with CROSSREPL_SOAK=1).
"""

from __future__ import annotations

import os

from lib.examples import Example
from lib.harness import Workspace, plan_counts, planned_changes, state_list
from lib.reliability import converge, env_float, rounds, start_fault_proxy
from lib.scenarios import TwoAccounts
from lib.services import LocalStack


def test_reliability_fault_proxy_rounds(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    n_rounds = rounds("CROSSREPL_FAULT_ROUNDS", 2, 20)
    rate = env_float("CROSSREPL_FAULT_RATE", 0.2)
    base_seed = int(os.environ.get("CROSSREPL_FAULT_SEED", "6000"))
    attempts = int(os.environ.get("CROSSREPL_FAULT_ATTEMPTS", "6"))
    ex = Example.setup(ws, two_accounts, endpoint=ls.endpoint)
    ws.init()
    log = []
    for rnd in range(n_rounds):
        seed = base_seed + rnd
        proxy = start_fault_proxy(ls.endpoint, rate, seed)
        try:
            ex.write_vars(proxy.url)
            where = f"round {rnd} (seed {seed}, rate {rate})"

            a = converge(ws, ["apply", "-input=false", "-auto-approve"], attempts)
            p = converge(ws, ["plan", "-input=false"], attempts)
            assert plan_counts(p.last) == (0, 0, 0), \
                f"{where}: plan after a successful apply is not empty: {planned_changes(p.last)}"
            ex.check_complete()

            d = converge(ws, ["destroy", "-input=false", "-auto-approve"], attempts)
            assert state_list(ws) == [], f"{where}: state not empty after destroy: {state_list(ws)}"
            ex.check_nothing_left(f"destroy in {where}")
            log.append(f"{where}: apply x{len(a.runs)}, plan x{len(p.runs)}, destroy x{len(d.runs)}; "
                       f"proxy {proxy.stats.summary()['faults']}; failures: {a.failures + p.failures + d.failures}")
        finally:
            proxy.stop()
    print("\n".join(log))
