"""A failure half-way through create is recorded: what was created is in state (tainted), so destroy (or the
next apply) removes it, and nothing is left behind untracked. Triggered by credentials that lack
s3:PutBucketVersioning (a proxy answers that call 403 AccessDenied, as AWS would): plan-time preflight cannot see
missing write permissions, and the role and policy are created concurrently with the versioning call."""

from __future__ import annotations

import json

import awsproxy  # testbed/awsproxy.py
from consistency import Consistency  # testbed/consistency.py
from lib.aws_readers import check_nothing_left
from lib.harness import Workspace, assert_converged, errors
from lib.scenarios import TwoAccounts, destination_resource, providers, source_resource, to
from lib.services import LocalStack

# Every PutBucketVersioning answered 403 AccessDenied (the rest forwarded).
DENY_VERSIONING = {"s3:PutBucketVersioning": (403, "AccessDenied", "not authorized to perform s3:PutBucketVersioning")}


def test_failed_create_is_recorded_and_cleaned_up(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    aws.enable_versioning(dst_acct, dst)

    def write(endpoint: str) -> None:
        ws.write(providers(endpoint, src=src_acct, dst=dst_acct)
                 + destination_resource("dr", "dst", dst, src_acct, src)
                 + source_resource("data", "src", src, [to("dr")]))

    proxy = awsproxy.start(ls.endpoint, consistency=Consistency(refuse=DENY_VERSIONING))
    try:
        write(proxy.url)
        ws.init()
        ws.plan()
        r = ws.run("apply", "-input=false", "tfplan")
    finally:
        proxy.stop()
    assert not r.ok, "apply must fail: PutBucketVersioning is denied"
    text = errors(r)
    assert "crossrepl_source.data" in text and "PutBucketVersioning" in text, text
    assert aws.versioning(src_acct, src) is None, "versioning cannot have been turned on"
    assert aws.replication(src_acct, src) is None, "no replication configuration without versioning"

    state = json.loads(ws.must("show", "-json", json_out=False).stdout)
    resources = {r["address"]: r for r in state.get("values", {}).get("root_module", {}).get("resources", [])}
    created_roles, created_policies = aws.local_roles(src_acct), aws.local_policies(src_acct)
    assert created_roles and created_policies, "the role and the policy are created alongside the versioning call"
    src_state = resources.get("crossrepl_source.data")
    assert src_state is not None, \
        f"create failed after making {created_roles + created_policies}, but recorded nothing in state"
    assert src_state.get("tainted") is True, f"a half-created resource must be tainted: {src_state}"

    # destroy right away (straight to LocalStack now) removes whatever the failed create made
    write(ls.endpoint)
    ws.destroy()
    check_nothing_left(aws, src_acct, src)
    assert aws.bucket_policy(dst_acct, dst) is None

    # and with the permission granted, a fresh apply converges
    ws.plan()
    ws.apply()
    assert aws.versioning(src_acct, src) == "Enabled"
    assert_converged(ws, "the fixed apply")
    aws.objects().prove(src_acct, src, dst_acct, dst)
    ws.destroy()
    check_nothing_left(aws, src_acct, src)
