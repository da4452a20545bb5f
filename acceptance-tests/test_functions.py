"""Provider-defined functions return the documents the resources write, under both engines."""

from __future__ import annotations

import json

import pytest

from lib.aws_readers import replica_key_statement
from lib.harness import Workspace
from lib.naming import unique_account
from lib.scenarios import provider_block, required_providers
from lib.services import LocalStack, Mirror

CONFIG = """
output "trust" {
  value = provider::crossrepl::replication_trust_policy("111111111111", "arn:aws:s3:::acme-data")
}
output "role" {
  value = provider::crossrepl::replication_role_policy(
    "arn:aws:s3:::acme-data", "us-east-1",
    [{ bucket_arn = "arn:aws:s3:::acme-dr", owner_override = true, replica_kms_key_arn = null,
       default_kms_key_arn = null }],
    [],
  )
}
output "destination" {
  value = provider::crossrepl::destination_bucket_statement(
    "arn:aws:s3:::acme-dr", "111111111111", "arn:aws:iam::111111111111:role/crossrepl-acme-data", false)
}
output "replica_key" {
  value = provider::crossrepl::replica_key_policy_statement(
    "arn:aws:s3:::acme-dr", "arn:aws:iam::111111111111:role/crossrepl-acme-data",
    "arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab", true)
}
"""


def outputs(ws: Workspace) -> dict:
    return {k: json.loads(v["value"]) for k, v in ws.must("output", "-json", json_out=False).document().items()}


def test_functions_return_the_resources_documents(ws: Workspace, network_mirror: Mirror, ls: LocalStack,
                                                  request: pytest.FixtureRequest) -> None:
    account = unique_account(request.node.nodeid)
    ws.write(required_providers(network_mirror.version) + provider_block(ls.endpoint, account) + CONFIG)
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    out = outputs(ws)

    trust = out["trust"]["Statement"][0]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"} and trust["Action"] == "sts:AssumeRole", trust
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == "arn:aws:s3:::acme-data", trust

    by_sid = {s["Sid"]: s for s in out["role"]["Statement"]}
    assert by_sid["DestinationObjects"]["Resource"] == "arn:aws:s3:::acme-dr/*", by_sid
    assert by_sid["DestinationOwnerOverride"]["Action"] == "s3:ObjectOwnerOverrideToBucketOwner", by_sid
    assert by_sid["SourceObjects"]["Resource"] == "arn:aws:s3:::acme-data/*", by_sid

    statements = out["destination"]["Statement"]
    assert len(statements) == 2, statements
    for s in statements:
        assert s["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}, s
        assert s["Condition"]["ArnEquals"]["aws:PrincipalArn"] == "arn:aws:iam::111111111111:role/crossrepl-acme-data"

    # One statement, for the key policy's Statement list: what crossrepl_destination writes for its default key.
    assert out["replica_key"] == replica_key_statement("111111111111",
                                                       "arn:aws:iam::111111111111:role/crossrepl-acme-data",
                                                       "acme-dr", default_key=True), out["replica_key"]


def test_function_errors_name_the_argument(ws: Workspace, network_mirror: Mirror, ls: LocalStack,
                                           request: pytest.FixtureRequest) -> None:
    account = unique_account(request.node.nodeid)
    ws.write(required_providers(network_mirror.version) + provider_block(ls.endpoint, account) + """
output "bad" {
  value = provider::crossrepl::replication_trust_policy("123", "arn:aws:s3:::acme-data")
}
output "bad_key" {
  value = provider::crossrepl::replica_key_policy_statement("arn:aws:s3:::acme-dr",
    "arn:aws:iam::111111111111:role/r", "arn:aws:kms:us-east-1:222222222222:alias/replicas", false)
}
""")
    ws.init()
    r = ws.run("plan", "-input=false")
    assert r.returncode != 0
    errors = " ".join(f"{d.get('summary')} {d.get('detail')}" for d in r.diagnostics("error"))
    assert "12 digits" in errors, errors
    assert "alias" in errors and "kms_key_arn" in errors, errors


@pytest.mark.parametrize("call, expected", [
    ('replication_role_policy("arn:aws:s3:::acme-data", "us-east-1", [{ bucket_arn = "arn:aws:s3:::acme-dr", '
     'owner_override = false, replica_kms_key_arn = "arn:aws:kms:us-east-1:222222222222:alias/replicas", '
     'default_kms_key_arn = null }], [])', "alias"),
    ('destination_bucket_statement("arn:aws:s3:::acme-dr", "111111111111", '
     '"arn:aws:iam::222222222222:role/crossrepl-acme-data", false)', "not to the source account"),
], ids=["kms-alias", "role-of-another-account"])
def test_functions_reject_what_the_resources_reject(ws: Workspace, network_mirror: Mirror, ls: LocalStack,
                                                    request: pytest.FixtureRequest, call: str, expected: str) -> None:
    account = unique_account(request.node.nodeid)
    ws.write(required_providers(network_mirror.version) + provider_block(ls.endpoint, account)
             + f'output "bad" {{\n  value = provider::crossrepl::{call}\n}}\n')
    ws.init()
    r = ws.run("plan", "-input=false")
    assert r.returncode != 0
    errors = " ".join(f"{d.get('summary')} {d.get('detail')}" for d in r.diagnostics("error"))
    assert expected in errors, errors
