"""Documents AWS would refuse for their size are never written (LocalStack enforces no size limit): the role's
managed policy (6,144 characters without whitespace) is checked at plan time (the diagnostic says how many
destinations fit), a merged bucket policy (20 KB) before every write (the diagnostic says what to do)."""

from __future__ import annotations

import json

import pytest

from lib.aws_readers import Aws, admitted_roles
from lib.harness import Workspace, errors
from lib.naming import Names, arn, role_arn
from lib.scenarios import destination_resource, providers, source_resource, to
from lib.services import LocalStack


def test_role_policy_too_large_fails_at_plan(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    n = Names(request.node.nodeid)
    src_acct, dst_acct = n.account(0), n.account(1)
    src = n.bucket("src")
    Aws(ls).create_bucket(src_acct, src)
    key = "arn:aws:kms:us-east-1:{}:key/{:08x}-1111-2222-3333-444444444444"

    def dest(i: int) -> dict:
        return {"bucket_arn": arn(f"{src}-dr-{i:02d}"), "account_id": dst_acct,
                "replica_kms_key_arn": key.format(dst_acct, i), "source_kms_key_arns": [key.format(src_acct, 0)]}

    ws.write(providers(ls.endpoint, src=src_acct) + source_resource("data", "src", src, [dest(i) for i in range(30)]))
    ws.init()
    r = ws.run("plan", "-input=false")
    too_large = [d for d in r.diagnostics("error") if "policy would be too large" in (d.get("summary") or "")]
    assert not r.ok and too_large, f"30 destinations with distinct keys must not fit: {errors(r)}"
    detail = too_large[0]["detail"]
    assert "6144" in detail and "of these 30 destinations fit" in detail, detail
    fit = int(detail.split("managed policy: ")[1].split(" ")[0])
    assert 5 <= fit < 30, detail

    ws.write(providers(ls.endpoint, src=src_acct)
             + source_resource("data", "src", src, [dest(i) for i in range(fit)]))
    r = ws.run("plan", "-input=false")
    assert not [d for d in r.diagnostics("error") if "too large" in (d.get("summary") or "")], \
        f"{fit} destinations were said to fit: {errors(r)}"


def test_bucket_policy_too_large_is_never_written(ws: Workspace, ls: LocalStack,
                                                  request: pytest.FixtureRequest) -> None:
    n = Names(request.node.nodeid)
    src_acct, dst_acct = n.account(0), n.account(1)
    src, dst = n.bucket("src"), n.bucket("dst")
    aws = Aws(ls)
    aws.create_bucket(src_acct, src)
    aws.create_bucket(dst_acct, dst, versioning=True)
    # Someone else's statements fill the policy to just under S3's 20 KB.
    filler = [{"Sid": f"Reader{i:03d}", "Effect": "Allow", "Action": "s3:GetObject",
               "Principal": {"AWS": f"arn:aws:iam::{dst_acct}:root"},
               "Resource": f"arn:aws:s3:::{dst}/reports/{'x' * 40}/{i:03d}/*"} for i in range(120)]
    doc = {"Version": "2012-10-17", "Statement": filler}
    while len(json.dumps(doc, separators=(",", ":"))) > 20 * 1024 - 150:
        filler.pop()
    aws.put_bucket_policy(dst_acct, dst, doc)
    before = aws.bucket_policy(dst_acct, dst)

    ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
             + destination_resource("dr", "dst", dst, src_acct, src)
             + source_resource("data", "src", src, [to("dr")]))
    ws.init()
    r = ws.run("apply", "-input=false", "-auto-approve")
    assert not r.ok, "a bucket policy over 20 KB must not be written"
    text = errors(r)
    assert "AWS accepts at most 20480" in text and "source_organization_id" in text, text
    assert aws.bucket_policy(dst_acct, dst) == before, "the bucket policy must be left as it was"

    # With room for crossrepl's statement (two foreign statements fewer), the same apply writes it.
    aws.put_bucket_policy(dst_acct, dst, {"Version": "2012-10-17", "Statement": filler[:-2]})
    ws.must("apply", "-input=false", "-auto-approve")
    statements = aws.statements(dst_acct, dst)
    assert admitted_roles(statements) == [role_arn(src_acct, src)] and len(statements) == len(filler) - 1, \
        f"crossrepl's statement beside the foreign ones: {[s.get('Sid') for s in statements]}"
