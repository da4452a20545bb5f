"""A failure half-way through create is recorded: what was created is in state (tainted), so destroy (or the
next apply) removes it, and nothing is left behind untracked. Triggered with enable_versioning = false on
unversioned buckets, which fails without any retry budget."""

from __future__ import annotations

import json

import pytest

from conftest import LocalStack
from harness import Workspace
from scenarios import (Aws, Names, assert_converged, check_nothing_left, destination_resource, errors, providers,
                       source_resource, to)


def test_failed_create_is_recorded_and_cleaned_up(ws: Workspace, ls: LocalStack,
                                                  request: pytest.FixtureRequest) -> None:
    n = Names(request.node.nodeid)
    src_acct, dst_acct = n.account(0), n.account(1)
    src, dst = n.bucket("src"), n.bucket("dst")
    aws = Aws(ls)
    aws.create_bucket(src_acct, src)
    aws.create_bucket(dst_acct, dst, versioning=True)

    def write(enable: bool) -> None:
        ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
                 + destination_resource("dr", "dst", dst, src_acct, src)
                 + source_resource("data", "src", src, [to("dr")], enable_versioning=enable))

    write(False)
    ws.init()
    ws.plan()
    r = ws.run("apply", "-input=false", "tfplan")
    assert not r.ok, "apply must fail: the source bucket is unversioned and enable_versioning = false"
    text = errors(r)
    assert "crossrepl_source.data" in text and "versioning" in text.lower(), text
    assert aws.versioning(src_acct, src) is None, "enable_versioning = false must not turn versioning on"
    assert aws.replication(src_acct, src) is None, "no replication configuration without versioning"

    state = json.loads(ws.must("show", "-json", json_out=False).stdout)
    resources = {r["address"]: r for r in state.get("values", {}).get("root_module", {}).get("resources", [])}
    created_roles, created_policies = aws.local_roles(src_acct), aws.local_policies(src_acct)
    if created_roles or created_policies:
        src_state = resources.get("crossrepl_source.data")
        assert src_state is not None, \
            f"create failed after making {created_roles + created_policies}, but recorded nothing in state"
        assert src_state.get("tainted") is True, f"a half-created resource must be tainted: {src_state}"

    # destroy right away removes whatever the failed create made
    ws.destroy()
    check_nothing_left(aws, src_acct, src)
    assert aws.bucket_policy(dst_acct, dst) is None

    # and with the switch fixed, a fresh apply converges
    write(True)
    ws.plan()
    ws.apply()
    assert aws.versioning(src_acct, src) == "Enabled"
    assert_converged(ws, "the fixed apply")
    ws.destroy()
    check_nothing_left(aws, src_acct, src)
