#!/usr/bin/env python3
"""`make test-aws`: the cross-account example against real AWS, with two named profiles, opt-in.

    CROSSREPL_AWS_SOURCE_PROFILE=src CROSSREPL_AWS_DESTINATION_PROFILE=dst [CROSSREPL_AWS_REGION=eu-west-1] \
        make test-aws

Creates two uniquely named buckets (one per account), applies examples/cross-account/ (crossrepl installed from
a provider mirror of this build, as a user installs it) with a `verify` block added (the apply writes a canary and
fails unless S3 replicates it; its replica is deleted with the destination bucket), puts an object and waits for COMPLETED on the source,
reads the replica with the destination profile, deletes it and waits for the delete marker in the destination,
then destroys and deletes both buckets with all their versions, also when a step failed. Without the two profiles
it says it is skipped and exits 0.

The same code runs against LocalStack in `make test` (acceptance-tests/test_aws_run.py, static keys and an
endpoint instead of profiles), so it cannot rot unseen. docs/testing.md says what it costs and which permissions
the profiles need.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import mirror  # testbed/, this script's folder
import verify_check  # testbed/
from objects import Objects

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("CACHE_DIR") or ROOT / ".cache")

EXAMPLE = ROOT / "examples" / "cross-account"


def say(msg: str) -> None:
    print(f"test-aws: {msg}", flush=True)


@dataclass
class Account:
    """One account's credentials: a named profile (AWS), or static keys and an endpoint (LocalStack)."""
    label: str
    profile: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    endpoint: str | None = None
    region: str = "us-east-1"
    _clients: dict = field(default_factory=dict)

    def client(self, service: str):
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            session = boto3.Session(profile_name=self.profile, aws_access_key_id=self.access_key,
                                    aws_secret_access_key=self.secret_key, region_name=self.region)
            style = {"s3": {"addressing_style": "path"}} if self.endpoint else {}
            self._clients[service] = session.client(service, endpoint_url=self.endpoint,
                                                    config=Config(retries={"mode": "standard"}, **style))
        return self._clients[service]

    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def tfvars(self, prefix: str) -> dict:
        if self.profile:
            return {f"{prefix}_profile": self.profile}
        return {f"{prefix}_access_key": self.access_key, f"{prefix}_secret_key": self.secret_key}


def create_bucket(account: Account, name: str) -> None:
    args = {"Bucket": name}
    if account.region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": account.region}
    account.client("s3").create_bucket(**args)
    say(f"{account.label}: created bucket {name} in {account.region}")


def delete_bucket(account: Account, name: str) -> None:
    """Deletes every version and delete marker, then the bucket; reports instead of raising."""
    s3 = account.client("s3")
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            items = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                     for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if items:
                s3.delete_objects(Bucket=name, Delete={"Objects": items, "Quiet": True})
        s3.delete_bucket(Bucket=name)
        say(f"{account.label}: deleted bucket {name}")
    except Exception as e:  # noqa: BLE001 - cleanup goes on; the message says what is left
        say(f"{account.label}: COULD NOT DELETE bucket {name}: {e} (delete it by hand)")


def engine_env(workdir: Path, cli_config: Path, ca: Path | None) -> dict:
    keep = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")  # where the named profiles live
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_")) or k in keep}
    env.update(TF_CLI_CONFIG_FILE=str(cli_config), CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0")
    if ca:
        env["SSL_CERT_FILE"] = str(ca)
    return env


def run(source: Account, destination: Account, engine: Path, mirror_dir: Path, workdir: Path,
        timeout: float = 900) -> None:
    """The whole run; raises on the first failed check after cleaning up."""
    suffix = secrets.token_hex(5)
    src_bucket, dst_bucket = f"crossrepl-test-src-{suffix}", f"crossrepl-test-dst-{suffix}"
    src_id = source.account_id()
    say(f"source account {src_id}, destination account {destination.account_id()}, region {source.region}")
    server, url, ca = mirror.start_server(mirror_dir / "network-mirror")
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(EXAMPLE, workdir, ignore=shutil.ignore_patterns("terraform.tfvars"))
    # the proof at apply: a fresh setup may take minutes to replicate (AWS advises waiting after enabling versioning)
    verify_check.add_verify(workdir / "main.tf", f"{min(int(timeout), 3600)}s")
    (workdir / "cli.tfrc").write_text(mirror.cli_config(network_url=url))
    tfvars = {"region": source.region, "source_bucket": src_bucket, "destination_bucket": dst_bucket,
              "source_account_id": src_id, **source.tfvars("source"), **destination.tfvars("destination")}
    if source.endpoint:
        tfvars["endpoint"] = source.endpoint
    (workdir / "terraform.tfvars").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in tfvars.items()))
    env = engine_env(workdir, workdir / "cli.tfrc", ca)

    def engine_cmd(*args: str, check: bool = True) -> int:
        say(f"$ {engine.name} {' '.join(args)}")
        code = subprocess.run([str(engine), *args, "-no-color"], cwd=workdir, env=env).returncode
        if check and code != 0:
            raise RuntimeError(f"{engine.name} {args[0]} failed (exit {code})")
        return code

    created: list[tuple[Account, str]] = []
    applied = False
    try:
        for account, bucket in ((source, src_bucket), (destination, dst_bucket)):
            create_bucket(account, bucket)
            created.append((account, bucket))
        engine_cmd("init", "-input=false")
        applied = True  # from here on, destroy (a failed apply may have created part of the setup)
        engine_cmd("apply", "-input=false", "-auto-approve")
        verify = verify_check.result(str(engine), workdir, env)
        say(f"verify: apply proved replication, checked at {verify['checked_at']}: {verify['results']}")
        objs = Objects(lambda acct: {src_id: source}.get(acct, destination).client("s3"), source.endpoint,
                       timeout=timeout)
        t = time.monotonic()
        replica = objs.prove(src_id, src_bucket, "destination", dst_bucket, key="crossrepl-test-aws.txt")
        say(f"object replicated in {time.monotonic() - t:.1f} s (status REPLICA in the destination, version "
            f"{replica.version_id}), delete marker replicated")
        code = engine_cmd("plan", "-input=false", "-detailed-exitcode", check=False)
        if code != 0:
            raise RuntimeError(f"the plan after apply is not empty (exit {code})")
    finally:
        try:
            if applied and engine_cmd("destroy", "-input=false", "-auto-approve", check=False) != 0:
                say("DESTROY FAILED: the role crossrepl-<bucket>, its policy and the bucket-policy statements may "
                    f"be left in the accounts; the state is in {workdir}")
        finally:
            for account, bucket in created:
                delete_bucket(account, bucket)
            server.shutdown()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", default=str(CACHE_DIR / "mirror-aws"), help="a `mirror.py build --out` dir")
    ap.add_argument("--engine", default=str(CACHE_DIR / "bin" / "tofu"))
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("CROSSREPL_AWS_TIMEOUT", "900")),
                    help="seconds to wait for COMPLETED (S3 replicates most objects within 15 minutes)")
    a = ap.parse_args()
    src_profile = os.environ.get("CROSSREPL_AWS_SOURCE_PROFILE")
    dst_profile = os.environ.get("CROSSREPL_AWS_DESTINATION_PROFILE")
    if not (src_profile and dst_profile):
        say("SKIPPED: set CROSSREPL_AWS_SOURCE_PROFILE and CROSSREPL_AWS_DESTINATION_PROFILE (two named profiles "
            "of two accounts) to run against real AWS; see docs/testing.md")
        return 0
    region = os.environ.get("CROSSREPL_AWS_REGION", "us-east-1")
    source, destination = Account("source", src_profile, region=region), Account("destination", dst_profile,
                                                                                   region=region)
    try:
        run(source, destination, Path(a.engine), Path(a.mirror), CACHE_DIR / "aws-work", a.timeout)
    except Exception as e:  # noqa: BLE001 - one line for the user, after cleanup
        say(f"FAILED: {e}")
        return 1
    say("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
