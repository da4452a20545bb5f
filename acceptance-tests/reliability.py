"""Shared pieces of the reliability tests (test_reliability_*.py): round counts from the environment, proxies in
front of LocalStack, commands run until they converge, engine/provider processes to kill, and leak checks.

Round counts: every loop count is read from an environment variable with a small default for `make test`
(see `rounds()`); `CROSSREPL_SOAK=1` raises every default to the soak value (>= 20 fault rounds, 10 fan-in
rounds, ...) unless the variable itself is set.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness import JSON_LINE_COMMANDS, Run, Workspace, engine_binary  # puts testbed/ on sys.path

import awsproxy  # noqa: E402  (testbed/awsproxy.py)
from scenarios import (Aws, as_list, check_destination_grant, check_role, copy_example, crossrepl_statements, errors,
                       role_arn, rule_id)

PROVIDER_BINARY = "terraform-provider-crossrepl"

# What must never appear in an engine's output: a provider panic or a provider process that died under the engine.
CRASH_PATTERNS = [
    re.compile(r"panicked at|\bpanic:|RUST_BACKTRACE", re.I),
    re.compile(r"rpc error: code = Unavailable"),
    re.compile(r"Plugin did not respond", re.I),
    re.compile(r"plugin (?:exited|crashed)", re.I),
    re.compile(r"The plugin encountered an error", re.I),
]


def soak() -> bool:
    return os.environ.get("CROSSREPL_SOAK", "") not in ("", "0")


def rounds(name: str, default: int, soak_default: int) -> int:
    """An int from the environment; `default` in make test, `soak_default` when CROSSREPL_SOAK=1."""
    v = os.environ.get(name)
    if v:
        return int(v)
    return soak_default if soak() else default


def env_float(name: str, default: float) -> float:
    v = os.environ.get(name)
    return float(v) if v else default


# ---- proxies ---------------------------------------------------------------------------------------------------

def start_fault_proxy(upstream: str, fault_rate: float, seed: int) -> awsproxy.Proxy:
    return awsproxy.start(upstream, fault_rate, seed)


def start_latency_proxy(upstream: str, seed: int, low: float = 0.15, high: float = 0.5) -> awsproxy.Proxy:
    """A counting proxy that delays EVERY request by low..high seconds and injects no other fault.

    awsproxy's own latency fault (0.3-1.5 s) would make every kill round slow, so this wraps its handler class:
    the wrapped handler sleeps, then runs the original (with fault rate 0).
    """
    proxy = awsproxy.Proxy(upstream, 0.0, seed)
    base = proxy.server.RequestHandlerClass
    rng = random.Random(seed)

    class Slow(base):  # type: ignore[misc,valid-type]
        def _handle(self) -> None:
            time.sleep(low + rng.random() * (high - low))
            try:
                base._handle(self)
            except (BrokenPipeError, ConnectionResetError):  # the client (a killed provider) went away
                self.close_connection = True

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    proxy.server.RequestHandlerClass = Slow
    return proxy.start()


def start_header_spy(upstream: str) -> awsproxy.Proxy:
    """A fault-free proxy that also records, per request, the session token header it carried (proxy.tokens)."""
    proxy = awsproxy.Proxy(upstream, 0.0, 0)
    base = proxy.server.RequestHandlerClass
    proxy.tokens = []  # type: ignore[attr-defined]

    class Spy(base):  # type: ignore[misc,valid-type]
        def _handle(self) -> None:
            proxy.tokens.append(self.headers.get("X-Amz-Security-Token"))  # type: ignore[attr-defined]
            base._handle(self)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    proxy.server.RequestHandlerClass = Spy
    return proxy.start()


# ---- engine commands -------------------------------------------------------------------------------------------

def argv_for(ws: Workspace, *args: str) -> tuple[list[str], bool]:
    use_json = args[0] in JSON_LINE_COMMANDS
    flags = (["-json", "-no-color"] if use_json else [])
    return [str(engine_binary(ws.engine)), args[0], *flags, *args[1:]], use_json


def crash_text(run: Run) -> list[str]:
    text = run.stdout + "\n" + run.stderr
    return [m.group(0) for p in CRASH_PATTERNS for m in [p.search(text)] if m]


def check_clear_failure(run: Run, allow_crash: bool = False) -> None:
    """A failed command must say why: error diagnostics with a summary and a detail, and no provider crash."""
    errs = run.diagnostics("error")
    assert errs, f"`{' '.join(run.args[1:])}` failed (exit {run.returncode}) without an error diagnostic:\n" \
                 f"{run.stderr[-3000:]}\n{run.stdout[-3000:]}"
    for d in errs:
        assert (d.get("summary") or "").strip(), f"error diagnostic without a summary: {d}"
        assert (d.get("detail") or "").strip(), f"error diagnostic without a detail: {d}"
    if not allow_crash:
        assert not crash_text(run), f"provider crash text {crash_text(run)} in `{' '.join(run.args[1:])}`:\n" \
                                    f"{errors(run)}\n{run.stderr[-3000:]}"


@dataclass
class Attempts:
    """What one converge() did: every run, the failed ones' error texts."""
    runs: list[Run]

    @property
    def failures(self) -> list[str]:
        return [errors(r) or r.stderr[-500:] for r in self.runs if not r.ok]

    @property
    def last(self) -> Run:
        return self.runs[-1]


def converge(ws: Workspace, args: list[str], max_attempts: int, allow_crash_first: bool = False,
             accept=None) -> Attempts:
    """Runs `args` until it exits 0 (and `accept(run)` holds, if given), at most max_attempts times. Every failure
    must be a clear one (check_clear_failure)."""
    runs = []
    for i in range(max_attempts):
        r = ws.run(*args)
        runs.append(r)
        assert not (r.ok and crash_text(r)), f"crash text in a successful run: {crash_text(r)}"
        if r.ok and (accept is None or accept(r)):
            return Attempts(runs)
        if not r.ok:
            check_clear_failure(r, allow_crash=allow_crash_first and i == 0)
    fails = "\n---\n".join(Attempts(runs).failures)
    raise AssertionError(f"{ws.engine} {' '.join(args)} did not converge in {max_attempts} attempts; "
                         f"errors of the failed attempts:\n{fails}")


def plan_counts(run: Run) -> tuple[int, int, int] | None:
    s = run.change_summary()
    return (s["add"], s["change"], s["remove"]) if s else None


def planned_changes(run: Run) -> list[str]:
    return [f"{m['change']['resource']['addr']}: {m['change']['action']}"
            for m in run.messages if m.get("type") in ("planned_change", "resource_drift")]


def state_list(ws: Workspace) -> list[str]:
    r = ws.run("state", "list")
    if not r.ok and "No state file was found" in (r.stderr + r.stdout):
        return []
    assert r.ok, f"state list failed: {r.stderr}"
    return [line for line in r.stdout.splitlines() if line.strip()]


# ---- processes -------------------------------------------------------------------------------------------------

def _proc_table() -> dict[int, tuple[int, str]]:
    """{pid: (ppid, cmdline)} from /proc."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        out[int(d.name)] = (ppid, cmd)
    return out


def descendants(pid: int) -> dict[int, str]:
    table = _proc_table()
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        p = frontier.pop()
        for child, (ppid, cmd) in table.items():
            if ppid == p and child not in found:
                found[child] = cmd
                frontier.append(child)
    return found


def provider_pids(engine_pid: int) -> list[int]:
    return sorted(p for p, cmd in descendants(engine_pid).items() if PROVIDER_BINARY in cmd)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Background:
    """An engine command running in the background (for kill tests); finish() records it as a Run in ws.runs."""

    def __init__(self, ws: Workspace, *args: str):
        self.ws = ws
        self.argv, self.use_json = argv_for(ws, *args)
        self.out = open(ws.dir / f".bg-{len(ws.runs)}.out", "w+")
        self.err = open(ws.dir / f".bg-{len(ws.runs)}.err", "w+")
        self.t = time.monotonic()
        self.p = subprocess.Popen(self.argv, cwd=ws.dir, env=ws.env(), stdout=self.out, stderr=self.err,
                                  stdin=subprocess.DEVNULL, start_new_session=True)

    def providers(self) -> list[int]:
        return provider_pids(self.p.pid)

    def finish(self, timeout: float = 300) -> Run:
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
        self.out.seek(0)
        self.err.seek(0)
        stdout, stderr = self.out.read(), self.err.read()
        self.out.close()
        self.err.close()
        r = Run(self.argv, self.p.returncode, stdout, stderr, time.monotonic() - self.t, self.use_json)
        if self.use_json:
            for line in stdout.splitlines():
                line = line.strip()
                if line:
                    try:
                        r.messages.append(json.loads(line))
                    except json.JSONDecodeError:  # a SIGKILLed engine may leave half a line
                        pass
        self.ws.runs.append(r)
        return r


def wait_for(pred, timeout: float, step: float = 0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


# ---- the cross-account example ---------------------------------------------------------------------------------

@dataclass
class Example:
    """examples/cross-account/ in a workspace, with its accounts and buckets (created here, versioning off)."""
    ws: Workspace
    aws: Aws
    src_acct: str
    dst_acct: str
    src: str
    dst: str

    @classmethod
    def setup(cls, ws: Workspace, aws: Aws, names, endpoint: str, **extra_vars) -> "Example":
        ex = cls(ws, aws, names.account(0), names.account(1), names.bucket("src"), names.bucket("dst"))
        aws.create_bucket(ex.src_acct, ex.src)
        aws.create_bucket(ex.dst_acct, ex.dst)
        ex.write_vars(endpoint, **extra_vars)
        return ex

    def write_vars(self, endpoint: str, **extra_vars) -> None:
        copy_example(self.ws, source_bucket=self.src, destination_bucket=self.dst, source_account_id=self.src_acct,
                     source_access_key=self.src_acct, source_secret_key="test",
                     destination_access_key=self.dst_acct, destination_secret_key="test", endpoint=endpoint,
                     **extra_vars)

    def check_complete(self) -> None:
        """After a converged apply: everything the example manages exists, as crossrepl writes it."""
        a = self.aws
        assert a.versioning(self.src_acct, self.src) == "Enabled", "source versioning"
        assert a.versioning(self.dst_acct, self.dst) == "Enabled", "destination versioning"
        check_role(a, self.src_acct, self.src, [self.dst])
        cfg = a.replication(self.src_acct, self.src)
        assert cfg is not None, f"no replication configuration on {self.src}"
        assert cfg["Role"] == role_arn(self.src_acct, self.src), cfg
        assert [r.get("ID") for r in cfg["Rules"]] == [rule_id(self.dst)], cfg
        statements = a.statements(self.dst_acct, self.dst)
        check_destination_grant(statements, self.dst, self.src_acct, role_arn(self.src_acct, self.src))
        assert len(statements) == 2, f"only crossrepl's 2 statements expected: {statements}"
        assert a.local_roles(self.dst_acct) == [] and a.local_policies(self.dst_acct) == [], \
            "IAM entities in the destination account"
        # policy versions must not pile up (a retried CreatePolicyVersion after a lost answer would add one)
        versions = a.policy_versions(self.src_acct, a.local_policies(self.src_acct)[0])
        assert len(versions) == 1, f"policy versions after a create: {versions}"
        # and S3 would replicate with it (straight to LocalStack, not through any proxy)
        a.objects().prove(self.src_acct, self.src, self.dst_acct, self.dst)

    def leftovers(self) -> dict:
        """Everything crossrepl could have left in LocalStack, read directly (not through a proxy)."""
        a = self.aws
        return {
            "source roles": a.local_roles(self.src_acct),
            "source policies": a.local_policies(self.src_acct),
            "destination roles": a.local_roles(self.dst_acct),
            "destination policies": a.local_policies(self.dst_acct),
            "source replication": a.replication(self.src_acct, self.src),
            "destination crossrepl statements": crossrepl_statements(a.statements(self.dst_acct, self.dst)),
        }

    def hard_cleanup(self) -> None:
        """After a round that could not recover: remove everything crossrepl makes with boto3, and the state."""
        from botocore.exceptions import ClientError
        a = self.aws
        s3, iam = a.s3(self.src_acct), a.iam(self.src_acct)
        try:
            s3.delete_bucket_replication(Bucket=self.src)
        except ClientError:
            pass
        for role in a.local_roles(self.src_acct):
            for p in a.attached(self.src_acct, role):
                iam.detach_role_policy(RoleName=role, PolicyArn=p)
            iam.delete_role(RoleName=role)
        for p in a.local_policies(self.src_acct):
            for v in a.policy_versions(self.src_acct, p):
                if not v["IsDefaultVersion"]:
                    iam.delete_policy_version(PolicyArn=p, VersionId=v["VersionId"])
            iam.delete_policy(PolicyArn=p)
        try:
            a.s3(self.dst_acct).delete_bucket_policy(Bucket=self.dst)
        except ClientError:
            pass
        for f in self.ws.dir.glob("terraform.tfstate*"):
            f.unlink()

    def check_nothing_left(self, why: str) -> None:
        left = {k: v for k, v in self.leftovers().items() if v}
        assert not left, f"after {why}, LocalStack still holds what the state does not record: " \
                         f"{json.dumps(left, indent=1, default=str)}"
        assert self.aws.bucket_exists(self.src_acct, self.src) and self.aws.bucket_exists(self.dst_acct, self.dst), \
            "a bucket was deleted"


def statement_sids(aws: Aws, account: str, bucket: str) -> list[str]:
    return sorted(s.get("Sid", "") for s in as_list((aws.bucket_policy(account, bucket) or {}).get("Statement")))
