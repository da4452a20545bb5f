"""Existing objects (issue 15): objects written to the source bucket BEFORE `apply` reach the destination through
the S3 Batch Replication job crossrepl starts, run by the test bed's S3 Control jobs (testbed/replication_engine/
batch.py) whose every authorization is Principal Mapper's, as the batch role and then as the replication role.

- The positive case: every object is found in the destination, the state reports the job `Complete`, a completion
  report lies under the report prefix.
- A second apply with nothing changed starts no job (CreateJob counted in the proxy's journal); changing
  `triggers_replace` starts exactly one, and the plan says so.
- The negative control: the batch role's `s3:GetReplicationConfiguration` removed out of band makes the next job fail
  with a reason naming the permission, the role and its policy, shown in the state.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import awsproxy  # testbed/awsproxy.py
from lib.harness import Workspace, assert_converged_exit_code, changed_paths, state_values
from lib.scenarios import TwoAccounts, destination_resource, providers, to
from lib.services import LocalStack

OBJECTS = {"data/a.txt": b"alpha", "data/b.txt": b"bravo", "data/c/d.txt": b"charlie"}
REPORT_PREFIX = "reports/batch"


def config(endpoint: str, t: TwoAccounts, report: str, trigger: str, statuses: tuple[str, ...] = ()) -> str:
    """The source (with `existing_objects`, selecting `statuses` when given) and its destination."""
    selected = f"\n    replication_statuses = {json.dumps(list(statuses))}" if statuses else ""
    dest = to("dst")
    blocks = "".join(f"    {k} = {v.expr}\n" for k, v in dest.items())
    return providers(endpoint, src=t.src_acct, dst=t.dst_acct) + destination_resource(
        "dst", "dst", t.dst, t.src_acct, t.src) + f"""
resource "crossrepl_source" "src" {{
  provider = crossrepl.src
  bucket   = "{t.src}"
  destination {{
{blocks}  }}
  existing_objects {{
    report_bucket_arn = "arn:aws:s3:::{report}"
    report_prefix     = "{REPORT_PREFIX}"
    triggers_replace  = {{ run = "{trigger}" }}{selected}
  }}
}}
"""


def job_state(ws: Workspace) -> dict:
    return state_values(ws, "crossrepl_source.src")["existing_objects"][0]


def wait_final(ws: Workspace, timeout: float = 30) -> dict:
    """Refreshes (the provider's DescribeJob) until the job is final."""
    end = time.monotonic() + timeout
    while True:
        ws.must("apply", "-refresh-only", "-auto-approve", "-input=false")
        job = job_state(ws)
        if job["job_status"] in ("Complete", "Failed", "Cancelled") or time.monotonic() > end:
            return job
        time.sleep(0.5)


def objects_before_apply(t: TwoAccounts) -> str:
    """Creates the report bucket and writes OBJECTS to the source before apply (live replication will never see
    them); returns the report bucket's name."""
    report = t.names.bucket("rep")
    t.aws.create_bucket(t.src_acct, report)
    for key, body in OBJECTS.items():
        t.aws.s3(t.src_acct).put_object(Bucket=t.src, Key=key, Body=body)
    return report


def create_jobs(proxy: awsproxy.Proxy) -> int:
    return Counter(c.operation for c in proxy.stats.calls if c.reached_upstream)["s3control:CreateJob"]


def test_existing_objects_reach_the_destination(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    t = two_accounts
    aws = t.aws
    report = objects_before_apply(t)
    proxy = awsproxy.start(ls.endpoint)
    try:
        ws.write(config(proxy.url, t, report, "1"))
        ws.init()
        ws.must("apply", "-input=false", "-auto-approve")
        assert create_jobs(proxy) == 1
        job = wait_final(ws)
        assert job["job_status"] == "Complete", job
        assert job["job_failure_reasons"] == "", job
        assert job["role_arn"] == f"arn:aws:iam::{t.src_acct}:role/crossrepl-batch-{t.src}"
        dst = aws.s3(t.dst_acct)
        for key, body in OBJECTS.items():
            assert dst.get_object(Bucket=t.dst, Key=key)["Body"].read() == body, key
        listed = aws.s3(t.src_acct).list_objects_v2(Bucket=report, Prefix=f"{REPORT_PREFIX}/job-{job['job_id']}/")
        reports = [o["Key"] for o in listed.get("Contents", [])]
        assert len(reports) == 1, reports
        rows = aws.s3(t.src_acct).get_object(Bucket=report, Key=reports[0])["Body"].read().decode()
        assert sorted(line.split(",")[1] for line in rows.splitlines()) == sorted(OBJECTS), rows
        assert all(",succeeded," in line for line in rows.splitlines()), rows

        # nothing changed: no new job
        assert_converged_exit_code(ws, "an apply that started a job")
        ws.must("apply", "-input=false", "-auto-approve")
        assert create_jobs(proxy) == 1

        # negative control: the report bucket refuses the batch role's writes; the next job fails, and the state
        # says why (the provider does not manage that bucket's policy, so nothing repairs it)
        role = f"crossrepl-batch-{t.src}"
        deny = {"Version": "2012-10-17", "Statement": [{
            "Sid": "NoReports", "Effect": "Deny", "Principal": {"AWS": job["role_arn"]}, "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{report}/*"}]}
        aws.put_bucket_policy(t.src_acct, report, deny)
        ws.write(config(proxy.url, t, report, "2"))
        ws.must("plan", "-input=false", "-out=tfplan")
        paths = changed_paths(ws)["crossrepl_source.src"]
        assert "existing_objects[0].triggers_replace.run" in paths and "existing_objects[0].job_id" in paths, paths
        ws.must("apply", "-input=false", "-auto-approve", "tfplan")
        assert create_jobs(proxy) == 2
        job = wait_final(ws)
        assert job["job_status"] == "Failed", job
        reason = job["job_failure_reasons"]
        assert "s3:PutObject" in reason and role in reason and f"bucket policy of {report}" in reason, job
        assert_converged_exit_code(ws, "a failed job (it is not re-run by itself)")

        aws.s3(t.src_acct).delete_bucket_policy(Bucket=report)
        ws.write(config(proxy.url, t, report, "3"))
        ws.must("apply", "-input=false", "-auto-approve")
        assert create_jobs(proxy) == 3
        assert wait_final(ws)["job_status"] == "Complete"

        ws.must("destroy", "-input=false", "-auto-approve")
        assert aws.role(t.src_acct, role) is None, "the batch role is deleted on destroy"
        for key in OBJECTS:  # replicas stay
            dst.head_object(Bucket=t.dst, Key=key)
    finally:
        proxy.stop()


def test_existing_objects_refusals_at_plan(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """What AWS or LocalStack would take badly is refused at plan time, the attribute named: a status S3 Batch
    Replication should not select, and a batch role name taken by a role crossrepl did not create (never adopted).
    Each refusal has its control: the same configuration without the fault plans cleanly."""
    t = two_accounts
    report = t.names.bucket("rep")
    t.aws.create_bucket(t.src_acct, report)
    good = config(ls.endpoint, t, report, "1")
    ws.write(good.replace('report_prefix     = "reports/batch"',
                          'report_prefix     = "reports/batch"\n    replication_statuses = ["COMPLETED"]'))
    ws.init()
    bad = ws.run("plan", "-input=false")
    assert not bad.ok
    [d] = bad.diagnostics("error")
    assert "replication_statuses" in json.dumps(d) and "COMPLETED" in d["detail"], d

    role = f"crossrepl-batch-{t.src}"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "batchoperations.s3.amazonaws.com"}}]}
    t.aws.iam(t.src_acct).create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    ws.write(good)
    taken = ws.run("plan", "-input=false")
    assert not taken.ok
    [d] = taken.diagnostics("error")
    assert role in d["summary"] and "does not adopt" in d["detail"], d

    t.aws.iam(t.src_acct).delete_role(RoleName=role)  # the control: the same configuration plans cleanly
    ws.must("plan", "-input=false")
