"""Proof at apply (issue 16): `verify` on crossrepl_source writes a canary per rule, waits for S3's replication status
on it, and deletes it, judged by the test bed's replication engine (every authorization Principal Mapper's).

- A correct setup passes, the state records COMPLETED, the replica lies under the prefix in the destination and the
  canary version is gone from the source; a no-op apply writes no canary (PutObject counted through the proxy).
- The negative control: the destination bucket policy's crossrepl statement removed out of band makes the check FAIL
  with a diagnostic naming the rule and the destination; with the statement back, the next apply passes.
- A replication slower than `timeout` (a test-bed delay) is reported as a timeout while PENDING, not as FAILED.
- At plan: a default Object Lock retention on the source bucket refuses `verify` (control: without it, no refusal),
  and a rule whose canary another rule into the same bucket replicates is named as not verifiable separately.
"""

from __future__ import annotations

import json
from collections import Counter

import awsproxy  # testbed/awsproxy.py
from lib.aws_readers import crossrepl_statements
from lib.harness import Workspace, assert_converged_exit_code, errors, state_values
from lib.naming import rule_id
from lib.scenarios import TwoAccounts, destination_resource, providers, source_resource, to
from lib.services import LocalStack

PREFIX = ".crossrepl/canary/"


def config(endpoint: str, t: TwoAccounts, trigger: str, timeout: str = "20s", dests: list[dict] | None = None) -> str:
    verify = f'{{\n    timeout          = "{timeout}"\n    triggers_replace = {{ run = "{trigger}" }}\n  }}'
    return providers(endpoint, src=t.src_acct, dst=t.dst_acct) + destination_resource(
        "dst", "dst", t.dst, t.src_acct, t.src) + source_resource("src", "src", t.src, dests or [to("dst")]).replace(
        "\n  destination {", f"\n  verify {verify}\n\n  destination {{", 1)


def verify_state(ws: Workspace) -> dict:
    return state_values(ws, "crossrepl_source.src")["verify"][0]


def puts(proxy: awsproxy.Proxy) -> int:
    return Counter(c.operation for c in proxy.stats.calls if c.reached_upstream)["s3:PutObject"]


def test_verify_proves_replication(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    t = two_accounts
    aws, rule = t.aws, rule_id(t.dst)
    proxy = awsproxy.start(ls.endpoint)
    try:
        ws.write(config(proxy.url, t, "1"))
        ws.init()
        ws.must("apply", "-input=false", "-auto-approve")
        v = verify_state(ws)
        assert v["results"] == {rule: "COMPLETED"}, v
        assert v["checked_at"].endswith("Z"), v
        assert puts(proxy) == 1, "one canary for one rule"
        lock_reads = Counter(c.operation for c in proxy.stats.calls)["s3:GetObjectLockConfiguration"]
        assert lock_reads == 2, f"the source's and the destination's Object Lock, once (the apply walk's plan takes " \
                                f"over the plan walk's reads): verify reuses the destination checks' read of the " \
                                f"source, not {lock_reads}"
        versions = aws.s3(t.src_acct).list_object_versions(Bucket=t.src, Prefix=PREFIX)
        assert not versions.get("Versions") and not versions.get("DeleteMarkers"), \
            f"the canary version is deleted from the source, without a delete marker: {versions}"
        replicas = aws.s3(t.dst_acct).list_objects_v2(Bucket=t.dst, Prefix=PREFIX).get("Contents", [])
        assert len(replicas) == 1, f"one replica per check stays in the destination (documented): {replicas}"

        # nothing changed: no check, no canary
        assert_converged_exit_code(ws, "an apply that verified replication")
        ws.must("apply", "-input=false", "-auto-approve")
        assert puts(proxy) == 1, "a no-op apply writes no canary"

        # negative control: the destination's bucket policy loses crossrepl's statement, out of band (in the other
        # account, whose state the source's apply does not refresh: -refresh=false stands for that)
        policy = aws.bucket_policy(t.dst_acct, t.dst)
        kept = [s for s in policy["Statement"] if s not in crossrepl_statements(policy["Statement"])]
        assert len(kept) < len(policy["Statement"]), policy
        if kept:
            aws.put_bucket_policy(t.dst_acct, t.dst, {**policy, "Statement": kept})
        else:
            aws.s3(t.dst_acct).delete_bucket_policy(Bucket=t.dst)
        ws.write(config(proxy.url, t, "2"))
        failed = ws.run("apply", "-input=false", "-auto-approve", "-refresh=false")
        assert not failed.ok, "the check must fail without the destination's grant"
        text = errors(failed)
        assert f"S3 could not replicate rule {rule} into arn:aws:s3:::{t.dst}" in text, text
        assert "replication status FAILED" in text and "What crossrepl checked" in text, text
        assert f"[ok] policy arn:aws:iam::{t.src_acct}:policy/" in text, f"the role policy was checked: {text}"
        assert verify_state(ws)["results"] == {rule: "FAILED"}
        assert puts(proxy) == 2

        # the grant back: the check runs again by itself (it did not pass) and passes
        aws.put_bucket_policy(t.dst_acct, t.dst, policy)
        ws.must("apply", "-input=false", "-auto-approve", "-refresh=false")
        assert verify_state(ws)["results"] == {rule: "COMPLETED"}
        assert puts(proxy) == 3

        # a replication slower than the bound: a timeout while PENDING, not FAILED
        objs = aws.objects()
        objs.delay_bucket(t.src, 30)
        ws.write(config(proxy.url, t, "3", timeout="2s"))
        slow = ws.run("apply", "-input=false", "-auto-approve")
        assert not slow.ok
        text = errors(slow)
        assert f"replication check of rule {rule} timed out" in text and "still PENDING" in text, text
        assert "FAILED" not in text.replace("not a FAILED replication", ""), text
        assert verify_state(ws)["results"] == {rule: "TIMEOUT"}
        objs.delay_bucket(t.src, 0.2)  # the control: the same check with the usual delay passes
        ws.must("apply", "-input=false", "-auto-approve")
        assert verify_state(ws)["results"] == {rule: "COMPLETED"}
    finally:
        proxy.stop()


def test_verify_refusals_and_warnings_at_plan(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    t = two_accounts
    s3 = t.aws.s3(t.src_acct)
    lock = t.names.bucket("lock")
    s3.create_bucket(Bucket=lock, ObjectLockEnabledForBucket=True)
    retention = {"ObjectLockEnabled": "Enabled",
                 "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}
    s3.put_object_lock_configuration(Bucket=lock, ObjectLockConfiguration=retention)
    locked = t._replace(src=lock)
    ws.write(config(ls.endpoint, locked, "1"))
    ws.init()
    refused = ws.run("plan", "-input=false")
    assert not refused.ok
    assert "verify cannot clean up its canaries" in errors(refused) and "GOVERNANCE 1 days" in errors(refused), \
        errors(refused)
    # the control: Object Lock without a default retention is no reason to refuse verify
    s3.put_object_lock_configuration(Bucket=lock, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    assert "verify" not in errors(ws.run("plan", "-input=false"))

    # two rules into one bucket: "logs/" (priority 1) loses its canary to the whole-bucket rule (priority 2)
    dests = [{**to("dst"), "prefix": "logs/", "delete_marker_replication": False},
             {**to("dst"), "delete_marker_replication": False}]
    ws.write(config(ls.endpoint, t, "1", dests=dests))
    planned = ws.must("plan", "-input=false")
    warnings = [d for d in planned.diagnostics("warning") if "is not verified" in d.get("summary", "")]
    assert len(warnings) == 1 and f"rule {rule_id(t.dst)} is not verified" in warnings[0]["summary"], warnings
    assert f"rule {rule_id(t.dst)}#2 (priority 2)" in warnings[0]["detail"], warnings
    # the control: in the other order the more specific rule wins its own canary, and no warning is given
    ws.write(config(ls.endpoint, t, "1", dests=dests[::-1]))
    planned = ws.must("plan", "-input=false")
    assert not [d for d in planned.diagnostics("warning") if "verified" in d.get("summary", "")]


def test_verify_sse_kms_rule(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """An SSE-KMS rule gets an SSE-KMS canary under its source key: its replica is encrypted under the replica key
    (a plain canary would stay SSE-S3). Negative control: a source key policy that no longer enables IAM policies
    makes the check FAIL at kms:Decrypt, and the diagnostic lists that key policy as not checkable."""
    t = two_accounts
    aws, rule = t.aws, rule_id(t.dst)
    source_key, replica_key = aws.create_key(t.src_acct), aws.create_key(t.src_acct)
    kms = {**to("dst"), "replica_kms_key_arn": replica_key, "source_kms_key_arns": [source_key]}
    ws.write(config(ls.endpoint, t, "1", dests=[kms]))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    assert verify_state(ws)["results"] == {rule: "COMPLETED"}
    (replica,) = aws.s3(t.dst_acct).list_objects_v2(Bucket=t.dst, Prefix=PREFIX)["Contents"]
    head = aws.s3(t.dst_acct).head_object(Bucket=t.dst, Key=replica["Key"])
    assert (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) == ("aws:kms", replica_key), head

    only_admin = {"Version": "2012-10-17", "Statement": [{
        "Sid": "AdminOnly", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{t.src_acct}:role/key-admin"},
        "Action": "kms:*", "Resource": "*"}]}
    aws.c("kms", t.src_acct).put_key_policy(KeyId=source_key, PolicyName="default", Policy=json.dumps(only_admin))
    ws.write(config(ls.endpoint, t, "2", dests=[kms]))
    failed = ws.run("apply", "-input=false", "-auto-approve")
    assert not failed.ok
    text = errors(failed)
    assert f"S3 could not replicate rule {rule}" in text and f"the key policy of source key {source_key}" in text, text
    denied = [e for e in aws.objects().journal() if PREFIX in e["key"] and e["outcome"] == "FAILED"]
    assert [e["step"] for e in denied] == ["kms:Decrypt"], f"the engine denied kms:Decrypt on the canary: {denied}"
