"""A failure half-way through create is recorded: what was created is in state (tainted), so destroy (or the
next apply) removes it, and nothing is left behind untracked. Triggered by credentials that lack
s3:PutBucketVersioning (a proxy answers that call 403 AccessDenied, as AWS would): plan-time preflight cannot see
missing write permissions, and the role and policy are created concurrently with the versioning call."""

from __future__ import annotations

import json

import awsproxy  # testbed/awsproxy.py
from lib.aws_readers import check_nothing_left
from lib.harness import Workspace, assert_converged, errors
from lib.scenarios import TwoAccounts, destination_resource, providers, source_resource, to
from lib.services import LocalStack

DENIED = (b"<Error><Code>AccessDenied</Code><Message>not authorized to perform s3:PutBucketVersioning</Message>"
          b"</Error>")


def start_denying_proxy(upstream: str) -> awsproxy.Proxy:
    """A counting proxy that answers every PutBucketVersioning with 403 AccessDenied and forwards the rest."""
    proxy = awsproxy.Proxy(upstream, 0.0, 0)
    base = proxy.server.RequestHandlerClass

    class Deny(base):  # type: ignore[misc,valid-type]
        def _handle(self) -> None:
            query = self.path.partition("?")[2]
            if self.command == "PUT" and "versioning" in query.split("&"):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(403)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(DENIED)))
                self.end_headers()
                self.wfile.write(DENIED)
                return
            base._handle(self)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    proxy.server.RequestHandlerClass = Deny
    return proxy.start()


def test_failed_create_is_recorded_and_cleaned_up(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    aws.enable_versioning(dst_acct, dst)

    def write(endpoint: str) -> None:
        ws.write(providers(endpoint, src=src_acct, dst=dst_acct)
                 + destination_resource("dr", "dst", dst, src_acct, src)
                 + source_resource("data", "src", src, [to("dr")]))

    proxy = start_denying_proxy(ls.endpoint)
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
