"""Organization mode (issue 14 item 2): one crossrepl_destination with `source_organization_id` admits the
replication roles of every account of an AWS Organization in one statement, whatever their number. The test bed's
engine puts aws:PrincipalOrgID into the requests of the accounts a test declares members (LocalStack has no
Organizations service here, and Principal Mapper does not infer the key).

Proven: sources in three member accounts replicate through the one statement, the foreign statement is kept, the plan
after apply is empty, import by `<bucket>,<organization id>` round-trips; negative controls: a source account outside
the organization fails with the bucket policy named, and a role whose name does not match the pattern is refused at
plan time."""

from __future__ import annotations

import pytest

from lib.aws_readers import Aws, crossrepl_statements
from lib.harness import Workspace, assert_converged, counts, errors
from lib.naming import Names
from lib.scenarios import organization_destination_resource, providers, source_resource, to
from lib.services import LocalStack

ORG = "o-crossrepl0test"


def organization_destination(name: str, provider: str, bucket: str, **extra) -> str:
    return organization_destination_resource(name, provider, bucket, ORG, **extra)


def test_an_organization_is_admitted_by_one_statement(ws: Workspace, ls: LocalStack,
                                                      request: pytest.FixtureRequest) -> None:
    n = Names(request.node.nodeid)
    dst_acct, dst = n.account(9), n.bucket("dst")
    members = [(n.account(i), n.bucket(f"m{i}")) for i in range(3)]
    outsider = (n.account(5), n.bucket("out"))
    aws = Aws(ls)
    aws.create_bucket(dst_acct, dst)
    foreign = {"Sid": "AuditorsList", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{dst_acct}:root"},
               "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{dst}"}
    aws.put_bucket_policy(dst_acct, dst, {"Version": "2012-10-17", "Statement": [foreign]})
    for acct, bucket in members + [outsider]:
        aws.create_bucket(acct, bucket)
    objs = aws.objects()
    objs.join_organization(ORG, [acct for acct, _ in members])

    sources = members + [outsider]
    hcl = providers(ls.endpoint, dst=dst_acct, **{f"s{i}": acct for i, (acct, _) in enumerate(sources)})
    hcl += organization_destination("org", "dst", dst)
    for i, (_, bucket) in enumerate(sources):
        hcl += source_resource(f"src{i}", f"s{i}", bucket, [to("org")])
    ws.write(hcl)
    ws.init()
    plan = ws.plan()
    assert counts(plan) == (5, 0, 0), plan.change_summary()
    ws.apply()

    statements = aws.statements(dst_acct, dst)
    ours = crossrepl_statements(statements)
    assert len(ours) == 1 and foreign in statements and len(statements) == 2, statements
    s = ours[0]
    assert s["Principal"] == "*" and s["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": ORG}, s
    assert s["Condition"]["ArnLike"] == {"aws:PrincipalArn": "arn:aws:iam::*:role/crossrepl-*"}, s
    assert_converged(ws, "apply")
    for acct, bucket in members:
        objs.assert_replicated(objs.put(acct, bucket, "org.txt", tags={"from": acct}), dst_acct, dst)
    # Negative control: the same setup from an account outside the organization is refused by the bucket policy.
    objs.assert_failed(objs.put(*outsider, "outsider.txt"), dst_acct, dst, "s3:ReplicateObject",
                       f"the bucket policy of {dst} does not allow it")

    # Import by `<bucket>,<organization id>` round-trips.
    ws.must("state", "rm", "crossrepl_destination.org", json_out=False)
    r = ws.run("import", "-input=false", "-no-color", "crossrepl_destination.org", f"{dst},{ORG}")
    assert r.ok, f"import failed:\n{r.stdout}\n{r.stderr}"
    assert_converged(ws, "import")

    # A role whose name the pattern does not match is refused at plan time, at the block's grant.
    renamed = hcl.replace(f'bucket   = "{members[0][1]}"\n', f'bucket   = "{members[0][1]}"\n  role_name = "other-name"\n')
    assert renamed != hcl
    ws.write(renamed)
    r = ws.run("plan", "-input=false")
    found = [d for d in r.diagnostics("error") if d.get("summary") == "Role not admitted by the organization"]
    assert not r.ok and found, f"a role outside the pattern must be refused: {errors(r)}"
    assert "arn:aws:iam::*:role/crossrepl-*" in found[0]["detail"], found[0]
    ws.write(hcl)

    ws.destroy()
    assert aws.statements(dst_acct, dst) == [foreign], aws.bucket_policy(dst_acct, dst)
    for acct, _ in sources:
        assert aws.local_roles(acct) == [], f"roles left in {acct}: {aws.local_roles(acct)}"


def test_organization_mode_is_validated_at_plan(ws: Workspace, ls: LocalStack,
                                                request: pytest.FixtureRequest) -> None:
    n = Names(request.node.nodeid)
    dst_acct, dst = n.account(1), n.bucket("dst")
    Aws(ls).create_bucket(dst_acct, dst)
    cases = [
        (organization_destination("d", "dst", dst, source_account_id="111111111111", source_bucket="b"),
         "Two kinds of source", "source_organization_id"),
        (organization_destination("d", "dst", dst, source_bucket="b"), "Not used in organization mode",
         "source_bucket"),
        (organization_destination("d", "dst", dst, source_role_name_pattern="*"), "Invalid role name pattern",
         "source_role_name_pattern"),
    ]
    ws.write(providers(ls.endpoint, dst=dst_acct) + cases[0][0])
    ws.init()
    for hcl, summary, attribute in cases:
        ws.write(providers(ls.endpoint, dst=dst_acct) + hcl)
        r = ws.run("plan", "-input=false")
        found = [d for d in r.diagnostics("error") if d.get("summary") == summary]
        assert not r.ok and found, f"expected {summary!r}: {errors(r)}"
        code = (found[0].get("snippet") or {}).get("code", "")
        assert attribute in code, f"{summary}: the snippet {code!r} does not show {attribute}"

    # The valid form plans.
    ws.write(providers(ls.endpoint, dst=dst_acct) + organization_destination("d", "dst", dst))
    assert counts(ws.plan()) == (1, 0, 0)
