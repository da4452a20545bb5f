"""Feeds the replication engine: LocalStack's S3 write handlers, wrapped so that after a successful write on a
bucket with a replication configuration the engine learns what changed.

Writes that S3 replicates ("What does Amazon S3 replicate?" in the S3 user guide): new versions (PutObject,
CopyObject, CompleteMultipartUpload), delete markers (DeleteObject / DeleteObjects without a version id; deleting a
specific version is not replicated), and changes of a version's tags, ACL and Object Lock retention / legal hold.
A new version that a rule selects is marked PENDING before the write's answer goes out, as S3 does.
"""

from __future__ import annotations

import functools
import logging

from . import rules
from .engine import DELETE_MARKER, METADATA, OBJECT, PENDING, STATUS_KEY, REPLICA, Engine

LOG = logging.getLogger("crossrepl.replication")

# S3Provider method -> the kind of write it makes
WATCHED = {
    "put_object": OBJECT,
    "copy_object": OBJECT,
    "complete_multipart_upload": OBJECT,
    "delete_object": DELETE_MARKER,
    "delete_objects": DELETE_MARKER,
    "put_object_tagging": METADATA,
    "delete_object_tagging": METADATA,
    "put_object_acl": METADATA,
    "put_object_retention": METADATA,
    "put_object_legal_hold": METADATA,
}


def install(engine: Engine) -> None:
    """Wraps the watched handlers of LocalStack's S3Provider class (before LocalStack builds its dispatch table)."""
    from localstack.services.s3 import provider as p

    for name, kind in WATCHED.items():
        setattr(p.S3Provider, name, _wrap(getattr(p.S3Provider, name), kind, engine))


def _wrap(original, kind: str, engine: Engine):
    @functools.wraps(original)  # keeps the @handler attributes (operation, expand_parameters) for the dispatcher
    def wrapper(self, *args, **kwargs):
        response = original(self, *args, **kwargs)
        context = kwargs.get("context") or args[0]
        try:
            engine.provider = self
            _after_write(engine, self, context, kind, response or {})
        except Exception:  # the write itself succeeded: a bug here must not turn it into an error
            LOG.exception("crossrepl-replication: could not queue %s", context.operation.name)
        return response

    return wrapper


def _after_write(engine: Engine, provider, context, kind: str, response: dict) -> None:
    request = context.service_request or {}
    operation = context.operation.name
    bucket_name = request.get("Bucket") or response.get("Bucket")
    try:
        _, bucket = provider._get_cross_account_bucket(context, bucket_name)
    except Exception:
        return
    if not bucket.replication or bucket.versioning_status != "Enabled":
        return
    key = request.get("Key") or response.get("Key")
    if kind == OBJECT:
        if version_id := response.get("VersionId"):
            _mark_pending(bucket, key, version_id)
            engine.submit(OBJECT, operation, bucket, key, version_id)
    elif kind == DELETE_MARKER:
        if operation == "DeleteObject":
            deleted = [{"Key": key, "DeleteMarker": response.get("DeleteMarker"),
                        "DeleteMarkerVersionId": response.get("VersionId"), "VersionId": request.get("VersionId")}]
        else:
            deleted = response.get("Deleted") or []
        for d in deleted:  # a delete of a specific version creates no marker and is not replicated
            if d.get("DeleteMarker") and not d.get("VersionId") and d.get("DeleteMarkerVersionId"):
                engine.submit(DELETE_MARKER, operation, bucket, d["Key"], d["DeleteMarkerVersionId"])
    else:
        version_id = request.get("VersionId") or response.get("VersionId")
        if not version_id:
            current = bucket.objects.get(key)
            version_id = getattr(current, "version_id", None)
        if version_id:
            _mark_pending(bucket, key, version_id)
            engine.submit(METADATA, operation, bucket, key, version_id)


def _mark_pending(bucket, key: str, version_id: str) -> None:
    """PENDING on a source version that a rule will replicate (replicas keep REPLICA)."""
    version = bucket.objects.get(key, version_id)
    metadata = getattr(version, "system_metadata", None)
    if metadata is None or metadata.get(STATUS_KEY) == REPLICA:
        return
    tags = Engine._tags(bucket.name, key, version_id)
    if rules.for_new_object(bucket.replication, key, tags, getattr(version, "encryption", None)):
        metadata[STATUS_KEY] = PENDING
