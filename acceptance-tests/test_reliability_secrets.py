"""Reliability 5: credentials never reach any output, even at TF_LOG=trace (issue 6, "Secrets").

examples/cross-account/ with both provider blocks given a sentinel secret key and a sentinel session token
(`token`, added to the copied example's provider blocks), applied and destroyed with TF_LOG=trace and
TF_LOG_PROVIDER=trace. All engine stdout and stderr (the provider's log lines are forwarded into the engine's
log on stderr), every file the engines wrote in the working directory (state, backup, lock info, .terraform/
except the provider binaries) and any crash log must not contain either sentinel.

Access keys are not sentinels: LocalStack derives the account from a 12-digit access key id, so the access key
is the account id, which appears in every ARN by design. (AWS does not treat access key ids as secret either.)

The test can fail the other way too: it asserts that provider log lines did reach the engine's output (JSON lines
with "@module":"crossrepl", or the provider's "provider configured" message), so logging being off entirely
does not pass silently.
"""

from __future__ import annotations

import json
import re

import pytest

from lib.aws_readers import Aws
from lib.examples import Example
from lib.harness import Workspace, errors, plan_counts, state_list
from lib.naming import Names
from lib.reliability import start_header_spy
from lib.scenarios import TwoAccounts
from lib.services import LocalStack

SECRET = "SENTINELSECRETdo-not-log-7f3a"
TOKEN = "SENTINELTOKENdo-not-log-91c2e6"
# The pieces a log could carry even if the whole value is cut: any 12+ character run of either sentinel.
FRAGMENTS = ["SENTINELSECRET", "do-not-log-7f3a", "SENTINELTOKEN", "do-not-log-91c2e6"]

TOKEN_VARS = """
variable "source_token" {
  type      = string
  default   = null
  sensitive = true
}

variable "destination_token" {
  type      = string
  default   = null
  sensitive = true
}
"""


def _keys(v):
    if isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from _keys(x)
    elif isinstance(v, list):
        for x in v:
            yield from _keys(x)


def add_tokens(ws: Workspace) -> None:
    main = ws.dir / "main.tf"
    text = main.read_text()
    for side in ("source", "destination"):
        line = f"  secret_key = var.{side}_secret_key\n"
        assert line in text, f"examples/cross-account/main.tf changed shape: no {line.strip()!r}"
        text = text.replace(line, line + f"  token      = var.{side}_token\n")
    main.write_text(text)
    ws.write(TOKEN_VARS, "tokens.tf")


def test_reliability_secrets_not_logged(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts,
                                        request: pytest.FixtureRequest) -> None:
    spy = start_header_spy(ls.endpoint)  # proves the token is really used (sent as X-Amz-Security-Token)
    request.addfinalizer(spy.stop)
    ex = Example.setup(ws, two_accounts, endpoint=spy.url)
    copy_vars = (ws.dir / "terraform.tfvars").read_text()
    copy_vars = copy_vars.replace('source_secret_key = "test"', f'source_secret_key = "{SECRET}"')
    copy_vars = copy_vars.replace('destination_secret_key = "test"', f'destination_secret_key = "{SECRET}"')
    copy_vars += f'source_token = "{TOKEN}"\ndestination_token = "{TOKEN}"\n'
    assert copy_vars.count(SECRET) == 2, copy_vars
    ws.write(copy_vars, "terraform.tfvars")
    add_tokens(ws)

    base_env = ws.env
    ws.env = lambda: {**base_env(), "TF_LOG": "trace", "TF_LOG_PROVIDER": "trace"}  # type: ignore[method-assign]

    ws.init()
    apply = ws.run("apply", "-input=false", "-auto-approve")
    assert apply.ok, f"apply with sentinel credentials failed: {errors(apply) or apply.stderr[-3000:]}"
    ex.check_complete()  # the sentinel secret and token were accepted and the setup is complete
    assert spy.tokens and all(t == TOKEN for t in spy.tokens), \
        f"the provider did not send the configured session token on every call: {set(spy.tokens)}"
    plan = ws.run("plan", "-input=false")
    assert plan.ok and plan_counts(plan) == (0, 0, 0), f"plan: {errors(plan)} {plan.change_summary()}"
    destroy = ws.run("destroy", "-input=false", "-auto-approve")
    assert destroy.ok, f"destroy failed: {errors(destroy)}"
    assert state_list(ws) == []
    ex.check_nothing_left("destroy")

    # 1. nothing printed anywhere carries a sentinel
    leaks = []
    for r in ws.runs:
        for stream, text in (("stdout", r.stdout), ("stderr", r.stderr)):
            for i, line in enumerate(text.splitlines()):
                if any(f in line for f in FRAGMENTS):
                    leaks.append(f"`{' '.join(r.args[1:3])}` {stream} line {i + 1}: {line[:500]}")
    # 2. no file the engines wrote carries one (the tfvars file holds them by design; provider binaries skipped)
    for f in sorted(ws.dir.rglob("*")):
        if not f.is_file() or f.name == "terraform.tfvars" or "terraform-provider-" in f.name:
            continue
        data = f.read_bytes()
        for frag in FRAGMENTS:
            if frag.encode() in data:
                leaks.append(f"file {f.relative_to(ws.dir)} contains {frag!r}")
    assert not leaks, "sentinel credentials leaked:\n" + "\n".join(leaks[:40])

    # 3. the provider's own logs did reach the engine's output, at trace level
    stderr = "\n".join(r.stderr for r in ws.runs)
    provider_lines = [line for line in stderr.splitlines() if re.search(r'@module["=:\s]+crossrepl', line)
                      or "provider configured" in line]
    assert provider_lines, "no crossrepl log line in the engine's trace output (is provider logging off?): " \
                           f"{stderr[-2000:]}"
    assert any("provider configured" in line for line in provider_lines), \
        f"the provider's 'provider configured' message is missing: {provider_lines[:10]}"
    # the provider configuration is not part of the state (checked on the state after apply: the backup)
    for f in ws.dir.glob("terraform.tfstate*"):
        keys = set(_keys(json.loads(f.read_text())))
        assert not keys & {"secret_key", "token", "access_key"}, f"provider configuration in {f.name}: {keys}"
    print(f"{len(provider_lines)} crossrepl log lines, e.g. {provider_lines[0][:300]}")


def test_reliability_secrets_in_errors(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """A failing apply (the source bucket does not exist) with sentinel credentials, at TF_LOG=trace: the error
    paths (diagnostics, retries, AWS error messages) must not print the sentinels either."""
    names = Names(request.node.nodeid)
    ex = Example(ws, Aws(ls), names.account(0), names.account(1), names.bucket("src"), names.bucket("dst"))
    ex.aws.create_bucket(ex.dst_acct, ex.dst)  # the source bucket is missing on purpose
    ex.write_vars(ls.endpoint)
    text = (ws.dir / "terraform.tfvars").read_text().replace('_secret_key = "test"', f'_secret_key = "{SECRET}"')
    ws.write(text + f'source_token = "{TOKEN}"\ndestination_token = "{TOKEN}"\n', "terraform.tfvars")
    add_tokens(ws)
    base_env = ws.env
    ws.env = lambda: {**base_env(), "TF_LOG": "trace", "TF_LOG_PROVIDER": "trace"}  # type: ignore[method-assign]
    ws.init()
    r = ws.run("apply", "-input=false", "-auto-approve")
    assert not r.ok and "not found" in errors(r).lower(), f"expected a bucket-not-found error: {errors(r)}"
    ws.run("destroy", "-input=false", "-auto-approve")
    leaks = [f"`{' '.join(x.args[1:3])}`: {line[:500]}" for x in ws.runs
             for line in (x.stdout + x.stderr).splitlines() if any(f in line for f in FRAGMENTS)]
    assert not leaks, "sentinel credentials leaked on the error path:\n" + "\n".join(leaks[:40])
