#!/usr/bin/env python3
"""`make demo`: the cross-account example end to end against a local LocalStack.

Starts its own LocalStack instance (stopped at the end), creates the source bucket in account 111111111111 and the
destination bucket in account 222222222222 (versioning off: enabling it is the provider's job), serves the signed
provider registry (`make demo` builds it with a throwaway key) over HTTPS as localhost:PORT, runs `tofu init` from
it in a copy of examples/cross-account/ whose source address names that host, with a `verify` block added to
crossrepl_source.data, applies (the apply proves that S3 replicates), prints the check's result and the
resulting replication configuration and destination bucket policy, plans again (no changes), copies a file into
the source bucket and shows it arriving in the destination account (COMPLETED on the source, REPLICA on the
copy), deletes it and shows the delete marker replicated, and destroys.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mirror  # testbed/, this script's folder
import registry  # testbed/
import verify_check  # testbed/

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("CACHE_DIR") or ROOT / ".cache")

SOURCE_ACCOUNT, DEST_ACCOUNT = "111111111111", "222222222222"


def say(msg: str) -> None:
    print(f"demo: {msg}", flush=True)


def launcher(*args: str) -> str:
    p = subprocess.run([sys.executable, str(ROOT / "testbed" / "localstack.py"), *args], text=True,
                       stdout=subprocess.PIPE, check=True)
    return p.stdout.strip()


def show_replication(clients: dict, endpoint: str, work: Path) -> None:
    """The seed's walkthrough ends here: copy a file into the source bucket, see it arrive in the other account,
    delete it and see the delete marker follow. LocalStack's replication engine (docs/localstack.md) does what S3
    does, authorizing each step against the role, bucket and key policies just applied."""
    from objects import Objects

    objs = Objects(lambda account: clients[account], endpoint)
    sample = work / "hello.txt"
    sample.write_text("Hello from account 111111111111\n")
    put = objs.put(SOURCE_ACCOUNT, "acme-data", "reports/hello.txt", sample.read_bytes(), tags={"team": "data"},
                   metadata={"origin": "make-demo"})
    say(f"copied {sample.name} to s3://acme-data/reports/hello.txt (account {SOURCE_ACCOUNT}), version "
        f"{put.version_id}; replication status right after the write: "
        f"{objs.status(SOURCE_ACCOUNT, 'acme-data', put.key, put.version_id)}")
    status = objs.wait(put)
    say(f"source object: replication status {status}")
    if status != "COMPLETED":
        raise SystemExit(f"demo: replication {status}: {json.dumps(objs.entries(put.key), indent=2)}")
    replica = objs.replica(DEST_ACCOUNT, "acme-dr-copy", put.key, put.version_id)
    say(f"account {DEST_ACCOUNT} reads s3://acme-dr-copy/{put.key}: status {replica.status}, same version id "
        f"{replica.version_id == put.version_id}, tags {replica.tags}, metadata {replica.metadata}, "
        f"body {replica.body.decode().strip()!r}")
    marker = objs.assert_delete_marker_replicated(SOURCE_ACCOUNT, "acme-data", put.key, DEST_ACCOUNT,
                                                  "acme-dr-copy")
    say(f"deleted reports/hello.txt in acme-data: delete marker {marker} replicated to acme-dr-copy "
        f"(the object is hidden there too; its versions stay)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--registry", required=True, help="a `registry.py build --out` dir")
    ap.add_argument("--work", default=str(CACHE_DIR / "demo-work"), help="where the example is copied to")
    a = ap.parse_args()
    import boto3
    from botocore.config import Config

    port = subprocess.run([sys.executable, "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); "
                           "print(s.getsockname()[1])"], text=True, capture_output=True, check=True).stdout.strip()
    endpoint = launcher("start", "--port", port)
    say(f"LocalStack running at {endpoint} (launcher instance on port {port})")
    server = None
    try:
        buckets = {SOURCE_ACCOUNT: "acme-data", DEST_ACCOUNT: "acme-dr-copy"}  # as in terraform.tfvars
        clients = {}
        for account, bucket in buckets.items():
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=account,
                              aws_secret_access_key="test", config=Config(s3={"addressing_style": "path"}))
            s3.create_bucket(Bucket=bucket)
            clients[account] = s3
            status = s3.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
            say(f"account {account}: created bucket {bucket} (versioning: {status})")

        server, url, ca = mirror.start_server(Path(a.registry), url_host="localhost")
        host = url.removeprefix("https://").rstrip("/")
        say(f"serving the signed provider registry {a.registry} at {url}")
        work = Path(a.work)
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(ROOT / "examples" / "cross-account", work)
        main_tf = work / "main.tf"
        main_tf.write_text(main_tf.read_text().replace(mirror.SOURCE, f"{host}/{mirror.NAMESPACE}/{mirror.TYPE}"))
        verify_check.add_verify(main_tf, "1m")
        say(f"configuration: a copy of examples/cross-account/ in {work}, source = \"{host}/crossrepl/crossrepl\", "
            "with a verify block on crossrepl_source.data (apply proves that S3 replicates)")
        (work / "cli.tfrc").write_text(registry.cli_config(host))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        env.update(TF_CLI_CONFIG_FILE=str(work / "cli.tfrc"), SSL_CERT_FILE=str(ca), CHECKPOINT_DISABLE="1",
                   TF_IN_AUTOMATION="1")
        tofu = str(CACHE_DIR / "bin" / "tofu")

        def run(*args: str, ok: tuple[int, ...] = (0,)) -> int:
            say("$ tofu " + " ".join(args))
            code = subprocess.run([tofu, *args, "-no-color"], cwd=work, env=env).returncode
            if code not in ok:
                raise SystemExit(f"demo: tofu {args[0]} failed (exit {code})")
            return code

        var = f"-var=endpoint={endpoint}"
        run("init", "-input=false")
        run("apply", "-input=false", "-auto-approve", var)

        verify = verify_check.result(tofu, work, env)
        say(f"verify: the canary of each rule replicated, checked at {verify['checked_at']}: {verify['results']}")
        replication = clients[SOURCE_ACCOUNT].get_bucket_replication(Bucket="acme-data")["ReplicationConfiguration"]
        say("replication configuration of acme-data (account 111111111111), as S3 reports it:")
        print(json.dumps(replication, indent=2, default=str))
        policy = json.loads(clients[DEST_ACCOUNT].get_bucket_policy(Bucket="acme-dr-copy")["Policy"])
        say("bucket policy of acme-dr-copy (account 222222222222), as S3 reports it:")
        print(json.dumps(policy, indent=2))
        for account, bucket in buckets.items():
            say(f"versioning of {bucket}: {clients[account].get_bucket_versioning(Bucket=bucket).get('Status')}")

        code = run("plan", "-input=false", "-detailed-exitcode", var, ok=(0, 2))
        if code != 0:
            raise SystemExit("demo: the plan after apply is not empty")
        say("plan after apply: no changes")
        show_replication(clients, endpoint, work)
        run("destroy", "-input=false", "-auto-approve", var)
        left = clients[SOURCE_ACCOUNT].list_buckets()["Buckets"] + clients[DEST_ACCOUNT].list_buckets()["Buckets"]
        say(f"after destroy: buckets untouched ({', '.join(b['Name'] for b in left)}); role, policy, replication "
            "configuration and bucket-policy statements removed")
        say("done: two accounts set up with one apply, an object and its delete marker replicated across accounts, "
            "converged, and cleaned up")
    finally:
        if server:
            server.shutdown()
        launcher("stop", "--port", port)
        say("LocalStack stopped")


if __name__ == "__main__":
    main()
