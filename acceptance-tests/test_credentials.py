"""Credentials are checked when the provider is configured, as hashicorp/aws does: none at all fails the plan
fast with a diagnostic naming the provider block and the sources tried; credentials STS refuses fail it too,
unless `skip_credentials_validation` (which skips only that STS check) is set."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import awsproxy  # testbed/awsproxy.py
from consistency import Consistency  # testbed/consistency.py
from lib.harness import Workspace, errors
from lib.naming import unique_account, unique_name
from lib.scenarios import provider_block, required_providers
from lib.services import LocalStack, Mirror

# The order the diagnostic must list the credential sources in (the SDK's default chain, static keys first).
SOURCES = ["static keys", "environment", "profile", "SSO", "web identity", "container", "instance metadata"]


def destination(alias: str, bucket: str = "acme-dr-copy") -> str:
    return f"""
resource "crossrepl_destination" "dr" {{
  provider          = crossrepl.{alias}
  bucket            = "{bucket}"
  source_account_id = "111111111111"
  source_bucket     = "acme-data"
}}
"""


def no_credentials(ws: Workspace, tmp_path: Path, imds: str | None = None) -> None:
    """No credentials anywhere: the harness passes no AWS_* variable on, and the shared files do not exist.
    AWS_EC2_METADATA_DISABLED stays unset: the instance-metadata probe runs. `imds` points it elsewhere."""
    ws.extra_env.update(AWS_CONFIG_FILE=str(tmp_path / "no-config"),
                        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"))
    if imds:
        ws.extra_env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds


def assert_no_credentials_diagnostic(r, alias: str) -> None:
    assert not r.ok, "plan succeeded without credentials"
    found = [d for d in r.diagnostics("error") if d.get("summary", "").startswith("No AWS credentials for provider")]
    assert found, f"no credentials diagnostic: {errors(r)}"
    d = found[0]
    detail = d.get("detail", "")
    tried = detail[detail.find("Sources tried"):]
    positions = [tried.find(s) for s in SOURCES]
    assert -1 not in positions and positions == sorted(positions), \
        f"the sources tried are not all listed in order {SOURCES}: {detail}"
    assert "AWS_PROFILE" in detail and "AWS_ACCESS_KEY_ID" in detail, f"it does not say what to set: {detail}"
    # ConfigureProvider carries no alias; both engines address the diagnostic to the block, alias included.
    assert d.get("address", "").endswith(f'crossrepl/crossrepl"].{alias}'), f"the block is not named: {d}"


def test_plan_without_credentials_fails_within_a_second(ws: Workspace, network_mirror: Mirror,
                                                        tmp_path: Path) -> None:
    ws.write(required_providers(network_mirror.version)
             + 'provider "crossrepl" {\n  alias  = "dr"\n  region = "eu-west-1"\n}\n' + destination("dr"))
    ws.init()
    no_credentials(ws, tmp_path)
    r = ws.run("plan", "-input=false")
    assert_no_credentials_diagnostic(r, "dr")
    assert r.seconds < 1.0, f"a plan without credentials took {r.seconds:.2f} s to fail"


def test_plan_without_credentials_does_not_wait_for_a_silent_imds(ws: Workspace, network_mirror: Mirror,
                                                                  tmp_path: Path) -> None:
    """An instance-metadata endpoint that accepts connections and never answers (where the SDK's defaults, 1 s
    timeouts and 4 attempts, made this plan take over 3 s): the probe gives up after 250 ms."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        ws.write(required_providers(network_mirror.version)
                 + 'provider "crossrepl" {\n  alias  = "dr"\n  region = "eu-west-1"\n}\n' + destination("dr"))
        ws.init()
        no_credentials(ws, tmp_path, imds=f"http://127.0.0.1:{silent.getsockname()[1]}")
        r = ws.run("plan", "-input=false")
    finally:
        silent.close()
    assert_no_credentials_diagnostic(r, "dr")
    assert "timeout" in errors(r).lower(), f"the IMDS probe did not time out: {errors(r)}"
    assert r.seconds < 1.5, f"a plan without credentials and a silent IMDS took {r.seconds:.2f} s to fail"


def test_skip_credentials_validation_skips_only_the_sts_check(ws: Workspace, network_mirror: Mirror, ls: LocalStack,
                                                               tmp_path: Path, request: pytest.FixtureRequest) -> None:
    account = unique_account(request.node.nodeid)
    bucket = unique_name(request.node.nodeid)
    ls.client("s3", account).create_bucket(Bucket=bucket)
    # STS refuses the credentials, as it does an unknown or revoked access key (InvalidClientTokenId).
    refusal = (403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    proxy = awsproxy.start(ls.endpoint, consistency=Consistency(refuse={"sts:GetCallerIdentity": refusal}))
    try:
        block = provider_block(proxy.url, account, alias="dr")
        ws.write(required_providers(network_mirror.version) + block + destination("dr", bucket))
        ws.init()
        refused = ws.run("plan", "-input=false")
        skipping = block.replace('  region ', '  skip_credentials_validation = true\n  region ', 1)
        ws.write(required_providers(network_mirror.version) + skipping + destination("dr", bucket))
        proceeded = ws.run("plan", "-input=false")
    finally:
        proxy.stop()
    # Without the setting: a configure error naming the block and what STS said.
    assert not refused.ok, "plan succeeded although STS refused the credentials"
    assert "AWS did not accept the credentials of provider" in errors(refused), errors(refused)
    assert "InvalidClientTokenId" in errors(refused), errors(refused)
    # With it: the plan proceeds, and says which plan-time checks did not run.
    assert proceeded.ok, f"plan with skip_credentials_validation failed: {errors(proceeded)}"
    summary = proceeded.change_summary()
    assert summary and summary["add"] == 1, summary
    warnings = [f"{d.get('summary')}: {d.get('detail')}" for d in proceeded.diagnostics("warning")]
    assert any("the account" in w and "not checked at plan time" in w for w in warnings), \
        f"plan did not say which checks it skipped: {warnings}"
    # Credentials are still required: with none at all the setting does not help (hashicorp/aws likewise).
    ws.write(required_providers(network_mirror.version)
             + 'provider "crossrepl" {\n  alias  = "dr"\n  region = "eu-west-1"\n'
               '  skip_credentials_validation = true\n}\n' + destination("dr", bucket))
    no_credentials(ws, tmp_path)
    assert_no_credentials_diagnostic(ws.run("plan", "-input=false"), "dr")
