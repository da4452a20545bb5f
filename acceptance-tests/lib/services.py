"""The test bed's services as the tests see them: a LocalStack instance (run by testbed/localstack.py, the
launcher) and the provider mirror packaged by testbed/mirror.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

import mirror  # testbed/mirror.py
from lib.harness import CACHE_DIR, ROOT, SOURCE

LAUNCHER = ROOT / "testbed" / "localstack.py"


# ---- LocalStack --------------------------------------------------------------------------------------------------

@dataclass
class LocalStack:
    endpoint: str
    port: int
    started_here: bool

    def client(self, service: str, account: str, region: str = "us-east-1"):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region,
                            aws_access_key_id=account, aws_secret_access_key="test",
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    def reset(self) -> None:
        launcher("reset", "--port", str(self.port))

    def log_tail(self, lines: int = 60) -> str:
        return launcher("logs", "--port", str(self.port), "-n", str(lines), check=False).stdout


def launcher(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, str(LAUNCHER), *args], capture_output=True, text=True, timeout=180,
                       env=env)
    if check and p.returncode != 0:
        raise RuntimeError(f"localstack.py {' '.join(args)} failed (exit {p.returncode}):\n{p.stderr}\n{p.stdout}")
    return p


def start_localstack(*extra: str) -> LocalStack:
    p = launcher("start", *extra)
    sys.stderr.write(p.stderr)
    endpoint = p.stdout.strip().splitlines()[-1]
    return LocalStack(endpoint, int(endpoint.rsplit(":", 1)[1]), True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- mirror --------------------------------------------------------------------------------------------------

@dataclass
class Mirror:
    directory: Path  # the network-mirror root
    url: str
    ca_file: Path
    version: str
    h1: str
    zh: str
    zip_path: Path


def mirror_dir() -> Path:
    return Path(os.environ.get("MIRROR_DIR") or CACHE_DIR / "mirror-test") / "network-mirror"


def load_mirror(directory: Path, url: str, ca: Path) -> Mirror:
    pdir = directory / SOURCE
    versions = json.loads((pdir / "index.json").read_text())["versions"]
    version = sorted(versions)[-1]
    archive = json.loads((pdir / f"{version}.json").read_text())["archives"][mirror.host_platform()]
    h1 = next(h for h in archive["hashes"] if h.startswith("h1:"))
    zh = next(h for h in archive["hashes"] if h.startswith("zh:"))
    return Mirror(directory, url, ca, version, h1, zh, pdir / archive["url"])
