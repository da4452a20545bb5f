"""Migration from the usual hashicorp/aws setup (issue #7): docs/guides/migrate-from-aws-provider.md, tested.

What is exercised, under each engine:
  - The old setup is created with boto3 exactly as the guide's "Before" configuration would have hashicorp/aws
    create it: role `s3-replication-configuration` (plain trust, no conditions), customer-managed policy
    `s3-replication` with the classic permissions, attached; an `aws_s3_bucket_replication_configuration` rule
    `allfiles` as hashicorp/aws sends `filter {}` (an empty Filter and Priority 0), delete-marker replication,
    STANDARD, destination account; and a destination bucket policy granting the role ARN (objects statement and
    bucket statement, as `aws_s3_bucket_policy` wrote it), plus an unrelated Deny-insecure-transport statement
    that must survive.
  - examples/migrate-from-aws/*.tf (the guide's configuration: main.tf, imports.tf, removed.tf) is copied as is,
    with a terraform.tfvars of our own.
  - The plan (its JSON) must import both resources, create and destroy nothing, and update in place exactly the
    attributes that stand for the hardening: `role_arn` and `policy_arn` of crossrepl_source (null because the
    trust policy lacks the confused-deputy conditions and the policy document is not crossrepl's), and
    `statement_sid` of crossrepl_destination (null because its statements are not there yet).
  - After apply, boto3 checks: same role (same RoleId, never re-created) with the confused-deputy trust, the same
    policy with crossrepl's document as default version, rule `allfiles` unchanged in meaning, and a destination
    policy holding crossrepl's two statements and the Deny, and no statement naming the role as principal.
  - While apply runs, a sampler reads the whole setup with boto3 every few tens of milliseconds and checks that
    replication stays possible at every sample (no gap): the replication configuration names the role and
    replicates everything into the destination, the role exists with the same id and S3 may assume it, its
    policy grants reading the source and replicating into the destination, and the destination policy admits
    the role (by its ARN, or the source root with `aws:PrincipalArn`). A gap shorter than the sampling interval
    could slip through.
  - A second plan is empty; destroy then removes what crossrepl adopted (role, policy, replication
    configuration, its two statements) and keeps the buckets, their versioning and the Deny statement.

  - Objects move: the hand-written setup replicates before the migration, every object written while the
    migration applies (one every ~50 ms) reaches COMPLETED in the test bed's replication engine, and after it an
    object and its delete marker replicate.

What is not exercised: hashicorp/aws itself. It is not in the test bed (no registry access), so the old setup is
made with boto3 and there are no aws_* resources in the state: the `removed { lifecycle { destroy = false } }`
blocks of removed.tf are parsed and validated by both engines but have nothing to forget.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import time

from botocore.exceptions import ClientError

from lib.aws_readers import Aws, as_list, check_destination_grant, crossrepl_statements, decode_doc, statement_resources
from lib.constants import OWNER_TAG, REPLICATE_ACTIONS, ROLES_SID, SOURCE_BUCKET_ACTIONS, SOURCE_OBJECT_ACTIONS
from lib.examples import copy_example
from lib.harness import Workspace, assert_converged, assert_converged_exit_code, counts, differing, plan_document, \
    planned_changes
from lib.naming import arn
from lib.scenarios import TwoAccounts
from lib.services import LocalStack

ROLE = "s3-replication-configuration"
POLICY = "s3-replication"
RULE = "allfiles"


# ---- the old setup, as hashicorp/aws created it --------------------------------------------------------------

def deny_insecure_transport(dst: str) -> dict:
    return {"Sid": "AllowSSLRequestsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [arn(dst), arn(dst) + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def create_hand_written_setup(aws: Aws, src_acct: str, src: str, dst_acct: str, dst: str) -> dict:
    """What the guide's "Before" configuration (hashicorp/aws) creates on the two buckets, made with boto3. Returns
    the role."""
    for account, bucket in ((src_acct, src), (dst_acct, dst)):
        aws.enable_versioning(account, bucket)  # aws_s3_bucket_versioning, which stays with hashicorp/aws

    iam = aws.iam(src_acct)
    # data.aws_iam_policy_document.assume_role: no Sid, no condition
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    # data.aws_iam_policy_document.replication: the hashicorp/aws documentation's permissions, no Sids
    permissions = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": arn(src)},
        {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                                       "s3:GetObjectVersionTagging"], "Resource": arn(src) + "/*"},
        {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
         "Resource": arn(dst) + "/*"},
    ]}
    policy = iam.create_policy(PolicyName=POLICY, PolicyDocument=json.dumps(permissions))["Policy"]
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=policy["Arn"])

    # aws_s3_bucket_policy.destination: the role ARN as principal (objects statement, bucket statement), and a
    # statement that has nothing to do with replication.
    principal = {"AWS": role["Arn"]}
    aws.put_bucket_policy(dst_acct, dst, {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReplicateObjects", "Effect": "Allow", "Principal": principal,
         "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], "Resource": arn(dst) + "/*"},
        {"Sid": "ReplicationBucketAccess", "Effect": "Allow", "Principal": principal,
         "Action": ["s3:List*", "s3:GetBucketVersioning", "s3:PutBucketVersioning"], "Resource": arn(dst)},
        deny_insecure_transport(dst),
    ]})

    # aws_s3_bucket_replication_configuration.replication with `filter {}` and no `priority`: hashicorp/aws sends
    # an empty Filter (XML schema V2) and Priority 0 (expandReplicationRules, internal/service/s3).
    aws.s3(src_acct).put_bucket_replication(Bucket=src, ReplicationConfiguration={"Role": role["Arn"], "Rules": [{
        "ID": RULE, "Priority": 0, "Status": "Enabled", "Filter": {},
        "DeleteMarkerReplication": {"Status": "Enabled"},
        "Destination": {"Bucket": arn(dst), "StorageClass": "STANDARD", "Account": dst_acct}}]})
    return role


# ---- the plan ------------------------------------------------------------------------------------------------

def describe_changes(doc: dict) -> str:
    lines = []
    for rc in doc.get("resource_changes", []):
        ch = rc["change"]
        paths = differing(ch.get("before"), ch.get("after"), ch.get("after_unknown"))
        def after(p: str) -> str:
            return "(known after apply)" if lookup(ch.get("after_unknown"), p) is True else repr(lookup(ch["after"], p))
        detail = ", ".join(f"{p}: {lookup(ch.get('before'), p)!r} -> {after(p)}" for p in paths)
        lines.append(f"{rc['address']}: {ch['actions']} importing={ch.get('importing')} [{detail}]")
    return "\n".join(lines)


def lookup(value, path: str):
    for part in re.findall(r"[^.\[\]]+", path):
        if isinstance(value, list):
            i = int(part)
            value = value[i] if i < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


# ---- no replication gap: sampled while apply runs ------------------------------------------------------------

def _allows(doc: dict, action: str, resource: str, principal_ok=lambda s: True) -> bool:
    for s in as_list(doc.get("Statement")):
        if s.get("Effect") != "Allow" or not principal_ok(s):
            continue
        if any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in as_list(s.get("Action"))) and \
                any(fnmatch.fnmatchcase(resource, r) for r in as_list(s.get("Resource"))):
            return True
    return False


class Writer:
    """Puts an object into the source bucket every `every` seconds while it runs (the objects it wrote: `puts`)."""

    def __init__(self, aws: Aws, account: str, bucket: str, every: float = 0.05):
        self.objs, self.account, self.bucket, self.every = aws.objects(), account, bucket, every
        self.puts = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.puts.append(self.objs.put(self.account, self.bucket, f"during-migration/{len(self.puts)}.txt"))
            time.sleep(self.every)


class GapSampler:
    """Reads the whole setup in a loop (own boto3 clients) and records every sample where replication could not
    have worked: a replication gap."""

    def __init__(self, ls: LocalStack, src_acct: str, src: str, dst_acct: str, dst: str, role: dict):
        self.aws = Aws(ls)
        self.src_acct, self.src, self.dst_acct, self.dst, self.role = src_acct, src, dst_acct, dst, role
        self.samples = 0
        self.gaps: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> GapSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                problems = self.problems()
            except ClientError as e:
                problems = [f"reading failed: {e}"]
            self.samples += 1
            if problems:
                self.gaps.append(f"sample {self.samples} at {time.strftime('%H:%M:%S')}: " + "; ".join(problems))
            time.sleep(0.02)

    def problems(self) -> list[str]:
        aws, role_arn = self.aws, self.role["Arn"]
        out = []
        cfg = aws.replication(self.src_acct, self.src)
        everything = [r for r in (cfg or {}).get("Rules", []) if r.get("Status") == "Enabled"
                      and r.get("Destination", {}).get("Bucket") == arn(self.dst)
                      and set(r.get("Filter") or {}) <= {"Prefix"} and (r.get("Filter") or {}).get("Prefix", "") == ""]
        if cfg is None or cfg.get("Role") != role_arn or len(everything) != 1:
            out.append(f"replication configuration does not replicate everything with the role: {cfg}")
        for account, bucket in ((self.src_acct, self.src), (self.dst_acct, self.dst)):
            if aws.versioning(account, bucket) != "Enabled":
                out.append(f"versioning of {bucket} is {aws.versioning(account, bucket)}")
        role = aws.role(self.src_acct, ROLE)
        if role is None or role["RoleId"] != self.role["RoleId"]:
            out.append(f"role {ROLE} missing or re-created: {role and role['RoleId']}")
        else:
            trust = decode_doc(role["AssumeRolePolicyDocument"])

            def s3_may_assume(s: dict) -> bool:
                if as_list((s.get("Principal") or {}).get("Service")) != ["s3.amazonaws.com"]:
                    return False
                cond = {k: as_list(v) for op in (s.get("Condition") or {}).values() for k, v in op.items()}
                return all(cond.get(k, [want]) == [want] for k, want in
                           (("aws:SourceAccount", self.src_acct), ("aws:SourceArn", arn(self.src)))) and \
                    set(cond) <= {"aws:SourceAccount", "aws:SourceArn"}
            if not any(s.get("Effect") == "Allow" and "sts:AssumeRole" in as_list(s.get("Action")) and s3_may_assume(s)
                       for s in as_list(trust.get("Statement"))):
                out.append(f"S3 may not assume the role: {trust}")
            attached = aws.attached(self.src_acct, ROLE)
            docs = [aws.policy_document(self.src_acct, a) or {} for a in attached]
            for action, resource in (("s3:GetReplicationConfiguration", arn(self.src)),
                                     ("s3:GetObjectVersionForReplication", arn(self.src) + "/x"),
                                     ("s3:ReplicateObject", arn(self.dst) + "/x"),
                                     ("s3:ReplicateDelete", arn(self.dst) + "/x")):
                if not any(_allows(d, action, resource) for d in docs):
                    out.append(f"the role's policies {attached} do not allow {action} on {resource}")
        bucket_policy = aws.bucket_policy(self.dst_acct, self.dst) or {}

        def admits_role(s: dict) -> bool:
            principals = as_list((s.get("Principal") or {}).get("AWS")) if isinstance(s.get("Principal"), dict) else []
            cond = s.get("Condition")
            if principals == [role_arn] and not cond:
                return True
            if principals == [f"arn:aws:iam::{self.src_acct}:root"]:
                return cond in ({"ArnEquals": {"aws:PrincipalArn": role_arn}},
                                {"ArnEquals": {"aws:PrincipalArn": [role_arn]}})
            # crossrepl's compact statement: everyone, restricted to listed role ARNs and their accounts
            return s.get("Principal") == "*" and set(cond or {}) == {"ArnEquals", "StringEquals"} and \
                role_arn in as_list(cond["ArnEquals"].get("aws:PrincipalArn")) and \
                self.src_acct in as_list(cond["StringEquals"].get("aws:PrincipalAccount"))
        for action in ("s3:ReplicateObject", "s3:ReplicateDelete"):
            if not _allows(bucket_policy, action, arn(self.dst) + "/x", admits_role):
                out.append(f"the destination bucket policy does not admit the role for {action}: {bucket_policy}")
        return out


# ---- the test ------------------------------------------------------------------------------------------------

def test_migrate_from_hashicorp_aws(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    role = create_hand_written_setup(aws, src_acct, src, dst_acct, dst)
    role_arn, policy_arn = role["Arn"], f"arn:aws:iam::{src_acct}:policy/{POLICY}"
    old_policy_versions = {v["VersionId"] for v in aws.policy_versions(src_acct, policy_arn)}
    with GapSampler(ls, src_acct, src, dst_acct, dst, role) as sampler:  # the setup must be sound to begin with
        time.sleep(0.5)
    assert sampler.samples > 0 and not sampler.gaps, f"the hand-written setup itself fails the checks: {sampler.gaps}"
    objs = aws.objects()
    objs.prove(src_acct, src, dst_acct, dst, key="before-migration.txt")

    copy_example(ws, "migrate-from-aws", source_bucket=src, destination_bucket=dst, source_account_id=src_acct,
                           source_access_key=src_acct, source_secret_key="test", destination_access_key=dst_acct,
                           destination_secret_key="test", endpoint=ls.endpoint)
    ws.init()

    # ---- the plan: two imports, and only the hardening as in-place updates
    plan = ws.plan()
    doc = plan_document(ws)
    changes = describe_changes(doc)
    (ws.dir / "migration-plan.txt").write_text(changes + "\n")
    summary = plan.change_summary() or {}
    assert counts(plan) == (0, 2, 0), f"first plan: {summary}: {planned_changes(plan)}\n{changes}"
    assert summary.get("import") == 2, f"first plan should import 2 resources: {summary}"
    by_address = {rc["address"]: rc["change"] for rc in doc.get("resource_changes", [])}
    assert set(by_address) == {"crossrepl_source.data", "crossrepl_destination.dr"}, changes

    source = by_address["crossrepl_source.data"]
    assert source["actions"] == ["update"], changes
    assert (source.get("importing") or {}).get("id") == src, f"crossrepl_source not imported by id {src}:\n{changes}"
    imported = source["before"]
    assert (imported["role_name"], imported["policy_name"]) == (ROLE, POLICY), imported
    rule = imported["destination"][0]
    assert len(imported["destination"]) == 1, imported
    assert (rule["rule_id"], rule["priority"], rule["storage_class"], rule["delete_marker_replication"],
            rule["account_id"], rule["bucket_arn"], rule["owner_override"]) == \
        (RULE, 0, "STANDARD", True, dst_acct, arn(dst), False), f"the imported rule: {rule}"
    paths = differing(source["before"], source["after"], source.get("after_unknown"))
    # The grant too: an import cannot read the destination account, so the first apply records it (no AWS call).
    assert sorted(paths) == ["destination[0].grant", "policy_arn", "role_arn"], \
        f"crossrepl_source should only show the hardening (role_arn, policy_arn) and the grant; differing: " \
        f"{paths}\n{changes}"
    assert (imported["role_arn"], imported["policy_arn"]) == (None, None), imported
    assert (source["after"]["role_arn"], source["after"]["policy_arn"]) == (role_arn, policy_arn), \
        f"the role and the policy must keep their ARNs: {source['after']}"

    dest = by_address["crossrepl_destination.dr"]
    assert dest["actions"] == ["update"], changes
    assert (dest.get("importing") or {}).get("id") == f"{dst},{src_acct},{src}", changes
    assert (dest["before"]["source_role_name"], dest["before"]["source_role_arn"]) == (ROLE, role_arn), dest["before"]
    paths = differing(dest["before"], dest["after"], dest.get("after_unknown"))
    assert paths == ["statement_sid"], \
        f"crossrepl_destination should only show the new statements (statement_sid); differing: {paths}\n{changes}"
    assert dest["before"]["statement_sid"] is None, dest["before"]
    assert dest["after"]["statement_sid"] == ROLES_SID, dest["after"]

    # ---- apply, watched for a replication gap
    with GapSampler(ls, src_acct, src, dst_acct, dst, role) as sampler, Writer(aws, src_acct, src) as writer:
        ws.apply()
        time.sleep(0.3)
    assert sampler.samples >= 3, f"only {sampler.samples} samples taken during apply: the gap check is vacuous"
    assert not sampler.gaps, f"replication gap during the migration apply ({len(sampler.gaps)} of " \
                             f"{sampler.samples} samples):\n" + "\n".join(sampler.gaps[:10])
    assert len(writer.puts) >= 3, f"only {len(writer.puts)} objects written during apply"
    for put in writer.puts:
        objs.assert_replicated(put, dst_acct, dst)

    # source account: the same role, hardened
    now = aws.role(src_acct, ROLE)
    assert now is not None and now["RoleId"] == role["RoleId"], f"role {ROLE} was re-created: {now}"
    trust = decode_doc(now["AssumeRolePolicyDocument"])
    stmts = as_list(trust.get("Statement"))
    assert len(stmts) == 1 and stmts[0].get("Effect") == "Allow", trust
    assert as_list(stmts[0].get("Action")) == ["sts:AssumeRole"], trust
    assert as_list((stmts[0].get("Principal") or {}).get("Service")) == ["s3.amazonaws.com"], trust
    condition = {op: {k: as_list(v) for k, v in c.items()} for op, c in (stmts[0].get("Condition") or {}).items()}
    assert condition == {"StringEquals": {"aws:SourceAccount": [src_acct]}, "ArnLike": {"aws:SourceArn": [arn(src)]}}, \
        f"trust policy without crossrepl's confused-deputy conditions: {trust}"
    tags = {t["Key"]: t["Value"] for t in aws.iam(src_acct).list_role_tags(RoleName=ROLE)["Tags"]}
    assert tags == {OWNER_TAG: src}, f"role tags after the migration: {tags}"
    tags = {t["Key"]: t["Value"] for t in aws.iam(src_acct).list_policy_tags(PolicyArn=policy_arn)["Tags"]}
    assert tags == {OWNER_TAG: src}, f"policy tags after the migration: {tags}"

    assert aws.attached(src_acct, ROLE) == [policy_arn], aws.attached(src_acct, ROLE)
    assert aws.local_roles(src_acct) == [ROLE], f"roles in the source account: {aws.local_roles(src_acct)}"
    assert aws.local_policies(src_acct) == [policy_arn], aws.local_policies(src_acct)
    versions = aws.policy_versions(src_acct, policy_arn)
    default = [v["VersionId"] for v in versions if v["IsDefaultVersion"]]
    assert default and default[0] not in old_policy_versions, f"no new default version of {POLICY}: {versions}"
    permissions = aws.policy_document(src_acct, policy_arn)
    res = statement_resources(permissions)
    assert res == {arn(src): SOURCE_BUCKET_ACTIONS, arn(src) + "/*": SOURCE_OBJECT_ACTIONS,
                   arn(dst) + "/*": REPLICATE_ACTIONS}, f"policy {POLICY} is not crossrepl's document: {permissions}"
    assert sorted(s.get("Sid", "") for s in as_list(permissions["Statement"])) == \
        ["DestinationObjects", "SourceBucket", "SourceObjects"], f"policy {POLICY}: {permissions}"

    cfg = aws.replication(src_acct, src)
    assert cfg is not None and cfg["Role"] == role_arn, f"replication configuration: {cfg}"
    assert len(cfg["Rules"]) == 1, cfg
    r = cfg["Rules"][0]
    assert (r.get("ID"), r.get("Priority"), r.get("Status")) == (RULE, 0, "Enabled"), r
    assert (r.get("Filter") or {}).get("Prefix", "") == "" and set(r.get("Filter") or {}) <= {"Prefix"}, r
    assert r.get("DeleteMarkerReplication") == {"Status": "Enabled"}, r
    assert r["Destination"] == {"Bucket": arn(dst), "Account": dst_acct, "StorageClass": "STANDARD"}, r
    assert aws.versioning(src_acct, src) == "Enabled"

    # destination account: crossrepl's statement instead of the hand-written ones; the Deny untouched
    statements = aws.statements(dst_acct, dst)
    check_destination_grant(statements, dst, src_acct, role_arn)
    naming_role = [s for s in statements if isinstance(s.get("Principal"), dict)
                   and role_arn in as_list(s["Principal"].get("AWS"))]
    assert not naming_role, f"statements still naming the role as principal: {naming_role}"
    others = [s for s in statements if s not in crossrepl_statements(statements)]
    assert others == [deny_insecure_transport(dst)], f"the other statements of the bucket policy changed: {others}"
    assert aws.versioning(dst_acct, dst) == "Enabled"

    outputs = ws.must("output", "-json", json_out=False).document()
    assert outputs["replication_role_arn"]["value"] == role_arn, outputs
    assert outputs["destination_statement_sid"]["value"] == ROLES_SID, outputs

    # ---- converged, and replicating
    assert_converged_exit_code(ws, "the migration apply")
    objs.prove(src_acct, src, dst_acct, dst, key="after-migration.txt")

    # ---- crossrepl now owns the role, the policy, the configuration and its statements
    destroy = ws.destroy()
    assert counts(destroy) == (0, 0, 2), f"destroy: {destroy.change_summary()}"
    assert aws.role(src_acct, ROLE) is None, f"role {ROLE} left after destroy"
    assert aws.local_policies(src_acct) == [], f"policies left after destroy: {aws.local_policies(src_acct)}"
    assert aws.replication(src_acct, src) is None, "replication configuration left after destroy"
    assert aws.statements(dst_acct, dst) == [deny_insecure_transport(dst)], \
        f"destroy must remove only crossrepl's statements: {aws.statements(dst_acct, dst)}"
    for account, bucket in ((src_acct, src), (dst_acct, dst)):
        assert aws.bucket_exists(account, bucket) and aws.versioning(account, bucket) == "Enabled", bucket


def test_import_adopts_the_replication_policy_among_several(ws: Workspace, ls: LocalStack,
                                                            two_accounts: TwoAccounts) -> None:
    """A role with an unrelated customer-managed policy attached besides `s3-replication` (attached first, so it
    lists first): the import adopts `s3-replication` (the one granting replication), and the unrelated policy
    stays attached and untouched through apply and destroy."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    iam = aws.iam(src_acct)
    unrelated = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::some-logs/*"}]}
    other_arn = iam.create_policy(PolicyName="aaa-unrelated", PolicyDocument=json.dumps(unrelated))["Policy"]["Arn"]
    create_hand_written_setup(aws, src_acct, src, dst_acct, dst)
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=other_arn)
    policy_arn = f"arn:aws:iam::{src_acct}:policy/{POLICY}"

    copy_example(ws, "migrate-from-aws", source_bucket=src, destination_bucket=dst, source_account_id=src_acct,
                           source_access_key=src_acct, source_secret_key="test", destination_access_key=dst_acct,
                           destination_secret_key="test", endpoint=ls.endpoint)
    ws.init()
    plan = ws.plan()
    source = {rc["address"]: rc["change"] for rc in plan_document(ws).get("resource_changes", [])}[
        "crossrepl_source.data"]
    assert source["before"]["policy_name"] == POLICY, f"the import adopted another policy: {source['before']}"
    assert counts(plan) == (0, 2, 0), planned_changes(plan)
    ws.apply()
    assert_converged(ws, "the migration with an extra policy")
    aws.objects().prove(src_acct, src, dst_acct, dst)
    assert sorted(aws.attached(src_acct, ROLE)) == sorted([other_arn, policy_arn])
    assert aws.policy_document(src_acct, other_arn) == unrelated, "the unrelated policy was changed"
    tags = iam.list_policy_tags(PolicyArn=other_arn)["Tags"]
    assert tags == [], f"the unrelated policy was tagged: {tags}"
