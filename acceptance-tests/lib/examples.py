"""The repository's examples/ in a workspace: copy_example() for any of them, and Example, the cross-account one
with its accounts and buckets and the checks of what it manages."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass

from botocore.exceptions import ClientError

from lib.aws_readers import Aws, check_destination_grant, check_role, crossrepl_statements
from lib.harness import ROOT, Workspace
from lib.naming import role_arn, rule_id
from lib.scenarios import TwoAccounts

EXAMPLES = ROOT / "examples"


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


@dataclass
class Example:
    """examples/cross-account/ in a workspace, with its accounts and buckets (which exist before it is applied)."""
    ws: Workspace
    aws: Aws
    src_acct: str
    dst_acct: str
    src: str
    dst: str

    @classmethod
    def setup(cls, ws: Workspace, accounts: TwoAccounts, endpoint: str) -> Example:
        """The example over the buckets of `accounts` (the two_accounts fixture has created them)."""
        ex = cls(ws, accounts.aws, accounts.src_acct, accounts.dst_acct, accounts.src, accounts.dst)
        ex.write_vars(endpoint)
        return ex

    def write_vars(self, endpoint: str) -> None:
        copy_example(self.ws, source_bucket=self.src, destination_bucket=self.dst, source_account_id=self.src_acct,
                     source_access_key=self.src_acct, source_secret_key="test",
                     destination_access_key=self.dst_acct, destination_secret_key="test", endpoint=endpoint)

    def check_complete(self) -> None:
        """After a converged apply: everything the example manages exists, as crossrepl writes it."""
        a = self.aws
        assert a.versioning(self.src_acct, self.src) == "Enabled", "source versioning"
        assert a.versioning(self.dst_acct, self.dst) == "Enabled", "destination versioning"
        check_role(a, self.src_acct, self.src, [self.dst])
        cfg = a.replication(self.src_acct, self.src)
        assert cfg is not None, f"no replication configuration on {self.src}"
        assert cfg["Role"] == role_arn(self.src_acct, self.src), cfg
        assert [r.get("ID") for r in cfg["Rules"]] == [rule_id(self.dst)], cfg
        statements = a.statements(self.dst_acct, self.dst)
        check_destination_grant(statements, self.dst, self.src_acct, role_arn(self.src_acct, self.src))
        assert len(statements) == 1, f"only crossrepl's statement expected: {statements}"
        assert a.local_roles(self.dst_acct) == [] and a.local_policies(self.dst_acct) == [], \
            "IAM entities in the destination account"
        # policy versions must not pile up (a retried CreatePolicyVersion after a lost answer would add one)
        versions = a.policy_versions(self.src_acct, a.local_policies(self.src_acct)[0])
        assert len(versions) == 1, f"policy versions after a create: {versions}"
        # and S3 would replicate with it (straight to LocalStack, not through any proxy)
        a.objects().prove(self.src_acct, self.src, self.dst_acct, self.dst)

    def leftovers(self) -> dict:
        """Everything crossrepl could have left in LocalStack, read directly (not through a proxy)."""
        a = self.aws
        return {
            "source roles": a.local_roles(self.src_acct),
            "source policies": a.local_policies(self.src_acct),
            "destination roles": a.local_roles(self.dst_acct),
            "destination policies": a.local_policies(self.dst_acct),
            "source replication": a.replication(self.src_acct, self.src),
            "destination crossrepl statements": crossrepl_statements(a.statements(self.dst_acct, self.dst)),
        }

    def hard_cleanup(self) -> None:
        """After a round that could not recover: remove everything crossrepl makes with boto3, and the state."""
        a = self.aws
        s3, iam = a.s3(self.src_acct), a.iam(self.src_acct)
        try:
            s3.delete_bucket_replication(Bucket=self.src)
        except ClientError:
            pass
        for role in a.local_roles(self.src_acct):
            for p in a.attached(self.src_acct, role):
                iam.detach_role_policy(RoleName=role, PolicyArn=p)
            iam.delete_role(RoleName=role)
        for p in a.local_policies(self.src_acct):
            for v in a.policy_versions(self.src_acct, p):
                if not v["IsDefaultVersion"]:
                    iam.delete_policy_version(PolicyArn=p, VersionId=v["VersionId"])
            iam.delete_policy(PolicyArn=p)
        try:
            a.s3(self.dst_acct).delete_bucket_policy(Bucket=self.dst)
        except ClientError:
            pass
        for f in self.ws.dir.glob("terraform.tfstate*"):
            f.unlink()

    def check_nothing_left(self, why: str) -> None:
        left = {k: v for k, v in self.leftovers().items() if v}
        assert not left, f"after {why}, LocalStack still holds what the state does not record: " \
                         f"{json.dumps(left, indent=1, default=str)}"
        assert self.aws.bucket_exists(self.src_acct, self.src) and self.aws.bucket_exists(self.dst_acct, self.dst), \
            "a bucket was deleted"
