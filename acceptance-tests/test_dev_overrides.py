"""A local build works through `dev_overrides`, the way the README tells developers to use it."""

from __future__ import annotations

import pytest

import mirror  # testbed/mirror.py
from lib.harness import SOURCE, Workspace
from lib.naming import unique_account
from lib.scenarios import provider_block, required_providers
from lib.services import LocalStack

BUILD_DIR = mirror.cargo_target_dir() / "debug"  # honours CARGO_TARGET_DIR / build.target-dir, as `make build` does


def use_dev_override(ws: Workspace) -> None:
    ws.cli_config.write_text(
        'provider_installation {\n'
        f'  dev_overrides {{\n    "{SOURCE}" = "{BUILD_DIR}"\n  }}\n'
        '  direct {}\n'
        '}\n'
    )


def test_schema_and_empty_plan_through_dev_overrides(ws: Workspace, ls: LocalStack,
                                                     request: pytest.FixtureRequest) -> None:
    assert (BUILD_DIR / "terraform-provider-crossrepl").exists(), "build the provider first (make build)"
    use_dev_override(ws)
    account = unique_account(request.node.nodeid)
    ws.write(required_providers() + provider_block(ls.endpoint, account))
    # No init: dev_overrides skip installation, and the engines warn that overrides are in effect.
    schemas = ws.must("providers", "schema", "-json").document()["provider_schemas"]
    assert SOURCE in schemas, sorted(schemas)
    assert {"crossrepl_source", "crossrepl_destination"} <= set(schemas[SOURCE]["resource_schemas"])
    plan = ws.must("plan", "-input=false")
    warnings = [d["summary"] for d in plan.diagnostics("warning")]
    assert any("override" in w.lower() for w in warnings), warnings
    summary = plan.change_summary()
    assert summary and (summary["add"], summary["change"], summary["remove"]) == (0, 0, 0), summary
