"""`make test-aws` (testbed/aws_run.py) against LocalStack: the same code that runs against real AWS with two
profiles, here with two LocalStack accounts, so the opt-in real-AWS run cannot rot unseen."""

from __future__ import annotations

import pytest

import aws_run  # testbed/aws_run.py
from lib.aws_readers import Aws
from lib.harness import Workspace, engine_binary
from lib.naming import Names
from lib.services import LocalStack, Mirror


def test_aws_run_against_localstack(ws: Workspace, ls: LocalStack, network_mirror: Mirror,
                                    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Two named profiles, as on AWS: a shared credentials file of our own (AWS_SHARED_CREDENTIALS_FILE is passed
    through to the engine and its provider processes, so the profiles reach crossrepl as they would on AWS)."""
    n = Names(request.node.nodeid)
    credentials = ws.dir / "aws-credentials"
    credentials.write_text("".join(f"[{name}]\naws_access_key_id = {n.account(i)}\naws_secret_access_key = test\n"
                                   for i, name in enumerate(("crossrepl-src", "crossrepl-dst"))))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(ws.dir / "aws-config-none"))
    source = aws_run.Account("source", profile="crossrepl-src", endpoint=ls.endpoint)
    destination = aws_run.Account("destination", profile="crossrepl-dst", endpoint=ls.endpoint)
    aws_run.run(source, destination, engine_binary(ws.engine), network_mirror.directory.parent, ws.dir / "aws-run",
                timeout=20)
    out = capsys.readouterr().out
    assert "object replicated" in out and "delete marker replicated" in out, out
    assert "verify: apply proved replication" in out and "COMPLETED" in out, out
    aws = Aws(ls)
    for account in (n.account(0), n.account(1)):  # everything it made is gone, buckets included
        assert aws.s3(account).list_buckets()["Buckets"] == [], f"buckets left in {account}"
        assert aws.local_roles(account) == [] and aws.local_policies(account) == [], f"IAM left in {account}"


def test_aws_run_cleans_up_after_a_failure(ws: Workspace, ls: LocalStack, network_mirror: Mirror,
                                           request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that fails mid-way (replication FAILED: the bucket policy is taken away right after apply) still
    destroys and deletes its buckets, and says what failed."""
    n = Names(request.node.nodeid)
    source = aws_run.Account("source", access_key=n.account(0), secret_key="test", endpoint=ls.endpoint)
    destination = aws_run.Account("destination", access_key=n.account(1), secret_key="test", endpoint=ls.endpoint)
    real_put = aws_run.Objects.put

    def put_after_sabotage(self, account, bucket, key, *args, **kwargs):
        dst = bucket.replace("-src-", "-dst-")
        destination.client("s3").delete_bucket_policy(Bucket=dst)
        return real_put(self, account, bucket, key, *args, **kwargs)

    monkeypatch.setattr(aws_run.Objects, "put", put_after_sabotage)
    with pytest.raises(AssertionError, match="replication FAILED"):
        aws_run.run(source, destination, engine_binary(ws.engine), network_mirror.directory.parent,
                    ws.dir / "aws-run", timeout=20)
    aws = Aws(ls)
    for account in (n.account(0), n.account(1)):
        assert aws.s3(account).list_buckets()["Buckets"] == [], f"buckets left in {account} after a failed run"
        assert aws.local_roles(account) == [] and aws.local_policies(account) == [], f"IAM left in {account}"
