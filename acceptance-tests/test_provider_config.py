"""The provider speaks the plugin protocol to both engines: its schema, and a configured provider block."""

from __future__ import annotations

import pytest

from lib.harness import SOURCE, Workspace
from lib.naming import unique_account
from lib.scenarios import provider_block, required_providers
from lib.services import LocalStack, Mirror

# provider arguments the acceptance tests rely on
EXPECTED_ATTRIBUTES = {"region", "access_key", "secret_key", "s3_use_path_style"}
EXPECTED_BLOCKS = {"endpoints"}


def test_providers_schema_lists_crossrepl(ws: Workspace, network_mirror: Mirror) -> None:
    ws.write(required_providers(network_mirror.version))
    ws.init()
    schemas = ws.must("providers", "schema", "-json").document()["provider_schemas"]
    assert SOURCE in schemas, f"providers schema -json lists {sorted(schemas)}"
    block = schemas[SOURCE]["provider"]["block"]
    assert EXPECTED_ATTRIBUTES <= set(block.get("attributes", {})), block
    assert EXPECTED_BLOCKS <= set(block.get("block_types", {})), block


def test_empty_configuration_with_configured_provider(ws: Workspace, network_mirror: Mirror, ls: LocalStack,
                                                      request: pytest.FixtureRequest) -> None:
    account = unique_account(request.node.nodeid)
    ws.write(required_providers(network_mirror.version) + provider_block(ls.endpoint, account))
    runs = ws.lifecycle()  # init, plan, apply, plan (no changes), destroy
    for name, r in runs.items():
        if r.json_mode:
            assert not r.diagnostics("error"), f"{name}: {r.diagnostics('error')}"
    summary = runs["plan"].change_summary()
    assert summary and (summary["add"], summary["change"], summary["remove"]) == (0, 0, 0), summary
    # the provider's configuration did not create anything in the account
    assert ls.client("s3", account).list_buckets()["Buckets"] == []
