#!/usr/bin/env python3
"""LocalStack launcher for the crossrepl test bed (host mode, no Docker).

    localstack.py start [--port N] [--no-fix] [--no-replication]
                                                start on a free (or given) loopback port, wait, warm up, print URL
    localstack.py stop [--port N]               SIGTERM, then SIGKILL after a timeout; removes the pid file
    localstack.py status [--port N]             print the endpoint and exit 0 when running, else exit 1
    localstack.py reset [--port N]              clear all stores of the loaded services (POST /_crossrepl/reset)
    localstack.py wait [--port N]               wait until healthy
    localstack.py logs [--port N] [-n 80]       print the log tail

The control commands use only the standard library (any python3). `start` runs this same file with the
LocalStack virtualenv's interpreter in `_serve` mode, which applies the crossrepl patches and starts the
replication engine (testbed/replication_engine/, see docs/localstack.md) and then calls LocalStack's own main() in
that same process, so the recorded pid is the LocalStack process itself. The engine is on unless
`--no-replication` or CROSSREPL_REPLICATION=0; CROSSREPL_REPLICATION_DELAY sets its delay (default 0.2 s). Without --port the commands use the instance in the well-known endpoint file
$CACHE_DIR/run/localstack.endpoint (written by a `start` without --port or with --default).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("CACHE_DIR") or ROOT / ".cache")
RUN_DIR = CACHE_DIR / "run"
ENDPOINT_FILE = RUN_DIR / "localstack.endpoint"
LS_PYTHON = CACHE_DIR / "localstack-venv" / "bin" / "python"
SHARED_CATALOG_DIR = CACHE_DIR / "localstack-catalog"  # service catalog cache shared by all instances
RESET_PATH = "/_crossrepl/reset"
NO_FIX_ENV = "CROSSREPL_LOCALSTACK_NO_FIX"
REPLICATION_ENV = "CROSSREPL_REPLICATION"
REPLICATION_DELAY_ENV = "CROSSREPL_REPLICATION_DELAY"


def log(msg: str) -> None:
    print(f"localstack: {msg}", file=sys.stderr, flush=True)


def instance_dir(port: int) -> Path:
    return RUN_DIR / f"localstack-{port}"


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        if s.connect_ex(("127.0.0.1", port)) == 0:
            return True
    with socket.socket() as s:  # LocalStack binds 0.0.0.0 whatever host it is given
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_pid(port: int) -> int | None:
    try:
        pid = int((instance_dir(port) / "localstack.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    # guard against a recycled pid: it must be this launcher in _serve mode
    if b"_serve" in cmdline and any(a.endswith(b"localstack.py") for a in cmdline):
        return pid
    return None


def default_port() -> int:
    try:
        return int(ENDPOINT_FILE.read_text().strip().rsplit(":", 1)[1])
    except (OSError, ValueError, IndexError):
        raise SystemExit(f"localstack: no --port given and no endpoint file {ENDPOINT_FILE}")


def http(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None,
         timeout: float = 30) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_healthy(port: int, timeout: float = 90, pid: int | None = None) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/_localstack/health"
    while True:
        if pid is not None and not _alive(pid):
            raise RuntimeError("LocalStack exited during startup")
        try:
            status, body = http(url, timeout=2)
            if status == 200:
                services = json.loads(body).get("services", {})
                if all(services.get(s) in ("available", "running") for s in ("s3", "iam", "sts")):
                    return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"LocalStack not healthy after {timeout:.0f} s")
        time.sleep(0.2)


def _auth(service: str, account: str = "000000000000") -> dict:
    # LocalStack does not verify signatures; the access key id selects the account
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=0"}


def warm_up(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    calls = [
        ("s3 ListBuckets", base + "/", "GET", None, _auth("s3")),
        ("iam ListRoles", base + "/", "POST", b"Action=ListRoles&Version=2010-05-08", {**_auth("iam"), **form}),
        ("sts GetCallerIdentity", base + "/", "POST", b"Action=GetCallerIdentity&Version=2011-06-15",
         {**_auth("sts"), **form}),
    ]
    for name, url, method, body, headers in calls:
        t = time.monotonic()
        status, resp = http(url, method, body, headers, timeout=60)
        if status != 200:
            raise RuntimeError(f"warm-up {name} failed: HTTP {status}: {resp[:300]!r}")
        log(f"warm-up {name}: {time.monotonic() - t:.2f} s")


def log_tail(port: int, lines: int = 80) -> str:
    try:
        return "\n".join((instance_dir(port) / "localstack.log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(port: int | None, fix: bool, default: bool, replication: bool = True) -> str:
    if not LS_PYTHON.exists():
        raise SystemExit(f"localstack: {LS_PYTHON} missing: run testbed/install-localstack.sh")
    if port is None:
        port = free_port()
    elif port_in_use(port):
        raise SystemExit(f"localstack: port {port} is already in use; refusing to start")
    if read_pid(port):
        raise SystemExit(f"localstack: an instance is already running on port {port}")
    idir = instance_dir(port)
    shutil.rmtree(idir, ignore_errors=True)
    data = idir / "data"
    cache = data / "var" / "lib" / "localstack" / "cache"
    cache.mkdir(parents=True)
    for f in SHARED_CATALOG_DIR.glob("service-catalog-*"):
        shutil.copy2(f, cache / f.name)
    # PYTHONPATH is dropped: a caller's (make bench puts testbed/ on it) would let this file shadow the localstack
    # package in _serve mode
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_")) and k != "PYTHONPATH"}
    env.update(
        GATEWAY_LISTEN=f"127.0.0.1:{port}",
        SERVICES="s3,iam,sts,kms",
        OVERRIDE_IN_DOCKER="0",
        DNS_ADDRESS="0",
        FILESYSTEM_ROOT=str(data),
        DISABLE_EVENTS="1",
        LOCALSTACK_TELEMETRY_DISABLED="1",
        PYTHONUNBUFFERED="1",
    )
    if fix:
        env.pop(NO_FIX_ENV, None)
    else:
        env[NO_FIX_ENV] = "1"
    env[REPLICATION_ENV] = "1" if replication else "0"
    logf = open(idir / "localstack.log", "ab")
    t0 = time.monotonic()
    # -P: this file's folder is not put on the import path (the file is named like the localstack package)
    proc = subprocess.Popen([str(LS_PYTHON), "-P", str(Path(__file__).resolve()), "_serve"], env=env, cwd=idir,
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                            start_new_session=True)
    logf.close()
    (idir / "localstack.pid").write_text(f"{proc.pid}\n")
    log(f"started pid {proc.pid} on port {port} (fix {'on' if fix else 'OFF'}, replication engine "
        f"{'on' if replication else 'OFF'}), log {idir / 'localstack.log'}")
    try:
        wait_healthy(port, pid=proc.pid)
        log(f"healthy after {time.monotonic() - t0:.1f} s")
        warm_up(port)
    except Exception as e:
        log(f"start failed: {e}\n--- log tail ---\n{log_tail(port)}")
        stop(port)
        raise SystemExit(1)
    if not any(SHARED_CATALOG_DIR.glob("service-catalog-*")):
        SHARED_CATALOG_DIR.mkdir(parents=True, exist_ok=True)
        for f in cache.glob("service-catalog-*"):
            shutil.copy2(f, SHARED_CATALOG_DIR / f.name)
    url = f"http://127.0.0.1:{port}"
    (idir / "endpoint").write_text(url + "\n")
    if default:
        ENDPOINT_FILE.write_text(url + "\n")
    log(f"ready at {url} after {time.monotonic() - t0:.1f} s")
    return url


def stop(port: int, timeout: float = 15) -> None:
    pid = read_pid(port)
    pidfile = instance_dir(port) / "localstack.pid"
    if pid is None:
        log(f"nothing running on port {port}")
    else:
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
            try:
                os.killpg(pid, sig)  # its own session: the LocalStack process and anything it spawned
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if not _alive(pid):
                break
            log(f"pid {pid} still running after {sig.name}")
        log(f"stopped pid {pid} (port {port})")
    pidfile.unlink(missing_ok=True)
    shutil.rmtree(instance_dir(port) / "data", ignore_errors=True)  # keep only the log
    try:
        if ENDPOINT_FILE.read_text().strip().endswith(f":{port}"):
            ENDPOINT_FILE.unlink()
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def reset(port: int) -> None:
    status, body = http(f"http://127.0.0.1:{port}{RESET_PATH}", "POST", b"")
    if status != 200:
        raise SystemExit(f"localstack: reset failed: HTTP {status}: {body[:300]!r}")
    print(body.decode())


# --------------------------------------------------------------------------------------------------------------
# _serve: runs inside the LocalStack virtualenv, in the LocalStack process itself.

def patch_put_bucket_replication() -> None:
    """AWS resolves a replication rule's destination bucket in its owner's account; LocalStack (checked: 4.9.2
    through 2026.3.0) looks it up only in the caller's account, so a cross-account destination fails with
    "Destination bucket must have versioning enabled.". Same code as LocalStack 4.13.1's
    S3Provider.put_bucket_replication, except the destination lookup goes through _get_cross_account_bucket."""
    from localstack.services.s3 import provider as p

    def put_bucket_replication(self, context, bucket, replication_configuration, content_md5=None,
                               checksum_algorithm=None, token=None, expected_bucket_owner=None, **kwargs) -> None:
        store, s3_bucket = self._get_cross_account_bucket(context, bucket)
        if not s3_bucket.versioning_status == p.BucketVersioningStatus.Enabled:
            raise p.InvalidRequest("Versioning must be 'Enabled' on the bucket to apply a replication configuration")
        if not (rules := replication_configuration.get("Rules")):
            raise p.MalformedXML()
        for rule in rules:
            if "ID" not in rule:
                rule["ID"] = p.short_uid()
            dest_bucket_name = p.s3_bucket_name(rule.get("Destination", {}).get("Bucket"))
            try:  # the fix: find the destination in whichever account owns it
                _, dest_s3_bucket = self._get_cross_account_bucket(context, dest_bucket_name)
            except p.NoSuchBucket:
                dest_s3_bucket = None
            if not dest_s3_bucket or not dest_s3_bucket.versioning_status == p.BucketVersioningStatus.Enabled:
                raise p.InvalidRequest("Destination bucket must have versioning enabled.")
        s3_bucket.replication = replication_configuration

    put_bucket_replication.__wrapped__ = p.S3Provider.put_bucket_replication
    # keep the ASF @handler metadata of the original so the dispatcher still routes to it
    for attr, value in vars(p.S3Provider.put_bucket_replication).items():
        setattr(put_bucket_replication, attr, value)
    p.S3Provider.put_bucket_replication = put_bucket_replication


def patch_kms_key_material_id() -> None:
    """LocalStack 4.13.1's KMS computes a key material id with `uuid.uuid5(namespace, <bytes>)`, which only
    Python >= 3.12 accepts (3.11 requires a str name), so every CreateKey fails with "encoding without a string
    argument" on the machine's Python 3.11. Same computation as 3.12's uuid5 over bytes."""
    import hashlib
    import uuid

    from localstack.services.kms.models import KmsKey

    def generate_key_material_id(self, key_material: bytes) -> str:
        digest = hashlib.sha1(self._internal_key_id.bytes + key_material).digest()
        return uuid.UUID(bytes=digest[:16], version=5).hex * 2

    KmsKey.generate_key_material_id = generate_key_material_id


def patch_canonical_user_ids() -> None:
    """LocalStack gives every account the same S3 canonical user id; on AWS each account has its own ("Find the
    canonical user ID for your AWS account", https://docs.aws.amazon.com/AmazonS3/latest/userguide/finding-canonical-user-id.html).
    With one id for all, who owns a replica (owner override) cannot be told apart. Derived per account here."""
    import hashlib

    from localstack.services.s3 import provider, utils

    def get_owner_for_account_id(account_id: str):
        return utils.Owner(DisplayName=f"account-{account_id}",
                           ID=hashlib.sha256(f"canonical-user/{account_id}".encode()).hexdigest())

    utils.get_owner_for_account_id = provider.get_owner_for_account_id = get_owner_for_account_id


def patch_expected_bucket_owner() -> None:
    """LocalStack's HeadBucket ignores `x-amz-expected-bucket-owner`; S3 answers 403 when the bucket belongs to
    another account ("Verifying bucket ownership with bucket owner condition",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html). crossrepl's plan-time bucket
    check relies on it. (S3 also names the region in that answer; here it does not, so the region check is not
    exercised for a bucket of another account.)"""
    import functools

    from localstack.aws.api.s3 import AccessDenied
    from localstack.services.s3 import provider

    original = provider.S3Provider.head_bucket

    @functools.wraps(original)  # keeps the @handler attributes for the dispatcher
    def head_bucket(self, context, bucket, expected_bucket_owner=None, **kwargs):
        out = original(self, context, bucket, expected_bucket_owner, **kwargs)
        owner = self.get_store(context.account_id, context.region).global_bucket_map.get(bucket)
        if expected_bucket_owner and owner and owner != expected_bucket_owner:
            raise AccessDenied("Access Denied")
        return out

    provider.S3Provider.head_bucket = head_bucket


def load_replication_engine():
    """testbed/replication_engine, imported by path (this file's folder is not on the import path, see start())."""
    import importlib.util

    here = Path(__file__).resolve().parent / "replication_engine"
    spec = importlib.util.spec_from_file_location("replication_engine", here / "__init__.py",
                                                  submodule_search_locations=[str(here)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["replication_engine"] = module
    spec.loader.exec_module(module)
    return module


def install_reset_route(engine=None) -> None:
    from localstack.services.edge import ROUTER

    def reset_handler(request, **_kwargs):
        if engine is not None:
            engine.reset()
        from localstack.services.plugins import SERVICE_PLUGINS

        t = time.monotonic()
        done = []
        for name in SERVICE_PLUGINS.list_loaded_services():
            service = SERVICE_PLUGINS.get_service(name)
            if service is None:
                continue
            service.lifecycle_hook.on_before_state_reset()
            service.accept_state_visitor(_ResetVisitor())
            storage = getattr(getattr(service, "_provider", None), "_storage_backend", None)
            if storage is not None and hasattr(storage, "reset"):
                storage.reset()  # S3 object bodies
            service.lifecycle_hook.on_after_state_reset()
            done.append(name)
        return {"reset": sorted(done), "seconds": round(time.monotonic() - t, 4)}

    ROUTER.add(RESET_PATH, endpoint=reset_handler, methods=["POST"])


class _ResetVisitor:
    def visit(self, container) -> None:
        if hasattr(container, "reset"):  # AccountRegionBundle (LocalStack stores), moto BackendDict
            container.reset()
        # AssetDirectory: S3's object bodies are cleared through its storage backend instead


def serve() -> None:
    if os.environ.get(NO_FIX_ENV) == "1":
        print(f"crossrepl: {NO_FIX_ENV}=1: PutBucketReplication NOT patched", flush=True)
    else:
        patch_put_bucket_replication()
        print("crossrepl: patched S3Provider.put_bucket_replication (cross-account destination)", flush=True)
    if sys.version_info < (3, 12):
        patch_kms_key_material_id()
    patch_canonical_user_ids()
    patch_expected_bucket_owner()
    engine = None
    if os.environ.get(REPLICATION_ENV, "1") != "0":
        module = load_replication_engine()
        engine = module.start(float(os.environ.get(REPLICATION_DELAY_ENV) or 0.2))
        from localstack.services.edge import ROUTER

        module.install_routes(ROUTER, engine)
        print(f"crossrepl: replication engine on (delay {engine.delay} s)", flush=True)
    else:
        print(f"crossrepl: {REPLICATION_ENV}=0: replication engine OFF", flush=True)
    install_reset_route(engine)
    from localstack.runtime.main import main as localstack_main

    localstack_main()


def main() -> None:
    if sys.argv[1:2] == ["_serve"]:
        serve()
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["start", "stop", "status", "reset", "wait", "logs"])
    ap.add_argument("--port", type=int)
    ap.add_argument("--no-fix", action="store_true", help="do not patch PutBucketReplication")
    ap.add_argument("--no-replication", action="store_true", help="do not start the replication engine")
    ap.add_argument("--default", action="store_true", help="write the well-known endpoint file even with --port")
    ap.add_argument("-n", type=int, default=80, help="log lines for `logs`")
    a = ap.parse_args()
    if a.command == "start":
        fix = not a.no_fix and os.environ.get(NO_FIX_ENV) != "1"
        if a.port is None and ENDPOINT_FILE.exists():
            port = default_port()
            if read_pid(port):
                log(f"already running (pid {read_pid(port)}); `stop` it first to restart")
                print(f"http://127.0.0.1:{port}")
                return
        replication = not a.no_replication and os.environ.get(REPLICATION_ENV, "1") != "0"
        print(start(a.port, fix, default=a.port is None or a.default, replication=replication))
        return
    port = a.port or default_port()
    if a.command == "stop":
        stop(port)
    elif a.command == "status":
        if read_pid(port) is None:
            print(f"not running (port {port})")
            raise SystemExit(1)
        print(f"http://127.0.0.1:{port}")
    elif a.command == "reset":
        reset(port)
    elif a.command == "wait":
        wait_healthy(port)
        print(f"http://127.0.0.1:{port}")
    elif a.command == "logs":
        print(log_tail(port, a.n))


if __name__ == "__main__":
    main()
