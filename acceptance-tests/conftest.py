"""Pytest hooks and fixtures: engines, one LocalStack per session (reset before each test that uses it), the HTTPS
mirror, a workspace per test, and the usual two accounts with a bucket each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import mirror  # testbed/mirror.py
from lib.aws_readers import Aws
from lib.harness import ENGINES, SOURCE, Workspace, engine_binary
from lib.naming import Names
from lib.scenarios import TwoAccounts
from lib.services import LocalStack, Mirror, free_port, launcher, load_mirror, mirror_dir, start_localstack


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

@pytest.fixture(scope="session")
def localstack_session():
    """LocalStack for the whole session, through the launcher (or $LOCALSTACK_ENDPOINT if given)."""
    if url := os.environ.get("LOCALSTACK_ENDPOINT"):
        yield LocalStack(url, int(url.rsplit(":", 1)[1]), False)
        return
    ls = start_localstack("--port", str(free_port()))
    try:
        yield ls
    finally:
        launcher("stop", "--port", str(ls.port), check=False)


@pytest.fixture
def ls(localstack_session: LocalStack, request: pytest.FixtureRequest) -> LocalStack:
    """The session's LocalStack, with all service state reset before the test."""
    localstack_session.reset()
    request.node.stash[_ls_key] = localstack_session
    return localstack_session


@pytest.fixture
def two_accounts(ls: LocalStack, request: pytest.FixtureRequest) -> TwoAccounts:
    """A source and a destination account with a bucket each (versioning off), named after the test's node id."""
    return TwoAccounts.create(Aws(ls), Names(request.node.nodeid))


# ---- mirror --------------------------------------------------------------------------------------------------

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
