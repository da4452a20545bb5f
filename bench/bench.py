#!/usr/bin/env python3
"""crossrepl benchmarks (`make bench`): figures, never pass/fail.

1. release binary size; cold start to the handshake line (median of N launches, as a plugin client launches it);
   peak RSS of the provider processes during an apply of examples/cross-account/.
2. AWS calls per operation (apply, no-change plan, destroy, import) counted by the proxy in front of LocalStack,
   with the critical-path depth (sequential round trips).
3. scale: 1, 10 and 100 source/destination pairs in one configuration: apply and no-change plan, wall time and calls.
4. fan-in (one destination bucket): how many sources it admits in the default (per-role) and the organization form
   and the bucket policy's size at 250 and 1,000 sources, from what crossrepl writes into LocalStack; apply,
   no-change plan and destroy of 250 sources (crossrepl_source and crossrepl_destination) into one bucket.
5. against hashicorp/aws: apply + no-change plan + destroy of examples/cross-account/ and of the same setup written
   with hashicorp/aws (bench/aws-setup/main.tf), alternating, on the same LocalStack, several rounds: wall time,
   peak RSS of the provider processes and of tofu, AWS calls, and the ratios. Needs the hashicorp/aws binary that
   the opt-in bench/build-aws-provider.sh builds (`BENCH_AWS=build make bench`); skipped with a message without it.

Needs `make setup` (OpenTofu, LocalStack), a release build, and testbed/ and acceptance-tests/ on PYTHONPATH;
`make bench` does all three.
`--sections basic,scale,fanin,aws` picks sections (default: all).
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
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

import awsproxy  # testbed/awsproxy.py
import mirror  # testbed/mirror.py
from lib.scenarios import provider_block

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("CACHE_DIR") or ROOT / ".cache")
BINARY = mirror.cargo_target_dir() / "release" / "terraform-provider-crossrepl"  # where `make build-release` puts it
TOFU = CACHE_DIR / "bin" / "tofu"
SOURCE = "registry.terraform.io/crossrepl/crossrepl"
COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
SRC_ACCOUNT, DST_ACCOUNT = "111111111111", "222222222222"
AWS_SOURCE = "registry.terraform.io/hashicorp/aws"
AWS_DIR = CACHE_DIR / "bench" / "aws-provider"  # bench/build-aws-provider.sh puts the binary and build.json here
AWS_SETUP = ROOT / "bench" / "aws-setup"


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


def cold_start(launches: int, binary: Path = BINARY, protocol: bytes = b"6") -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(TF_PLUGIN_MAGIC_COOKIE=COOKIE, PLUGIN_PROTOCOL_VERSIONS="5,6", PLUGIN_CLIENT_CERT=client_cert_pem())
    times = []
    for _ in range(launches):
        t = time.perf_counter()
        p = subprocess.Popen([str(binary)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = p.stdout.readline()
        times.append(time.perf_counter() - t)
        assert line.startswith(b"1|" + protocol + b"|"), line
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
    """A configuration run with OpenTofu against the proxy, through a dev override, sampling peak RSS.

    `source` and `binary` name the provider under test (crossrepl by default; hashicorp/aws for the comparison):
    the override directory holds a link to `binary` under the provider's executable name, so the engine starts
    the binary itself (as it would an installed provider: the provider processes are the engine's children). Every
    20 ms the high-water mark (VmHWM) of tofu and of each of its children is sampled: a provider process's peak RSS
    is its last sample, which misses at most its last 20 ms."""

    def __init__(self, endpoint: str, source: str = SOURCE, binary: Path = BINARY) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="crossrepl-bench-"))
        plugin_dir = self.dir / "plugin"
        plugin_dir.mkdir()
        self.link = plugin_dir / f"terraform-provider-{source.rsplit('/', 1)[-1]}"
        self.binary = binary
        (self.dir / "cli.tfrc").write_text(
            f'provider_installation {{\n  dev_overrides {{\n    "{source}" = "{plugin_dir}"\n  }}\n  direct {{}}\n}}\n')
        self.endpoint = endpoint
        self.tofu_peak_kib = 0  # peak RSS of the tofu process itself in the last command (VmHWM, sampled)
        self.provider_peaks_kib: dict[int, int] = {}  # pid -> peak RSS of each child of tofu in the last command
        self.last_output = ""

    @property
    def binary(self) -> Path:
        return self._binary

    @binary.setter
    def binary(self, path: Path) -> None:
        self._binary = path
        self.link.unlink(missing_ok=True)
        self.link.symlink_to(path)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        env.update(TF_CLI_CONFIG_FILE=str(self.dir / "cli.tfrc"), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1",
                   AWS_EC2_METADATA_DISABLED="true")
        return env

    def run(self, *args: str) -> tuple[float, int]:
        """Runs tofu; returns (seconds, exit code); samples the high-water marks of tofu and its children."""
        self.tofu_peak_kib = 0
        self.provider_peaks_kib = {}
        with tempfile.TemporaryFile("w+") as out:
            t = time.perf_counter()
            p = subprocess.Popen([str(TOFU), *args], cwd=self.dir, env=self.env(), stdout=out,
                                 stderr=subprocess.STDOUT, text=True)
            done = threading.Event()

            def sample() -> None:
                while not done.wait(0.02):
                    tofu = hwm_kib(p.pid)
                    if tofu is None:
                        return
                    self.tofu_peak_kib = max(self.tofu_peak_kib, tofu)
                    for child in provider_children(p.pid):
                        if (kib := hwm_kib(child)) is not None:
                            self.provider_peaks_kib[child] = max(self.provider_peaks_kib.get(child, 0), kib)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            rc = p.wait()
            elapsed = time.perf_counter() - t
            done.set()
            sampler.join()
            out.seek(0)
            self.last_output = out.read()
        return elapsed, rc

    def tofu(self, *args: str) -> float:
        elapsed, rc = self.run(*args)
        if rc not in (0, 2) or (rc == 2 and args[0] != "plan"):
            raise SystemExit(f"tofu {' '.join(args)} failed ({rc}):\n{self.last_output[-6000:]}")
        return elapsed

    def peak_rss_kib(self) -> int:
        return max(self.rss_values_kib(), default=0)

    def rss_values_kib(self) -> list[int]:
        """Peak RSS of each provider process of the last command (sampled)."""
        return list(self.provider_peaks_kib.values())


def hwm_kib(pid: int) -> int | None:
    """The process's peak RSS so far (VmHWM, KiB), or None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)


def provider_children(pid: int) -> list[int]:
    """The child processes of `pid` (of any of its threads) that run a provider: a child that has not yet called
    exec is a copy of the engine and reports the engine's high-water mark."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    def runs_provider(child: int) -> bool:
        try:
            return Path(f"/proc/{child}/comm").read_text().startswith("terraform-provi")
        except OSError:
            return False
    return [c for c in found if runs_provider(c)]


def header(endpoint: str, blocks: list[tuple[str, str]]) -> list[str]:
    """The required_providers block and one provider block per (alias, account)."""
    hcl = [f'terraform {{\n  required_providers {{\n    crossrepl = {{ source = "{SOURCE}" }}\n  }}\n}}\n']
    return hcl + [provider_block(endpoint, account, alias) for alias, account in blocks]


def destination_hcl(i: int, bucket: str, source_account: str, source_bucket: str) -> str:
    return (f'resource "crossrepl_destination" "d{i}" {{\n  provider = crossrepl.dst\n  bucket = "{bucket}"\n'
            f'  source_account_id = "{source_account}"\n  source_bucket = "{source_bucket}"\n}}\n')


def pair_hcl(i: int, bucket: str, source_alias: str, source_account: str, source_bucket: str) -> str:
    """crossrepl_destination d{i} on `bucket` (provider dst) and crossrepl_source s{i} replicating into it."""
    return destination_hcl(i, bucket, source_account, source_bucket) + f'''resource "crossrepl_source" "s{i}" {{
  provider = crossrepl.{source_alias}
  bucket = "{source_bucket}"
  destination {{
    bucket_arn = crossrepl_destination.d{i}.bucket_arn
    account_id = crossrepl_destination.d{i}.account_id
    grant = crossrepl_destination.d{i}.grant
  }}
}}
'''


def pairs_config(endpoint: str, n: int, prefix: str) -> str:
    hcl = header(endpoint, [("src", SRC_ACCOUNT), ("dst", DST_ACCOUNT)])
    hcl += [pair_hcl(i, f"{prefix}-dst-{i}", "src", SRC_ACCOUNT, f"{prefix}-src-{i}") for i in range(n)]
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


# ---- sections -------------------------------------------------------------------------------------------------

def example_workdir(proxy) -> Workdir:
    """examples/cross-account/ in a fresh Workdir, its terraform.tfvars pointed at the proxy."""
    work = Workdir(proxy.url)
    example = ROOT / "examples" / "cross-account"
    for f in example.glob("*.tf"):
        shutil.copy(f, work.dir)
    (work.dir / "terraform.tfvars").write_text(
        (example / "terraform.tfvars").read_text().replace("http://127.0.0.1:4566", proxy.url))
    return work


def basic(ls: LocalStack, proxy, results: dict) -> None:
    # -- the cross-account example, operation by operation
    ls.reset()
    work = example_workdir(proxy)
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


def scale(ls: LocalStack, proxy, results: dict, scale_arg: str) -> None:
    print("\nscale (N source/destination pairs in one configuration):")
    print(f"  {'N':>4} {'apply s':>8} {'apply calls':>11} {'plan s':>7} {'plan calls':>10} {'peak RSS MiB':>12}")
    results["scale"] = []
    for n in [int(x) for x in scale_arg.split(",") if x]:
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


# ---- fan-in ----------------------------------------------------------------------------------------------------

FANIN_BUCKET = "fanin-destination"  # 17 characters, as the source buckets' names below
POLICY_LIMIT = 20 * 1024  # "Bucket policies are limited to 20 KB in size" (S3 user guide, "Bucket policies")


def fanin_account(i: int) -> str:
    return f"{300000000000 + i:012d}"


def fanin_bucket(i: int) -> str:
    return f"fanin-source-{i:04d}"  # 17 characters


def destinations_config(endpoint: str, accounts: list[str], org: bool) -> str:
    """crossrepl_destination resources on one bucket: one per (account, source bucket), or one organization."""
    hcl = header(endpoint, [("dst", DST_ACCOUNT)])
    if org:
        hcl.append(f'resource "crossrepl_destination" "org" {{\n  provider = crossrepl.dst\n  bucket = "{FANIN_BUCKET}"\n'
                   f'  source_organization_id = "o-bench0fanin"\n}}\n')
    hcl += [destination_hcl(i, FANIN_BUCKET, account, fanin_bucket(i)) for i, account in enumerate(accounts)]
    return "\n".join(hcl)


def policy_bytes(ls: LocalStack) -> int:
    """The destination bucket policy's size as S3 counts it (compact JSON, as crossrepl writes it)."""
    text = ls.s3(DST_ACCOUNT).get_bucket_policy(Bucket=FANIN_BUCKET)["Policy"]
    return len(json.dumps(json.loads(text), separators=(",", ":")))


def fanin_config(endpoint: str, n: int, accounts: int) -> str:
    """n sources in `accounts` source accounts (one provider block each), each replicating into the one bucket."""
    hcl = header(endpoint, [("dst", DST_ACCOUNT)] + [(f"a{a}", fanin_account(a)) for a in range(accounts)])
    hcl += [pair_hcl(i, FANIN_BUCKET, f"a{i % accounts}", fanin_account(i % accounts), fanin_bucket(i))
            for i in range(n)]
    return "\n".join(hcl)


def fanin(ls: LocalStack, proxy, results: dict, n_timed: int) -> None:
    out: dict = {}
    # Capacity: 250 sources of 250 accounts (the worst case: each account listed once more), then the size per source.
    ls.reset()
    ls.s3(DST_ACCOUNT).create_bucket(Bucket=FANIN_BUCKET)
    work = Workdir(proxy.url)
    (work.dir / "main.tf").write_text(destinations_config(proxy.url, [], org=True))
    work.tofu("apply", "-auto-approve", "-input=false")
    org_bytes = policy_bytes(ls)
    accounts = [fanin_account(i) for i in range(250)]
    sizes = {}
    for n in (1, 250):
        (work.dir / "main.tf").write_text(destinations_config(proxy.url, accounts[:n], org=False))
        work.tofu("apply", "-auto-approve", "-input=false", "-parallelism=50")
        sizes[n] = policy_bytes(ls)
    work.tofu("destroy", "-auto-approve", "-input=false", "-parallelism=50")
    each = (sizes[250] - sizes[1]) / 249
    admitted = 250 + int((POLICY_LIMIT - sizes[250]) // each) if sizes[250] <= POLICY_LIMIT else None
    out["per_role"] = {"bytes_at_1": sizes[1], "bytes_at_250": sizes[250], "bytes_per_source": round(each, 1),
                       "bytes_at_1000": round(sizes[1] + 999 * each), "sources_admitted": admitted}
    out["organization"] = {"bytes": org_bytes, "sources_admitted": "any number"}
    print("\nfan-in into one bucket (17-character bucket names, each source in its own account):")
    print(f"  per-role statement: {sizes[1]} bytes with 1 source, {sizes[250]} bytes with 250 (measured), "
          f"{each:.1f} bytes per source; 1,000 sources would need {out['per_role']['bytes_at_1000']} bytes "
          f"(limit {POLICY_LIMIT}): one bucket admits {admitted} sources")
    print(f"  organization mode: {org_bytes} bytes at 250 and at 1,000 source accounts (one statement): any number")

    # Timing: n_timed sources (role, policy, versioning, replication each) in 10 accounts into the one bucket.
    ls.reset()
    ls.s3(DST_ACCOUNT).create_bucket(Bucket=FANIN_BUCKET)
    n_accounts = 10
    for i in range(n_timed):
        ls.s3(fanin_account(i % n_accounts)).create_bucket(Bucket=fanin_bucket(i))
    work = Workdir(proxy.url)
    (work.dir / "main.tf").write_text(fanin_config(proxy.url, n_timed, n_accounts))
    ops = {"apply": measure(work, proxy, "apply", "-auto-approve", "-input=false"),
           "plan (no changes)": measure(work, proxy, "plan", "-input=false", "-detailed-exitcode"),
           "destroy": measure(work, proxy, "destroy", "-auto-approve", "-input=false")}
    out["timed"] = {"sources": n_timed, "accounts": n_accounts, **ops}
    results["fan_in"] = out
    print(f"  {n_timed} sources in {n_accounts} accounts into one bucket (default -parallelism=10):")
    print(f"  {'operation':<20} {'wall s':>7} {'AWS calls':>9} {'critical path':>13} {'peak RSS MiB':>12}")
    for name, r in ops.items():
        print(f"  {name:<20} {r['seconds']:>7.2f} {r['calls']:>9} {r['critical_path']:>13} {r['peak_rss_mib']:>12}")


# ---- against hashicorp/aws ----------------------------------------------------------------------------------

PHASES = ("apply", "plan (no changes)", "destroy")


def aws_binary_info() -> tuple[Path, dict] | None:
    binary = AWS_DIR / "terraform-provider-aws"
    if not binary.exists():
        return None
    info_file = AWS_DIR / "build.json"
    info = json.loads(info_file.read_text()) if info_file.exists() else {}
    return binary, info


def one_round(ls: LocalStack, proxy, kind: str, aws_binary: Path | None) -> dict:
    """apply + no-change plan + destroy of one configuration on a fresh LocalStack state with the two buckets."""
    ls.reset()
    ls.s3(SRC_ACCOUNT).create_bucket(Bucket="acme-data")
    ls.s3(DST_ACCOUNT).create_bucket(Bucket="acme-dr-copy")
    if kind == "crossrepl":
        work = example_workdir(proxy)
    else:
        work = Workdir(proxy.url, AWS_SOURCE, aws_binary)
        shutil.copy(AWS_SETUP / "main.tf", work.dir)
        (work.dir / "terraform.tfvars").write_text(
            f'source_bucket = "acme-data"\ndestination_bucket = "acme-dr-copy"\n'
            f'source_account_id = "{SRC_ACCOUNT}"\ndestination_account_id = "{DST_ACCOUNT}"\n'
            f'endpoint = "{proxy.url}"\n')
    commands = {"apply": ("apply", "-auto-approve", "-input=false", "-no-color"),
                "plan (no changes)": ("plan", "-input=false", "-detailed-exitcode", "-no-color"),
                "destroy": ("destroy", "-auto-approve", "-input=false", "-no-color")}
    out = {}
    for phase in PHASES:
        proxy.stats.reset()
        seconds, rc = work.run(*commands[phase])
        ok = rc == 0
        if not ok and not (phase.startswith("plan") and rc == 2):
            raise SystemExit(f"{kind}: tofu {phase} failed ({rc}):\n{work.last_output[-6000:]}")
        s = proxy.stats.summary()
        rss = work.rss_values_kib()
        out[phase] = {"seconds": seconds, "calls": s["total"], "critical_path": s["critical_path"],
                      "by_operation": s["by_operation"], "provider_processes": len(rss),
                      "provider_peak_mib": max(rss, default=0) / 1024, "provider_sum_mib": sum(rss) / 1024,
                      "tofu_peak_mib": work.tofu_peak_kib / 1024, "exit_code": rc}
        if phase.startswith("plan") and rc == 2:
            out[phase]["diff"] = work.last_output[-4000:]
    shutil.rmtree(work.dir, ignore_errors=True)
    return out


def print_aws_skipped() -> None:
    print(f"\nagainst hashicorp/aws: SKIPPED, no binary at {AWS_DIR}/terraform-provider-aws.\n"
          "  Build it once (opt-in, long: about an hour on 2 cores): bench/build-aws-provider.sh,\n"
          "  or `BENCH_AWS=build make bench`.")


def compare_with_aws(ls: LocalStack, proxy, rounds: int, launches: int) -> dict | None:
    found = aws_binary_info()
    if found is None:
        print_aws_skipped()
        return None
    aws_binary, info = found
    results: dict = {"aws_build": info, "aws_binary_bytes": aws_binary.stat().st_size, "rounds": rounds}
    print(f"\nagainst hashicorp/aws ({info.get('module', 'terraform-provider-aws')}@"
          f"{info.get('module_version', '?')}, {aws_binary.stat().st_size / 2**20:.1f} MiB; built in "
          f"{info.get('build_seconds', '?')} s): {rounds} rounds of apply + no-change plan + destroy, alternating")
    aws_starts = cold_start(launches, aws_binary, b"5")
    cr_starts = cold_start(launches)
    results["cold_start_ms"] = {
        name: {"median": statistics.median(v) * 1e3, "min": min(v) * 1e3, "max": max(v) * 1e3, "n": len(v)}
        for name, v in (("crossrepl", cr_starts), ("aws", aws_starts))}
    print(f"  cold start to handshake: crossrepl {fmt_stats(cr_starts, 'ms', 1e3)}; "
          f"hashicorp/aws {fmt_stats(aws_starts, 'ms', 1e3)}")
    # one unmeasured round each: page cache, LocalStack's lazily loaded IAM/S3 code paths
    for kind in ("crossrepl", "aws"):
        one_round(ls, proxy, kind, aws_binary)
    runs: dict[str, list[dict]] = {"crossrepl": [], "aws": []}
    for r in range(rounds):
        order = ("crossrepl", "aws") if r % 2 == 0 else ("aws", "crossrepl")
        for kind in order:
            runs[kind].append(one_round(ls, proxy, kind, aws_binary))
            print(f"  round {r + 1} {kind}: " + ", ".join(
                f"{ph} {x['seconds']:.2f} s/{x['provider_peak_mib']:.0f} MiB" for ph, x in runs[kind][-1].items()),
                flush=True)
    results["runs"] = runs

    def spread(v: list[float]) -> dict:
        return {"median": statistics.median(v), "min": min(v), "max": max(v)}

    def compare(c: list[float], a: list[float]) -> dict:
        # ratio of each round's pair (the two runs of a round are adjacent in time, so they share the noise)
        ratios = [y / x for x, y in zip(c, a)] if all(c) else []
        return {"crossrepl": spread(c), "aws": spread(a), "ratio": spread(ratios) if ratios else None}

    summary: dict = {}
    for phase in PHASES:
        summary[phase] = {}
        for key in ("seconds", "provider_peak_mib", "provider_sum_mib", "tofu_peak_mib", "calls",
                    "critical_path", "provider_processes"):
            summary[phase][key] = compare([run[phase][key] for run in runs["crossrepl"]],
                                          [run[phase][key] for run in runs["aws"]])
        summary[phase]["no_change_exit_codes"] = {k: [run[phase]["exit_code"] for run in runs[k]] for k in runs}
    summary["total seconds"] = compare(*[[sum(run[ph]["seconds"] for ph in PHASES) for run in runs[k]]
                                         for k in ("crossrepl", "aws")])
    results["summary"] = summary

    def cell(d: dict | None, fmt: str, unit: str = "") -> str:
        if d is None:
            return "-"
        return f"{d['median']:{fmt}}{unit} ({d['min']:{fmt}}–{d['max']:{fmt}})"

    print(f"\n  medians (min–max) over {rounds} rounds; ratio = hashicorp/aws ÷ crossrepl, per round")
    print(f"  {'phase':<18} {'figure':<24} {'crossrepl':>22} {'hashicorp/aws':>22} {'ratio':>20}")
    rows = (("seconds", "wall s", ".2f"), ("provider_peak_mib", "provider peak RSS MiB", ".1f"),
            ("provider_sum_mib", "Σ provider peaks MiB", ".1f"), ("tofu_peak_mib", "tofu peak RSS MiB", ".1f"),
            ("calls", "AWS calls", ".0f"), ("critical_path", "critical path", ".0f"),
            ("provider_processes", "provider processes", ".0f"))
    for phase, key, label, fmt in [(ph, *row) for ph in PHASES for row in rows] + [
            ("all three", "seconds", "wall s", ".2f")]:
        x = summary["total seconds"] if phase == "all three" else summary[phase][key]
        print(f"  {phase:<18} {label:<24} {cell(x['crossrepl'], fmt):>22} {cell(x['aws'], fmt):>22} "
              f"{cell(x['ratio'], '.1f', '×'):>20}")
    for kind in runs:
        codes = summary["plan (no changes)"]["no_change_exit_codes"][kind]
        verdict = "empty every time" if all(c == 0 for c in codes) else f"NOT empty (exit codes {codes})"
        print(f"  no-change plan of {kind}: {verdict}")
        diffs = [run["plan (no changes)"].get("diff") for run in runs[kind] if run["plan (no changes)"].get("diff")]
        if diffs:
            print("    " + diffs[0][-2500:].replace("\n", "\n    "))
    for phase in PHASES:
        for kind in runs:
            print(f"  {phase} calls, {kind} (last round): " +
                  ", ".join(f"{k} {v}" for k, v in runs[kind][-1][phase]["by_operation"].items()))
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--launches", type=int, default=30)
    ap.add_argument("--scale", default="1,10,100")
    ap.add_argument("--sections", default="basic,scale,fanin,aws",
                    help="comma-separated: basic (size, start, calls per operation), scale, fanin (sources per "
                         "bucket), aws (vs hashicorp/aws)")
    ap.add_argument("--fanin", type=int, default=250, help="sources of the timed fan-in")
    ap.add_argument("--aws-rounds", type=int, default=5, help="rounds of the hashicorp/aws comparison")
    ap.add_argument("--json", type=Path, default=CACHE_DIR / "bench" / "results.json")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    if unknown := sections - {"basic", "scale", "fanin", "aws"}:
        raise SystemExit(f"unknown sections: {', '.join(sorted(unknown))}")
    if not BINARY.exists() or not TOFU.exists():
        raise SystemExit("build the release binary and run `make setup` first (make bench does both)")
    if sections == {"aws"} and aws_binary_info() is None:
        print_aws_skipped()
        return
    results: dict = {"binary_bytes": BINARY.stat().st_size}
    print(f"binary size: {results['binary_bytes'] / 2**20:.1f} MiB ({BINARY})")
    if "basic" in sections:
        starts = cold_start(args.launches)
        results["cold_start_ms"] = {"median": statistics.median(starts) * 1e3, "min": min(starts) * 1e3,
                                    "max": max(starts) * 1e3, "n": len(starts)}
        print(f"cold start to handshake line: {fmt_stats(starts, 'ms', 1e3)}")

    ls = LocalStack()
    proxy = awsproxy.start(ls.url)
    try:
        if "basic" in sections:
            basic(ls, proxy, results)
        if "scale" in sections:
            scale(ls, proxy, results, args.scale)
        if "fanin" in sections:
            fanin(ls, proxy, results, args.fanin)
        if "aws" in sections:
            try:
                results["vs_aws"] = compare_with_aws(ls, proxy, args.aws_rounds, min(args.launches, 10))
            except SystemExit as e:  # a failed command: keep the other sections' figures
                print(f"\nagainst hashicorp/aws: FAILED\n{e}")
                results["vs_aws"] = {"failed": str(e)}
    finally:
        proxy.stop()
        ls.stop()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
