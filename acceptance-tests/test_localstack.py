"""The test bed itself: the launcher's PutBucketReplication fix, its state reset, its port guard."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import LocalStack, launcher, start_localstack
from harness import unique_name

SOURCE_ACCOUNT, DEST_ACCOUNT = "111111111111", "222222222222"


@pytest.fixture(scope="module")
def localstack_without_fix():
    """A second launcher instance, on its own port, with the fix switched off."""
    ls = start_localstack("--port", str(_free_port()), "--no-fix")
    try:
        yield ls
    finally:
        launcher("stop", "--port", str(ls.port), check=False)


def _free_port() -> int:
    from conftest import _free_port as f

    return f()


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
