"""Names: the accounts and buckets of a test (unique per test node id), and the names crossrepl derives from them
(role, policy, rule id, statement Sid)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lib.constants import SID_BASE


def unique_account(seed: str, n: int = 0) -> str:
    """A 12-digit account id derived from a test's node id (scenarios never share accounts or buckets)."""
    return f"{int(hashlib.sha256(f'{seed}/{n}'.encode()).hexdigest(), 16) % 10**12:012d}"


def unique_name(seed: str, prefix: str = "crossrepl") -> str:
    return f"{prefix}-{hashlib.sha256(seed.encode()).hexdigest()[:12]}"


@dataclass
class Names:
    """Accounts and buckets of one scenario, unique per test node id (so per engine too)."""
    seed: str

    def account(self, n: int = 0) -> str:
        return unique_account(self.seed, n)

    def bucket(self, label: str) -> str:
        return unique_name(f"{self.seed}/{label}", prefix="cr-" + label)


# ---- what crossrepl calls things ---------------------------------------------------------------------------------

def arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def role_name(bucket: str) -> str:
    return f"crossrepl-{bucket}"


def role_arn(account: str, bucket: str) -> str:
    return f"arn:aws:iam::{account}:role/{role_name(bucket)}"


def policy_arn(account: str, bucket: str) -> str:
    return f"arn:aws:iam::{account}:policy/crossrepl-policy-{bucket}"


def rule_id(dest_bucket: str) -> str:
    return f"crossrepl-{dest_bucket}"


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def destination_sid(source_account: str, role: str) -> str:
    """The Sid crossrepl gives the object statement of a destination grant (the bucket one appends `Bucket`)."""
    return f"{SID_BASE}{source_account}{fnv1a64(role.encode()):016x}"
