"""Fixtures: engines, one LocalStack per session (reset before each test that uses it), the HTTPS mirror."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from harness import CACHE_DIR, ENGINES, ROOT, SOURCE, Workspace, engine_binary, mirror

LAUNCHER = ROOT / "testbed" / "localstack.py"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--engine", default=os.environ.get("ENGINE", "all"),
                     help="tofu, terraform, or all (default: $ENGINE or all)")


def selected_engines(config: pytest.Config) -> list[str]:
    value = config.getoption("--engine")
    engines = list(ENGINES) if value in ("all", "both", "") else value.split(",")
    for e in engines:
        if e not in ENGINES:
            raise pytest.UsageError(f"unknown engine {e!r}; use tofu, terraform or all")
    return engines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", selected_engines(metafunc.config), scope="session")


# ---- LocalStack --------------------------------------------------------------------------------------------------

@dataclass
class LocalStack:
    endpoint: str
    port: int
    started_here: bool

    def client(self, service: str, account: str, region: str = "us-east-1"):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region,
                            aws_access_key_id=account, aws_secret_access_key="test",
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    def reset(self) -> None:
        launcher("reset", "--port", str(self.port))

    def log_tail(self, lines: int = 60) -> str:
        return launcher("logs", "--port", str(self.port), "-n", str(lines), check=False).stdout


def launcher(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, str(LAUNCHER), *args], capture_output=True, text=True, timeout=180,
                       env=env)
    if check and p.returncode != 0:
        raise RuntimeError(f"localstack.py {' '.join(args)} failed (exit {p.returncode}):\n{p.stderr}\n{p.stdout}")
    return p


def start_localstack(*extra: str) -> LocalStack:
    p = launcher("start", *extra)
    sys.stderr.write(p.stderr)
    endpoint = p.stdout.strip().splitlines()[-1]
    return LocalStack(endpoint, int(endpoint.rsplit(":", 1)[1]), True)


@pytest.fixture(scope="session")
def localstack_session():
    """LocalStack for the whole session, through the launcher (or $LOCALSTACK_ENDPOINT if given)."""
    if url := os.environ.get("LOCALSTACK_ENDPOINT"):
        yield LocalStack(url, int(url.rsplit(":", 1)[1]), False)
        return
    ls = start_localstack("--port", str(_free_port()))
    try:
        yield ls
    finally:
        launcher("stop", "--port", str(ls.port), check=False)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ls(localstack_session: LocalStack, request: pytest.FixtureRequest) -> LocalStack:
    """The session's LocalStack, with all service state reset before the test."""
    localstack_session.reset()
    request.node.stash[_ls_key] = localstack_session
    return localstack_session


# ---- mirror --------------------------------------------------------------------------------------------------

@dataclass
class Mirror:
    directory: Path  # the network-mirror root
    url: str
    ca_file: Path
    version: str
    h1: str
    zh: str
    zip_path: Path


def mirror_dir() -> Path:
    return Path(os.environ.get("MIRROR_DIR") or CACHE_DIR / "mirror-test") / "network-mirror"


def load_mirror(directory: Path, url: str, ca: Path) -> Mirror:
    pdir = directory / SOURCE
    versions = json.loads((pdir / "index.json").read_text())["versions"]
    version = sorted(versions)[-1]
    archive = json.loads((pdir / f"{version}.json").read_text())["archives"][mirror.host_platform()]
    h1 = next(h for h in archive["hashes"] if h.startswith("h1:"))
    zh = next(h for h in archive["hashes"] if h.startswith("zh:"))
    return Mirror(directory, url, ca, version, h1, zh, pdir / archive["url"])


@pytest.fixture(scope="session")
def network_mirror() -> Mirror:
    directory = mirror_dir()
    if not (directory / SOURCE / "index.json").exists():
        pytest.fail(f"no network mirror at {directory}: run `make testacc` (it packages the provider first)")
    server, url, ca = mirror.start_server(directory)
    yield load_mirror(directory, url, ca)
    server.shutdown()


# ---- workspaces --------------------------------------------------------------------------------------------

@pytest.fixture
def ws(engine: str, network_mirror: Mirror, tmp_path: Path, request: pytest.FixtureRequest) -> Workspace:
    binary = engine_binary(engine)
    if not binary.exists():
        pytest.fail(f"{binary} missing: run `make setup`")
    w = Workspace(engine, tmp_path / "work", network_mirror.url, network_mirror.ca_file)
    request.node.stash[_ws_key] = w
    return w


_ws_key = pytest.StashKey[Workspace]()
_ls_key = pytest.StashKey[LocalStack]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """On failure, attach every engine command's full output and the LocalStack log tail to the report."""
    report = yield
    if report.failed and call.when == "call":
        if (w := item.stash.get(_ws_key, None)) is not None:
            report.sections.append((f"{w.engine} output ({w.dir})", w.transcript()))
        if (ls_ := item.stash.get(_ls_key, None)) is not None:
            report.sections.append((f"LocalStack log tail ({ls_.endpoint})", ls_.log_tail()))
    return report
