"""Plan-time preflight (issue #7.3): with the provider configured and the values known, planning a new
crossrepl_source / crossrepl_destination checks read-only what apply would trip over and reports it at plan time,
on the attribute, before anything is created. One workspace, init once, main.tf rewritten per case.

Each case sets up the obstacle in LocalStack first; the baseline (no obstacle) must plan without any crossrepl
diagnostic, so every expected diagnostic is caused by its obstacle. A counting proxy checks that preflight is one
round of concurrent reads per resource."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

import pytest

import awsproxy  # testbed/awsproxy.py
from lib.aws_readers import Aws
from lib.harness import Run, Workspace
from lib.naming import Names, arn, role_arn
from lib.scenarios import KEY_ACCOUNT, destination_resource, made_up_kms_key, providers, source_resource, to
from lib.services import LocalStack

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


@dataclass
class Case:
    name: str
    severity: str  # "error" or "warning"
    resource: str  # address the diagnostic must carry
    attribute: str  # attribute the diagnostic's source snippet must show
    summary: str  # expected in the summary
    source: dict = field(default_factory=dict)  # overrides of the crossrepl_source "data" block
    dests: list | None = None  # destination blocks (default: one, to crossrepl_destination.dr)
    destination: dict = field(default_factory=dict)  # overrides of the crossrepl_destination "dr" block


@dataclass
class Setup:
    src_acct: str
    dst_acct: str
    src: str
    dst: str
    names: dict  # label -> bucket or IAM name, per obstacle


def obstacles(aws: Aws, n: Names) -> Setup:
    src_acct, dst_acct, third = n.account(0), n.account(1), n.account(2)
    b = {label: n.bucket(label) for label in ("src", "dst", "theirs", "suspended", "unversioned", "configured",
                                              "eu", "nowhere", "local-unversioned", "locked", "kms-default")}
    aws.create_bucket(src_acct, b["src"], versioning=True)
    aws.create_bucket(dst_acct, b["dst"], versioning=True)
    aws.create_bucket(third, b["theirs"], versioning=True)
    aws.create_bucket(src_acct, b["suspended"], versioning=True)
    aws.s3(src_acct).put_bucket_versioning(Bucket=b["suspended"], VersioningConfiguration={"Status": "Suspended"})
    aws.create_bucket(dst_acct, b["unversioned"])
    aws.create_bucket(src_acct, b["configured"], versioning=True)
    aws.s3(src_acct).put_bucket_replication(Bucket=b["configured"], ReplicationConfiguration={
        "Role": f"arn:aws:iam::{src_acct}:role/someone-elses-replication",
        "Rules": [{"ID": "theirs", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                   "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": {"Bucket": arn(b["dst"])}}]})
    aws.create_bucket(src_acct, b["local-unversioned"])
    aws.s3(src_acct).create_bucket(Bucket=b["locked"], ObjectLockEnabledForBucket=True)
    aws.create_bucket(src_acct, b["kms-default"], versioning=True)
    aws.s3(src_acct).put_bucket_encryption(Bucket=b["kms-default"], ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    eu = ls_client_eu(aws, dst_acct)
    eu.create_bucket(Bucket=b["eu"], CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu.put_bucket_versioning(Bucket=b["eu"], VersioningConfiguration={"Status": "Enabled"})
    iam = aws.iam(src_acct)
    b["taken-role"] = "taken-" + b["src"][:40]
    b["taken-policy"] = "taken-policy-" + b["src"][:40]
    iam.create_role(RoleName=b["taken-role"], AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.create_policy(PolicyName=b["taken-policy"], PolicyDocument=json.dumps(POLICY))
    return Setup(src_acct, dst_acct, b["src"], b["dst"], b)


def ls_client_eu(aws: Aws, account: str):
    return aws.ls.client("s3", account, region="eu-west-1")


def cases(s: Setup) -> list[Case]:
    b = s.names
    key_us = made_up_kms_key(KEY_ACCOUNT)
    src, dst = "crossrepl_source.data", "crossrepl_destination.dr"
    return [
        Case("destination bucket missing (a warning: the configuration may create it)", "warning", dst, "bucket",
             "does not exist", destination={"bucket": b["nowhere"]}),
        Case("source bucket missing", "warning", src, "bucket", "does not exist", source={"bucket": b["nowhere"]}),
        Case("destination bucket of a third account", "error", dst, "bucket", "is not in account",
             destination={"bucket": b["theirs"]}),
        Case("source bucket of a third account", "error", src, "bucket", "is not in account",
             source={"bucket": b["theirs"]}),
        Case("source versioning suspended, enable_versioning = false", "error", src, "enable_versioning",
             "versioning is suspended", source={"bucket": b["suspended"], "enable_versioning": False}),
        Case("destination versioning off, enable_versioning = false", "error", dst, "enable_versioning",
             "versioning is off", destination={"bucket": b["unversioned"], "enable_versioning": False}),
        Case("replication configuration crossrepl does not own", "error", src, "bucket",
             "already has a replication configuration", source={"bucket": b["configured"]}),
        Case("role name taken", "error", src, "role_name", "already exists",
             source={"role_name": b["taken-role"]}),
        Case("policy name taken", "error", src, "policy_name", "already exists",
             source={"policy_name": b["taken-policy"]}),
        Case("replica KMS key in another region than the destination bucket", "error", src, "replica_kms_key_arn",
             "replica KMS key is in us-east-1, destination bucket in eu-west-1",
             dests=[{"bucket_arn": arn(b["eu"]), "account_id": s.dst_acct, "replica_kms_key_arn": key_us,
                     "source_kms_key_arns": [key_us.replace(s.dst_acct, s.src_acct)],
                     "grant": {"bucket_arn": arn(b["eu"]), "role_arn": role_arn(s.src_acct, s.src)}}]),
        Case("destination bucket in another region than its provider block", "error", dst, "bucket",
             "is in region eu-west-1", destination={"bucket": b["eu"]}),
        Case("same-account destination versioning off, enable_versioning = false", "error", src,
             "enable_versioning", "versioning is off",
             source={"enable_versioning": False}, dests=[{"bucket_arn": arn(b["local-unversioned"])}]),
        Case("same-account destination that is another account's (account_id missing)", "error", src,
             "bucket_arn", "is not in account", dests=[{"bucket_arn": arn(b["theirs"])}]),
        Case("source with Object Lock, destination without", "error", src, "bucket_arn",
             "Destination bucket has no Object Lock", source={"bucket": b["locked"]}),
        Case("source encrypting with SSE-KMS by default, rule selecting no SSE-KMS objects", "warning", src,
             "destination", "SSE-KMS objects will not replicate", source={"bucket": b["kms-default"]}),
    ]


def config(endpoint: str, s: Setup, case: Case | None) -> str:
    c = case or Case("baseline", "", "", "", "")
    # The destination admits whatever source and role the case uses (else the source's grant check objects).
    admitted = {"source_role_name": c.source["role_name"]} if "role_name" in c.source else {}
    d = {"bucket": s.dst, "source_account_id": s.src_acct, "source_bucket": c.source.get("bucket", s.src),
         **admitted, **c.destination}
    src = {"bucket": s.src, **c.source}
    return (providers(endpoint, src=s.src_acct, dst=s.dst_acct)
            + destination_resource("dr", "dst", d.pop("bucket"), d.pop("source_account_id"), d.pop("source_bucket"),
                                   **d)
            + source_resource("data", "src", src.pop("bucket"), c.dests or [to("dr")], **src))


def crossrepl_diagnostics(run: Run) -> list[dict]:
    """Diagnostics about crossrepl resources (the engines add their own warnings, e.g. about lock files)."""
    return [d for d in run.diagnostics() if (d.get("address") or "").startswith("crossrepl_")]


def problems(run: Run, case: Case) -> list[str]:
    ours = crossrepl_diagnostics(run)
    shown = "\n".join(f"  {d.get('severity')} [{d.get('address')}] {d.get('summary')}: {d.get('detail')} "
                      f"@ {(d.get('snippet') or {}).get('code', '').strip()!r}" for d in ours)
    found = [d for d in ours if d.get("severity") == case.severity and case.summary in (d.get("summary") or "")]
    if not found:
        return [f"no {case.severity} with summary ~ {case.summary!r}; diagnostics:\n{shown}"]
    d, out = found[0], []
    if d.get("address") != case.resource:
        out.append(f"address {d.get('address')!r}, expected {case.resource!r}")
    code = (d.get("snippet") or {}).get("code", "")
    if case.attribute not in code:
        out.append(f"the snippet {code.strip()!r} does not show the attribute {case.attribute!r}")
    if len(ours) != 1:
        out.append(f"{len(ours)} crossrepl diagnostics, expected only this one:\n{shown}")
    if case.severity == "error" and run.ok:
        out.append("plan succeeded despite the error")
    if case.severity == "warning" and not run.ok:
        out.append(f"a warning must not fail the plan:\n{shown}")
    return out


def test_preflight_reports_at_plan_time(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    n = Names(request.node.nodeid)
    aws = Aws(ls)
    s = obstacles(aws, n)
    roles_before = {a: aws.local_roles(a) for a in (s.src_acct, s.dst_acct)}
    policies_before = {a: aws.local_policies(a) for a in (s.src_acct, s.dst_acct)}

    # The baseline through a counting proxy that delays every call 0.3-1.5 s, so that calls made concurrently
    # overlap clearly and the critical path counts rounds, not scheduling noise.
    proxy = awsproxy.start(ls.endpoint, fault_rate=1.0, seed=1, faults="latency")
    try:
        ws.write(config(proxy.url, s, None))
        ws.init()
        proxy.stats.reset()
        baseline = ws.run("plan", "-input=false")
        calls = proxy.stats.summary()
    finally:
        proxy.stop()
    assert baseline.ok and not crossrepl_diagnostics(baseline), \
        f"the baseline must plan cleanly: {crossrepl_diagnostics(baseline)}"
    # Preflight of a new pair: each provider process asks STS its account (once), then one round of reads per
    # resource; the engine plans the destination before the source (the source refers to it). Per bucket: its
    # region and owner (one HeadBucket with the expected owner), Object Lock and default encryption (the
    # destination's for its grant, the source's for the checks of its destinations); the source's versioning, read
    # in the same round for the apply that follows.
    assert calls["by_operation"] == CHECKS, f"preflight calls: {calls}"
    assert calls["critical_path"] <= 4, f"preflight must be one round per resource: {calls}"

    failures = []
    for case in cases(s):
        ws.write(config(ls.endpoint, s, case))
        r = ws.run("plan", "-input=false")
        failures += [f"{case.name}: {p}" for p in problems(r, case)]
    assert not failures, f"{ws.engine}: {len(failures)} preflight case(s) wrong:\n" + "\n".join(failures)

    # Preflight never writes.
    assert {a: aws.local_roles(a) for a in roles_before} == roles_before, "roles were created"
    assert {a: aws.local_policies(a) for a in policies_before} == policies_before, "policies were created"
    for account, bucket in ((s.dst_acct, s.names["unversioned"]), (s.src_acct, s.src), (s.dst_acct, s.dst)):
        assert aws.bucket_policy(account, bucket) is None, f"a bucket policy was written on {bucket}"
    assert aws.replication(s.src_acct, s.src) is None, "replication was configured"
    assert aws.versioning(s.dst_acct, s.names["unversioned"]) is None, "versioning was turned on"


# The plan-time checks of both resources in one walk: STS once per provider process, the source bucket's
# versioning read ahead for the apply.
CHECKS = {"sts:GetCallerIdentity": 2, "s3:HeadBucket": 2, "s3:GetObjectLockConfiguration": 2,
          "s3:GetBucketEncryption": 2, "s3:GetBucketReplication": 1, "iam:GetRole": 1, "iam:ListPolicyTags": 1,
          "s3:GetBucketVersioning": 1}
# The apply: the destination reads versioning and its bucket policy, writes the policy and looks at it again after
# the settle wait; the source (both buckets are versioned already: nothing to write) creates the policy and the
# role, attaches, writes the configuration and reads it back.
WORK = {"s3:GetBucketVersioning": 1, "s3:GetBucketPolicy": 2, "s3:PutBucketPolicy": 1, "iam:CreatePolicy": 1,
        "iam:CreateRole": 1, "iam:AttachRolePolicy": 1, "s3:PutBucketReplication": 1, "s3:GetBucketReplication": 1}


def apply_calls(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest, saved_plan: bool) -> dict[str, int]:
    """The calls of creating the pair, by operation: `plan -out` then `apply` of the saved plan, or one `apply`."""
    n = Names(request.node.nodeid)
    aws = Aws(ls)
    src_acct, dst_acct, src, dst = n.account(0), n.account(1), n.bucket("src"), n.bucket("dst")
    aws.create_bucket(src_acct, src, versioning=True)
    aws.create_bucket(dst_acct, dst, versioning=True)
    proxy = awsproxy.start(ls.endpoint)
    try:
        ws.write(config(proxy.url, Setup(src_acct, dst_acct, src, dst, {}), None))
        ws.init()
        proxy.stats.reset()
        if saved_plan:
            ws.plan()
            ws.apply()
        else:
            ws.must("apply", "-input=false", "-auto-approve")
        return proxy.stats.summary()["by_operation"]
    finally:
        proxy.stop()


def expected_calls(walks_checked: int) -> dict[str, int]:
    expected = {op: walks_checked * k for op, k in CHECKS.items()}
    for op, k in WORK.items():
        expected[op] = expected.get(op, 0) + k
    return expected


def test_apply_reads_each_part_once(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """One `apply` plans each resource twice (the plan walk, then the apply walk in new provider processes): the
    apply walk's plan takes over what the plan walk's checks read moments before in the same engine run
    (aws/handoff.rs), and the apply takes over what its own plan read (the role, the policy, the replication
    configuration, the source's versioning); parts found missing are not asked about further (no policy listing
    of a role that does not exist)."""
    calls = apply_calls(ws, ls, request, saved_plan=False)
    assert calls == expected_calls(1), f"{ws.engine}: apply calls {calls}"


def test_a_saved_plan_is_checked_again(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """The control: applying a saved plan is another engine run, maybe much later; its apply walk checks again
    (and the apply still takes over what that plan read)."""
    calls = apply_calls(ws, ls, request, saved_plan=True)
    assert calls == expected_calls(2), f"{ws.engine}: apply calls {calls}"


def test_a_bucket_made_in_the_same_apply(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """A source bucket that another resource of the configuration makes in the same apply: the plan walk finds it
    missing (a warning), and the apply walk, after that resource ran, must find it. A read that says a bucket does
    not exist is never handed on (aws/handoff.rs); the control is the plan's warning."""
    n = Names(request.node.nodeid)
    aws = Aws(ls)
    src_acct, dst_acct, src, dst = n.account(0), n.account(1), n.bucket("src"), n.bucket("dst")
    aws.create_bucket(dst_acct, dst, versioning=True)
    make = (f"import boto3; boto3.client('s3', endpoint_url='{ls.endpoint}', region_name='us-east-1', "
            f"aws_access_key_id='{src_acct}', aws_secret_access_key='test').create_bucket(Bucket='{src}')")
    maker = ('resource "terraform_data" "make_bucket" {\n  provisioner "local-exec" {\n'
             f"    command = {json.dumps(f'{sys.executable} -c {json.dumps(make)}')}\n  }}\n}}\n")
    setup = Setup(src_acct, dst_acct, src, dst, {})
    main = config(ls.endpoint, setup, None).replace(
        f'  bucket   = "{src}"\n', f'  bucket   = "{src}"\n  depends_on = [terraform_data.make_bucket]\n', 1)
    ws.write(maker + main)
    ws.init()
    plan = ws.run("plan", "-input=false")
    assert plan.ok and any(f"bucket {src} does not exist" in (d.get("summary") or "")
                           for d in crossrepl_diagnostics(plan)), f"the plan must warn: {crossrepl_diagnostics(plan)}"
    ws.must("apply", "-input=false", "-auto-approve")
    assert aws.replication(src_acct, src), "the replication configuration is in place"
    assert aws.versioning(src_acct, src) == "Enabled"
