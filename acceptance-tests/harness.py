"""Drives OpenTofu / Terraform against a crossrepl configuration and parses their machine-readable output."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("CACHE_DIR") or ROOT / ".cache")
sys.path.insert(0, str(ROOT / "testbed"))

import mirror  # noqa: E402  (testbed/mirror.py)

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


def unique_account(seed: str, n: int = 0) -> str:
    """A 12-digit account id derived from a test's node id (scenarios never share accounts or buckets)."""
    return f"{int(hashlib.sha256(f'{seed}/{n}'.encode()).hexdigest(), 16) % 10**12:012d}"


def unique_name(seed: str, prefix: str = "crossrepl") -> str:
    return f"{prefix}-{hashlib.sha256(seed.encode()).hexdigest()[:12]}"


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
        self.runs: list[Run] = []

    def write(self, hcl: str, name: str = "main.tf") -> None:
        (self.dir / name).write_text(hcl)

    def env(self) -> dict[str, str]:
        env = base_env()
        env.update(TF_CLI_CONFIG_FILE=str(self.cli_config), SSL_CERT_FILE=str(self.ca_file))
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


def provider_block(endpoint: str, account: str, alias: str | None = None) -> str:
    alias_line = f'  alias = "{alias}"\n' if alias else ""
    return f"""provider "crossrepl" {{
{alias_line}  region            = "us-east-1"
  access_key        = "{account}"
  secret_key        = "test"
  s3_use_path_style = true
  endpoints {{
    s3  = "{endpoint}"
    iam = "{endpoint}"
    sts = "{endpoint}"
  }}
}}
"""


def required_providers(version: str | None = None) -> str:
    constraint = f'\n      version = "{version}"' if version else ""
    return f"""terraform {{
  required_providers {{
    crossrepl = {{
      source  = "{SOURCE}"{constraint}
    }}
  }}
}}
"""
