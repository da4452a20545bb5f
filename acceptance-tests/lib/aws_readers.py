"""boto3 readers of everything crossrepl manages, per account, and the checks of what it wrote.

The readers return plain Python values (None when the thing does not exist) so tests assert on AWS state, never
through the provider. IAM documents may come back URL-encoded or as raw JSON (LocalStack 4.x vs 2026.x / AWS):
decoded here.
"""

from __future__ import annotations

import copy
import json
import urllib.parse

from botocore.exceptions import ClientError

from lib.constants import DEST_BUCKET_ACTIONS, OWNER_OVERRIDE_SID, REPLICATE_ACTIONS, ROLES_SID, SID_BASE, \
    SOURCE_BUCKET_ACTIONS, SOURCE_OBJECT_ACTIONS
from lib.naming import arn, destination_sid, policy_arn, role_name
from lib.services import LocalStack
from objects import Objects  # testbed/objects.py


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
            self.enable_versioning(account, bucket)

    def enable_versioning(self, account: str, bucket: str) -> None:
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

    # -- KMS
    def kms(self, account: str, region: str = "us-east-1"):
        return self.c("kms", account) if region == "us-east-1" else self.ls.client("kms", account, region=region)

    def create_key(self, account: str, policy: dict | None = None, region: str = "us-east-1", **args) -> str:
        """A new KMS key (symmetric, for encryption, unless `args` say otherwise); its ARN."""
        if policy is not None:
            args["Policy"] = json.dumps(policy)
        return self.kms(account, region).create_key(Description="crossrepl test", **args)["KeyMetadata"]["Arn"]

    def key_policy(self, key_arn: str) -> dict:
        account, region = key_arn.split(":")[4], key_arn.split(":")[3]
        return decode_doc(self.kms(account, region).get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])

    def put_key_policy(self, key_arn: str, doc: dict) -> None:
        account, region = key_arn.split(":")[4], key_arn.split(":")[3]
        self.kms(account, region).put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(doc))

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

    def set_policy_document(self, account: str, arn_: str, doc: dict) -> None:
        """Makes `doc` the default version of managed policy `arn_` (older non-default versions deleted first, so
        IAM's limit of five versions is never reached)."""
        iam = self.iam(account)
        for v in self.policy_versions(account, arn_):
            if not v["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn_, VersionId=v["VersionId"])
        iam.create_policy_version(PolicyArn=arn_, PolicyDocument=json.dumps(doc), SetAsDefault=True)

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


def without_action(doc: dict, action: str) -> dict:
    """`doc` with `action` taken out of every statement (statements left with no action are dropped)."""
    doc = copy.deepcopy(doc)
    kept = []
    for s in as_list(doc["Statement"]):
        s["Action"] = [a for a in as_list(s["Action"]) if a != action]
        if s["Action"]:
            kept.append(s)
    doc["Statement"] = kept
    return doc


def crossrepl_statements(statements: list[dict], source_account: str | None = None) -> list[dict]:
    """crossrepl's destination statements: the compact ones, and per-source ones (of `source_account`, if given)."""
    base = SID_BASE + (source_account or "")
    compact = {ROLES_SID, OWNER_OVERRIDE_SID} if source_account is None else set()
    return [s for s in statements if str(s.get("Sid", "")).startswith(base) or s.get("Sid") in compact]


def admitted_roles(statements: list[dict], sid: str = ROLES_SID) -> list[str]:
    """The role ARNs crossrepl's compact statement `sid` admits (sorted)."""
    found = [s for s in statements if s.get("Sid") == sid]
    assert len(found) <= 1, f"{len(found)} statements with Sid {sid}: {found}"
    return sorted(as_list(((found[0].get("Condition") or {}).get("ArnEquals") or {}).get("aws:PrincipalArn"))) \
        if found else []


def admits(statements: list[dict], role: str) -> bool:
    """Whether crossrepl's statements admit `role` to write replicas: listed in the compact statement, or in
    per-source statements of earlier releases (the source account root restricted to the role)."""
    if role in admitted_roles(statements):
        return True
    account = role.split(":")[4]
    return any(s.get("Sid") == destination_sid(account, role.rsplit("/", 1)[1])
               and as_list(((s.get("Condition") or {}).get("ArnEquals") or {}).get("aws:PrincipalArn")) == [role]
               and "s3:ReplicateObject" in as_list(s.get("Action")) for s in statements)


def check_destination_grant(statements: list[dict], dest_bucket: str, source_account: str, role: str) -> None:
    """crossrepl's compact statement admits `role` (by its exact ARN, and its account by a fixed value), to exactly
    the replication actions on the bucket's objects and reading its versioning; no per-source statement is left."""
    compact = [s for s in statements if s.get("Sid") == ROLES_SID]
    assert len(compact) == 1, f"expected crossrepl's statement {ROLES_SID} in the policy of {dest_bucket}: " \
                              f"{json.dumps(statements, indent=1)}"
    s = compact[0]
    assert s.get("Effect") == "Allow" and s.get("Principal") == "*", s
    cond = s.get("Condition") or {}
    assert set(cond) == {"ArnEquals", "StringEquals"}, f"conditions: {cond}"
    roles = as_list(cond["ArnEquals"].get("aws:PrincipalArn"))
    accounts = as_list(cond["StringEquals"].get("aws:PrincipalAccount"))
    assert role in roles, f"{role} is not admitted by {ROLES_SID}: {roles}"
    assert source_account in accounts, f"account {source_account} is not listed in {ROLES_SID}: {accounts}"
    assert sorted(accounts) == sorted({r.split(":")[4] for r in roles}), f"accounts {accounts} for roles {roles}"
    assert not any("*" in v or "?" in v for v in roles + accounts), f"wildcards in {cond}"
    assert sorted(as_list(s.get("Resource"))) == [arn(dest_bucket), arn(dest_bucket) + "/*"], s
    assert set(as_list(s.get("Action"))) == REPLICATE_ACTIONS | DEST_BUCKET_ACTIONS, s
    per_source = crossrepl_statements(statements, source_account)
    want = destination_sid(source_account, role.rsplit("/", 1)[1])
    assert not [p for p in per_source if p["Sid"] in (want, want + "Bucket")], \
        f"per-source statements of {role} left beside the compact one: {per_source}"


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


def replica_key_statement(source_account: str, role: str, dest_bucket: str, region: str = "us-east-1",
                          default_key: bool = False) -> dict:
    """The key-policy statement crossrepl_destination merges into each key of `replica_kms_key_arns`, as AWS
    returns it (written out here, not derived from crossrepl's code)."""
    actions = ["kms:Encrypt", "kms:Decrypt"] + (["kms:GenerateDataKey"] if default_key else [])
    return {"Sid": destination_sid(source_account, role.rsplit("/", 1)[1]) + "Kms", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{source_account}:root"}, "Action": actions, "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": role},
                          "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                          "StringLike": {"kms:EncryptionContext:aws:s3:arn": [arn(dest_bucket),
                                                                              arn(dest_bucket) + "/*"]}}}


def key_statements(aws: Aws, key_arn: str) -> list[dict]:
    return as_list(aws.key_policy(key_arn).get("Statement"))
