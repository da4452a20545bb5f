"""The replication engine: what the S3 replication service does after a write, run inside the LocalStack process.

A write on a bucket with a replication configuration (see hooks.py) queues an `Event`; one worker thread takes
events in order, each no earlier than `delay` seconds after its write, and for every rule that selects the object
(rules.py) authorizes each request S3 would make as the replication role (authorize.py, Principal Mapper) against
the documents as LocalStack holds them at that moment, then writes the replica into the destination bucket with
the same version id, or marks the source version FAILED. Every step's outcome goes into a journal (read by the
tests through `GET /_crossrepl/replication`) and a denied step also into the LocalStack log, one line each.

What each step checks, and the AWS page it comes from, is listed in docs/localstack.md.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from . import authorize, rules

STORE_REGION = "us-east-1"  # any region: LocalStack keeps buckets per account across regions

LOG = logging.getLogger("crossrepl.replication")

COMPLETED, FAILED, PENDING, REPLICA = "COMPLETED", "FAILED", "PENDING", "REPLICA"
STATUS_KEY = "ReplicationStatus"  # S3Object.system_metadata entry that HeadObject/GetObject report
OBJECT, DELETE_MARKER, METADATA = "object", "delete-marker", "metadata"
KMS = rules.KMS_ENCRYPTIONS


@dataclass(order=True)
class Event:
    """One write to replicate: a new version, a delete marker, or a metadata change of a version."""
    due: float
    seq: int
    kind: str = field(compare=False)
    operation: str = field(compare=False)
    account: str = field(compare=False)
    region: str = field(compare=False)
    bucket: str = field(compare=False)
    key: str = field(compare=False)
    version_id: str = field(compare=False)

    @property
    def label(self) -> str:
        return f"{self.bucket}/{self.key}@{self.version_id}"


class Denied(Exception):
    """A request S3 would make was not allowed, or a precondition failed: the object is not replicated."""

    def __init__(self, step: str, resource: str, reason: str, principal: str = ""):
        super().__init__(f"{step} on {resource}: {reason}")
        self.step, self.resource, self.reason, self.principal = step, resource, reason, principal


class Engine:
    """The queue, the worker and the journal; `provider` is LocalStack's S3Provider instance (set by the hooks)."""

    def __init__(self, delay: float = 0.2, max_queue: int = 10_000, journal_size: int = 20_000):
        self.delay = delay
        self.max_queue = max_queue
        self.provider = None
        self._heap: list[Event] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._busy = False
        self.journal: deque[dict] = deque(maxlen=journal_size)
        self._journal_seq = itertools.count()
        # account id -> AWS Organizations id, as tests declare it (LocalStack has no Organizations service here, and
        # Principal Mapper does not infer aws:PrincipalOrgID)
        self.organizations: dict[str, str] = {}
        # source bucket name -> its own delay, as tests set it (a replication slower than a check's bound)
        self.bucket_delays: dict[str, float] = {}
        self.batch_jobs = None  # batch.Jobs, the S3 Batch Replication jobs (set by install_routes)
        self._thread = threading.Thread(target=self._run, name="crossrepl-replication", daemon=True)
        self._thread.start()

    # ---- queue --------------------------------------------------------------------------------------------------

    def submit(self, kind: str, operation: str, s3_bucket, key: str, version_id: str) -> None:
        with self._cv:
            if len(self._heap) >= self.max_queue:
                LOG.warning("crossrepl-replication: queue full (%d): dropped %s %s/%s@%s", self.max_queue, kind,
                            s3_bucket.name, key, version_id)
                return
            delay = self.bucket_delays.get(s3_bucket.name, self.delay)
            heapq.heappush(self._heap, Event(time.monotonic() + delay, next(self._seq), kind, operation,
                                             s3_bucket.bucket_account_id, s3_bucket.bucket_region, s3_bucket.name,
                                             key, version_id))
            self._cv.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Blocks until nothing is queued or being processed; False on timeout."""
        end = time.monotonic() + timeout
        with self._cv:
            while self._heap or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.05))
        return True

    def reset(self) -> None:
        with self._cv:
            self._heap.clear()
            self.journal.clear()
            self.organizations.clear()
            self.bucket_delays.clear()
        if self.batch_jobs is not None:
            self.batch_jobs.reset()

    def join_organization(self, organization_id: str, accounts: list[str]) -> None:
        """Declares `accounts` members of `organization_id`: requests of their roles carry aws:PrincipalOrgID."""
        with self._cv:
            self.organizations.update({a: organization_id for a in accounts})

    def delay_bucket(self, bucket: str, seconds: float) -> None:
        """Writes on source bucket `bucket` are replicated no earlier than `seconds` after them (until reset)."""
        with self._cv:
            self.bucket_delays[bucket] = seconds

    def organization_of(self, account: str) -> str | None:
        with self._cv:
            return self.organizations.get(account)

    def snapshot(self, since: int = 0) -> dict:
        with self._cv:
            queued, busy = len(self._heap), self._busy
            entries = [e for e in self.journal if e["seq"] >= since]
        return {"delay": self.delay, "queued": queued, "busy": busy, "journal": entries}

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._heap or self._heap[0].due > time.monotonic():
                    self._cv.wait(None if not self._heap else max(0.0, self._heap[0].due - time.monotonic()))
                event = heapq.heappop(self._heap)
                self._busy = True
            try:
                self.process(event)
            except Exception:  # a bug here must not stop the worker; it shows in the log and the journal
                LOG.exception("crossrepl-replication: error processing %s", event.label)
                self._record(event, None, "ERROR", reason="internal error, see the LocalStack log")
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def _record(self, event: Event, selected: rules.Selected | None, outcome: str, **details) -> None:
        entry = {"seq": next(self._journal_seq), "time": time.time(), "kind": event.kind,
                 "operation": event.operation, "source": event.label, "bucket": event.bucket, "key": event.key,
                 "version_id": event.version_id, "destination": selected.destination_bucket if selected else None,
                 "rule": selected.rule_id if selected else None, "outcome": outcome, **details}
        self.journal.append(entry)
        if outcome in (FAILED, "NOT_REPLICATED", "ERROR") or details.get("dropped"):
            LOG.warning("crossrepl-replication: %s %s -> %s (rule %s): %s by %s on %s: %s", outcome, event.label,
                        entry["destination"], entry["rule"], details.get("step"), details.get("principal"),
                        details.get("resource"), details.get("reason"))

    # ---- LocalStack's stores ------------------------------------------------------------------------------------

    @staticmethod
    def _bucket(account: str, region: str, name: str):
        from localstack.services.s3.models import s3_stores

        return s3_stores[account][region].buckets.get(name)

    @staticmethod
    def _global_bucket(name: str):
        """A bucket by name in whichever account owns it (bucket names are global), or None."""
        from localstack.services.s3.models import s3_stores

        account = _any_store().global_bucket_map.get(name)
        return s3_stores[account][STORE_REGION].buckets.get(name) if account else None

    @staticmethod
    def _tags(bucket: str, key: str, version_id: str) -> dict[str, str]:
        from localstack.services.s3.utils import get_unique_key_id

        return dict(_tag_store().get(get_unique_key_id(bucket, key, version_id)) or {})

    @staticmethod
    def _set_tags(bucket: str, key: str, version_id: str, tags: dict[str, str] | None) -> None:
        from localstack.services.s3.utils import get_unique_key_id

        unique = get_unique_key_id(bucket, key, version_id)
        if tags:
            _tag_store()[unique] = dict(tags)
        else:
            _tag_store().pop(unique, None)

    @staticmethod
    def _role(role_arn: str) -> authorize.Role | None:
        """The replication role from the IAM store of its account, with the documents of its attached managed
        policies (default versions), inline policies and permissions boundary."""
        from moto.iam.models import iam_backends

        parts = role_arn.split(":")
        if len(parts) < 6 or not parts[5].startswith("role/"):
            return None
        account, partition, name = parts[4], parts[1], parts[5].rsplit("/", 1)[-1]
        backend = iam_backends[account][partition]
        role = next((r for r in list(backend.roles.values()) if r.name == name), None)
        if role is None or role.arn != role_arn:
            return None
        policies = []
        for arn, managed in list(role.managed_policies.items()):
            version = next((v for v in managed.versions if v.is_default), None)
            if version is not None:
                policies.append((arn, authorize.document(version.document)))
        for name_, doc in list(role.policies.items()):
            policies.append((f"{role.name}:{name_} (inline)", authorize.document(doc)))
        boundary = None
        if arn := role.permissions_boundary_arn:  # a boundary that cannot be found allows nothing
            managed = backend.managed_policies.get(arn)
            version = next((v for v in managed.versions if v.is_default), None) if managed else None
            boundary = (arn, authorize.document(version.document) if version else
                        {"Version": "2012-10-17", "Statement": []})
        tags = {t["Key"]: t["Value"] for t in (role.tags or [])} if isinstance(role.tags, list) else \
            {k: (v["Value"] if isinstance(v, dict) else v) for k, v in (role.tags or {}).items()}
        return authorize.Role(role.arn, role.id, authorize.document(role.assume_role_policy_document), policies,
                              boundary, tags)

    @staticmethod
    def _kms_key(key_id: str, account: str, region: str):
        """(key ARN, key policy, key state, key usage, key region) of a key given by ARN, alias ARN, id or alias
        name (id and alias names in `account`/`region`), or None."""
        from localstack.services.kms.models import kms_stores

        if key_id.startswith("arn:"):
            parts = key_id.split(":")
            region, account, resource = parts[3], parts[4], parts[5]
        else:
            resource = key_id if key_id.startswith("alias/") else f"key/{key_id}"
        store = kms_stores[account][region]
        if resource.startswith("alias/"):
            alias = store.aliases.get(resource)
            if alias is None:
                return None
            resource = f"key/{alias.metadata['TargetKeyId']}"
        key = store.keys.get(resource.split("/", 1)[1])
        if key is None:
            return None
        m = key.metadata
        return m["Arn"], authorize.document(key.policy), m.get("KeyState"), m.get("KeyUsage"), region

    # ---- processing ---------------------------------------------------------------------------------------------

    def process(self, event: Event) -> None:
        from localstack.services.s3.models import S3DeleteMarker, S3Object, VersionedKeyStore

        bucket = self._bucket(event.account, event.region, event.bucket)
        if bucket is None:
            return
        version = bucket.objects.get(event.key, event.version_id) if isinstance(bucket.objects, VersionedKeyStore) \
            else None
        wanted = S3DeleteMarker if event.kind == DELETE_MARKER else S3Object
        if not isinstance(version, wanted):
            self._record(event, None, "GONE", reason="the version no longer exists")
            return
        config = bucket.replication
        if event.kind == DELETE_MARKER:
            for selected in rules.for_delete_marker(config, event.key):
                self._replicate_one(event, bucket, version, config, selected)
            return
        tags = self._tags(event.bucket, event.key, event.version_id)
        encryption = getattr(version, "encryption", None)
        on_replica = version.system_metadata.get(STATUS_KEY) == REPLICA
        if event.kind == OBJECT:
            chosen = [] if on_replica else rules.for_new_object(config, event.key, tags, encryption)
        else:
            chosen = rules.for_metadata_change(config, event.key, tags, encryption, on_replica)
        if not chosen:
            if not on_replica and version.system_metadata.get(STATUS_KEY) == PENDING:
                version.system_metadata.pop(STATUS_KEY, None)
            return
        outcomes = [self._replicate_one(event, bucket, version, config, s) for s in chosen]
        if not on_replica:
            # one combined status on the source version: COMPLETED only when every destination succeeded
            version.system_metadata[STATUS_KEY] = COMPLETED if all(outcomes) else FAILED

    def _replicate_one(self, event: Event, bucket, version, config: dict, selected: rules.Selected) -> bool:
        step = Step(self, event, bucket, version, config, selected)
        try:
            details = step.run()
        except Denied as d:
            outcome = FAILED if event.kind != DELETE_MARKER else "NOT_REPLICATED"
            self._record(event, selected, outcome, step=d.step, resource=d.resource, reason=d.reason,
                         principal=d.principal)
            return False
        self._record(event, selected, COMPLETED, **details)
        return True


def _any_store():
    """One S3 store, for what LocalStack keeps across accounts and regions: the object tags and the bucket-name ->
    owner map (buckets themselves are per account, shared by its regions)."""
    from localstack.services.s3.models import s3_stores

    return s3_stores["000000000000"][STORE_REGION]


def _tag_store() -> dict:
    """S3 object tags, keyed by `bucket/key/version`."""
    return _any_store().TAGS.tags


class Step:
    """Replicating one event to one destination: every request S3 makes, authorized in order, then the write."""

    def __init__(self, engine: Engine, event: Event, bucket, version, config: dict, selected: rules.Selected):
        self.engine, self.event, self.bucket, self.version = engine, event, bucket, version
        self.config, self.rule = config, selected.rule
        self.dest_name = selected.destination_bucket
        self.partition = (config.get("Role") or "arn:aws:").split(":")[1] or "aws"
        self.role: authorize.Role | None = None
        self.notes: list[str] = []

    # -- helpers
    def arn(self, bucket: str, key: str | None = None) -> str:
        return f"arn:{self.partition}:s3:::{bucket}" + (f"/{key}" if key is not None else "")

    def allow(self, action: str, resource: str, resource_policy, owner: str, label: str,
              conditions: dict | None = None) -> authorize.Verdict:
        """Principal Mapper's verdict, with aws:PrincipalOrgID in the request context when the role's account is a
        member of an organization (AWS sets it for every request of a principal in an organization,
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid)."""
        conditions = dict(conditions or {})
        organization = self.engine.organization_of(self.role.account)
        if organization:
            conditions.setdefault("aws:PrincipalOrgID", organization)
        return authorize.check(self.role, action, resource, resource_policy, owner, label, conditions)

    def need(self, action: str, resource: str, resource_policy, owner: str, label: str,
             conditions: dict | None = None) -> None:
        verdict = self.allow(action, resource, resource_policy, owner, label, conditions)
        if not verdict:
            raise Denied(action, resource, verdict.reason, self.role.arn)

    def source_policy(self):
        return authorize.document(self.bucket.policy) if self.bucket.policy else None

    # -- the steps
    def run(self) -> dict:
        ev, src = self.event, self.bucket
        role_arn = self.config.get("Role", "")
        self.role = self.engine._role(role_arn)
        if self.role is None:
            raise Denied("sts:AssumeRole", role_arn, "the replication role does not exist (or was re-created: "
                         "S3 cannot assume a role it no longer knows)", "s3.amazonaws.com")
        trust = authorize.assume_role(self.role, src.bucket_account_id, self.arn(src.name))
        if not trust:
            raise Denied("sts:AssumeRole", role_arn, trust.reason, "s3.amazonaws.com")
        owner, src_policy, label = src.bucket_account_id, self.source_policy(), f"the bucket policy of {src.name}"
        self.need("s3:GetReplicationConfiguration", self.arn(src.name), src_policy, owner, label)
        dest = self.engine._global_bucket(self.dest_name)
        if ev.kind == DELETE_MARKER:
            # "The current permissions model requires the s3:ListBucket permission for accessing delete markers."
            self.need("s3:ListBucket", self.arn(src.name), src_policy, owner, label)
            self.destination_ready(dest)
            self.need_dest("s3:ReplicateDelete", dest)
            self.write_delete_marker(dest)
            return {"step": "written", "resource": self.arn(dest.name, ev.key)}
        obj_arn = self.arn(src.name, ev.key)
        tags = self.engine._tags(src.name, ev.key, ev.version_id)
        self.need("s3:GetObjectVersionForReplication", obj_arn, src_policy, owner, label)
        self.need("s3:GetObjectVersionAcl", obj_arn, src_policy, owner, label)
        with_tags = bool(tags)
        if tags and not (v := self.allow("s3:GetObjectVersionTagging", obj_arn, src_policy, owner, label)):
            # "If the role doesn't have s3:GetObjectVersionTagging, it replicates the objects, but not the tags."
            with_tags = False
            self.notes.append(f"tags not replicated: s3:GetObjectVersionTagging on {obj_arn} denied: {v.reason}")
        if self.locked():
            self.need("s3:GetObjectRetention", obj_arn, src_policy, owner, label)
            self.need("s3:GetObjectLegalHold", obj_arn, src_policy, owner, label)
        self.source_kms()
        self.destination_ready(dest)
        if ev.kind == METADATA:
            return self.replicate_metadata(dest, tags if with_tags else None)
        self.need_dest("s3:ReplicateObject", dest)
        if with_tags:
            self.need_dest("s3:ReplicateTags", dest)
        override = self.owner_override()
        if override:
            self.need_dest("s3:ObjectOwnerOverrideToBucketOwner", dest)
        encryption = self.replica_encryption(dest)
        self.write_replica(dest, tags if with_tags else None, override, encryption)
        out = {"step": "written", "resource": self.arn(dest.name, ev.key), "encryption": encryption[0]}
        if self.notes:
            out["notes"] = self.notes
        return out

    def locked(self) -> bool:
        """Object Lock on the source ("Using S3 Object Lock with replication"): on the bucket or on the version."""
        if self.event.kind == DELETE_MARKER:
            return False
        v = self.version
        return bool(self.bucket.object_lock_enabled or v.lock_mode or v.lock_legal_status)

    def owner_override(self) -> bool:
        translation = (self.rule.get("Destination") or {}).get("AccessControlTranslation") or {}
        return translation.get("Owner") == "Destination"

    def destination_ready(self, dest) -> None:
        arn = self.arn(self.dest_name)
        if dest is None:
            raise Denied("s3:ReplicateObject", arn, "the destination bucket does not exist", self.role.arn)
        if dest.versioning_status != "Enabled":
            raise Denied("s3:ReplicateObject", arn, f"versioning is {dest.versioning_status or 'off'} on the "
                         "destination bucket (it must be Enabled)", self.role.arn)
        if self.locked() and not dest.object_lock_enabled:
            raise Denied("s3:ReplicateObject", arn, "the source object is under Object Lock and the destination "
                         "bucket has no Object Lock", self.role.arn)

    def need_dest(self, action: str, dest) -> None:
        policy = authorize.document(dest.policy) if dest.policy else None
        self.need(action, self.arn(dest.name, self.event.key), policy, dest.bucket_account_id,
                  f"the bucket policy of {dest.name}")

    # -- KMS
    def kms(self, action: str, key_id: str, account: str, region: str, context_arn: str, why: str) -> str:
        """Authorizes `action` on a key with the conditions S3 sets (kms:ViaService, the encryption context);
        returns the key ARN."""
        found = self.engine._kms_key(key_id, account, region)
        if found is None:
            raise Denied(action, key_id, f"the KMS key ({why}) does not exist", self.role.arn)
        key_arn, policy, state, usage, key_region = found
        if state != "Enabled":
            raise Denied(action, key_arn, f"the KMS key ({why}) is {state}", self.role.arn)
        if usage != "ENCRYPT_DECRYPT":
            raise Denied(action, key_arn, f"the KMS key ({why}) is not a symmetric ENCRYPT_DECRYPT key",
                         self.role.arn)
        conditions = {"kms:ViaService": f"s3.{region}.amazonaws.com",
                      "kms:EncryptionContext:aws:s3:arn": context_arn, "kms:CallerAccount": self.role.account}
        self.need(action, key_arn, policy, key_arn.split(":")[4], f"the key policy of {key_arn}", conditions)
        return key_arn

    def source_kms(self) -> None:
        v, src = self.version, self.bucket
        if getattr(v, "encryption", None) not in KMS or not v.kms_key_id:
            return
        context = self.arn(src.name) if v.bucket_key_enabled else self.arn(src.name, self.event.key)
        self.kms("kms:Decrypt", v.kms_key_id, src.bucket_account_id, src.bucket_region, context,
                 "the source object's key")

    def replica_encryption(self, dest) -> tuple[str | None, str | None, bool]:
        """(encryption, key ARN, bucket key) of the replica, after authorizing the KMS requests it needs.

        An SSE-KMS source is encrypted with the rule's replica key (required). An unencrypted or SSE-S3 source
        takes the destination's default encryption when that is SSE-KMS (kms:GenerateDataKey on its key, as the
        project's corrections page has it), else keeps SSE-S3 ("How default bucket encryption affects
        replication" in "Replicating encrypted objects"). Under an S3 Bucket Key of the source object or of the
        destination bucket, the encryption context is the bucket ARN and the key also needs kms:Decrypt ("S3
        Bucket Keys and replication")."""
        v = self.version
        default = (dest.encryption_rule or {}).get("ApplyServerSideEncryptionByDefault") or {}
        dest_bucket_key = bool((dest.encryption_rule or {}).get("BucketKeyEnabled"))
        if getattr(v, "encryption", None) in KMS:
            replica_key = ((self.rule.get("Destination") or {}).get("EncryptionConfiguration") or {}).get(
                "ReplicaKmsKeyID")
            if not replica_key:
                raise Denied("kms:Encrypt", self.arn(dest.name), "the source object is SSE-KMS encrypted and the "
                             "rule names no replica key (Destination.EncryptionConfiguration.ReplicaKmsKeyID)",
                             self.role.arn)
            bucket_key = bool(v.bucket_key_enabled) or dest_bucket_key
            key_arn = self.encrypt_with("kms:Encrypt", replica_key, dest, bucket_key, "the replica key")
            if key_arn.split(":")[3] != dest.bucket_region:
                raise Denied("kms:Encrypt", key_arn, f"the replica key is not in the destination bucket's region "
                             f"({dest.bucket_region})", self.role.arn)
            return "aws:kms", key_arn, bucket_key
        if default.get("SSEAlgorithm") in KMS and default.get("KMSMasterKeyID"):
            key_arn = self.encrypt_with("kms:GenerateDataKey", default["KMSMasterKeyID"], dest, dest_bucket_key,
                                        "the destination bucket's default key")
            return "aws:kms", key_arn, dest_bucket_key
        return getattr(v, "encryption", None), None, False

    def encrypt_with(self, action: str, key: str, dest, bucket_key: bool, why: str) -> str:
        """`action` on `key` for the replica, and kms:Decrypt too under an S3 Bucket Key; returns the key ARN."""
        context = self.arn(dest.name) if bucket_key else self.arn(dest.name, self.event.key)
        key_arn = self.kms(action, key, dest.bucket_account_id, dest.bucket_region, context, why)
        if bucket_key:
            self.kms("kms:Decrypt", key, dest.bucket_account_id, dest.bucket_region, context,
                     f"{why}, under an S3 Bucket Key")
        return key_arn

    # -- writes
    def write_replica(self, dest, tags: dict | None, override: bool, encryption) -> None:
        from localstack.services.s3.models import S3Object

        v, key = self.version, self.event.key
        enc, key_arn, bucket_key = encryption
        storage_class = (self.rule.get("Destination") or {}).get("StorageClass") or v.storage_class
        owner = dest.owner if override else (v.owner or self.bucket.owner)
        acl = copy.deepcopy(v.acl)
        if override:
            acl = {"Owner": dest.owner, "Grants": [{"Grantee": {**dest.owner, "Type": "CanonicalUser"},
                                                    "Permission": "FULL_CONTROL"}]}
        system = {k: val for k, val in v.system_metadata.items() if k != STATUS_KEY}
        system[STATUS_KEY] = REPLICA
        replica = S3Object(key=key, etag=v.etag, size=v.size, version_id=v.version_id,
                           user_metadata=dict(v.user_metadata), system_metadata=system, storage_class=storage_class,
                           expires=v.expires, checksum_algorithm=v.checksum_algorithm,
                           checksum_value=v.checksum_value, checksum_type=v.checksum_type, encryption=enc,
                           kms_key_id=key_arn, bucket_key_enabled=bucket_key, lock_mode=v.lock_mode,
                           lock_legal_status=v.lock_legal_status, lock_until=v.lock_until,
                           website_redirect_location=v.website_redirect_location, acl=acl, owner=owner)
        replica.last_modified = v.last_modified
        provider = self.engine.provider
        with provider._preconditions_locks[dest.name][key]:
            with provider._storage_backend.copy(src_bucket=self.bucket.name, src_object=v, dest_bucket=dest.name,
                                                dest_object=replica) as stored:
                replica.etag = stored.etag or v.etag
                replica.checksum_value = stored.checksum or v.checksum_value
                dest.objects.set(key, replica)
        self.engine._set_tags(dest.name, key, v.version_id, tags)

    def write_delete_marker(self, dest) -> None:
        from localstack.services.s3.models import S3DeleteMarker

        marker = S3DeleteMarker(key=self.event.key, version_id=self.event.version_id)
        with self.engine.provider._preconditions_locks[dest.name][self.event.key]:
            dest.objects.set(self.event.key, marker)

    def replicate_metadata(self, dest, tags: dict | None) -> dict:
        """A change of tags, ACL or Object Lock settings: applied to the same version in the destination."""
        ev, v = self.event, self.version
        target = dest.objects.get(ev.key, ev.version_id) if dest.objects else None
        if target is None or not hasattr(target, "system_metadata"):
            raise Denied("s3:ReplicateObject", self.arn(dest.name, ev.key), "the version to update does not exist "
                         "in the destination (it was never replicated)", self.role.arn)
        self.need_dest("s3:ReplicateObject", dest)
        if ev.operation in ("PutObjectTagging", "DeleteObjectTagging"):
            if tags:
                self.need_dest("s3:ReplicateTags", dest)
            self.engine._set_tags(dest.name, ev.key, ev.version_id, tags)
        elif ev.operation == "PutObjectAcl":
            if not self.owner_override():
                target.acl = copy.deepcopy(v.acl)
        else:
            target.lock_mode, target.lock_until = v.lock_mode, v.lock_until
            target.lock_legal_status = v.lock_legal_status
        return {"step": "metadata", "resource": self.arn(dest.name, ev.key)}
