"""Replication in action (issue 11): objects written after `apply` move as S3 would move them, judged by the test
bed's replication engine, whose every authorization is Principal Mapper's (testbed/replication_engine).

- A negative control per grant kind: one grant removed out of band (role policy, bucket policy, trust policy,
  permissions boundary, versioning, the role itself), and the object meets the documented outcome (FAILED, or
  replicated without its tags, or a delete marker not replicated) with a journal entry naming the denied request
  and the document that did not allow it; each grant is put back and replication works again, which proves the
  engine said no for that grant alone.
- Routing by prefix and tag filters; owner override; SSE-KMS with keys in the source account, and with a replica
  key of the destination account (its key policy written by crossrepl_destination; negative control: not listed),
  the KMS example.
- Setups that applied cleanly but that S3 would not replicate (S3 Bucket Keys, a destination's default SSE-KMS
  key, Object Lock, a role name not repeated on the destination), each fixed by the fidelity issue, each with the
  old setup as its negative control.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest

from lib.aws_readers import Aws, crossrepl_statements, without_action
from lib.examples import Example, copy_example
from lib.harness import Workspace, assert_converged
from lib.naming import Names, arn, policy_arn, role_arn, role_name
from lib.scenarios import TwoAccounts, destination_resource, providers, source_resource, to
from lib.services import LocalStack


def no_grant(dest: dict) -> dict:
    """A destination block without its grant (plan cannot check the destination, as before the grant existed)."""
    return {k: v for k, v in dest.items() if k != "grant"}


def test_negative_control_per_grant(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    Example.setup(ws, two_accounts, endpoint=ls.endpoint)
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    objs = aws.objects()
    objs.prove(src_acct, src, dst_acct, dst)  # the positive control

    iam, s3_dst = aws.iam(src_acct), aws.s3(dst_acct)
    parn, rname, role = policy_arn(src_acct, src), role_name(src), role_arn(src_acct, src)
    role_policy = aws.policy_document(src_acct, parn)
    bucket_policy = aws.bucket_policy(dst_acct, dst)
    trust = aws.trust(src_acct, rname)

    def set_role_policy(doc: dict) -> None:
        aws.set_policy_document(src_acct, parn, doc)

    def set_bucket_policy(doc: dict) -> None:
        aws.put_bucket_policy(dst_acct, dst, doc)

    def without_in_bucket_policy(action: str) -> dict:
        doc = copy.deepcopy(bucket_policy)
        doc["Statement"] = [without_action({"Statement": [s]}, action)["Statement"][0]
                            if s in crossrepl_statements(doc["Statement"]) else s for s in doc["Statement"]]
        return doc

    other_role = copy.deepcopy(bucket_policy)
    for s in crossrepl_statements(other_role["Statement"]):
        s["Condition"]["ArnEquals"]["aws:PrincipalArn"] = f"arn:aws:iam::{src_acct}:role/crossrepl-someone-else"
    boundary = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "s3:ReplicateObject",
                                                        "Resource": "*"}]}
    boundary_arn = iam.create_policy(PolicyName="no-replicate-object",
                                     PolicyDocument=json.dumps(boundary))["Policy"]["Arn"]
    ec2_trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "ec2.amazonaws.com"}}]}
    identity = f"identity policies of {role}"
    in_bucket_policy = f"the bucket policy of {dst} does not allow it"

    # (what is taken away, how, how it is put back, the write to try, the documented outcome, the denied step,
    #  words of the reason)
    controls = [
        ("trust: S3 may not assume the role",
         lambda: iam.update_assume_role_policy(RoleName=rname, PolicyDocument=json.dumps(ec2_trust)),
         lambda: iam.update_assume_role_policy(RoleName=rname, PolicyDocument=json.dumps(trust)),
         "object", "FAILED", "sts:AssumeRole", "trust policy"),
        ("role: s3:GetReplicationConfiguration", lambda: set_role_policy(
            without_action(role_policy, "s3:GetReplicationConfiguration")), lambda: set_role_policy(role_policy),
         "object", "FAILED", "s3:GetReplicationConfiguration", identity),
        ("role: s3:GetObjectVersionForReplication", lambda: set_role_policy(
            without_action(role_policy, "s3:GetObjectVersionForReplication")), lambda: set_role_policy(role_policy),
         "object", "FAILED", "s3:GetObjectVersionForReplication", identity),
        ("role: s3:GetObjectVersionAcl", lambda: set_role_policy(
            without_action(role_policy, "s3:GetObjectVersionAcl")), lambda: set_role_policy(role_policy),
         "object", "FAILED", "s3:GetObjectVersionAcl", identity),
        ("role: s3:GetObjectVersionTagging", lambda: set_role_policy(
            without_action(role_policy, "s3:GetObjectVersionTagging")), lambda: set_role_policy(role_policy),
         "tagged", "WITHOUT_TAGS", "s3:GetObjectVersionTagging", identity),
        ("role: s3:ListBucket", lambda: set_role_policy(without_action(role_policy, "s3:ListBucket")),
         lambda: set_role_policy(role_policy), "delete", "NOT_REPLICATED", "s3:ListBucket", identity),
        ("role: s3:ReplicateObject", lambda: set_role_policy(without_action(role_policy, "s3:ReplicateObject")),
         lambda: set_role_policy(role_policy), "object", "FAILED", "s3:ReplicateObject", identity),
        ("role: s3:ReplicateTags", lambda: set_role_policy(without_action(role_policy, "s3:ReplicateTags")),
         lambda: set_role_policy(role_policy), "tagged", "FAILED", "s3:ReplicateTags", identity),
        ("role: s3:ReplicateDelete", lambda: set_role_policy(without_action(role_policy, "s3:ReplicateDelete")),
         lambda: set_role_policy(role_policy), "delete", "NOT_REPLICATED", "s3:ReplicateDelete", identity),
        ("role: permissions boundary without s3:ReplicateObject",
         lambda: iam.put_role_permissions_boundary(RoleName=rname, PermissionsBoundary=boundary_arn),
         lambda: iam.delete_role_permissions_boundary(RoleName=rname),
         "object", "FAILED", "s3:ReplicateObject", f"permissions boundary {boundary_arn}"),
        ("bucket policy: s3:ReplicateObject", lambda: set_bucket_policy(
            without_in_bucket_policy("s3:ReplicateObject")), lambda: set_bucket_policy(bucket_policy),
         "object", "FAILED", "s3:ReplicateObject", in_bucket_policy),
        ("bucket policy: s3:ReplicateTags", lambda: set_bucket_policy(
            without_in_bucket_policy("s3:ReplicateTags")), lambda: set_bucket_policy(bucket_policy),
         "tagged", "FAILED", "s3:ReplicateTags", in_bucket_policy),
        ("bucket policy: s3:ReplicateDelete", lambda: set_bucket_policy(
            without_in_bucket_policy("s3:ReplicateDelete")), lambda: set_bucket_policy(bucket_policy),
         "delete", "NOT_REPLICATED", "s3:ReplicateDelete", in_bucket_policy),
        ("bucket policy: admits another role", lambda: set_bucket_policy(other_role),
         lambda: set_bucket_policy(bucket_policy), "object", "FAILED", "s3:ReplicateObject", in_bucket_policy),
        ("bucket policy: deleted", lambda: s3_dst.delete_bucket_policy(Bucket=dst),
         lambda: set_bucket_policy(bucket_policy), "object", "FAILED", "s3:ReplicateObject",
         f"the bucket policy of {dst} is missing"),
        ("destination versioning suspended",
         lambda: s3_dst.put_bucket_versioning(Bucket=dst, VersioningConfiguration={"Status": "Suspended"}),
         lambda: s3_dst.put_bucket_versioning(Bucket=dst, VersioningConfiguration={"Status": "Enabled"}),
         "object", "FAILED", "s3:ReplicateObject", "versioning is Suspended"),
    ]
    for i, (what, take, give_back, write, outcome, step, reason) in enumerate(controls):
        key = f"control-{i}.txt"
        take()
        try:
            if write == "delete":
                objs.assert_replicated(objs.put(src_acct, src, key), dst_acct, dst)
                objs.assert_delete_marker_not_replicated(src_acct, src, key, dst_acct, dst)
                objs.assert_journal(key, outcome, step, reason, kind="delete-marker")
            elif outcome == "WITHOUT_TAGS":
                put = objs.put(src_acct, src, key, tags={"t": "1"})
                replica = objs.assert_replicated(put, dst_acct, dst, tags=False)
                assert replica.tags == {}, f"{what}: the tags were replicated: {replica.tags}"
                entry = objs.assert_journal(key, "COMPLETED", "written", "")
                assert any(step in n and reason in n for n in entry.get("notes", [])), \
                    f"{what}: the journal does not say why the tags were left out: {entry}"
            else:
                put = objs.put(src_acct, src, key, tags={"t": "1"} if write == "tagged" else None)
                objs.assert_failed(put, dst_acct, dst, step, reason)
        except AssertionError as e:
            raise AssertionError(f"negative control '{what}': {e}") from None
        finally:
            give_back()
        # the grant alone made the difference: with it back, the same kind of write replicates again
        try:
            objs.prove(src_acct, src, dst_acct, dst, key=f"control-{i}-restored.txt", delete_marker=write == "delete")
        except AssertionError as e:
            raise AssertionError(f"after putting back '{what}': {e}") from None

    # the role deleted and made again by hand: S3 assumes the role by its ARN, so the new one works
    aws.iam(src_acct).detach_role_policy(RoleName=rname, PolicyArn=parn)
    aws.iam(src_acct).delete_role(RoleName=rname)
    objs.assert_failed(objs.put(src_acct, src, "no-role.txt"), dst_acct, dst, "sts:AssumeRole", "does not exist")
    ws.must("apply", "-input=false", "-auto-approve")  # crossrepl repairs the drift
    objs.prove(src_acct, src, dst_acct, dst, key="role-repaired.txt")
    assert_converged(ws, "repairing the deleted role")


def test_routing_by_prefix_and_tags(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """Two destination accounts: `logs/` keys to one, objects tagged tier=gold to the other; a key that matches
    both goes to both, one that matches neither to none; delete markers only through the prefix rule."""
    n = Names(request.node.nodeid)
    src_acct, logs_acct, gold_acct = n.account(0), n.account(1), n.account(2)
    src, logs, gold = n.bucket("src"), n.bucket("logs"), n.bucket("gold")
    aws = Aws(ls)
    for account, bucket in ((src_acct, src), (logs_acct, logs), (gold_acct, gold)):
        aws.create_bucket(account, bucket)
    ws.write(providers(ls.endpoint, src=src_acct, logs=logs_acct, gold=gold_acct)
             + destination_resource("logs", "logs", logs, src_acct, src)
             + destination_resource("gold", "gold", gold, src_acct, src)
             + source_resource("data", "src", src, [
                 {**to("logs"), "prefix": "logs/"},
                 {**to("gold"), "tags": {"tier": "gold"}, "delete_marker_replication": False}]))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    objs = aws.objects()
    a_log = objs.put(src_acct, src, "logs/a.txt")
    gold_data = objs.put(src_acct, src, "data/b.txt", tags={"tier": "gold"})
    gold_log = objs.put(src_acct, src, "logs/c.txt", tags={"tier": "gold"})
    silver = objs.put(src_acct, src, "data/d.txt", tags={"tier": "silver"})
    objs.assert_replicated(a_log, logs_acct, logs)
    objs.assert_replicated(gold_data, gold_acct, gold)
    objs.assert_replicated(gold_log, logs_acct, logs)
    objs.assert_replicated(gold_log, gold_acct, gold)
    for put, account, bucket in ((a_log, gold_acct, gold), (gold_data, logs_acct, logs)):
        assert objs.replica(account, bucket, put.key, put.version_id) is None, f"{put.key} reached {bucket}"
    objs.assert_not_replicated(silver, logs_acct, logs)
    objs.assert_not_replicated(silver, gold_acct, gold)
    objs.assert_delete_marker_replicated(src_acct, src, "logs/a.txt", logs_acct, logs)
    objs.assert_delete_marker_not_replicated(src_acct, src, "data/b.txt", gold_acct, gold)
    assert_converged(ws, "apply")
    ws.destroy()


def test_owner_override(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """owner_override: replicas belong to the destination account. It needs s3:ObjectOwnerOverrideToBucketOwner in
    the role's policy and, only when the destination accepts it (accept_owner_override), in the bucket policy.
    Negative controls: without it in the role's policy, or a destination that does not accept it (no grant to
    stop the plan), the object goes FAILED."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    head = providers(ls.endpoint, src=src_acct, dst=dst_acct)
    source = source_resource("data", "src", src, [{**no_grant(to("dr")), "owner_override": True}])
    ws.write(head + destination_resource("dr", "dst", dst, src_acct, src, accept_owner_override=True) + source)
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    objs = aws.objects()
    dst_owner = aws.s3(dst_acct).get_bucket_acl(Bucket=dst)["Owner"]["ID"]
    replica = objs.prove(src_acct, src, dst_acct, dst)
    assert replica.owner == dst_owner, f"replica owned by {replica.owner}, not the destination ({dst_owner})"

    parn = policy_arn(src_acct, src)
    doc = aws.policy_document(src_acct, parn)
    aws.iam(src_acct).create_policy_version(
        PolicyArn=parn, SetAsDefault=True,
        PolicyDocument=json.dumps(without_action(doc, "s3:ObjectOwnerOverrideToBucketOwner")))
    objs.assert_failed(objs.put(src_acct, src, "no-override.txt"), dst_acct, dst,
                       "s3:ObjectOwnerOverrideToBucketOwner", f"identity policies of {role_arn(src_acct, src)}")
    ws.must("apply", "-input=false", "-auto-approve")  # drift repaired
    objs.prove(src_acct, src, dst_acct, dst, key="override-again.txt", delete_marker=False)

    ws.write(head + destination_resource("dr", "dst", dst, src_acct, src) + source)
    ws.must("apply", "-input=false", "-auto-approve")
    objs.assert_failed(objs.put(src_acct, src, "not-accepted.txt"), dst_acct, dst,
                       "s3:ObjectOwnerOverrideToBucketOwner", f"the bucket policy of {dst} does not allow it")
    ws.destroy()


def test_sse_kms_with_keys_of_the_source_account(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """An SSE-KMS object whose key and replica key belong to the source account (default key policies: IAM
    decides): it arrives encrypted under the replica key. Negative control: a source key policy that does not
    enable IAM policies makes the object FAILED at kms:Decrypt."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    source_key, replica_key = aws.create_key(src_acct), aws.create_key(src_acct)
    ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
             + destination_resource("dr", "dst", dst, src_acct, src)
             + source_resource("data", "src", src, [{**to("dr"), "replica_kms_key_arn": replica_key,
                                                     "source_kms_key_arns": [source_key]}]))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    objs = aws.objects()
    put = objs.put(src_acct, src, "secret.txt", kms_key=source_key, bucket_key=False)
    replica = objs.assert_replicated(put, dst_acct, dst)
    assert (replica.encryption, replica.kms_key) == ("aws:kms", replica_key), replica
    plain = objs.assert_replicated(objs.put(src_acct, src, "plain.txt"), dst_acct, dst)
    assert (plain.encryption, plain.kms_key) == ("AES256", None), f"an SSE-S3 source stays SSE-S3: {plain}"

    only_admin = {"Version": "2012-10-17", "Statement": [{
        "Sid": "AdminOnly", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{src_acct}:role/key-admin"},
        "Action": "kms:*", "Resource": "*"}]}
    aws.c("kms", src_acct).put_key_policy(KeyId=source_key, PolicyName="default", Policy=json.dumps(only_admin))
    objs.assert_failed(objs.put(src_acct, src, "locked-out.txt", kms_key=source_key, bucket_key=False),
                       dst_acct, dst, "kms:Decrypt", f"the key policy of {source_key} does not allow it")
    ws.destroy()


# ---- what S3 would not replicate although apply succeeded before the fidelity issue: each fixed, each with the
# ---- setup that used to fail silently as its negative control

def test_sse_kms_under_a_bucket_key(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """Under an S3 Bucket Key the role needs kms:Decrypt on the replica key as well as kms:Encrypt ("S3 Bucket Keys
    and replication"). Negative control: the role policy without kms:Decrypt makes the object FAILED there."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    source_key, replica_key = aws.create_key(src_acct), aws.create_key(src_acct)
    ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
             + destination_resource("dr", "dst", dst, src_acct, src)
             + source_resource("data", "src", src, [{**to("dr"), "replica_kms_key_arn": replica_key,
                                                     "source_kms_key_arns": [source_key]}]))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    objs = aws.objects()
    replica = objs.assert_replicated(objs.put(src_acct, src, "bucket-key.txt", kms_key=source_key, bucket_key=True),
                                     dst_acct, dst)
    assert (replica.encryption, replica.kms_key) == ("aws:kms", replica_key), replica

    parn = policy_arn(src_acct, src)
    doc = aws.policy_document(src_acct, parn)
    for st in doc["Statement"]:
        if st["Sid"].startswith("ReplicaKms"):
            st["Action"] = [a for a in st["Action"] if a != "kms:Decrypt"]
    aws.iam(src_acct).create_policy_version(PolicyArn=parn, SetAsDefault=True, PolicyDocument=json.dumps(doc))
    objs.assert_failed(objs.put(src_acct, src, "no-decrypt.txt", kms_key=source_key, bucket_key=True),
                       dst_acct, dst, "kms:Decrypt", f"identity policies of {role_arn(src_acct, src)}")
    ws.destroy()


def replica_key_of_the_destination(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts, listed: bool):
    """A source key of the source account and a replica key of the destination account (its default key policy:
    the destination account alone), applied with the replica key in crossrepl_destination's replica_kms_key_arns
    or not; returns an SSE-KMS object written after the apply, and the replica key. Not listed, the source's grant
    check refuses the plan, so the source takes no grant then (what would have happened before the check)."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    source_key, replica_key = aws.create_key(src_acct), aws.create_key(dst_acct)
    keys = {"replica_kms_key_arns": [replica_key]} if listed else {}
    head = providers(ls.endpoint, src=src_acct, dst=dst_acct) + destination_resource("dr", "dst", dst, src_acct, src,
                                                                                    **keys)
    rule = {"replica_kms_key_arn": replica_key, "source_kms_key_arns": [source_key]}
    ws.write(head + source_resource("data", "src", src, [{**to("dr"), **rule}]))
    ws.init()
    if not listed:
        r = ws.run("plan", "-input=false")
        refused = [d for d in r.diagnostics("error") if d.get("summary") == "Replica key does not admit the role"]
        assert not r.ok and refused, f"plan must refuse a replica key the destination does not admit: {r.diagnostics()}"
        ws.write(head + source_resource("data", "src", src, [{**no_grant(to("dr")), **rule}]))
    ws.must("apply", "-input=false", "-auto-approve")
    return aws.objects().put(src_acct, src, "k.txt", kms_key=source_key, bucket_key=False), replica_key


def test_replica_key_of_the_destination_account(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """The replica key's policy admits the source role (crossrepl_destination's replica_kms_key_arns): the object
    arrives encrypted under it."""
    put, replica_key = replica_key_of_the_destination(ws, ls, two_accounts, listed=True)
    replica = two_accounts.aws.objects().assert_replicated(put, two_accounts.dst_acct, two_accounts.dst)
    assert (replica.encryption, replica.kms_key) == ("aws:kms", replica_key), replica
    assert_converged(ws, "apply")


def test_replica_kms_key_not_listed_fails(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """Negative control of the test above: the same setup without the key in replica_kms_key_arns. The role's own
    policy allows kms:Encrypt on the key, its key policy does not admit another account: FAILED."""
    put, replica_key = replica_key_of_the_destination(ws, ls, two_accounts, listed=False)
    two_accounts.aws.objects().assert_failed(put, two_accounts.dst_acct, two_accounts.dst, "kms:Encrypt",
                                             f"the key policy of {replica_key} does not allow it")


def test_kms_example(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """examples/kms: SSE-KMS objects replicate across accounts under a replica key of the destination account,
    unencrypted ones too; destroy leaves the replica key's policy as it found it."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    source_key, replica_key = aws.create_key(src_acct), aws.create_key(dst_acct)
    before = aws.key_policy(replica_key)
    copy_example(ws, "kms", source_bucket=src, destination_bucket=dst, source_account_id=src_acct,
                 source_kms_key_arn=source_key, replica_kms_key_arn=replica_key, source_access_key=src_acct,
                 source_secret_key="test", destination_access_key=dst_acct, destination_secret_key="test",
                 endpoint=ls.endpoint)
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    objs = aws.objects()
    replica = objs.assert_replicated(objs.put(src_acct, src, "secret.txt", kms_key=source_key, bucket_key=False),
                                     dst_acct, dst)
    assert (replica.encryption, replica.kms_key) == ("aws:kms", replica_key), replica
    objs.prove(src_acct, src, dst_acct, dst)
    assert_converged(ws, "apply")
    ws.destroy()
    assert aws.key_policy(replica_key) == before, "destroy must leave the replica key's policy as it was"


def test_destination_with_default_sse_kms(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """A destination whose default encryption is SSE-KMS: replicas of SSE-S3 objects are encrypted with its key, so
    the role needs kms:GenerateDataKey on it, which the destination's grant hands to the source. Negative control:
    the same setup without the grant applies, and the object goes FAILED at kms:GenerateDataKey."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    root = f"arn:aws:iam::{src_acct}:root"
    key = aws.create_key(dst_acct, {"Version": "2012-10-17", "Statement": [
        {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{dst_acct}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "SourceAccount", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": ["kms:GenerateDataKey", "kms:Encrypt"], "Resource": "*"}]})
    aws.s3(dst_acct).put_bucket_encryption(Bucket=dst, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    config = providers(ls.endpoint, src=src_acct, dst=dst_acct) + destination_resource("dr", "dst", dst, src_acct, src)
    ws.write(config + source_resource("data", "src", src, [no_grant(to("dr"))]))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    objs = aws.objects()
    objs.assert_failed(objs.put(src_acct, src, "ungranted.txt"), dst_acct, dst, "kms:GenerateDataKey",
                       f"identity policies of {role_arn(src_acct, src)}")

    ws.write(config + source_resource("data", "src", src, [to("dr")]))
    ws.must("apply", "-input=false", "-auto-approve")
    replica = objs.assert_replicated(objs.put(src_acct, src, "plain.txt"), dst_acct, dst)
    assert (replica.encryption, replica.kms_key) == ("aws:kms", key), replica
    assert_converged(ws, "apply")
    ws.destroy()


def test_object_lock(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """Under Object Lock the role needs s3:GetObjectRetention and s3:GetObjectLegalHold ("Using Object Lock with S3
    Replication"); the replica carries the retention. Negative controls: the role policy without
    s3:GetObjectRetention makes the object FAILED; a destination without Object Lock is refused at plan time."""
    n = Names(request.node.nodeid)
    src_acct, dst_acct = n.account(0), n.account(1)
    src, dst = n.bucket("src"), n.bucket("dst")
    aws = Aws(ls)
    for account, bucket in ((src_acct, src), (dst_acct, dst)):
        aws.s3(account).create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
             + destination_resource("dr", "dst", dst, src_acct, src)
             + source_resource("data", "src", src, [to("dr")]))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    objs = aws.objects()
    until = datetime.now(timezone.utc) + timedelta(minutes=5)
    replica = objs.assert_replicated(objs.put(src_acct, src, "held.txt", retain_until=until), dst_acct, dst)
    assert replica.lock_mode == "GOVERNANCE", replica

    parn = policy_arn(src_acct, src)
    doc = aws.policy_document(src_acct, parn)
    aws.iam(src_acct).create_policy_version(PolicyArn=parn, SetAsDefault=True,
                                            PolicyDocument=json.dumps(without_action(doc, "s3:GetObjectRetention")))
    objs.assert_failed(objs.put(src_acct, src, "unreadable.txt", retain_until=until), dst_acct, dst,
                       "s3:GetObjectRetention", f"identity policies of {role_arn(src_acct, src)}")

    unlocked = n.bucket("unlocked")
    aws.create_bucket(dst_acct, unlocked)
    ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
             + destination_resource("dr", "dst", dst, src_acct, src)
             + destination_resource("plain", "dst", unlocked, src_acct, src)
             + source_resource("data", "src", src, [to("dr"), to("plain")]))
    r = ws.run("plan", "-input=false")
    errors = [d for d in r.diagnostics("error") if d.get("summary") == "Destination bucket has no Object Lock"]
    assert not r.ok and errors, f"a destination without Object Lock must be refused: {r.diagnostics()}"


def test_role_name_repeated_on_the_destination(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """A source `role_name` must be repeated as `source_role_name` on the destination. With the grant, plan refuses
    a mismatch; without it (the negative control) a warning says the destination is not checked, apply succeeds,
    and every object goes FAILED at the destination bucket policy."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    head = providers(ls.endpoint, src=src_acct, dst=dst_acct)
    mismatched = destination_resource("dr", "dst", dst, src_acct, src)
    ws.write(head + mismatched + source_resource("data", "src", src, [to("dr")], role_name="team-replication"))
    ws.init()
    r = ws.run("plan", "-input=false")
    refused = [d for d in r.diagnostics("error") if d.get("summary") == "Destination admits another role"]
    assert not r.ok and refused, f"plan must refuse the mismatch: {r.diagnostics()}"
    assert 'source_role_name = "team-replication"' in refused[0]["detail"], refused[0]

    ws.write(head + mismatched
             + source_resource("data", "src", src, [no_grant(to("dr"))], role_name="team-replication"))
    r = ws.must("apply", "-input=false", "-auto-approve")
    assert any(d.get("summary") == "Destination not checked" for d in r.diagnostics("warning")), r.diagnostics()
    objs = aws.objects()
    objs.assert_failed(objs.put(src_acct, src, "refused.txt"), dst_acct, dst, "s3:ReplicateObject",
                       f"the bucket policy of {dst} does not allow it")

    ws.write(head + destination_resource("dr", "dst", dst, src_acct, src, source_role_name="team-replication")
             + source_resource("data", "src", src, [to("dr")], role_name="team-replication"))
    ws.must("apply", "-input=false", "-auto-approve")
    objs.prove(src_acct, src, dst_acct, dst)
    assert_converged(ws, "apply")
    ws.destroy()


def test_same_account_destination_is_versioned(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """A destination in the source's own account has no crossrepl_destination to turn its versioning on: the source
    does, as for its own bucket, and the replica arrives. (Before, S3 refused the configuration and crossrepl
    retried for two minutes before blaming the role.)"""
    n = Names(request.node.nodeid)
    acct = n.account(0)
    src, archive = n.bucket("src"), n.bucket("archive")
    aws = Aws(ls)
    aws.create_bucket(acct, src)
    aws.create_bucket(acct, archive)  # versioning off
    ws.write(providers(ls.endpoint, main=acct) + source_resource("data", "main", src, [{"bucket_arn": arn(archive)}]))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    assert aws.versioning(acct, archive) == "Enabled", "the same-account destination must be versioned"
    aws.objects().prove(acct, src, acct, archive)
    assert_converged(ws, "apply")
    ws.destroy()
    assert aws.versioning(acct, archive) == "Enabled", "versioning stays on: S3 cannot turn it off"
