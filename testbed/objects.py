"""Objects moving through replication: put an object in a source bucket (optionally tagged, SSE-KMS, under
Object Lock), wait with a bound for its replication status, read the replica in the destination account and
compare. Works against the test bed's replication engine (testbed/replication_engine) and against real AWS alike:
everything goes through the S3 API, except `journal()`, which asks the engine why a step failed.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

DONE = ("COMPLETED", "FAILED")


@dataclass
class Put:
    """One object version written to a source bucket, and what its replica must look like."""
    account: str
    bucket: str
    key: str
    version_id: str
    body: bytes
    tags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Replica:
    """A version as the destination account reads it."""
    version_id: str
    body: bytes
    status: str | None
    tags: dict[str, str]
    metadata: dict[str, str]
    storage_class: str
    encryption: str | None
    kms_key: str | None
    owner: str | None  # the canonical id that owns the version
    lock_mode: str | None
    legal_hold: str | None


class Objects:
    """Object-level operations on one S3 endpoint (LocalStack, or AWS when `s3_for` returns real clients).

    `s3_for(account)` returns an S3 client with that account's credentials; `engine_url` is the LocalStack
    endpoint (None on AWS: no journal there)."""

    def __init__(self, s3_for, engine_url: str | None = None, timeout: float = 20):
        self.s3_for = s3_for
        self.engine_url = engine_url
        self.timeout = timeout

    # ---- writes --------------------------------------------------------------------------------------------------

    def put(self, account: str, bucket: str, key: str, body: bytes | None = None, tags: dict | None = None,
            metadata: dict | None = None, kms_key: str | None = None, bucket_key: bool | None = None,
            retain_until=None, legal_hold: bool = False) -> Put:
        body = body if body is not None else f"replicate me: {bucket}/{key}".encode()
        args = {"Bucket": bucket, "Key": key, "Body": body}
        if tags:
            args["Tagging"] = urllib.parse.urlencode(tags)
        if metadata:
            args["Metadata"] = metadata
        if kms_key:
            args.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key)
            if bucket_key is not None:
                args["BucketKeyEnabled"] = bucket_key
        if retain_until is not None:
            args.update(ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=retain_until)
        if legal_hold:
            args["ObjectLockLegalHoldStatus"] = "ON"
        version = self.s3_for(account).put_object(**args)["VersionId"]
        return Put(account, bucket, key, version, body, dict(tags or {}), dict(metadata or {}))

    def delete(self, account: str, bucket: str, key: str) -> str:
        """Deletes without a version id, which creates a delete marker; returns the marker's version id."""
        out = self.s3_for(account).delete_object(Bucket=bucket, Key=key)
        assert out.get("DeleteMarker"), f"deleting {bucket}/{key} created no delete marker (versioning off?): {out}"
        return out["VersionId"]

    # ---- reads ---------------------------------------------------------------------------------------------------

    def status(self, account: str, bucket: str, key: str, version_id: str) -> str | None:
        return self.s3_for(account).head_object(Bucket=bucket, Key=key, VersionId=version_id).get(
            "ReplicationStatus")

    def wait(self, put: Put, timeout: float | None = None) -> str:
        """Polls the source version's replication status until COMPLETED or FAILED. A version with no status yet
        counts as PENDING (S3 may not have picked it up). On timeout: an AssertionError that says so."""
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = None
        while time.monotonic() < deadline:
            seen = self.status(put.account, put.bucket, put.key, put.version_id)
            if seen in DONE:
                return seen
            time.sleep(0.1)
        raise AssertionError(f"{put.bucket}/{put.key}@{put.version_id}: replication status still {seen or 'none'} "
                             f"after {timeout or self.timeout:.0f} s (a timeout, not a failure)"
                             + self._journal_hint(put.key))

    def replica(self, account: str, bucket: str, key: str, version_id: str) -> Replica | None:
        s3 = self.s3_for(account)
        try:
            got = s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion", "404", "InvalidArgument"):
                return None
            raise
        tags = {t["Key"]: t["Value"] for t in
                s3.get_object_tagging(Bucket=bucket, Key=key, VersionId=version_id).get("TagSet", [])}
        owner = s3.get_object_acl(Bucket=bucket, Key=key, VersionId=version_id).get("Owner", {}).get("ID")
        return Replica(version_id, got["Body"].read(), got.get("ReplicationStatus"), tags, got.get("Metadata", {}),
                       got.get("StorageClass", "STANDARD"), got.get("ServerSideEncryption"),
                       got.get("SSEKMSKeyId"), owner, got.get("ObjectLockMode"), got.get("ObjectLockLegalHoldStatus"))

    def delete_markers(self, account: str, bucket: str, key: str) -> list[str]:
        out = self.s3_for(account).list_object_versions(Bucket=bucket, Prefix=key)
        return [m["VersionId"] for m in out.get("DeleteMarkers", []) if m["Key"] == key]

    # ---- the test bed's engine -----------------------------------------------------------------------------------

    def journal(self, since: int = 0, wait: float = 10) -> list[dict]:
        """The engine's journal (entries with seq >= since), after waiting up to `wait` s for it to go idle."""
        if not self.engine_url:
            return []
        url = f"{self.engine_url}/_crossrepl/replication?since={since}&wait={wait}"
        with urllib.request.urlopen(url, timeout=wait + 10) as r:
            return json.loads(r.read())["journal"]

    def join_organization(self, organization_id: str, accounts: list[str]) -> None:
        """Declares `accounts` members of `organization_id` in the engine: their roles' requests then carry
        aws:PrincipalOrgID (until the test bed is reset)."""
        body = json.dumps({organization_id: accounts}).encode()
        request = urllib.request.Request(f"{self.engine_url}/_crossrepl/organizations", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            r.read()

    def delay_bucket(self, bucket: str, seconds: float) -> None:
        """Writes on source bucket `bucket` replicate `seconds` late in the engine (until the test bed is reset)."""
        body = json.dumps({"bucket": bucket, "seconds": seconds}).encode()
        request = urllib.request.Request(f"{self.engine_url}/_crossrepl/replication/delay", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            r.read()

    def entries(self, key: str, kind: str | None = None, since: int = 0) -> list[dict]:
        return [e for e in self.journal(since) if e["key"] == key and (kind is None or e["kind"] == kind)]

    def _journal_hint(self, key: str) -> str:
        try:
            found = self.entries(key, since=0)
        except OSError:
            return ""
        return f"; engine journal for {key}: {json.dumps(found, indent=1)}" if found else ""

    # ---- assertions ----------------------------------------------------------------------------------------------

    def assert_replicated(self, put: Put, dst_account: str, dst_bucket: str, tags: bool = True) -> Replica:
        """The version reached COMPLETED, and the destination holds a replica with the same version id, body,
        metadata (and tags, unless `tags=False`), marked REPLICA."""
        status = self.wait(put)
        assert status == "COMPLETED", f"{put.bucket}/{put.key}: replication {status}" + self._journal_hint(put.key)
        r = self.replica(dst_account, dst_bucket, put.key, put.version_id)
        assert r is not None, f"no replica of {put.key}@{put.version_id} in {dst_bucket} although the source " \
                              f"says COMPLETED"
        assert r.body == put.body, f"replica body {r.body!r} != {put.body!r}"
        assert r.status == "REPLICA", f"replica of {put.key} has replication status {r.status}, expected REPLICA"
        assert r.metadata == put.metadata, f"replica metadata {r.metadata} != {put.metadata}"
        if tags:
            assert r.tags == put.tags, f"replica tags {r.tags} != {put.tags}"
        return r

    def assert_not_replicated(self, put: Put, dst_account: str, dst_bucket: str) -> None:
        """No rule selected the version: no replication status, and no replica (negative control of a filter)."""
        journal = self.journal()  # drains the engine first
        assert self.status(put.account, put.bucket, put.key, put.version_id) is None, \
            f"{put.key} got a replication status although no rule selects it"
        assert self.replica(dst_account, dst_bucket, put.key, put.version_id) is None, \
            f"{put.key} was replicated into {dst_bucket} although no rule for it selects it: " \
            f"{[e for e in journal if e['key'] == put.key]}"

    def assert_failed(self, put: Put, dst_account: str, dst_bucket: str, step: str, reason: str) -> dict:
        """The version went FAILED, no replica exists, and the engine's journal names the denied `step` with a
        reason containing `reason`. Returns that journal entry."""
        status = self.wait(put)
        assert status == "FAILED", f"{put.key}: replication {status}, expected FAILED (step {step}: {reason})" \
                                   + self._journal_hint(put.key)
        assert self.replica(dst_account, dst_bucket, put.key, put.version_id) is None, \
            f"a FAILED object must not reach {dst_bucket}"
        return self.assert_journal(put.key, "FAILED", step, reason)

    def assert_journal(self, key: str, outcome: str, step: str, reason: str, kind: str | None = None) -> dict:
        found = [e for e in self.entries(key, kind) if e["outcome"] == outcome]
        assert found, f"no {outcome} entry for {key} in the engine's journal: {self.entries(key)}"
        entry = found[-1]
        assert entry.get("step") == step, f"{key}: denied step {entry.get('step')}, expected {step}: {entry}"
        assert reason in (entry.get("reason") or ""), f"{key}: reason {entry.get('reason')!r} lacks {reason!r}"
        return entry

    def prove(self, src_account: str, src_bucket: str, dst_account: str, dst_bucket: str,
              key: str = "crossrepl-proof.txt", delete_marker: bool = True) -> Replica:
        """The setup replicates: a tagged object with metadata arrives as a replica, and (unless
        `delete_marker=False`) deleting it replicates the delete marker."""
        put = self.put(src_account, src_bucket, key, tags={"proof": "yes"}, metadata={"written-to": src_bucket})
        replica = self.assert_replicated(put, dst_account, dst_bucket)
        if delete_marker:
            self.assert_delete_marker_replicated(src_account, src_bucket, key, dst_account, dst_bucket)
        return replica

    def assert_delete_marker_replicated(self, src_account: str, src_bucket: str, key: str, dst_account: str,
                                        dst_bucket: str) -> str:
        marker = self.delete(src_account, src_bucket, key)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if marker in self.delete_markers(dst_account, dst_bucket, key):
                return marker
            time.sleep(0.1)
        raise AssertionError(f"delete marker {marker} of {key} did not reach {dst_bucket} in {self.timeout:.0f} s"
                             + self._journal_hint(key))

    def assert_delete_marker_not_replicated(self, src_account: str, src_bucket: str, key: str, dst_account: str,
                                            dst_bucket: str) -> str:
        marker = self.delete(src_account, src_bucket, key)
        self.journal()  # the engine is idle: whatever it would do is done
        assert marker not in self.delete_markers(dst_account, dst_bucket, key), \
            f"delete marker {marker} of {key} reached {dst_bucket}"
        return marker
