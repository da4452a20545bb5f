"""The `crossrepl_batch_replication` action (issue 15): the Batch Replication job of `existing_objects`, started on
demand with `terraform apply -invoke=action.crossrepl_batch_replication.<name>` (Terraform >= 1.14; OpenTofu has no
actions, so the test is skipped there), run by the test bed's S3 Control jobs (testbed/replication_engine/batch.py).

The source's `existing_objects` block selects only `FAILED` objects, so its own job replicates none of the objects
written before apply: they reach the destination only through the action's job (`NONE`), which runs as the batch
role that block created. Negative controls, each invoked first: a source bucket without a batch role (no job is
started, the diagnostic says how to get one), and a report prefix the batch role may not write under (the job fails,
the invocation fails with its reason, and nothing is replicated). Last, the same action from a resource's
`lifecycle.action_trigger` (`after_update` of a `terraform_data`): the create did not run it, the update does.
"""

from __future__ import annotations

import pytest

import awsproxy  # testbed/awsproxy.py
from lib.harness import Workspace, assert_converged_exit_code
from lib.scenarios import TwoAccounts
from lib.services import LocalStack
from test_existing_objects import OBJECTS, REPORT_PREFIX, create_jobs, objects_before_apply
from test_existing_objects import config as source_config


def config(endpoint: str, t: TwoAccounts, report: str, rerun: str = "1") -> str:
    """test_existing_objects' source, its block's job selecting `FAILED` objects only, three actions, and a
    `terraform_data` whose update (a change of `rerun`) triggers the action `run`."""
    action = lambda name, bucket, prefix: f"""
action "crossrepl_batch_replication" "{name}" {{
  provider = crossrepl.src
  config {{
    source_bucket     = {bucket}
    report_bucket_arn = "arn:aws:s3:::{report}"
    report_prefix     = "{prefix}"
    timeout           = "40s"
  }}
}}
"""
    return source_config(endpoint, t, report, "1", statuses=("FAILED",)) \
        + action("run", "crossrepl_source.src.bucket", REPORT_PREFIX) \
        + action("unwritable", "crossrepl_source.src.bucket", "elsewhere") \
        + action("no_role", f'"{t.dst}"', REPORT_PREFIX) + f"""
resource "terraform_data" "rerun" {{
  input = "{rerun}"
  lifecycle {{
    action_trigger {{
      events  = [after_update]
      actions = [action.crossrepl_batch_replication.run]
    }}
  }}
}}
"""


def progress(run) -> list[str]:
    """The action's progress messages, as `-json` prints them (`action_progress` hooks)."""
    return [m["hook"]["message"] for m in run.messages if m.get("type") == "action_progress"]


def replicated(t: TwoAccounts) -> list[str]:
    listed = t.aws.s3(t.dst_acct).list_objects_v2(Bucket=t.dst).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def test_batch_replication_action(engine: str, request: pytest.FixtureRequest) -> None:
    if engine != "terraform":
        pytest.skip("actions need Terraform >= 1.14; OpenTofu has none (its users get existing_objects)")
    # Asked for only now, so a skipped run sets up no workspace, LocalStack or accounts.
    ws: Workspace = request.getfixturevalue("ws")
    ls: LocalStack = request.getfixturevalue("ls")
    t: TwoAccounts = request.getfixturevalue("two_accounts")
    aws = t.aws
    report = objects_before_apply(t)
    proxy = awsproxy.start(ls.endpoint)
    try:
        ws.write(config(proxy.url, t, report))
        ws.init()
        ws.must("apply", "-input=false", "-auto-approve")
        assert create_jobs(proxy) == 1, "the existing_objects job (FAILED objects only)"
        assert replicated(t) == [], "nothing is replicated before the action runs"
        assert_converged_exit_code(ws, "an apply (unlinked actions plan nothing)")

        def invoke(name: str):
            return ws.run("apply", "-input=false", "-auto-approve",
                          f"-invoke=action.crossrepl_batch_replication.{name}")

        # negative control 1: no batch role for that bucket: no job, and the diagnostic says what to add
        r = invoke("no_role")
        assert not r.ok
        [d] = r.diagnostics("error")
        said = d["detail"]  # Terraform: "Error when invoking action", our summary and detail in its detail
        assert "no batch role" in said and "existing_objects" in said, d
        assert f"crossrepl-batch-{t.dst}" in said and "role_arn" in said, d
        assert create_jobs(proxy) == 1

        # negative control 2: the batch role may not write the report there: the job fails, with its reason
        r = invoke("unwritable")
        assert not r.ok
        assert create_jobs(proxy) == 2
        [d] = r.diagnostics("error")
        said = d["detail"]
        assert "Batch Replication job" in said and "failed" in said, d
        assert "AccessDenied" in said and "s3:PutObject" in said and f"crossrepl-batch-{t.src}" in said, d
        assert any("started" in m for m in progress(r)), progress(r)
        assert replicated(t) == []

        # the action: every object arrives, and the run said how the job went
        r = invoke("run")
        assert r.ok, r.diagnostics()
        assert create_jobs(proxy) == 3
        assert replicated(t) == sorted(OBJECTS)
        dst = aws.s3(t.dst_acct)
        for key, body in OBJECTS.items():
            assert dst.get_object(Bucket=t.dst, Key=key)["Body"].read() == body, key
        said = progress(r)
        assert said[0].startswith("Batch Replication job ") and f"crossrepl-batch-{t.src}" in said[0], said
        assert any("Complete (3 of 3 tasks succeeded, 0 failed)" in m for m in said), said
        assert_converged_exit_code(ws, "an invoked action (it changes no resource)")

        # the same action from a resource's lifecycle: updating terraform_data.rerun runs it (a job with nothing
        # left to replicate); creating it, above, did not
        ws.write(config(proxy.url, t, report, rerun="2"))
        r = ws.must("apply", "-input=false", "-auto-approve")
        assert create_jobs(proxy) == 4
        said = progress(r)
        assert any(m.startswith("Batch Replication job ") for m in said), said
        assert any(": Complete" in m for m in said), said
    finally:
        proxy.stop()
