"""The test bed itself: the launcher's PutBucketReplication fix, its state reset, its port guard, and the switch of
its replication engine (the engine's verdicts are tested in test_replication*.py)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from lib.naming import unique_name
from lib.services import LocalStack, free_port, launcher, start_localstack
from objects import Objects, Put  # testbed/objects.py

SOURCE_ACCOUNT, DEST_ACCOUNT = "111111111111", "222222222222"


@pytest.fixture(scope="module")
def localstack_without_fix():
    """A second launcher instance, on its own port, with the fix and the replication engine switched off."""
    ls = start_localstack("--port", str(free_port()), "--no-fix", "--no-replication")
    try:
        yield ls
    finally:
        launcher("stop", "--port", str(ls.port), check=False)


def put_cross_account_replication(ls: LocalStack, seed: str) -> tuple[str, str, dict]:
    """Versioned source bucket in account 1, versioned destination in account 2, PutBucketReplication from 1."""
    src_s3, dst_s3 = ls.client("s3", SOURCE_ACCOUNT), ls.client("s3", DEST_ACCOUNT)
    src, dst = unique_name(seed + "/src"), unique_name(seed + "/dst")
    for s3, bucket in ((src_s3, src), (dst_s3, dst)):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    config = {
        "Role": f"arn:aws:iam::{SOURCE_ACCOUNT}:role/crossrepl-replication",
        "Rules": [{
            "ID": "to-backup-account",
            "Priority": 1,
            "Status": "Enabled",
            "Filter": {},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {
                "Bucket": f"arn:aws:s3:::{dst}",
                "Account": DEST_ACCOUNT,
                "AccessControlTranslation": {"Owner": "Destination"},
            },
        }],
    }
    src_s3.put_bucket_replication(Bucket=src, ReplicationConfiguration=config)
    return src, dst, config


def test_cross_account_replication_with_fix(ls: LocalStack, request: pytest.FixtureRequest) -> None:
    src, dst, config = put_cross_account_replication(ls, request.node.nodeid)
    got = ls.client("s3", SOURCE_ACCOUNT).get_bucket_replication(Bucket=src)["ReplicationConfiguration"]
    assert got["Role"] == config["Role"]
    assert got["Rules"][0]["Destination"]["Bucket"] == f"arn:aws:s3:::{dst}"
    assert got["Rules"][0]["Destination"]["Account"] == DEST_ACCOUNT
    # the destination really lives in account 2 only
    owned = [b["Name"] for b in ls.client("s3", DEST_ACCOUNT).list_buckets()["Buckets"]]
    assert dst in owned and src not in owned


def test_cross_account_replication_fails_without_fix(localstack_without_fix: LocalStack,
                                                      request: pytest.FixtureRequest) -> None:
    with pytest.raises(ClientError) as e:
        put_cross_account_replication(localstack_without_fix, request.node.nodeid)
    assert e.value.operation_name == "PutBucketReplication"
    assert "Destination bucket must have versioning enabled" in str(e.value)


def test_same_account_destination_must_be_versioned(ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """The fix keeps LocalStack's own check: an unversioned destination is still refused."""
    s3 = ls.client("s3", SOURCE_ACCOUNT)
    src, dst = unique_name(request.node.nodeid + "/src"), unique_name(request.node.nodeid + "/dst")
    s3.create_bucket(Bucket=src)
    s3.put_bucket_versioning(Bucket=src, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=dst)
    with pytest.raises(ClientError, match="Destination bucket must have versioning enabled"):
        s3.put_bucket_replication(Bucket=src, ReplicationConfiguration={
            "Role": f"arn:aws:iam::{SOURCE_ACCOUNT}:role/r",
            "Rules": [{"Priority": 1, "Status": "Enabled", "Filter": {},
                       "DeleteMarkerReplication": {"Status": "Disabled"},
                       "Destination": {"Bucket": f"arn:aws:s3:::{dst}"}}]})


def test_reset_clears_all_services(ls: LocalStack, request: pytest.FixtureRequest) -> None:
    bucket = unique_name(request.node.nodeid)
    ls.client("s3", SOURCE_ACCOUNT).create_bucket(Bucket=bucket)
    ls.client("s3", SOURCE_ACCOUNT).put_object(Bucket=bucket, Key="k", Body=b"v")
    ls.client("iam", DEST_ACCOUNT).create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    ls.reset()
    assert ls.client("s3", SOURCE_ACCOUNT).list_buckets()["Buckets"] == []
    assert ls.client("iam", DEST_ACCOUNT).list_roles()["Roles"] == []
    ls.client("s3", DEST_ACCOUNT).create_bucket(Bucket=bucket)  # the global name is free again


def test_accounts_are_selected_by_access_key(ls: LocalStack) -> None:
    for account in (SOURCE_ACCOUNT, DEST_ACCOUNT):
        assert ls.client("sts", account).get_caller_identity()["Account"] == account


def test_launcher_refuses_a_taken_port(ls: LocalStack) -> None:
    p = launcher("start", "--port", str(ls.port), check=False)
    assert p.returncode != 0
    assert "already in use" in p.stderr


def same_account_replication(ls: LocalStack, seed: str, object_lock: bool = False) -> tuple[str, str]:
    """A role with what replication needs and a same-account rule src -> dst (no bucket policy needed)."""
    s3, iam = ls.client("s3", SOURCE_ACCOUNT), ls.client("iam", SOURCE_ACCOUNT)
    src, dst = unique_name(seed + "/src"), unique_name(seed + "/dst")
    for bucket in (src, dst):
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=object_lock)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "s3.amazonaws.com"}}]}
    name = unique_name(seed + "/role")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    grants = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
        "s3:GetReplicationConfiguration", "s3:ListBucket", "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging", "s3:GetObjectRetention", "s3:GetObjectLegalHold",
        "s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]}]}
    iam.put_role_policy(RoleName=name, PolicyName="replication", PolicyDocument=json.dumps(grants))
    s3.put_bucket_replication(Bucket=src, ReplicationConfiguration={"Role": role, "Rules": [{
        "ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {},
        "DeleteMarkerReplication": {"Status": "Enabled"}, "Destination": {"Bucket": f"arn:aws:s3:::{dst}"}}]})
    return src, dst


def test_replication_engine_replicates(ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """On by default: an inline role policy is enough in one account; PutObject, CopyObject and a multipart upload
    arrive, and so does a later tag change."""
    src, dst = same_account_replication(ls, request.node.nodeid)
    s3 = ls.client("s3", SOURCE_ACCOUNT)
    objs = Objects(lambda account: ls.client("s3", account), ls.endpoint)
    put = objs.put(SOURCE_ACCOUNT, src, "put.txt", tags={"a": "1"})
    objs.assert_replicated(put, SOURCE_ACCOUNT, dst)
    copied = s3.copy_object(Bucket=src, Key="copy.txt", CopySource={"Bucket": src, "Key": "put.txt"})
    upload = s3.create_multipart_upload(Bucket=src, Key="multi.bin")["UploadId"]
    part = s3.upload_part(Bucket=src, Key="multi.bin", UploadId=upload, PartNumber=1, Body=b"x" * 1024)
    multi = s3.complete_multipart_upload(Bucket=src, Key="multi.bin", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    for key, version, body in (("copy.txt", copied["VersionId"], put.body), ("multi.bin", multi["VersionId"],
                                                                             b"x" * 1024)):
        replica_of = objs.assert_replicated(Put(SOURCE_ACCOUNT, src, key, version, body, {"a": "1"} if
                                                key == "copy.txt" else {}), SOURCE_ACCOUNT, dst)
        assert replica_of.version_id == version
    s3.put_object_tagging(Bucket=src, Key="put.txt", VersionId=put.version_id,
                          Tagging={"TagSet": [{"Key": "a", "Value": "2"}]})
    objs.journal()  # idle: the tag change has been replicated
    assert objs.replica(SOURCE_ACCOUNT, dst, "put.txt", put.version_id).tags == {"a": "2"}
    objs.assert_delete_marker_replicated(SOURCE_ACCOUNT, src, "put.txt", SOURCE_ACCOUNT, dst)


def test_replication_engine_keeps_object_lock(ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """Retention travels with the replica, and a later legal hold follows it."""
    src, dst = same_account_replication(ls, request.node.nodeid, object_lock=True)
    s3 = ls.client("s3", SOURCE_ACCOUNT)
    objs = Objects(lambda account: ls.client("s3", account), ls.endpoint)
    until = datetime.now(timezone.utc) + timedelta(minutes=10)
    put = objs.put(SOURCE_ACCOUNT, src, "held.txt", retain_until=until)
    replica = objs.assert_replicated(put, SOURCE_ACCOUNT, dst)
    assert replica.lock_mode == "GOVERNANCE", replica
    s3.put_object_legal_hold(Bucket=src, Key="held.txt", VersionId=put.version_id, LegalHold={"Status": "ON"})
    objs.journal()
    assert objs.replica(SOURCE_ACCOUNT, dst, "held.txt", put.version_id).legal_hold == "ON"


def test_replication_engine_switched_off(localstack_without_fix: LocalStack, request: pytest.FixtureRequest) -> None:
    """`--no-replication`: LocalStack's own behaviour, nothing is copied and no status is set."""
    ls = localstack_without_fix
    src, dst = same_account_replication(ls, request.node.nodeid)
    s3 = ls.client("s3", SOURCE_ACCOUNT)
    version = s3.put_object(Bucket=src, Key="k", Body=b"v")["VersionId"]
    time.sleep(1)  # five times the engine's delay
    assert s3.head_object(Bucket=src, Key="k", VersionId=version).get("ReplicationStatus") is None
    assert "Versions" not in s3.list_object_versions(Bucket=dst), "an object was copied with the engine off"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{ls.endpoint}/_crossrepl/replication")
