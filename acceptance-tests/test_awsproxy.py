"""The fault proxy itself: one seed gives the same faults whatever the order and timing of the requests; its
emulation of S3's eventual consistency (stale reads, documented propagation refusals, final refusals)."""

from __future__ import annotations

import json
import random
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import awsproxy  # testbed/awsproxy.py
from consistency import DESTINATION_VERSIONING, SOURCE_VERSIONING, Consistency, parse_refusal  # testbed/
from lib.aws_readers import Aws
from lib.naming import Names
from lib.services import LocalStack


def requests(n: int) -> list[tuple[str, str, str, str, dict, bytes]]:
    ops = ["iam:CreatePolicy", "iam:GetRole", "s3:GetBucketPolicy", "s3:PutBucketReplication", "sts:GetCallerIdentity"]
    return [(ops[i % len(ops)], f"11111111111{i % 2}", "POST", f"/?n={i % 7}", {}, f"Action=X&n={i % 3}".encode())
            for i in range(n)]


def faults(seed: int, reqs) -> dict:
    plan = awsproxy.FaultPlan(seed, 0.3, awsproxy.FAULTS)
    drawn: dict = {}
    for r in reqs:
        drawn.setdefault(r[:4] + (r[5],), []).append(plan.draw(*r))
    return drawn


def test_same_seed_same_faults_in_any_order() -> None:
    reqs = requests(200)
    shuffled = reqs[:]
    random.Random(1).shuffle(shuffled)
    first = faults(7, reqs)
    assert first == faults(7, shuffled), "the faults depend on the order the requests arrived in"
    assert any(f for draws in first.values() for f, _ in draws), "no fault drawn at rate 0.3"
    # negative control: another seed draws other faults
    assert faults(8, reqs) != first, "the seed does not change the faults"


def test_repeated_request_gets_its_own_draws() -> None:
    plan = awsproxy.FaultPlan(3, 0.5, awsproxy.FAULTS)
    draws = [plan.draw("iam:CreatePolicyVersion", "111111111111", "POST", "/", {}, b"same") for _ in range(40)]
    assert len({f for f, _ in draws}) > 1, "a retried request always meets the same fault and could never pass"


# ---- eventual consistency (testbed/consistency.py), against LocalStack ------------------------------------------

def through(proxy: awsproxy.Proxy, account: str):
    """An S3 client of `account` whose requests go through `proxy` and are not retried (one request, one answer)."""
    return boto3.client("s3", endpoint_url=proxy.url, region_name="us-east-1", aws_access_key_id=account,
                        aws_secret_access_key="test",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def grant(bucket: str, sid: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def sids(client, bucket: str) -> list[str]:
    try:
        return [s["Sid"] for s in json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]]
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NoSuchBucketPolicy", e
        return []


def test_stale_reads_answer_what_was_there_before_the_last_write(ls: LocalStack,
                                                                 request: pytest.FixtureRequest) -> None:
    names, aws = Names(request.node.nodeid), Aws(ls)
    acct, bucket = names.account(0), names.bucket("stale")
    aws.create_bucket(acct, bucket)
    aws.s3(acct).put_bucket_policy(Bucket=bucket, Policy=grant(bucket, "Before"))
    proxy = awsproxy.start(ls.endpoint, consistency=Consistency(stale_seconds=1.5))
    try:
        s3 = through(proxy, acct)
        s3.put_bucket_policy(Bucket=bucket, Policy=grant(bucket, "After"))
        assert sids(s3, bucket) == ["Before"], "a read right after the write is not stale"
        assert sids(aws.s3(acct), bucket) == ["After"], "the write did not reach LocalStack"
        s3.delete_bucket_policy(Bucket=bucket)
        assert sids(s3, bucket) == ["After"], "a read right after the delete must see the policy before it"
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        assert "Status" not in s3.get_bucket_versioning(Bucket=bucket), "versioning reads are not stale"
        time.sleep(1.6)
        assert sids(s3, bucket) == [] and s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled", \
            "reads still stale after the staleness window"
        assert [c.fault for c in proxy.stats.calls if c.operation.startswith("s3:Get")] == ["stale"] * 3 + [None] * 2
    finally:
        proxy.stop()
    # negative control: without staleness a read sees the write at once
    proxy = awsproxy.start(ls.endpoint)
    try:
        through(proxy, acct).put_bucket_policy(Bucket=bucket, Policy=grant(bucket, "Now"))
        assert sids(through(proxy, acct), bucket) == ["Now"]
    finally:
        proxy.stop()


def replication(role_account: str, destination: str) -> dict:
    return {"Role": f"arn:aws:iam::{role_account}:role/r", "Rules": [
        {"ID": "r", "Priority": 1, "Status": "Enabled", "Filter": {}, "DeleteMarkerReplication": {"Status": "Disabled"},
         "Destination": {"Bucket": f"arn:aws:s3:::{destination}"}}]}


def refusal(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_versioning_delay_refuses_replication_as_s3_documents(ls: LocalStack,
                                                              request: pytest.FixtureRequest) -> None:
    """Exactly the refusals src/aws/propagation.rs lists, each while the versioning it names is fresh."""
    names, aws = Names(request.node.nodeid), Aws(ls)
    acct, src, dst = names.account(0), names.bucket("src"), names.bucket("dst")
    aws.create_bucket(acct, src)
    aws.create_bucket(acct, dst, versioning=True)
    proxy = awsproxy.start(ls.endpoint, consistency=Consistency(versioning_delay=1.0))
    try:
        s3 = through(proxy, acct)
        put = lambda: s3.put_bucket_replication(Bucket=src, ReplicationConfiguration=replication(acct, dst))  # noqa
        s3.put_bucket_versioning(Bucket=src, VersioningConfiguration={"Status": "Enabled"})
        assert refusal(put) == SOURCE_VERSIONING[1:]
        time.sleep(1.1)
        put()
        s3.put_bucket_versioning(Bucket=dst, VersioningConfiguration={"Status": "Enabled"})
        assert refusal(put) == DESTINATION_VERSIONING[1:]
        time.sleep(1.1)
        put()
        faults = [c.fault for c in proxy.stats.calls if c.operation == "s3:PutBucketReplication"]
        assert faults == ["propagation", None, "propagation", None], faults
    finally:
        proxy.stop()


def test_refuse_answers_every_request_of_an_operation_with_the_error(ls: LocalStack,
                                                                    request: pytest.FixtureRequest) -> None:
    names, aws = Names(request.node.nodeid), Aws(ls)
    acct, src, dst = names.account(0), names.bucket("src"), names.bucket("dst")
    aws.create_bucket(acct, src, versioning=True)
    aws.create_bucket(acct, dst, versioning=True)
    op, answer = parse_refusal("s3:PutBucketReplication=403:AccessDenied:Access Denied")
    proxy = awsproxy.start(ls.endpoint, consistency=Consistency(refuse={op: answer}))
    try:
        s3 = through(proxy, acct)
        assert refusal(lambda: s3.put_bucket_replication(Bucket=src, ReplicationConfiguration=replication(acct, dst))) \
            == ("AccessDenied", "Access Denied")
        assert aws.replication(acct, src) is None, "a refused request reached LocalStack"
        assert [(c.operation, c.fault, c.status) for c in proxy.stats.calls] == [(op, "refused", 403)]
    finally:
        proxy.stop()
