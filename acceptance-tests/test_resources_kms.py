"""crossrepl_destination and the KMS keys of the destination account (issue 13 item 2): the statement it merges into
the policy of each key of `replica_kms_key_arns` (every other statement kept, only its own removed, drift repaired,
never an empty key policy, never one over KMS's size limit), the bucket's default key (`default_kms_key_arn`, and
`kms:GenerateDataKey` on it), and the plan-time checks of the keys, each an error on `replica_kms_key_arns`.

That the statement lets S3 replicate (and that without it replication fails) is test_replication.py's part."""

from __future__ import annotations

import copy
import json

import pytest

from lib.aws_readers import Aws, key_statements, replica_key_statement
from lib.harness import Run, Workspace, assert_converged, counts, planned_changes
from lib.naming import Names, role_arn
from lib.scenarios import TwoAccounts, destination_resource, providers
from lib.services import LocalStack


def foreign_policy(account: str) -> dict:
    """A key policy of the key's own making: administration by the account, and one more statement."""
    return {"Version": "2012-10-17", "Id": "team-key", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "AuditorsDescribe", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:role/auditor"},
         "Action": ["kms:DescribeKey", "kms:GetKeyPolicy"], "Resource": "*"}]}


def destination(ls: LocalStack, t: TwoAccounts, keys: list[str] | None, outputs: bool = False) -> str:
    extra = {"replica_kms_key_arns": keys} if keys is not None else {}
    out = """
output "default_kms_key_arn" {
  value = crossrepl_destination.dr.default_kms_key_arn
}
output "kms_statement_sid" {
  value = crossrepl_destination.dr.kms_statement_sid
}
""" if outputs else ""
    return providers(ls.endpoint, dst=t.dst_acct) + destination_resource("dr", "dst", t.dst, t.src_acct, t.src,
                                                                         **extra) + out


def ours(t: TwoAccounts, default_key: bool = False) -> dict:
    return replica_key_statement(t.src_acct, role_arn(t.src_acct, t.src), t.dst, default_key=default_key)


def outputs(ws: Workspace) -> dict:
    return {k: v["value"] for k, v in ws.must("output", "-json", json_out=False).document().items()}


def test_key_policy_statements_merged_repaired_and_removed(ws: Workspace, ls: LocalStack,
                                                           two_accounts: TwoAccounts) -> None:
    t = two_accounts
    aws = t.aws
    first, second = aws.create_key(t.dst_acct, foreign_policy(t.dst_acct)), aws.create_key(t.dst_acct)
    first_before, second_before = aws.key_policy(first), aws.key_policy(second)
    ws.write(destination(ls, t, [first], outputs=True))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    assert aws.key_policy(first) == {**first_before, "Statement": first_before["Statement"] + [ours(t)]}, \
        "the key policy must keep every statement (and its Id) and gain exactly crossrepl's"
    assert aws.key_policy(second) == second_before, "a key that is not listed must not be touched"
    assert outputs(ws)["kms_statement_sid"] == ours(t)["Sid"]
    assert_converged(ws, "apply")

    # Drift: the statement taken out (or changed) by hand shows in the plan, and apply puts it back.
    aws.put_key_policy(first, first_before)
    plan = ws.must("plan", "-input=false")
    assert counts(plan) == (0, 1, 0), planned_changes(plan)
    ws.must("apply", "-input=false", "-auto-approve")
    assert key_statements(aws, first)[-1] == ours(t), "apply did not restore the statement"
    changed = copy.deepcopy(aws.key_policy(first))
    changed["Statement"][-1]["Action"] = "kms:*"
    aws.put_key_policy(first, changed)
    ws.must("apply", "-input=false", "-auto-approve")
    assert key_statements(aws, first)[-1] == ours(t), "apply did not repair the changed statement"
    assert_converged(ws, "repairing the key policy")

    # Another key instead of the first: only crossrepl's statement leaves the first.
    ws.write(destination(ls, t, [second], outputs=True))
    ws.must("apply", "-input=false", "-auto-approve")
    assert aws.key_policy(first) == first_before, "removing the key from the set must remove only our statement"
    assert key_statements(aws, second) == second_before["Statement"] + [ours(t)]
    assert_converged(ws, "replacing a key")

    ws.destroy()
    assert (aws.key_policy(first), aws.key_policy(second)) == (first_before, second_before), \
        "destroy must leave both key policies as they were"


def test_a_key_policy_is_never_emptied(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """A key policy left with only crossrepl's statement (someone removed the rest): destroy refuses to take it out
    (a key policy cannot be deleted) and keeps it; with the administration statement back, destroy works."""
    t = two_accounts
    aws = t.aws
    key = aws.create_key(t.dst_acct)
    before = aws.key_policy(key)
    ws.write(destination(ls, t, [key]))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    only_ours = {"Version": "2012-10-17", "Statement": [ours(t)]}
    aws.put_key_policy(key, only_ours)
    r = ws.run("destroy", "-input=false", "-auto-approve")
    assert not r.ok, "destroy must fail rather than leave the key without a policy"
    errors = " ".join(f"{d.get('summary')} {d.get('detail')}" for d in r.diagnostics("error"))
    assert key in errors and "keeps its statement" in errors, errors
    assert aws.key_policy(key) == only_ours, "the statement must be kept"
    aws.put_key_policy(key, {**before, "Statement": before["Statement"] + [ours(t)]})
    ws.destroy()
    assert aws.key_policy(key) == before


def test_a_key_policy_over_the_size_limit_is_not_written(ws: Workspace, ls: LocalStack,
                                                         two_accounts: TwoAccounts) -> None:
    """KMS takes key policies up to 32,768 bytes (LocalStack takes any): a merge that would be larger fails on the
    attribute and writes nothing. The same key with a policy that leaves room is the positive control."""
    t = two_accounts
    aws = t.aws
    key = aws.create_key(t.dst_acct)
    policy = aws.key_policy(key)
    filler = {"Sid": "Filler", "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{t.dst_acct}:root"},
              "Action": "kms:ScheduleKeyDeletion", "Resource": "*",
              "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["x" * 20] * 1}}}
    room = 32_768 - len(json.dumps({**policy, "Statement": policy["Statement"] + [filler, ours(t)]},
                                   separators=(",", ":")))
    # Each more value adds 23 bytes: enough of them to end over the limit.
    filler["Condition"]["StringEquals"]["aws:PrincipalTag/team"] = ["x" * 20] * (room // 23 + 3)
    full = {**policy, "Statement": policy["Statement"] + [filler]}
    aws.put_key_policy(key, full)
    ws.write(destination(ls, t, [key]))
    ws.init()
    r = ws.run("apply", "-input=false", "-auto-approve")
    assert not r.ok, "the apply must fail"
    errors = [d for d in r.diagnostics("error") if key in (d.get("summary") or "")]
    assert errors and "at most 32768" in errors[0].get("detail", ""), r.diagnostics("error")
    assert aws.key_policy(key) == full, "nothing may be written"
    filler["Condition"]["StringEquals"]["aws:PrincipalTag/team"] = ["x" * 20]
    aws.put_key_policy(key, {**policy, "Statement": policy["Statement"] + [filler]})
    ws.must("apply", "-input=false", "-auto-approve")
    assert key_statements(aws, key)[-1] == ours(t)


def test_default_kms_key(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """The bucket's default key, named by alias, is resolved to its ARN; the plan warns until it is listed; listed,
    its statement also allows kms:GenerateDataKey; when the bucket's default goes back to SSE-S3, the refresh
    sees it and the next apply drops kms:GenerateDataKey again."""
    t = two_accounts
    aws = t.aws
    key = aws.create_key(t.dst_acct)
    aws.kms(t.dst_acct).create_alias(AliasName="alias/replicas-default", TargetKeyId=key)
    aws.s3(t.dst_acct).put_bucket_encryption(Bucket=t.dst, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                "KMSMasterKeyID": "alias/replicas-default"}}]})
    ws.write(destination(ls, t, None, outputs=True))
    ws.init()
    plan = ws.must("plan", "-input=false")
    warned = [d for d in crossrepl_diagnostics(plan) if "is not in replica_kms_key_arns" in d.get("summary", "")]
    assert warned and warned[0]["severity"] == "warning" and key in warned[0]["detail"], crossrepl_diagnostics(plan)
    ws.must("apply", "-input=false", "-auto-approve")
    assert outputs(ws)["default_kms_key_arn"] == key

    ws.write(destination(ls, t, [key], outputs=True))
    plan = ws.must("plan", "-input=false")
    assert not crossrepl_diagnostics(plan), f"the default key is listed now: {crossrepl_diagnostics(plan)}"
    ws.must("apply", "-input=false", "-auto-approve")
    assert key_statements(aws, key)[-1] == ours(t, default_key=True)
    assert_converged(ws, "listing the default key")

    aws.s3(t.dst_acct).delete_bucket_encryption(Bucket=t.dst)
    ws.must("apply", "-input=false", "-auto-approve")
    assert outputs(ws).get("default_kms_key_arn") is None  # a null output is not recorded at all
    assert key_statements(aws, key)[-1] == ours(t), "kms:GenerateDataKey must go with the default key"
    assert_converged(ws, "the default key gone")
    ws.destroy()


def crossrepl_diagnostics(run: Run) -> list[dict]:
    """Diagnostics about crossrepl resources (the engines add their own warnings, e.g. about lock files)."""
    return [d for d in run.diagnostics() if (d.get("address") or "").startswith("crossrepl_")]


def test_kms_plan_time_checks(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """Each unusable key is an error on replica_kms_key_arns at plan time, saying what to do; a usable key plans
    without any crossrepl diagnostic (the negative control); planning writes no key policy. An AWS managed default
    key of the bucket is a warning on `bucket`."""
    n = Names(request.node.nodeid)
    src_acct, dst_acct, third = n.account(0), n.account(1), n.account(2)
    t = TwoAccounts(src_acct, dst_acct, n.bucket("src"), n.bucket("dst"), Aws(ls), n)
    aws = t.aws
    aws.create_bucket(dst_acct, t.dst, versioning=True)
    managed = n.bucket("managed")
    aws.create_bucket(dst_acct, managed, versioning=True)
    aws.s3(dst_acct).put_bucket_encryption(Bucket=managed, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    good = aws.create_key(dst_acct)
    disabled = aws.create_key(dst_acct)
    aws.kms(dst_acct).disable_key(KeyId=disabled)
    signing = aws.create_key(dst_acct, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    eu = aws.create_key(dst_acct, region="eu-west-1")
    theirs = aws.create_key(third)
    missing = f"arn:aws:kms:us-east-1:{dst_acct}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    alias = f"arn:aws:kms:us-east-1:{dst_acct}:alias/replicas"
    policies = {k: aws.key_policy(k) for k in (good, disabled, signing, eu, theirs)}
    # (case, keys, bucket, severity, summary words, attribute the diagnostic points at)
    cases = [
        ("disabled key", [disabled], t.dst, "error", "is Disabled", "replica_kms_key_arns"),
        ("asymmetric signing key", [signing], t.dst, "error", "is not a symmetric encryption key (RSA_2048, "
         "SIGN_VERIFY)", "replica_kms_key_arns"),
        ("key of another region", [eu], t.dst, "error", "is in eu-west-1, bucket in us-east-1",
         "replica_kms_key_arns"),
        ("key of another account", [theirs], t.dst, "error", f"belongs to account {third}", "replica_kms_key_arns"),
        ("key that does not exist", [missing], t.dst, "error", "does not exist", "replica_kms_key_arns"),
        ("alias ARN", [alias], t.dst, "error", "Invalid KMS key ARN", "replica_kms_key_arns"),
        ("AWS managed default key", [], managed, "warning", "AWS managed key aws/s3", "bucket"),
    ]
    ws.write(destination(ls, t, [good]))
    ws.init()
    baseline = ws.run("plan", "-input=false")
    assert baseline.ok and not crossrepl_diagnostics(baseline), crossrepl_diagnostics(baseline)
    failures = []
    for name, keys, bucket, severity, summary, attribute in cases:
        ws.write(destination(ls, t._replace(dst=bucket), keys))
        r = ws.run("plan", "-input=false")
        # A validator's error carries no resource address (the engines validate before planning instances).
        found = [d for d in r.diagnostics(severity) if summary in (d.get("summary") or "")]
        others = [d for d in crossrepl_diagnostics(r) if d not in found]
        code = ((found[0].get("snippet") or {}).get("code") or "") if found else ""
        if len(found) != 1 or others or attribute not in code or r.ok != (severity == "warning"):
            failures.append(f"{name}: expected one {severity} ~ {summary!r} at {attribute}, ok={r.ok}: "
                            f"{found + others}")
    assert not failures, "\n".join(failures)
    assert {k: aws.key_policy(k) for k in policies} == policies, "planning wrote a key policy"


def test_two_sources_share_a_replica_key(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """Two source accounts replicate into one bucket under one replica key: two crossrepl_destination resources
    of one provider block write the same key policy in the same apply. Key policies are last-writer-wins, so only
    the per-policy lock keeps both statements; dropping one source removes only its statement."""
    n = Names(request.node.nodeid)
    dst_acct, one, two = n.account(9), n.account(0), n.account(1)
    aws = Aws(ls)
    t_one = TwoAccounts(one, dst_acct, n.bucket("one"), n.bucket("dst"), aws, n)
    t_two = t_one._replace(src_acct=two, src=n.bucket("two"))
    aws.create_bucket(dst_acct, t_one.dst)
    key = aws.create_key(dst_acct, foreign_policy(dst_acct))
    before = aws.key_policy(key)
    hcl = (providers(ls.endpoint, dst=dst_acct)
           + destination_resource("one", "dst", t_one.dst, one, t_one.src, replica_kms_key_arns=[key])
           + destination_resource("two", "dst", t_two.dst, two, t_two.src, replica_kms_key_arns=[key]))
    ws.write(hcl)
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    statements = key_statements(aws, key)
    assert statements[:2] == before["Statement"], "the key's own statements must stay first and unchanged"
    assert sorted(statements[2:], key=lambda s: s["Sid"]) == sorted([ours(t_one), ours(t_two)],
                                                                     key=lambda s: s["Sid"]), statements
    assert_converged(ws, "the parallel apply")
    ws.write(hcl.split('\nresource "crossrepl_destination" "two"')[0])
    ws.must("apply", "-input=false", "-auto-approve")
    assert key_statements(aws, key) == before["Statement"] + [ours(t_one)]
    ws.destroy()
    assert aws.key_policy(key) == before
