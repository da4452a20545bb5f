#!/usr/bin/env python3
"""crossrepl benchmarks (`make bench`): figures, never pass/fail.

1. release binary size; cold start to the handshake line (median of N launches, as a plugin client launches it);
   peak RSS of the provider processes during an apply of examples/cross-account/.
2. AWS calls per operation (apply, no-change plan, destroy, import) counted by the proxy in front of LocalStack,
   with the critical-path depth (sequential round trips).
3. scale: 1, 10 and 100 source/destination pairs in one configuration: apply and no-change plan, wall time and calls.

Needs `make setup` (OpenTofu, LocalStack) and a release build; `make bench` does both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("CACHE_DIR") or ROOT / ".cache")
sys.path.insert(0, str(ROOT / "testbed"))
sys.path.insert(0, str(ROOT / "acceptance-tests"))

import awsproxy  # noqa: E402
from harness import provider_block  # noqa: E402
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

BINARY = ROOT / "target" / "release" / "terraform-provider-crossrepl"
TOFU = CACHE_DIR / "bin" / "tofu"
SOURCE = "registry.terraform.io/crossrepl/crossrepl"
COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
SRC_ACCOUNT, DST_ACCOUNT = "111111111111", "222222222222"


def fmt_stats(values: list[float], unit: str, scale: float = 1.0) -> str:
    v = [x * scale for x in values]
    return f"median {statistics.median(v):.1f} {unit} (min {min(v):.1f}, max {max(v):.1f}, n={len(v)})"


def client_cert_pem() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import datetime

    key = ec.generate_private_key(ec.SECP521R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA512()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def cold_start(launches: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(TF_PLUGIN_MAGIC_COOKIE=COOKIE, PLUGIN_PROTOCOL_VERSIONS="5,6", PLUGIN_CLIENT_CERT=client_cert_pem())
    times = []
    for _ in range(launches):
        t = time.perf_counter()
        p = subprocess.Popen([str(BINARY)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = p.stdout.readline()
        times.append(time.perf_counter() - t)
        assert line.startswith(b"1|6|"), line
        p.kill()
        p.wait()
    return times


class LocalStack:
    def __init__(self) -> None:
        launcher = ROOT / "testbed" / "localstack.py"
        port = free_port()
        out = subprocess.run([sys.executable, str(launcher), "start", "--port", str(port)], capture_output=True,
                             text=True, check=True)
        self.url = out.stdout.strip().splitlines()[-1]
        self.port = port
        self.launcher = launcher

    def reset(self) -> None:
        subprocess.run([sys.executable, str(self.launcher), "reset", "--port", str(self.port)], check=True,
                       capture_output=True)

    def stop(self) -> None:
        subprocess.run([sys.executable, str(self.launcher), "stop", "--port", str(self.port)], capture_output=True)

    def s3(self, account: str):
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id=account,
                            aws_secret_access_key="test", config=Config(s3={"addressing_style": "path"}))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Workdir:
    """A configuration run with OpenTofu against the proxy, through a dev override that records peak RSS."""

    def __init__(self, endpoint: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="crossrepl-bench-"))
        plugin_dir = self.dir / "plugin"
        plugin_dir.mkdir()
        wrapper = plugin_dir / "terraform-provider-crossrepl"
        shutil.copy(ROOT / "bench" / "rsswrap.py", wrapper)
        wrapper.chmod(0o755)
        self.rss_log = self.dir / "rss.log"
        (self.dir / "cli.tfrc").write_text(
            f'provider_installation {{\n  dev_overrides {{\n    "{SOURCE}" = "{plugin_dir}"\n  }}\n  direct {{}}\n}}\n')
        self.endpoint = endpoint

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        env.update(TF_CLI_CONFIG_FILE=str(self.dir / "cli.tfrc"), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1",
                   CROSSREPL_BENCH_REAL=str(BINARY), CROSSREPL_BENCH_RSS_LOG=str(self.rss_log))
        return env

    def tofu(self, *args: str) -> float:
        self.rss_log.write_text("")
        t = time.perf_counter()
        p = subprocess.run([str(TOFU), *args], cwd=self.dir, env=self.env(), capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        if p.returncode not in (0, 2) or (p.returncode == 2 and args[0] != "plan"):
            raise SystemExit(f"tofu {' '.join(args)} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        return elapsed

    def peak_rss_kib(self) -> int:
        values = [int(x) for x in self.rss_log.read_text().split()]
        return max(values, default=0)


def pairs_config(endpoint: str, n: int, prefix: str) -> str:
    hcl = [f'terraform {{\n  required_providers {{\n    crossrepl = {{ source = "{SOURCE}" }}\n  }}\n}}\n']
    for alias, account in (("src", SRC_ACCOUNT), ("dst", DST_ACCOUNT)):
        hcl.append(provider_block(endpoint, account, alias))
    for i in range(n):
        hcl.append(f'''resource "crossrepl_destination" "d{i}" {{
  provider = crossrepl.dst
  bucket = "{prefix}-dst-{i}"
  source_account_id = "{SRC_ACCOUNT}"
  source_bucket = "{prefix}-src-{i}"
}}
resource "crossrepl_source" "s{i}" {{
  provider = crossrepl.src
  bucket = "{prefix}-src-{i}"
  destination {{
    bucket_arn = crossrepl_destination.d{i}.bucket_arn
    account_id = crossrepl_destination.d{i}.account_id
  }}
}}
''')
    return "\n".join(hcl)


def make_buckets(ls: LocalStack, prefix: str, n: int) -> None:
    src, dst = ls.s3(SRC_ACCOUNT), ls.s3(DST_ACCOUNT)
    for i in range(n):
        src.create_bucket(Bucket=f"{prefix}-src-{i}")
        dst.create_bucket(Bucket=f"{prefix}-dst-{i}")


def measure(work: Workdir, proxy, *args: str) -> dict:
    proxy.stats.reset()
    seconds = work.tofu(*args)
    s = proxy.stats.summary()
    return {"seconds": round(seconds, 2), "calls": s["total"], "critical_path": s["critical_path"],
            "by_operation": s["by_operation"], "peak_rss_mib": round(work.peak_rss_kib() / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--launches", type=int, default=30)
    ap.add_argument("--scale", default="1,10,100")
    ap.add_argument("--json", type=Path, default=CACHE_DIR / "bench" / "results.json")
    args = ap.parse_args()
    if not BINARY.exists() or not TOFU.exists():
        raise SystemExit("build the release binary and run `make setup` first (make bench does both)")
    results: dict = {"binary_bytes": BINARY.stat().st_size}
    print(f"binary size: {results['binary_bytes'] / 2**20:.1f} MiB ({BINARY})")
    starts = cold_start(args.launches)
    results["cold_start_ms"] = {"median": statistics.median(starts) * 1e3, "min": min(starts) * 1e3,
                                "max": max(starts) * 1e3, "n": len(starts)}
    print(f"cold start to handshake line: {fmt_stats(starts, 'ms', 1e3)}")

    ls = LocalStack()
    proxy = awsproxy.start(ls.url)
    try:
        # -- the cross-account example, operation by operation
        ls.reset()
        work = Workdir(proxy.url)
        for f in (ROOT / "examples" / "cross-account").glob("*.tf"):
            shutil.copy(f, work.dir)
        (work.dir / "terraform.tfvars").write_text(
            (ROOT / "examples" / "cross-account" / "terraform.tfvars").read_text()
            .replace("http://127.0.0.1:4566", proxy.url))
        ls.s3(SRC_ACCOUNT).create_bucket(Bucket="acme-data")
        ls.s3(DST_ACCOUNT).create_bucket(Bucket="acme-dr-copy")
        ops = {}
        ops["apply"] = measure(work, proxy, "apply", "-auto-approve", "-input=false")
        ops["plan (no changes)"] = measure(work, proxy, "plan", "-input=false", "-detailed-exitcode")
        work.tofu("state", "rm", "crossrepl_source.data", "crossrepl_destination.dr")
        proxy.stats.reset()
        t1 = work.tofu("import", "-input=false", "crossrepl_destination.dr", f"acme-dr-copy,{SRC_ACCOUNT}")
        t2 = work.tofu("import", "-input=false", "crossrepl_source.data", "acme-data")
        s = proxy.stats.summary()
        ops["import (both)"] = {"seconds": round(t1 + t2, 2), "calls": s["total"], "critical_path": s["critical_path"],
                                "by_operation": s["by_operation"], "peak_rss_mib": round(work.peak_rss_kib() / 1024, 1)}
        ops["destroy"] = measure(work, proxy, "destroy", "-auto-approve", "-input=false")
        results["cross_account"] = ops
        print("\ncross-account example (OpenTofu, LocalStack through the counting proxy):")
        print(f"  {'operation':<20} {'wall s':>7} {'AWS calls':>9} {'critical path':>13} {'peak RSS MiB':>12}")
        for name, r in ops.items():
            print(f"  {name:<20} {r['seconds']:>7.2f} {r['calls']:>9} {r['critical_path']:>13} {r['peak_rss_mib']:>12}")
        for name, r in ops.items():
            print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in r["by_operation"].items()))

        # -- scale
        print("\nscale (N source/destination pairs in one configuration):")
        print(f"  {'N':>4} {'apply s':>8} {'apply calls':>11} {'plan s':>7} {'plan calls':>10} {'peak RSS MiB':>12}")
        results["scale"] = []
        for n in [int(x) for x in args.scale.split(",") if x]:
            ls.reset()
            prefix = f"scale{n}"
            make_buckets(ls, prefix, n)
            work = Workdir(proxy.url)
            (work.dir / "main.tf").write_text(pairs_config(proxy.url, n, prefix))
            a = measure(work, proxy, "apply", "-auto-approve", "-input=false")
            p = measure(work, proxy, "plan", "-input=false", "-detailed-exitcode")
            row = {"n": n, "apply": a, "plan": p}
            results["scale"].append(row)
            print(f"  {n:>4} {a['seconds']:>8.2f} {a['calls']:>11} {p['seconds']:>7.2f} {p['calls']:>10} "
                  f"{max(a['peak_rss_mib'], p['peak_rss_mib']):>12}")
            work.tofu("destroy", "-auto-approve", "-input=false")
    finally:
        proxy.stop()
        ls.stop()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
