"""S3 Batch Replication for the test bed: the S3 Control job API (`CreateJob`, `DescribeJob`) for the
`S3ReplicateObject` operation with a generated manifest, which LocalStack's community edition lacks.

Served in LocalStack's process (routes on its edge router, ahead of its own service dispatch) at the paths the AWS
SDKs use, `POST /v20180820/jobs` and `GET /v20180820/jobs/<id>`, the account in `x-amz-account-id`. A job runs on
its own thread, as AWS does it (each step's AWS page is listed in docs/localstack.md):

1. S3 Batch Operations assumes the job's role: its trust policy must let `batchoperations.s3.amazonaws.com`
   call sts:AssumeRole (Principal Mapper).
2. The manifest generator reads the source bucket's replication configuration and runs an inventory
   (s3:GetReplicationConfiguration, s3:PutInventoryConfiguration on the source bucket, as the batch role), and the
   completion report must be writable (s3:PutObject under the report prefix): if any is denied, or the source bucket
   has no replication configuration, the job fails with `FailureReasons` naming the request, the document and the
   role, and runs no task.
3. It selects the object versions eligible for replication (a rule selects them), with a replication status among
   `ObjectReplicationStatuses` (no status counts as `NONE`; replicas never), and a key matching
   `KeyNameConstraint.MatchAnyPrefix`.
4. Each task needs s3:InitiateReplication on the object (as the batch role); the object is then handed to the
   replication engine, which replicates it as live replication does, authorizing the replication role's requests.
5. The completion report (CSV: bucket, key, version, task status, error code, HTTP status, message) is written to
   `<prefix>/job-<id>/results/<id>.csv`; the job ends `Complete` (tasks may have failed: AWS fails a job on its task
   failure rate only after 1,000 tasks) with its progress summary.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import threading
import time
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from xml.sax.saxutils import escape

from . import authorize, rules
from .engine import FAILED, OBJECT, PENDING, REPLICA, STATUS_KEY, Engine

LOG = logging.getLogger("crossrepl.batch")

BATCH_SERVICE = "batchoperations.s3.amazonaws.com"
NS = "http://awss3control.amazonaws.com/doc/2018-08-20/"
JOBS_ROUTE = "/v20180820/jobs"
TASK_WAIT = 30.0  # seconds a task may take in the replication engine


class JobFailed(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


def _text(el: ET.Element | None, path: str, default: str = "") -> str:
    found = el.find(path) if el is not None else None
    return (found.text or "").strip() if found is not None and found.text else default


def _members(el: ET.Element | None, path: str) -> list[str]:
    """The items of a list element (`<member>` children)."""
    found = el.find(path) if el is not None else None
    return [(m.text or "").strip() for m in found] if found is not None else []


def _strip_ns(root: ET.Element) -> ET.Element:
    for el in root.iter():
        el.tag = el.tag.split("}", 1)[-1]
    return root


def _error(status: int, code: str, message: str):
    from localstack.http import Response

    body = (f'<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return Response(body, status=status, mimetype="application/xml")


def _caller_account(request) -> str:
    auth = request.headers.get("Authorization", "")
    marker = "Credential="
    return auth.split(marker, 1)[1].split("/", 1)[0] if marker in auth else ""


class Jobs:
    """The jobs of every account, and the threads that run them."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.jobs: dict[str, dict] = {}
        self.tokens: dict[tuple[str, str], str] = {}
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.tokens.clear()

    # ---- the API ------------------------------------------------------------------------------------------------

    def create(self, request, **_kwargs):
        from localstack.http import Response

        account = request.headers.get("x-amz-account-id", "")
        if not account or account != _caller_account(request):
            return _error(403, "AccessDenied", f"account {account or '(none)'} is not the caller's account")
        root = _strip_ns(ET.fromstring(request.get_data()))
        generator = root.find("ManifestGenerator/S3JobManifestGenerator")
        if root.find("Operation/S3ReplicateObject") is None or generator is None:
            return _error(400, "InvalidRequest", "the test bed models S3ReplicateObject jobs with an "
                                                 "S3JobManifestGenerator only")
        role_arn, token = _text(root, "RoleArn"), _text(root, "ClientRequestToken")
        if not role_arn or not token:
            return _error(400, "InvalidRequest", "RoleArn and ClientRequestToken are required")
        filt = generator.find("Filter")
        report = root.find("Report")
        with self.lock:
            if existing := self.tokens.get((account, token)):
                job_id = existing
            else:
                job_id = str(uuid.uuid4())
                self.tokens[(account, token)] = job_id
                self.jobs[job_id] = {
                    "account": account, "id": job_id, "status": "New", "failures": [], "role": role_arn,
                    "priority": _text(root, "Priority", "0"), "description": _text(root, "Description"),
                    "confirmation": _text(root, "ConfirmationRequired", "true") == "true",
                    "source_bucket": rules.bucket_name(_text(generator, "SourceBucket")),
                    "expected_owner": _text(generator, "ExpectedBucketOwner"),
                    "eligible": _text(filt, "EligibleForReplication", "false") == "true",
                    "statuses": _members(filt, "ObjectReplicationStatuses"),
                    "prefixes": _members(filt, "KeyNameConstraint/MatchAnyPrefix"),
                    "report": {"bucket": rules.bucket_name(_text(report, "Bucket")),
                               "prefix": _text(report, "Prefix"), "enabled": _text(report, "Enabled") == "true"},
                    "created": datetime.now(timezone.utc), "total": 0, "succeeded": 0, "failed": 0,
                }
                if self.jobs[job_id]["confirmation"]:
                    self.jobs[job_id]["status"] = "Suspended"  # waits for UpdateJobStatus, not modelled
                else:
                    threading.Thread(target=self._run, args=(job_id,), name=f"crossrepl-batch-{job_id}",
                                     daemon=True).start()
        body = (f'<?xml version="1.0" encoding="UTF-8"?><CreateJobResult xmlns="{NS}"><JobId>{job_id}</JobId>'
                f"</CreateJobResult>")
        return Response(body, status=200, mimetype="application/xml")

    def describe(self, request, job_id: str, **_kwargs):
        from localstack.http import Response

        account = request.headers.get("x-amz-account-id", "")
        with self.lock:
            job = dict(self.jobs.get(job_id) or {})
        if not job or job["account"] != account:
            return _error(404, "NotFoundException", f"job {job_id} not found in account {account}")
        failures = "".join(f"<member><FailureCode>{escape(c)}</FailureCode><FailureReason>{escape(r)}"
                           f"</FailureReason></member>" for c, r in job["failures"])
        rep = job["report"]
        body = (f'<?xml version="1.0" encoding="UTF-8"?><DescribeJobResult xmlns="{NS}"><Job>'
                f"<JobId>{job_id}</JobId><ConfirmationRequired>{str(job['confirmation']).lower()}"
                f"</ConfirmationRequired><Description>{escape(job['description'])}</Description>"
                f"<JobArn>arn:aws:s3:us-east-1:{account}:job/{job_id}</JobArn><Status>{job['status']}</Status>"
                f"<Operation><S3ReplicateObject/></Operation><Priority>{escape(job['priority'])}</Priority>"
                f"<ProgressSummary><TotalNumberOfTasks>{job['total']}</TotalNumberOfTasks>"
                f"<NumberOfTasksSucceeded>{job['succeeded']}</NumberOfTasksSucceeded>"
                f"<NumberOfTasksFailed>{job['failed']}</NumberOfTasksFailed></ProgressSummary>"
                + (f"<FailureReasons>{failures}</FailureReasons>" if failures else "")
                + f"<Report><Bucket>arn:aws:s3:::{escape(rep['bucket'])}</Bucket><Format>Report_CSV_20180820</Format>"
                f"<Enabled>{str(rep['enabled']).lower()}</Enabled><Prefix>{escape(rep['prefix'])}</Prefix>"
                f"<ReportScope>AllTasks</ReportScope></Report>"
                f"<CreationTime>{job['created'].strftime('%Y-%m-%dT%H:%M:%S.000Z')}</CreationTime>"
                f"<RoleArn>{escape(job['role'])}</RoleArn></Job></DescribeJobResult>")
        return Response(body, status=200, mimetype="application/xml")

    # ---- running a job ------------------------------------------------------------------------------------------

    def _set(self, job_id: str, **fields) -> None:
        with self.lock:
            self.jobs[job_id].update(fields)

    def _run(self, job_id: str) -> None:
        job = self.jobs[job_id]
        self._set(job_id, status="Preparing")
        try:
            role, bucket = self._prepare(job)
            self._set(job_id, status="Active")
            rows = self._tasks(job, role, bucket)
            self._write_report(job, role, rows)
            ok = sum(1 for r in rows if r[3] == "succeeded")
            self._set(job_id, status="Complete", total=len(rows), succeeded=ok, failed=len(rows) - ok)
        except JobFailed as f:
            LOG.warning("crossrepl-batch: job %s failed: %s: %s", job_id, f.code, f.reason)
            self._set(job_id, status="Failed", failures=[(f.code, f.reason)])
        except Exception as e:  # a bug in the test bed: the job fails and says so
            LOG.exception("crossrepl-batch: job %s: internal error", job_id)
            self._set(job_id, status="Failed", failures=[("InternalError", f"test bed error: {e}")])

    def _need(self, role: authorize.Role, action: str, resource: str, bucket) -> None:
        policy = authorize.document(bucket.policy) if bucket is not None and bucket.policy else None
        owner = bucket.bucket_account_id if bucket is not None else role.account
        verdict = authorize.check(role, action, resource, policy, owner, f"the bucket policy of "
                                  f"{resource.split(':::', 1)[-1].split('/', 1)[0]}")
        if not verdict:
            raise JobFailed("AccessDenied", f"{role.arn} may not {action} on {resource}: {verdict.reason}")

    def _prepare(self, job: dict):
        role = self.engine._role(job["role"])
        if role is None:
            raise JobFailed("AccessDenied", f"S3 Batch Operations cannot assume {job['role']}: the role does not "
                                            f"exist")
        job_arn = f"arn:aws:s3:us-east-1:{job['account']}:job/{job['id']}"
        trust = authorize.assume_role(role, job["account"], job_arn, service=BATCH_SERVICE)
        if not trust:
            raise JobFailed("AccessDenied", f"S3 Batch Operations cannot assume {job['role']}: {trust.reason}")
        bucket = self.engine._global_bucket(job["source_bucket"])
        if bucket is None:
            raise JobFailed("InvalidManifest", f"the source bucket {job['source_bucket']} does not exist")
        if job["expected_owner"] and bucket.bucket_account_id != job["expected_owner"]:
            raise JobFailed("AccessDenied", f"the source bucket {job['source_bucket']} is not owned by "
                                            f"{job['expected_owner']} (ExpectedBucketOwner)")
        source_arn = f"arn:aws:s3:::{bucket.name}"
        self._need(role, "s3:GetReplicationConfiguration", source_arn, bucket)
        self._need(role, "s3:PutInventoryConfiguration", source_arn, bucket)
        if not bucket.replication:
            raise JobFailed("InvalidManifest", f"the source bucket {bucket.name} has no replication configuration")
        rep = job["report"]
        if rep["enabled"]:
            report_bucket = self.engine._global_bucket(rep["bucket"])
            if report_bucket is None:
                raise JobFailed("InvalidReport", f"the report bucket {rep['bucket']} does not exist")
            self._need(role, "s3:PutObject", f"arn:aws:s3:::{rep['bucket']}/{self._report_key(job)}", report_bucket)
        return role, bucket

    @staticmethod
    def _report_key(job: dict) -> str:
        prefix = job["report"]["prefix"].strip("/")
        return (f"{prefix}/" if prefix else "") + f"job-{job['id']}/results/{job['id']}.csv"

    def _eligible(self, job: dict, bucket) -> list:
        from localstack.services.s3.models import S3Object

        versions = bucket.objects.values(with_versions=True) if hasattr(bucket.objects, "values") else []
        out = []
        for v in versions:
            if not isinstance(v, S3Object):
                continue  # delete markers: not modelled
            status = (v.system_metadata or {}).get(STATUS_KEY) or "NONE"
            if status == REPLICA or status not in job["statuses"]:
                continue
            if job["prefixes"] and not any(v.key.startswith(p) for p in job["prefixes"]):
                continue
            tags = Engine._tags(bucket.name, v.key, v.version_id)
            if job["eligible"] and not rules.for_new_object(bucket.replication, v.key, tags,
                                                            getattr(v, "encryption", None)):
                continue
            out.append(v)
        return out

    def _tasks(self, job: dict, role: authorize.Role, bucket) -> list[tuple]:
        rows, handed = [], []
        since = self.engine.snapshot()["journal"][-1]["seq"] + 1 if self.engine.journal else 0
        for v in self._eligible(job, bucket):
            arn = f"arn:aws:s3:::{bucket.name}/{v.key}"
            verdict = authorize.check(role, "s3:InitiateReplication", arn,
                                      authorize.document(bucket.policy) if bucket.policy else None,
                                      bucket.bucket_account_id, f"the bucket policy of {bucket.name}")
            if not verdict:
                rows.append((bucket.name, v.key, v.version_id, "failed", "AccessDenied", "403",
                             f"s3:InitiateReplication denied: {verdict.reason}"))
                continue
            v.system_metadata[STATUS_KEY] = PENDING
            self.engine.submit(OBJECT, "S3ReplicateObject", bucket, v.key, v.version_id)
            handed.append(v)
        self.engine.wait_idle(TASK_WAIT)
        journal = self.engine.snapshot(since)["journal"]
        for v in handed:
            status = v.system_metadata.get(STATUS_KEY)
            if status == FAILED:
                why = next((e.get("reason", "") for e in reversed(journal) if e["key"] == v.key and
                            e["version_id"] == v.version_id and e["outcome"] == FAILED), "")
                rows.append((bucket.name, v.key, v.version_id, "failed", "ReplicationFailed", "200",
                             f"replication FAILED: {why}"))
            else:
                rows.append((bucket.name, v.key, v.version_id, "succeeded", "", "200", "Successful"))
        return rows

    def _write_report(self, job: dict, role: authorize.Role, rows: list[tuple]) -> None:
        if not job["report"]["enabled"]:
            return
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        host = os.environ.get("GATEWAY_LISTEN", "127.0.0.1:4566").split(",")[0]
        url = f"http://{host}/{job['report']['bucket']}/{self._report_key(job)}"
        date = time.strftime("%Y%m%d", time.gmtime())
        request = urllib.request.Request(url, data=text.getvalue().encode(), method="PUT", headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential={role.account}/{date}/us-east-1/s3/aws4_request, "
                             "SignedHeaders=host, Signature=0",
            "Content-Type": "text/csv"})
        with urllib.request.urlopen(request, timeout=10):
            pass


def install_routes(router, jobs: Jobs) -> None:
    router.add(JOBS_ROUTE, endpoint=jobs.create, methods=["POST"])
    router.add(f"{JOBS_ROUTE}/<job_id>", endpoint=jobs.describe, methods=["GET"])
