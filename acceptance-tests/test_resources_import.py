"""Scenario 5: import of both resources from a setup made with boto3 in the shape crossrepl writes (documents
written with another key order, lists vs single strings, other statement order), first with the `import`
command, then with `import` blocks; the plan after each import changes nothing in AWS (only the source's record
of the destination's grant, which an import cannot read from the source account) and import writes nothing."""

from __future__ import annotations

import json

import pytest

from lib.aws_readers import Aws, check_nothing_left
from lib.harness import Workspace, changed_paths, counts, planned_changes
from lib.constants import ROLES_SID
from lib.naming import Names, arn, policy_arn, role_arn, role_name, rule_id
from lib.scenarios import TwoAccounts, destination_resource, providers, source_resource, to
from lib.services import LocalStack


# After an import the only difference is the source's record of the destination's grant.
GRANT_ONLY = {"crossrepl_source.data": ["destination[0].grant"]}


def sdk_setup(aws: Aws, src_acct: str, src: str, dst_acct: str, dst: str) -> None:
    """What crossrepl_destination + crossrepl_source would create on the two buckets, made with boto3 alone."""
    for account, bucket in ((src_acct, src), (dst_acct, dst)):
        aws.enable_versioning(account, bucket)
    role = role_arn(src_acct, src)
    aws.put_bucket_policy(dst_acct, dst, {
        "Version": "2012-10-17",
        "Statement": [
            {"Condition": {"ArnEquals": {"aws:PrincipalArn": [role]}, "StringEquals": {"aws:PrincipalAccount": src_acct}},
             "Resource": [arn(dst) + "/*", arn(dst)], "Sid": ROLES_SID, "Effect": "Allow", "Principal": "*",
             "Action": ["s3:ReplicateTags", "s3:GetBucketVersioning", "s3:ReplicateObject", "s3:ReplicateDelete"]},
        ]})
    iam = aws.iam(src_acct)
    trust = {"Statement": [{"Condition": {"ArnLike": {"aws:SourceArn": arn(src)},
                                          "StringEquals": {"aws:SourceAccount": src_acct}},
                            "Action": ["sts:AssumeRole"], "Principal": {"Service": ["s3.amazonaws.com"]},
                            "Effect": "Allow", "Sid": "S3AssumeReplicationRole"}],
             "Version": "2012-10-17"}
    iam.create_role(RoleName=role_name(src), AssumeRolePolicyDocument=json.dumps(trust),
                    Description="made with boto3 for the import scenario")
    permissions = {"Version": "2012-10-17", "Statement": [
        {"Sid": "DestinationObjects", "Effect": "Allow", "Resource": [arn(dst) + "/*"],
         "Action": ["s3:ReplicateTags", "s3:ReplicateDelete", "s3:ReplicateObject"]},
        {"Sid": "SourceObjects", "Effect": "Allow", "Resource": arn(src) + "/*",
         "Action": ["s3:GetObjectLegalHold", "s3:GetObjectVersionTagging", "s3:GetObjectVersionAcl",
                    "s3:GetObjectRetention", "s3:GetObjectVersionForReplication"]},
        {"Sid": "SourceBucket", "Effect": "Allow", "Resource": arn(src),
         "Action": ["s3:ListBucket", "s3:GetReplicationConfiguration"]},
    ]}
    name = f"crossrepl-policy-{src}"
    iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(permissions, indent=2))
    iam.attach_role_policy(RoleName=role_name(src), PolicyArn=policy_arn(src_acct, src))
    aws.s3(src_acct).put_bucket_replication(Bucket=src, ReplicationConfiguration={
        "Role": role,
        "Rules": [{"ID": rule_id(dst), "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                   "DeleteMarkerReplication": {"Status": "Enabled"},
                   "Destination": {"Bucket": arn(dst), "Account": dst_acct}}]})


def test_import_command_and_import_blocks(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    sdk_setup(aws, src_acct, src, dst_acct, dst)

    def aws_state() -> dict:
        return {"source": aws.snapshot(src_acct, src),
                "policy": aws.policy_document(src_acct, policy_arn(src_acct, src)),
                "bucket_policy": aws.s3(dst_acct).get_bucket_policy(Bucket=dst)["Policy"],
                "dst_versioning": aws.versioning(dst_acct, dst)}

    before = aws_state()
    config = (providers(ls.endpoint, src=src_acct, dst=dst_acct)
              + destination_resource("dr", "dst", dst, src_acct, src)
              + source_resource("data", "src", src, [to("dr")]))
    ws.write(config)
    ws.init()

    # 1. the import command
    for address, import_id in (("crossrepl_destination.dr", f"{dst},{src_acct}"), ("crossrepl_source.data", src)):
        r = ws.run("import", "-input=false", "-no-color", address, import_id)
        assert r.ok, f"`{ws.engine} import {address} {import_id}` failed:\n{r.stdout}\n{r.stderr}"
    assert aws_state() == before, "import changed something in AWS"
    ws.plan()
    assert changed_paths(ws) == GRANT_ONLY, f"plan after `import`: {changed_paths(ws)}"
    ws.apply()
    assert aws_state() == before, "recording the grant changed something in AWS"
    plan = ws.plan()
    assert counts(plan) == (0, 0, 0), f"plan after `import` and apply: {planned_changes(plan)}"

    # 2. import blocks, after forgetting both
    ws.must("state", "rm", "crossrepl_destination.dr", "crossrepl_source.data", json_out=False)
    ws.write(f"""
import {{
  to = crossrepl_destination.dr
  id = "{dst},{src_acct}"
}}

import {{
  to = crossrepl_source.data
  id = "{src}"
}}
""", "imports.tf")
    plan = ws.plan()
    summary = plan.change_summary()
    assert summary.get("import") == 2 and changed_paths(ws) == GRANT_ONLY, \
        f"plan with import blocks should import 2 and change only the grant: {summary}: {changed_paths(ws)}"
    ws.apply()
    assert aws_state() == before, "applying the import blocks changed something in AWS"
    (ws.dir / "imports.tf").unlink()
    plan = ws.plan()
    assert counts(plan) == (0, 0, 0), \
        f"plan after import blocks is not empty: {plan.change_summary()}: {planned_changes(plan)}"
    aws.objects().prove(src_acct, src, dst_acct, dst)

    # the imported resources own what they imported
    ws.destroy()
    check_nothing_left(aws, src_acct, src)
    assert aws.bucket_policy(dst_acct, dst) is None, aws.bucket_policy(dst_acct, dst)


def test_import_destination_shared_by_two_sources_of_one_account(ws: Workspace, ls: LocalStack,
                                                                  request: pytest.FixtureRequest) -> None:
    """Two source buckets of the same account replicate into one destination bucket: the bucket policy holds
    two crossrepl statement sets for that account, so `<bucket>,<account>` is ambiguous and import must say so,
    and `<bucket>,<account>,<source_bucket>` (the documented disambiguation) must import the right one."""
    n = Names(request.node.nodeid)
    src_acct, dst_acct = n.account(0), n.account(1)
    one, two, dst = n.bucket("one"), n.bucket("two"), n.bucket("dst")
    aws = Aws(ls)
    for account, bucket in ((src_acct, one), (src_acct, two), (dst_acct, dst)):
        aws.create_bucket(account, bucket)
    ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
             + destination_resource("one", "dst", dst, src_acct, one)
             + destination_resource("two", "dst", dst, src_acct, two)
             + source_resource("one", "src", one, [to("one")])
             + source_resource("two", "src", two, [to("two")]))
    ws.init()
    ws.plan()
    ws.apply()
    ws.must("state", "rm", "crossrepl_destination.one", "crossrepl_destination.two", json_out=False)

    problems = []
    ambiguous = ws.run("import", "-input=false", "-no-color", "crossrepl_destination.one", f"{dst},{src_acct}")
    if ambiguous.ok:
        problems.append("importing with the ambiguous id `<bucket>,<account>` succeeded instead of failing")
        ws.must("state", "rm", "crossrepl_destination.one", json_out=False)
    elif "source_bucket" not in ambiguous.stderr:
        problems.append("the error for the ambiguous id does not say how to disambiguate "
                        f"(`<bucket>,<account>,<source_bucket>`):\n{ambiguous.stderr.strip()}")
    imported = True
    for name, bucket in (("one", one), ("two", two)):
        r = ws.run("import", "-input=false", "-no-color", f"crossrepl_destination.{name}",
                   f"{dst},{src_acct},{bucket}")
        if not r.ok:
            imported = False
            problems.append(f"`{ws.engine} import crossrepl_destination.{name} {dst},{src_acct},{bucket}` failed:\n"
                            f"{r.stderr.strip()}")
    if imported:
        plan = ws.plan()
        if counts(plan) != (0, 0, 0):
            problems.append(f"plan after import: {plan.change_summary()}: {planned_changes(plan)}")
        objs = aws.objects()
        for bucket in (one, two):  # each source admitted by its own statements into the shared bucket
            objs.assert_replicated(objs.put(src_acct, bucket, f"from-{bucket}.txt"), dst_acct, dst)
    ws.destroy()
    assert aws.bucket_policy(dst_acct, dst) is None or not imported
    assert not problems, "\n".join(problems)
