"""The fault proxy itself: one seed gives the same faults whatever the order and timing of the requests."""

from __future__ import annotations

import random

import awsproxy  # testbed/awsproxy.py


def requests(n: int) -> list[tuple[str, str, str, str, dict, bytes]]:
    ops = ["iam:CreatePolicy", "iam:GetRole", "s3:GetBucketPolicy", "s3:PutBucketReplication", "sts:GetCallerIdentity"]
    return [(ops[i % len(ops)], f"11111111111{i % 2}", "POST", f"/?n={i % 7}", {}, f"Action=X&n={i % 3}".encode())
            for i in range(n)]


def faults(seed: int, reqs) -> dict:
    plan = awsproxy.FaultPlan(seed, 0.3, awsproxy.FAULTS)
    drawn: dict = {}
    for r in reqs:
        drawn.setdefault(r[:4] + (r[5],), []).append(plan.draw(*r))
    return drawn


def test_same_seed_same_faults_in_any_order() -> None:
    reqs = requests(200)
    shuffled = reqs[:]
    random.Random(1).shuffle(shuffled)
    first = faults(7, reqs)
    assert first == faults(7, shuffled), "the faults depend on the order the requests arrived in"
    assert any(f for draws in first.values() for f, _ in draws), "no fault drawn at rate 0.3"
    # negative control: another seed draws other faults
    assert faults(8, reqs) != first, "the seed does not change the faults"


def test_repeated_request_gets_its_own_draws() -> None:
    plan = awsproxy.FaultPlan(3, 0.5, awsproxy.FAULTS)
    draws = [plan.draw("iam:CreatePolicyVersion", "111111111111", "POST", "/", {}, b"same") for _ in range(40)]
    assert len({f for f, _ in draws}) > 1, "a retried request always meets the same fault and could never pass"
