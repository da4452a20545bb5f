"""A fan-in: n source accounts, each with a bucket and a crossrepl_source replicating into ONE destination bucket,
whose policy also holds a foreign statement; one crossrepl_destination per source, merging its statements into
that one policy. Used by the concurrency and the consistency tests."""

from __future__ import annotations

from dataclasses import dataclass

from lib.aws_readers import Aws, admitted_roles, check_destination_grant, crossrepl_statements
from lib.constants import ROLES_SID
from lib.naming import Names, arn, role_arn, rule_id
from lib.scenarios import destination_resource, providers, source_resource, to

FOREIGN_SID = "SomeoneElses"


@dataclass
class FanIn:
    aws: Aws
    dst_acct: str
    dst: str
    srcs: list[tuple[str, str]]  # (account, bucket) per source

    @classmethod
    def create(cls, aws: Aws, names: Names, n: int) -> FanIn:
        """The buckets (versioning off) and the destination's foreign statement."""
        f = cls(aws, names.account(99), names.bucket("dst"), [(names.account(i), names.bucket(f"src{i}"))
                                                              for i in range(n)])
        aws.create_bucket(f.dst_acct, f.dst)
        foreign = {"Sid": FOREIGN_SID, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                   "Action": "s3:GetObject", "Resource": arn(f.dst) + "/*"}
        aws.put_bucket_policy(f.dst_acct, f.dst, {"Version": "2012-10-17", "Statement": [foreign]})
        for acct, b in f.srcs:
            aws.create_bucket(acct, b)
        return f

    def hcl(self, endpoint: str, dest_blocks: str) -> str:
        """dest_blocks="one": every crossrepl_destination through one provider block (one provider process);
        "per-source": each through its own block of the destination account (a process each, as separate
        configurations would be)."""
        blocks = {f"src{i}": acct for i, (acct, _) in enumerate(self.srcs)}
        if dest_blocks == "one":
            blocks["dst"] = self.dst_acct
        else:
            blocks.update({f"dst{i}": self.dst_acct for i in range(len(self.srcs))})
        hcl = providers(endpoint, **blocks)
        for i, (acct, b) in enumerate(self.srcs):
            hcl += destination_resource(f"d{i}", "dst" if dest_blocks == "one" else f"dst{i}", self.dst, acct, b)
            hcl += source_resource(f"s{i}", f"src{i}", b, [to(f"d{i}")])
        return hcl

    def check_applied(self, where: str, key: str, sample: int | None = None) -> None:
        """crossrepl's one statement admits exactly every source's role and the foreign statement is kept, every
        source has its replication configuration, and an object `key` from every source (or from `sample` of them,
        spread over the list) replicates into the one bucket."""
        statements = self.aws.statements(self.dst_acct, self.dst)
        want = sorted(role_arn(acct, b) for acct, b in self.srcs)
        assert admitted_roles(statements) == want, \
            f"{where}: roles admitted by the policy of {self.dst}: {admitted_roles(statements)}, expected {want}"
        assert [s.get("Sid") for s in crossrepl_statements(statements)] == [ROLES_SID], \
            f"{where}: crossrepl statements in the policy of {self.dst}: {crossrepl_statements(statements)}"
        for acct, b in self.srcs:
            check_destination_grant(statements, self.dst, acct, role_arn(acct, b))
            cfg = self.aws.replication(acct, b)
            assert cfg and [r.get("ID") for r in cfg["Rules"]] == [rule_id(self.dst)], \
                f"{where}: replication of {b}: {cfg}"
        assert any(s.get("Sid") == FOREIGN_SID for s in statements), f"{where}: the foreign statement was lost"
        objs = self.aws.objects()
        step = max(1, len(self.srcs) // sample) if sample else 1
        for acct, b in self.srcs[::step]:
            objs.assert_replicated(objs.put(acct, b, f"fan-in/{b}-{key}.txt", tags={"from": b}), self.dst_acct,
                                   self.dst)

    def check_destroyed(self, where: str) -> None:
        """No crossrepl statement, role, policy or replication configuration left; the foreign statement alone."""
        statements = self.aws.statements(self.dst_acct, self.dst)
        left = crossrepl_statements(statements)
        assert left == [], f"{where}: {len(left)} crossrepl statements left after destroy: " \
                           f"{sorted(s.get('Sid') for s in left)}"
        assert [s.get("Sid") for s in statements] == [FOREIGN_SID], \
            f"{where}: the foreign statement must survive alone: {statements}"
        for acct, b in self.srcs:
            assert self.aws.local_roles(acct) == [] and self.aws.local_policies(acct) == [], \
                f"{where}: IAM left in {acct}"
            assert self.aws.replication(acct, b) is None, f"{where}: replication left on {b}"
