"""S3's eventual consistency, emulated by testbed/awsproxy.py where AWS documents or users report it.

- Stale reads (`stale_seconds`, for `stale_reads` of "policy" and/or "versioning"): for that long after a
  PutBucketPolicy / DeleteBucketPolicy (or PutBucketVersioning) on a bucket, GetBucketPolicy (GetBucketVersioning)
  of that bucket is answered with what it returned just before that write ("Bucket configurations have an
  eventual consistency model", https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel).
- Versioning not yet visible (`versioning_delay`): for that long after PutBucketVersioning on a bucket,
  PutBucketReplication is refused with exactly the refusals crossrepl's `src/aws/propagation.rs` lists (and cites):
  on the bucket itself `InvalidRequest: Versioning must be 'Enabled' on the bucket to apply a replication
  configuration`, and when a rule names it as destination `InvalidRequest: Destination bucket must have versioning
  enabled.` No documented refusal exists for a role IAM has not propagated yet, so none is emulated.
- Final refusals (`refuse`): every request of an operation answered with a given error, as S3 answers one it
  will never accept (e.g. AccessDenied for a missing iam:PassRole).

Buckets are taken from path-style addresses (`/bucket?policy`), which the test bed uses. Everything is a function
of the requests and the time between them: no randomness.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

READS = {"s3:GetBucketPolicy": "policy", "s3:GetBucketVersioning": "versioning"}
WRITES = {"s3:PutBucketPolicy": "policy", "s3:DeleteBucketPolicy": "policy", "s3:PutBucketVersioning": "versioning"}
SOURCE_VERSIONING = (400, "InvalidRequest",
                     "Versioning must be 'Enabled' on the bucket to apply a replication configuration")
DESTINATION = re.compile(rb"<Bucket>arn:[^:<]*:s3:::([^<]+)</Bucket>")
DESTINATION_VERSIONING = (400, "InvalidRequest", "Destination bucket must have versioning enabled.")


@dataclass
class Answer:
    """An upstream answer, kept to be given again."""
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Consistency:
    stale_seconds: float = 0.0
    stale_reads: frozenset = frozenset({"policy", "versioning"})
    versioning_delay: float = 0.0
    refuse: dict = field(default_factory=dict)  # operation -> (status, code, message)
    clock: object = time.monotonic
    _before: dict = field(default_factory=dict)  # (bucket, kind) -> (time of the write, Answer before it)
    _enabled: dict = field(default_factory=dict)  # bucket -> time of its last PutBucketVersioning Enabled
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def active(self) -> bool:
        return bool(self.stale_seconds or self.versioning_delay or self.refuse)

    def refusal(self, operation: str, path: str, body: bytes) -> tuple[int, str, str] | None:
        """The error to answer instead of forwarding, if any."""
        if operation in self.refuse:
            return self.refuse[operation]
        if operation != "s3:PutBucketReplication" or not self.versioning_delay:
            return None
        with self._lock:
            fresh = {b for b, t in self._enabled.items() if self.clock() - t < self.versioning_delay}
        if bucket_of(path) in fresh:
            return SOURCE_VERSIONING
        if fresh & {m.decode() for m in DESTINATION.findall(body or b"")}:
            return DESTINATION_VERSIONING
        return None

    def stale_answer(self, operation: str, path: str) -> Answer | None:
        """What a read returns while the last write to it has not propagated: the answer from before that write."""
        kind = READS.get(operation)
        if kind not in self.stale_reads or not self.stale_seconds:
            return None
        with self._lock:
            written = self._before.get((bucket_of(path), kind))
        if written and self.clock() - written[0] < self.stale_seconds:
            return written[1]
        return None

    def wants_before(self, operation: str) -> bool:
        """Whether a write needs the answer of a read just before it (to be given as the stale answer)."""
        return bool(self.stale_seconds) and WRITES.get(operation) in self.stale_reads

    def written(self, operation: str, path: str, body: bytes, before: Answer | None) -> None:
        """Records a write that S3 accepted."""
        bucket, kind = bucket_of(path), WRITES.get(operation)
        with self._lock:
            if before is not None:
                self._before[(bucket, kind)] = (self.clock(), before)
            if operation == "s3:PutBucketVersioning" and b"<Status>Enabled</Status>" in body:
                self._enabled[bucket] = self.clock()


def bucket_of(path: str) -> str:
    return path.split("?", 1)[0].strip("/").split("/", 1)[0]


def read_path(path: str, kind: str) -> str:
    """The path of the read that returns what a write at `path` changes."""
    return "/" + bucket_of(path) + "?" + kind


def parse_refusal(spec: str) -> tuple[str, tuple[int, str, str]]:
    """`s3:PutBucketReplication=403:AccessDenied:Access Denied` -> (operation, (status, code, message))."""
    operation, _, answer = spec.partition("=")
    status, code, message = answer.split(":", 2)
    return operation, (int(status), code, message)
