"""Shared pieces of the reliability tests (test_reliability_*.py): round counts from the environment, proxies in
front of LocalStack, commands run until they converge, and engine/provider processes to kill.

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

import awsproxy  # testbed/awsproxy.py
from lib.harness import JSON_LINE_COMMANDS, Run, Workspace, engine_binary, errors

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
