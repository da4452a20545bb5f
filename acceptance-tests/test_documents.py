"""Every document crossrepl writes, byte for byte: the write requests of three configurations (the cross-account
example, the two-way example, every option at once) recorded through a counting proxy during apply and destroy,
compared with golden files in acceptance-tests/golden/.

The golden files are what crossrepl writes today: trust policies, role policies and their versions, tags,
replication configurations (XML), bucket policies, versioning. A refactoring must leave them identical; a change
of behaviour changes them on purpose: regenerate with `UPDATE_GOLDEN=1 make testacc PYTEST_ARGS='-k documents'`
and review the diff. Account ids and bucket names are fixed per scenario (not per engine), so both engines must
write exactly the same requests.
"""

from __future__ import annotations

import json
import os
from collections import Counter
import urllib.parse
from pathlib import Path

import pytest

import awsproxy  # testbed/awsproxy.py
from lib.aws_readers import Aws
from lib.examples import copy_example
from lib.harness import Workspace
from lib.naming import Names
from lib.scenarios import TwoAccounts, every_option_config
from lib.services import LocalStack

GOLDEN = Path(__file__).resolve().parent / "golden"
# Requests that change something; reads are left out (their number may vary, their content carries nothing).
READ_PREFIXES = ("s3:Get", "s3:Head", "s3:List", "iam:Get", "iam:List", "sts:")


def writes(proxy: awsproxy.Proxy) -> list[dict]:
    """The write requests the proxy forwarded, decoded (IAM/STS form parameters; S3 body text), sorted so that
    concurrency does not change the order."""
    out = []
    for c in proxy.stats.calls:
        if c.operation.startswith(READ_PREFIXES) or not c.reached_upstream:
            continue
        entry = {"operation": c.operation, "account": c.account, "target": c.target}
        if c.operation.startswith("iam:"):
            entry["params"] = dict(sorted(urllib.parse.parse_qsl(c.body.decode(), keep_blank_values=True)))
        else:
            entry["body"] = c.body.decode()
        out.append(entry)
    return sorted(out, key=lambda e: json.dumps(e, sort_keys=True))


def scenario_cross_account(ws: Workspace, aws: Aws, names: Names, endpoint: str) -> None:
    src_acct, dst_acct, src, dst, _, _ = TwoAccounts.create(aws, names)
    copy_example(ws, source_bucket=src, destination_bucket=dst, source_account_id=src_acct,
                 source_access_key=src_acct, source_secret_key="test", destination_access_key=dst_acct,
                 destination_secret_key="test", endpoint=endpoint)


def scenario_two_way(ws: Workspace, aws: Aws, names: Names, endpoint: str) -> None:
    acct_a, acct_b, a, b = names.account(0), names.account(1), names.bucket("a"), names.bucket("b")
    aws.create_bucket(acct_a, a)
    aws.create_bucket(acct_b, b)
    copy_example(ws, "two-way", bucket_a=a, bucket_b=b, account_a_id=acct_a, account_b_id=acct_b,
                 access_key_a=acct_a, secret_key_a="test", access_key_b=acct_b, secret_key_b="test",
                 endpoint=endpoint)


def scenario_every_option(ws: Workspace, aws: Aws, names: Names, endpoint: str) -> None:
    src_acct, dst_acct, src, dst, _, _ = TwoAccounts.create(aws, names)
    local = names.bucket("local")
    aws.create_bucket(src_acct, local, versioning=True)
    ws.write(every_option_config(endpoint, src_acct, dst_acct, src, dst, local))


SCENARIOS = {"cross-account": scenario_cross_account, "two-way": scenario_two_way,
             "every-option": scenario_every_option}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_documents_written(ws: Workspace, ls: LocalStack, scenario: str) -> None:
    aws = Aws(ls)
    proxy = awsproxy.start(ls.endpoint)
    try:
        SCENARIOS[scenario](ws, aws, Names(f"documents/{scenario}"), proxy.url)
        ws.init()
        ws.must("apply", "-input=false", "-auto-approve")
        applied = writes(proxy)
        proxy.stats.reset()
        ws.destroy()
        destroyed = writes(proxy)
    finally:
        proxy.stop()
    got = {"apply": applied, "destroy": destroyed}
    path = GOLDEN / f"{scenario}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"wrote {path}")
    want = json.loads(path.read_text())
    for phase in ("apply", "destroy"):
        have, need = (Counter(json.dumps(e, sort_keys=True) for e in x[phase]) for x in (got, want))
        missing = [json.loads(e) for e in (need - have).elements()]
        extra = [json.loads(e) for e in (have - need).elements()]
        assert not missing and not extra, \
            f"{scenario}, {phase}: the write requests differ from {path.name} (UPDATE_GOLDEN=1 regenerates it " \
            f"after a deliberate change).\nexpected, not written:\n{json.dumps(missing, indent=1)}\n" \
            f"written, not expected:\n{json.dumps(extra, indent=1)}"
