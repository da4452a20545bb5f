"""Shared pieces of the crossrepl_source / crossrepl_destination scenarios (test_resources_*.py).

HCL builders for the two-account configurations, and boto3 readers of everything crossrepl manages, returning
plain Python values (None when the thing does not exist) so tests assert on AWS state, never through the
provider. IAM documents may come back URL-encoded or as raw JSON (LocalStack 4.x vs 2026.x / AWS): decoded here.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.parse
from dataclasses import dataclass

from botocore.exceptions import ClientError

from conftest import LocalStack
from harness import ROOT, Run, Workspace, provider_block, unique_account, unique_name
from objects import Objects  # testbed/objects.py (harness puts testbed/ on sys.path)

EXAMPLES = ROOT / "examples"
SID_BASE = "CrossreplReplication"
SOURCE_OBJECT_ACTIONS = {"s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"}
SOURCE_BUCKET_ACTIONS = {"s3:GetReplicationConfiguration", "s3:ListBucket"}
REPLICATE_ACTIONS = {"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}
DEST_BUCKET_ACTIONS = {"s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:ListBucket"}


# ---- naming ----------------------------------------------------------------------------------------------------

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


@dataclass
class Names:
    """Accounts and buckets of one scenario, unique per test node id (so per engine too)."""
    seed: str

    def account(self, n: int = 0) -> str:
        return unique_account(self.seed, n)

    def bucket(self, label: str) -> str:
        return unique_name(f"{self.seed}/{label}", prefix="cr-" + label)


# ---- HCL -------------------------------------------------------------------------------------------------------

REQUIRED = """terraform {
  required_providers {
    crossrepl = {
      source = "registry.terraform.io/crossrepl/crossrepl"
    }
  }
}
"""


def providers(endpoint: str, **aliases: str) -> str:
    """required_providers plus one aliased provider block per account: providers(ep, src="1…", dst="2…")."""
    return REQUIRED + "".join(provider_block(endpoint, account, alias) for alias, account in aliases.items())


def hcl_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {hcl_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(hcl_value(x) for x in v) + "]"
    if isinstance(v, Ref):
        return v.expr
    return json.dumps(v)


@dataclass(frozen=True)
class Ref:
    """A raw HCL expression (a reference), not a string literal."""
    expr: str


def destination_resource(name: str, provider: str, bucket: str, source_account: str, source_bucket: str,
                         **extra) -> str:
    body = "".join(f"  {k} = {hcl_value(v)}\n" for k, v in extra.items())
    return f"""
resource "crossrepl_destination" "{name}" {{
  provider          = crossrepl.{provider}
  bucket            = "{bucket}"
  source_account_id = "{source_account}"
  source_bucket     = "{source_bucket}"
{body}}}
"""


def dest_block(bucket_arn, account_id=None, **attrs) -> dict:
    """One `destination` block's attributes (values: Python literals or Ref)."""
    d = {"bucket_arn": bucket_arn}
    if account_id is not None:
        d["account_id"] = account_id
    d.update(attrs)
    return d


def to(dest_resource: str, same_account: bool = False) -> dict:
    """A destination block pointing at crossrepl_destination.<dest_resource> by reference."""
    d = {"bucket_arn": Ref(f"crossrepl_destination.{dest_resource}.bucket_arn")}
    if not same_account:
        d["account_id"] = Ref(f"crossrepl_destination.{dest_resource}.account_id")
    return d


def source_resource(name: str, provider: str, bucket: str, destinations: list[dict], **extra) -> str:
    body = "".join(f"  {k} = {hcl_value(v)}\n" for k, v in extra.items())
    blocks = ""
    for d in destinations:
        blocks += "\n  destination {\n" + "".join(f"    {k} = {hcl_value(v)}\n" for k, v in d.items()) + "  }\n"
    return f"""
resource "crossrepl_source" "{name}" {{
  provider = crossrepl.{provider}
  bucket   = "{bucket}"
{body}{blocks}}}
"""


def made_up_kms_key(account: str, multi_region: bool = False) -> str:
    """A well-formed KMS key ARN of no existing key (replicas of SSE-KMS objects under it would fail)."""
    key = "mrk-0123456789abcdef0123456789abcdef" if multi_region else "1234abcd-12ab-34cd-56ef-1234567890ab"
    return f"arn:aws:kms:us-east-1:{account}:key/{key}"


def every_option_config(endpoint: str, src_acct: str, dst_acct: str, src: str, dst: str, local: str) -> str:
    """Every optional attribute in use at once: role path, tags, boundary, owner override, KMS, RTC, replica
    modifications, tag+prefix filter, storage class, explicit priority, and a disabled same-account rule."""
    full = {**to("dr"), "prefix": "data/", "tags": {"replicate": "yes", "tier": "gold"},
            "delete_marker_replication": False, "storage_class": "GLACIER_IR", "owner_override": True,
            "replica_kms_key_arn": made_up_kms_key(dst_acct),
            "source_kms_key_arns": [made_up_kms_key(src_acct, multi_region=True)],
            "replication_time_control": True, "replica_modifications": True, "priority": 10}
    return (providers(endpoint, src=src_acct, dst=dst_acct)
            + destination_resource("dr", "dst", dst, src_acct, src, source_role_path="/replication/")
            + source_resource("data", "src", src, [full, {"bucket_arn": arn(local), "enabled": False}],
                              role_path="/replication/", tags={"team": "storage", "env": "test"},
                              permissions_boundary="arn:aws:iam::aws:policy/AmazonS3FullAccess"))


def copy_example(ws: Workspace, name: str = "cross-account", **tfvars) -> None:
    """examples/<name>/*.tf into the workspace, with a terraform.tfvars of our own (never the example's) that sets
    at least every variable the example's own terraform.tfvars sets, so the two cannot drift apart."""
    example = EXAMPLES / name
    for f in example.glob("*.tf"):
        shutil.copy(f, ws.dir / f.name)
    example_keys = set(re.findall(r"^(\w+)\s*=", (example / "terraform.tfvars").read_text(), re.M))
    assert example_keys <= set(tfvars), f"examples/{name}/terraform.tfvars sets {sorted(example_keys - set(tfvars))}" \
                                        f", which the test does not set"
    ws.write("".join(f"{k} = {json.dumps(v)}\n" for k, v in tfvars.items()), "terraform.tfvars")


# ---- engine output ---------------------------------------------------------------------------------------------

def counts(run: Run) -> tuple[int, int, int]:
    s = run.change_summary()
    assert s is not None, f"`{' '.join(run.args[1:])}` printed no change_summary"
    return s["add"], s["change"], s["remove"]


def errors(run: Run) -> str:
    """All error diagnostics as one text (summary, detail, address), for matching and assertion messages."""
    return "\n".join(f"[{d.get('address', '')}] {d.get('summary')}: {d.get('detail')}"
                     for d in run.diagnostics("error"))


def assert_converged(ws: Workspace, why: str) -> Run:
    r = ws.plan()
    assert counts(r) == (0, 0, 0), f"{ws.engine}: plan after {why} is not empty: {r.change_summary()}; " \
                                   f"planned changes: {planned_changes(r)}"
    return r


def assert_converged_exit_code(ws: Workspace, why: str) -> None:
    """assert_converged, and the engine's own verdict: `plan -detailed-exitcode` exits 0 (2 = changes)."""
    assert_converged(ws, why)
    detailed = ws.run("plan", "-input=false", "-detailed-exitcode")
    assert detailed.returncode == 0, f"plan -detailed-exitcode after {why} exited {detailed.returncode}: " \
                                     f"{detailed.change_summary()}: {planned_changes(detailed)}"


def planned_changes(run: Run) -> list[str]:
    return [f"{m['change']['resource']['addr']}: {m['change']['action']}"
            for m in run.messages if m.get("type") in ("planned_change", "resource_drift")]


# ---- AWS state -------------------------------------------------------------------------------------------------

def decode_doc(doc) -> dict:
    if isinstance(doc, dict):
        return doc
    try:
        return json.loads(doc)
    except json.JSONDecodeError:
        return json.loads(urllib.parse.unquote(doc))


def as_list(v) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _missing(e: ClientError, *codes: str) -> bool:
    return e.response.get("Error", {}).get("Code") in codes


class Aws:
    """boto3 views of one LocalStack, per account."""

    def __init__(self, ls: LocalStack):
        self.ls = ls
        self._clients: dict = {}

    def c(self, service: str, account: str):
        key = (service, account)
        if key not in self._clients:
            self._clients[key] = self.ls.client(service, account)
        return self._clients[key]

    def s3(self, account: str):
        return self.c("s3", account)

    def objects(self) -> Objects:
        """Object-level reads and writes, with the replication engine's journal of this LocalStack."""
        return Objects(self.s3, self.ls.endpoint)

    def iam(self, account: str):
        return self.c("iam", account)

    # -- S3
    def create_bucket(self, account: str, bucket: str, versioning: bool = False) -> None:
        self.s3(account).create_bucket(Bucket=bucket)
        if versioning:
            self.s3(account).put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    def bucket_exists(self, account: str, bucket: str) -> bool:
        try:
            self.s3(account).head_bucket(Bucket=bucket)
            return True
        except ClientError as e:
            if _missing(e, "404", "NoSuchBucket", "NotFound"):
                return False
            raise

    def versioning(self, account: str, bucket: str) -> str | None:
        return self.s3(account).get_bucket_versioning(Bucket=bucket).get("Status")

    def replication(self, account: str, bucket: str) -> dict | None:
        try:
            return self.s3(account).get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
        except ClientError as e:
            if _missing(e, "ReplicationConfigurationNotFoundError"):
                return None
            raise

    def bucket_policy(self, account: str, bucket: str) -> dict | None:
        try:
            return decode_doc(self.s3(account).get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as e:
            if _missing(e, "NoSuchBucketPolicy"):
                return None
            raise

    def put_bucket_policy(self, account: str, bucket: str, doc: dict) -> None:
        self.s3(account).put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc))

    def statements(self, account: str, bucket: str) -> list[dict]:
        doc = self.bucket_policy(account, bucket)
        return as_list(doc.get("Statement")) if doc else []

    def sids(self, account: str, bucket: str) -> list[str]:
        return sorted(s.get("Sid", "") for s in self.statements(account, bucket))

    # -- IAM
    def role(self, account: str, name: str) -> dict | None:
        try:
            return self.iam(account).get_role(RoleName=name)["Role"]
        except ClientError as e:
            if _missing(e, "NoSuchEntity"):
                return None
            raise

    def trust(self, account: str, name: str) -> dict | None:
        r = self.role(account, name)
        return decode_doc(r["AssumeRolePolicyDocument"]) if r else None

    def attached(self, account: str, name: str) -> list[str]:
        return sorted(p["PolicyArn"] for p in
                      self.iam(account).list_attached_role_policies(RoleName=name)["AttachedPolicies"])

    def policy_document(self, account: str, arn_: str) -> dict | None:
        try:
            version = self.iam(account).get_policy(PolicyArn=arn_)["Policy"]["DefaultVersionId"]
        except ClientError as e:
            if _missing(e, "NoSuchEntity"):
                return None
            raise
        doc = self.iam(account).get_policy_version(PolicyArn=arn_, VersionId=version)["PolicyVersion"]["Document"]
        return decode_doc(doc)

    def policy_versions(self, account: str, arn_: str) -> list[dict]:
        return self.iam(account).list_policy_versions(PolicyArn=arn_)["Versions"]

    def local_roles(self, account: str) -> list[str]:
        return sorted(r["RoleName"] for r in self.iam(account).list_roles()["Roles"])

    def local_policies(self, account: str) -> list[str]:
        return sorted(p["Arn"] for p in self.iam(account).list_policies(Scope="Local")["Policies"])

    def snapshot(self, account: str, bucket: str) -> dict:
        """Everything a crossrepl_source on `bucket` could touch, for "nothing changed" comparisons."""
        role = self.role(account, role_name(bucket))
        return {
            "versioning": self.versioning(account, bucket),
            "replication": self.replication(account, bucket),
            "roles": self.local_roles(account),
            "policies": self.local_policies(account),
            "role": role and {"trust": decode_doc(role["AssumeRolePolicyDocument"]),
                              "attached": self.attached(account, role_name(bucket))},
        }


# ---- checks on what crossrepl wrote ------------------------------------------------------------------------------

def statement_resources(doc: dict) -> dict[str, set[str]]:
    """{resource ARN: set of actions allowed on it} over all Allow statements of a policy document."""
    out: dict[str, set[str]] = {}
    for s in as_list(doc.get("Statement")):
        if s.get("Effect") != "Allow":
            continue
        for r in as_list(s.get("Resource")):
            out.setdefault(r, set()).update(as_list(s.get("Action")))
    return out


def crossrepl_statements(statements: list[dict], source_account: str | None = None) -> list[dict]:
    base = SID_BASE + (source_account or "")
    return [s for s in statements if str(s.get("Sid", "")).startswith(base)]


def check_destination_grant(statements: list[dict], dest_bucket: str, source_account: str, role: str) -> None:
    """The two statements crossrepl_destination merges for one source role, and nothing broader."""
    ours = crossrepl_statements(statements, source_account)
    assert len(ours) == 2, f"expected the 2 crossrepl statements for source account {source_account} in the " \
                           f"policy of {dest_bucket}, found {len(ours)}: {json.dumps(statements, indent=1)}"
    by_resource = {}
    for s in ours:
        assert s.get("Effect") == "Allow", s
        principals = as_list((s.get("Principal") or {}).get("AWS"))
        assert principals == [f"arn:aws:iam::{source_account}:root"], f"principal must be the source root: {s}"
        cond = s.get("Condition") or {}
        assert as_list(cond.get("ArnEquals", {}).get("aws:PrincipalArn")) == [role], \
            f"condition ArnEquals aws:PrincipalArn must be {role}: {s}"
        for r in as_list(s.get("Resource")):
            by_resource[r] = set(as_list(s.get("Action")))
    assert set(by_resource) == {arn(dest_bucket), arn(dest_bucket) + "/*"}, \
        f"crossrepl statements must cover exactly the bucket and its objects: {by_resource}"
    assert REPLICATE_ACTIONS <= by_resource[arn(dest_bucket) + "/*"], by_resource
    assert DEST_BUCKET_ACTIONS <= by_resource[arn(dest_bucket)], by_resource
    sids = sorted(s["Sid"] for s in ours)
    want = destination_sid(source_account, role.rsplit("/", 1)[1])
    assert sids == [want, want + "Bucket"], f"Sids {sids}, expected {want} and {want}Bucket"


def check_role(aws: Aws, account: str, bucket: str, dest_buckets: list[str]) -> None:
    """Role trust with confused-deputy conditions; one attached customer policy scoped to the exact ARNs."""
    name = role_name(bucket)
    trust = aws.trust(account, name)
    assert trust is not None, f"role {name} missing in account {account} (roles: {aws.local_roles(account)})"
    stmts = as_list(trust.get("Statement"))
    assert len(stmts) == 1, f"trust policy of {name}: {trust}"
    t = stmts[0]
    assert t.get("Effect") == "Allow" and as_list(t.get("Action")) == ["sts:AssumeRole"], t
    assert as_list((t.get("Principal") or {}).get("Service")) == ["s3.amazonaws.com"], t
    conditions = {k: v for op in (t.get("Condition") or {}).values() for k, v in op.items()}
    assert as_list(conditions.get("aws:SourceAccount")) == [account], f"aws:SourceAccount condition: {t}"
    assert as_list(conditions.get("aws:SourceArn")) == [arn(bucket)], f"aws:SourceArn condition: {t}"

    attached = aws.attached(account, name)
    assert attached == [policy_arn(account, bucket)], f"policies attached to {name}: {attached}"
    doc = aws.policy_document(account, policy_arn(account, bucket))
    res = statement_resources(doc)
    want = {arn(bucket), arn(bucket) + "/*"} | {arn(d) + "/*" for d in dest_buckets}
    assert set(res) == want, f"role policy resources {sorted(res)}, expected exactly {sorted(want)}: {doc}"
    assert not any("*" in r.replace("/*", "") or r == "*" for r in res), f"wildcard resource: {doc}"
    assert SOURCE_BUCKET_ACTIONS <= res[arn(bucket)], doc
    assert SOURCE_OBJECT_ACTIONS <= res[arn(bucket) + "/*"], doc
    for d in dest_buckets:
        assert REPLICATE_ACTIONS <= res[arn(d) + "/*"], doc


def rules_by_id(cfg: dict) -> dict[str, dict]:
    return {r.get("ID"): r for r in cfg.get("Rules", [])}


def check_nothing_left(aws: Aws, account: str, bucket: str) -> None:
    """After destroy: no role, no policy, no replication configuration; the bucket itself still there."""
    assert aws.local_roles(account) == [], f"roles left in {account}: {aws.local_roles(account)}"
    assert aws.local_policies(account) == [], f"policies left in {account}: {aws.local_policies(account)}"
    assert aws.replication(account, bucket) is None, f"replication left on {bucket}: {aws.replication(account, bucket)}"
    assert aws.bucket_exists(account, bucket), f"bucket {bucket} was deleted"
