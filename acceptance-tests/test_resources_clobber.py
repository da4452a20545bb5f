"""Scenario 7: crossrepl_source never adopts what it did not create. A pre-existing role, policy or replication
configuration makes the plan fail (preflight) and, when it appeared after the plan was saved, the apply fail, with
an error naming it and explaining import; nothing is changed."""

from __future__ import annotations

import json

import pytest

from lib.aws_readers import Aws
from lib.harness import Workspace, counts, errors
from lib.naming import Names, arn, policy_arn, role_name
from lib.scenarios import providers, source_resource
from lib.services import LocalStack

OTHER_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
OTHER_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def test_refuses_to_clobber(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """Three sources in one account, one apply: each meets one pre-existing thing under its derived name."""
    n = Names(request.node.nodeid)
    acct = n.account(0)
    has_role, has_policy, has_config, target = (n.bucket("role"), n.bucket("policy"), n.bucket("config"),
                                                n.bucket("target"))
    aws = Aws(ls)
    aws.create_bucket(acct, target, versioning=True)
    for bucket in (has_role, has_policy):
        aws.create_bucket(acct, bucket)  # versioning off: a refused create must not turn it on either
    aws.create_bucket(acct, has_config, versioning=True)

    ws.write(providers(ls.endpoint, main=acct)
             + "".join(source_resource(name, "main", bucket, [{"bucket_arn": arn(target)}])
                       for name, bucket in (("has_role", has_role), ("has_policy", has_policy),
                                            ("has_config", has_config))))
    ws.init()
    # Saved before the obstacles exist: the plan is clean.
    plan = ws.plan()
    assert counts(plan) == (3, 0, 0), plan.change_summary()

    iam = aws.iam(acct)
    iam.create_role(RoleName=role_name(has_role), AssumeRolePolicyDocument=json.dumps(OTHER_TRUST))
    iam.create_policy(PolicyName=f"crossrepl-policy-{has_policy}", PolicyDocument=json.dumps(OTHER_POLICY))
    foreign_role = f"arn:aws:iam::{acct}:role/someone-elses-replication"
    aws.s3(acct).put_bucket_replication(Bucket=has_config, ReplicationConfiguration={
        "Role": foreign_role,
        "Rules": [{"ID": "theirs", "Priority": 7, "Status": "Enabled", "Filter": {"Prefix": "x/"},
                   "DeleteMarkerReplication": {"Status": "Disabled"},
                   "Destination": {"Bucket": arn(target)}}]})
    before = {b: aws.snapshot(acct, b) for b in (has_role, has_policy, has_config)}
    policies_before = {p: aws.policy_document(acct, p) for p in aws.local_policies(acct)}
    # A fresh plan refuses at plan time (preflight), the saved plan's apply refuses too.
    for r in (ws.run("plan", "-input=false"), ws.run("apply", "-input=false", "tfplan")):
        assert not r.ok, f"`{' '.join(r.args[1:])}` over pre-existing role/policy/configuration succeeded:\n" \
                         f"{r.stdout[-3000:]}"
        by_address = {d.get("address"): f"{d.get('summary')}\n{d.get('detail')}" for d in r.diagnostics("error")}
        text = errors(r)
        for name, what in (("has_role", role_name(has_role)), ("has_policy", f"crossrepl-policy-{has_policy}"),
                           ("has_config", has_config)):
            msg = by_address.get(f"crossrepl_source.{name}")
            assert msg is not None, f"no error for crossrepl_source.{name}; errors were:\n{text}"
            assert what in msg, f"crossrepl_source.{name}: the error should name {what!r}:\n{msg}"
            assert "import" in msg.lower(), f"crossrepl_source.{name}: the error should explain import:\n{msg}"
        assert "replication configuration" in by_address["crossrepl_source.has_config"], text

    after = {b: aws.snapshot(acct, b) for b in (has_role, has_policy, has_config)}
    for bucket in before:
        assert after[bucket] == before[bucket], f"refused create changed AWS for {bucket}:\n" \
                                                f"before {before[bucket]}\nafter  {after[bucket]}"
    assert {p: aws.policy_document(acct, p) for p in aws.local_policies(acct)} == policies_before, \
        "policies were created or changed"
    assert aws.attached(acct, role_name(has_role)) == [], "a policy was attached to the pre-existing role"
    assert aws.replication(acct, has_config)["Role"] == foreign_role
    assert policy_arn(acct, has_role) not in aws.local_policies(acct)

    state = ws.run("state", "list", json_out=False)
    assert state.stdout.strip() == "", f"refused creates must leave nothing in state: {state.stdout}"


def test_rename_is_a_new_claim_at_apply_too(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """Renaming the role claims a new name: a role that took it after the plan was saved makes the saved plan's
    apply fail, and the state keeps the old role, which still exists. A policy attached to the role by hand is
    reported at every refresh, never kept or removed silently."""
    n = Names(request.node.nodeid)
    acct = n.account(0)
    src, target = n.bucket("src"), n.bucket("target")
    aws = Aws(ls)
    aws.create_bucket(acct, src)
    aws.create_bucket(acct, target, versioning=True)
    def source(**extra) -> str:
        return providers(ls.endpoint, main=acct) + source_resource("data", "main", src, [{"bucket_arn": arn(target)}],
                                                                   **extra)

    ws.write(source())
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")

    iam = aws.iam(acct)
    extra = iam.create_policy(PolicyName=f"by-hand-{src}"[:60], PolicyDocument=json.dumps(OTHER_POLICY))
    extra_arn = extra["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role_name(src), PolicyArn=extra_arn)
    r = ws.must("plan", "-input=false")
    reported = [d for d in r.diagnostics("warning") if "does not manage" in (d.get("summary") or "")]
    assert reported and extra_arn in reported[0]["detail"], r.diagnostics()
    assert extra_arn in aws.attached(acct, role_name(src)), "the refresh must not remove a policy it does not manage"
    iam.detach_role_policy(RoleName=role_name(src), PolicyArn=extra_arn)
    assert not [d for d in ws.must("plan", "-input=false").diagnostics("warning")
                if "does not manage" in (d.get("summary") or "")], "the warning must go with the policy"

    renamed = f"renamed-{src}"[:64]
    ws.write(source(role_name=renamed))
    ws.plan()  # saved while the new name is free
    iam.create_role(RoleName=renamed, AssumeRolePolicyDocument=json.dumps(OTHER_TRUST))
    r = ws.run("apply", "-input=false", "tfplan")
    assert not r.ok and "already exists" in errors(r) and "import" in errors(r).lower(), errors(r)
    assert aws.attached(acct, renamed) == [], "the foreign role must not be touched"
    assert policy_arn(acct, src) in aws.attached(acct, role_name(src)), "the old role must be left as it was"
    shown = ws.run("state", "show", "crossrepl_source.data", json_out=False).stdout
    assert role_name(src) in shown and renamed not in shown, f"the state must keep the old role:\n{shown}"

    ws.write(source())
    ws.must("apply", "-input=false", "-auto-approve")
    ws.destroy()
    assert aws.role(acct, renamed) is not None, "destroy must leave the foreign role alone"
