"""Drives OpenTofu / Terraform against a crossrepl configuration and reads their machine-readable output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import mirror  # testbed/mirror.py

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("CACHE_DIR") or ROOT / ".cache")
SOURCE = mirror.SOURCE
ENGINES = ("tofu", "terraform")


def engine_binary(engine: str) -> Path:
    return CACHE_DIR / "bin" / engine


# Commands whose -json output is a stream of JSON lines, in both engines (Terraform >= 1.9 for init; OpenTofu
# 1.12 too). Terraform's `plan -help` does not list -json, so this is a table, not a probe of the help text.
JSON_LINE_COMMANDS = {"init", "plan", "apply", "destroy", "refresh"}


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
    env.update(CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0")
    return env


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    json_mode: bool
    messages: list[dict] = field(default_factory=list)

    def transcript(self) -> str:
        return (f"$ {' '.join(self.args)}   # exit {self.returncode}, {self.seconds:.1f} s\n"
                f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}")

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def diagnostics(self, severity: str | None = None) -> list[dict]:
        diags = [m.get("diagnostic", {}) for m in self.messages if m.get("type") == "diagnostic"]
        return [d for d in diags if severity is None or d.get("severity") == severity]

    def change_summary(self) -> dict | None:
        found = [m["changes"] for m in self.messages if m.get("type") == "change_summary"]
        return found[-1] if found else None

    def document(self) -> dict:
        """For commands that print one JSON document (providers schema -json, version -json)."""
        return json.loads(self.stdout)


class Workspace:
    """One scenario under one engine: a temp dir with HCL, its own CLI config, and every command's transcript."""

    def __init__(self, engine: str, directory: Path, mirror_url: str, ca_file: Path):
        self.engine = engine
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cli_config = self.dir / "cli.tfrc"
        self.cli_config.write_text(mirror.cli_config(network_url=mirror_url))
        self.ca_file = ca_file
        self.extra_env: dict[str, str] = {}  # e.g. TF_LOG_PROVIDER, for the provider's own log on stderr
        self.runs: list[Run] = []

    def write(self, hcl: str, name: str = "main.tf") -> None:
        (self.dir / name).write_text(hcl)

    def env(self) -> dict[str, str]:
        env = base_env()
        env.update(TF_CLI_CONFIG_FILE=str(self.cli_config), SSL_CERT_FILE=str(self.ca_file), **self.extra_env)
        return env

    def run(self, *args: str, json_out: bool = True, timeout: float = 300) -> Run:
        use_json = json_out and args[0] in JSON_LINE_COMMANDS
        flags = (["-json"] if use_json else []) + (["-no-color"] if args[0] in JSON_LINE_COMMANDS else [])
        argv = [str(engine_binary(self.engine)), args[0], *flags, *args[1:]]
        t = time.monotonic()
        p = subprocess.run(argv, cwd=self.dir, env=self.env(), capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        r = Run(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - t, use_json)
        if use_json:
            for line in p.stdout.splitlines():
                line = line.strip()
                if line:
                    r.messages.append(json.loads(line))  # every line must be a JSON object
        self.runs.append(r)
        return r

    def must(self, *args: str, **kw) -> Run:
        r = self.run(*args, **kw)
        if not r.ok:
            detail = "; ".join(f"{d.get('summary')}: {d.get('detail')}" for d in r.diagnostics("error"))
            raise AssertionError(f"`{self.engine} {' '.join(args)}` failed (exit {r.returncode}): "
                                 f"{detail or r.stderr[-2000:]}")
        return r

    # --- the common lifecycle -----------------------------------------------------------------------------------
    def init(self) -> Run:
        return self.must("init", "-input=false")

    def plan(self) -> Run:
        return self.must("plan", "-input=false", "-out=tfplan")

    def apply(self) -> Run:
        return self.must("apply", "-input=false", "tfplan")

    def destroy(self) -> Run:
        return self.must("destroy", "-input=false", "-auto-approve")

    def lifecycle(self) -> dict[str, Run]:
        """init, plan, apply, plan (must be empty), destroy."""
        runs = {"init": self.init(), "plan": self.plan(), "apply": self.apply()}
        again = self.plan()
        summary = again.change_summary()
        assert summary is not None, "plan -json printed no change_summary"
        assert (summary["add"], summary["change"], summary["remove"]) == (0, 0, 0), f"not converged: {summary}"
        runs["plan-again"] = again
        runs["destroy"] = self.destroy()
        return runs

    def lock_file_hashes(self) -> dict[str, tuple[str, list[str]]]:
        """{provider source: (version, hashes)} from .terraform.lock.hcl."""
        text = (self.dir / ".terraform.lock.hcl").read_text()
        out = {}
        for m in re.finditer(r'provider\s+"([^"]+)"\s*\{(.*?)\n\}', text, re.S):
            body = m.group(2)
            version = re.search(r'version\s*=\s*"([^"]+)"', body).group(1)
            hashes = re.findall(r'"((?:h1|zh):[^"]+)"', body)
            out[m.group(1)] = (version, hashes)
        return out

    def transcript(self) -> str:
        return "\n".join(r.transcript() for r in self.runs) or "(no engine command ran)"


# ---- what an engine printed --------------------------------------------------------------------------------------

def counts(run: Run) -> tuple[int, int, int]:
    s = run.change_summary()
    assert s is not None, f"`{' '.join(run.args[1:])}` printed no change_summary"
    return s["add"], s["change"], s["remove"]


def plan_counts(run: Run) -> tuple[int, int, int] | None:
    """counts(), or None when the command printed no change_summary (a failed run)."""
    s = run.change_summary()
    return (s["add"], s["change"], s["remove"]) if s else None


def planned_changes(run: Run) -> list[str]:
    return [f"{m['change']['resource']['addr']}: {m['change']['action']}"
            for m in run.messages if m.get("type") in ("planned_change", "resource_drift")]


def errors(run: Run) -> str:
    """All error diagnostics as one text (summary, detail, address), for matching and assertion messages."""
    return "\n".join(f"[{d.get('address', '')}] {d.get('summary')}: {d.get('detail')}"
                     for d in run.diagnostics("error"))


def assert_converged(ws: Workspace, why: str) -> Run:
    r = ws.plan()
    assert counts(r) == (0, 0, 0), f"{ws.engine}: plan after {why} is not empty: {r.change_summary()}; " \
                                   f"planned changes: {planned_changes(r)}"
    return r


def assert_converged_exit_code(ws: Workspace, why: str) -> None:
    """assert_converged, and the engine's own verdict: `plan -detailed-exitcode` exits 0 (2 = changes)."""
    assert_converged(ws, why)
    detailed = ws.run("plan", "-input=false", "-detailed-exitcode")
    assert detailed.returncode == 0, f"plan -detailed-exitcode after {why} exited {detailed.returncode}: " \
                                     f"{detailed.change_summary()}: {planned_changes(detailed)}"


def state_values(ws: Workspace, address: str) -> dict:
    """The attribute values of the resource at `address` in the state (`show -json`)."""
    state = json.loads(ws.must("show", "-json", json_out=False).stdout)
    for r in state["values"]["root_module"]["resources"]:
        if r["address"] == address:
            return r["values"]
    raise AssertionError(f"{address} not in the state")


def state_list(ws: Workspace) -> list[str]:
    r = ws.run("state", "list")
    if not r.ok and "No state file was found" in (r.stderr + r.stdout):
        return []
    assert r.ok, f"state list failed: {r.stderr}"
    return [line for line in r.stdout.splitlines() if line.strip()]


def differing(before, after, unknown, path: str = "") -> list[str]:
    """Attribute paths whose planned value differs from the prior one (or is unknown), e.g. `destination[0].x`."""
    if unknown is True:
        return [path]
    if isinstance(before, dict) and isinstance(after, dict):
        unknown = unknown if isinstance(unknown, dict) else {}
        out = []
        for k in sorted(set(before) | set(after)):
            out += differing(before.get(k), after.get(k), unknown.get(k), f"{path}.{k}" if path else k)
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        unknown = unknown if isinstance(unknown, list) else [None] * len(after)
        out = []
        for i, (b, a) in enumerate(zip(before, after)):
            out += differing(b, a, unknown[i] if i < len(unknown) else None, f"{path}[{i}]")
        return out
    return [] if before == after else [path]


def plan_document(ws: Workspace) -> dict:
    """The saved plan `tfplan` as JSON."""
    return ws.must("show", "-json", "tfplan", json_out=False).document()


def changed_paths(ws: Workspace) -> dict[str, list[str]]:
    """For each resource the saved plan `tfplan` changes, the attribute paths that differ."""
    return {rc["address"]: differing(rc["change"].get("before"), rc["change"].get("after"),
                                     rc["change"].get("after_unknown"))
            for rc in plan_document(ws).get("resource_changes", []) if rc["change"]["actions"] != ["no-op"]}
