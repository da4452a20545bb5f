"""Scenario 2: same-account replication (no account_id), and several destinations from one source."""

from __future__ import annotations

import pytest

from lib.aws_readers import (Aws, check_destination_grant, check_nothing_left, check_role, rules_by_id,
                             statement_resources)
from lib.constants import OWNER_TAG
from lib.harness import Workspace, assert_converged, changed_paths, counts, planned_changes
from lib.naming import Names, arn, role_arn, rule_id
from lib.scenarios import (TwoAccounts, destination_resource, every_option_config, made_up_kms_key, providers,
                           source_resource, to)
from lib.services import LocalStack


def test_same_account_replication(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    n = Names(request.node.nodeid)
    acct = n.account(0)
    src, dst = n.bucket("src"), n.bucket("dst")
    aws = Aws(ls)
    aws.create_bucket(acct, src)
    aws.create_bucket(acct, dst, versioning=True)  # no crossrepl_destination: same account needs no grant
    ws.write(providers(ls.endpoint, main=acct)
             + source_resource("data", "main", src, [{"bucket_arn": arn(dst)}]))
    ws.init()
    plan = ws.plan()
    assert counts(plan) == (1, 0, 0), plan.change_summary()
    ws.apply()

    assert aws.versioning(acct, src) == "Enabled", "source versioning"
    check_role(aws, acct, src, [dst])
    cfg = aws.replication(acct, src)
    assert cfg and cfg["Role"] == role_arn(acct, src), cfg
    [rule] = cfg["Rules"]
    assert rule["ID"] == rule_id(dst) and rule["Priority"] == 1, rule
    assert rule["Destination"]["Bucket"] == arn(dst), rule
    assert "Account" not in rule["Destination"], f"same-account rule must not name an Account: {rule}"
    assert aws.bucket_policy(acct, dst) is None, "crossrepl_source must not write a destination bucket policy"
    aws.objects().prove(acct, src, acct, dst)  # same account: the role's policy alone admits it

    assert_converged(ws, "apply")
    destroy = ws.destroy()
    assert counts(destroy) == (0, 0, 1), destroy.change_summary()
    check_nothing_left(aws, acct, src)
    assert aws.bucket_exists(acct, dst)


def test_several_destinations_from_one_source(ws: Workspace, ls: LocalStack, request: pytest.FixtureRequest) -> None:
    """Two destination accounts (each with its crossrepl_destination) and one same-account bucket."""
    n = Names(request.node.nodeid)
    src_acct, dst1_acct, dst2_acct = n.account(0), n.account(1), n.account(2)
    src, d1, d2, local = n.bucket("src"), n.bucket("dst1"), n.bucket("dst2"), n.bucket("local")
    aws = Aws(ls)
    aws.create_bucket(src_acct, src)
    aws.create_bucket(dst1_acct, d1)
    aws.create_bucket(dst2_acct, d2)
    aws.create_bucket(src_acct, local, versioning=True)
    ws.write(
        providers(ls.endpoint, src=src_acct, one=dst1_acct, two=dst2_acct)
        + destination_resource("one", "one", d1, src_acct, src)
        + destination_resource("two", "two", d2, src_acct, src)
        + source_resource("data", "src", src, [to("one"), to("two"), {"bucket_arn": arn(local), "prefix": "logs/"}]))
    ws.init()
    plan = ws.plan()
    assert counts(plan) == (3, 0, 0), plan.change_summary()
    ws.apply()

    role = role_arn(src_acct, src)
    check_role(aws, src_acct, src, [d1, d2, local])
    cfg = aws.replication(src_acct, src)
    assert cfg and cfg["Role"] == role, cfg
    rules = rules_by_id(cfg)
    expected = [(d1, dst1_acct, 1), (d2, dst2_acct, 2), (local, None, 3)]
    assert sorted(rules) == sorted(rule_id(b) for b, _, _ in expected), f"rule ids: {sorted(rules)}"
    for bucket, account, priority in expected:
        r = rules[rule_id(bucket)]
        assert r["Priority"] == priority, f"rule for {bucket} should have priority {priority} (block order): {r}"
        assert r["Destination"]["Bucket"] == arn(bucket), r
        assert r["Destination"].get("Account") == account, r
        assert r.get("DeleteMarkerReplication", {}).get("Status") == "Enabled", r
    assert rules[rule_id(local)]["Filter"].get("Prefix") == "logs/", rules[rule_id(local)]
    for account, bucket in ((dst1_acct, d1), (dst2_acct, d2)):
        assert aws.versioning(account, bucket) == "Enabled", bucket
        check_destination_grant(aws.statements(account, bucket), bucket, src_acct, role)

    # one write, every destination whose rule selects it: logs/ goes to all three, data/ only cross-account
    objs = aws.objects()
    data = objs.put(src_acct, src, "data/x.txt", tags={"kind": "data"})
    logs = objs.put(src_acct, src, "logs/x.txt")
    for account, bucket in ((dst1_acct, d1), (dst2_acct, d2)):
        objs.assert_replicated(data, account, bucket)
        objs.assert_replicated(logs, account, bucket)
    objs.assert_replicated(logs, src_acct, local)
    assert objs.replica(src_acct, local, data.key, data.version_id) is None, "the logs/ rule replicated data/x.txt"

    assert_converged(ws, "apply")
    destroy = ws.destroy()
    assert counts(destroy) == (0, 0, 3), destroy.change_summary()
    check_nothing_left(aws, src_acct, src)
    for account, bucket in ((dst1_acct, d1), (dst2_acct, d2)):
        assert aws.bucket_policy(account, bucket) is None, f"policy left on {bucket}"
        assert aws.bucket_exists(account, bucket)


def test_every_option_converges_and_round_trips_through_import(ws: Workspace, ls: LocalStack,
                                                               two_accounts: TwoAccounts) -> None:
    """Every optional attribute in use at once (role path, tags, boundary, owner override, KMS, RTC, replica
    modifications, tag+prefix filter, storage class, explicit priorities, a disabled rule): the rules and role
    policy carry them, the plan after apply is empty, and state rm + import reconstructs the same state."""
    src_acct, dst_acct, src, dst, aws, n = two_accounts
    local = n.bucket("local")
    key_dst, key_src = made_up_kms_key(dst_acct), made_up_kms_key(src_acct, multi_region=True)
    boundary = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    aws.create_bucket(src_acct, local, versioning=True)
    ws.write(every_option_config(ls.endpoint, src_acct, dst_acct, src, dst, local))
    ws.init()
    ws.plan()
    ws.apply()

    role = f"arn:aws:iam::{src_acct}:role/replication/crossrepl-{src}"
    r = aws.role(src_acct, f"crossrepl-{src}")
    assert r and r["Arn"] == role, r
    # The user's tags, plus the ownership tag crossrepl puts on what it creates (hidden from the `tags` attribute).
    want_tags = {"team": "storage", "env": "test", OWNER_TAG: src}
    assert {t["Key"]: t["Value"] for t in r.get("Tags", [])} == want_tags, r
    assert r.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == boundary, r
    cfg = aws.replication(src_acct, src)
    assert cfg and cfg["Role"] == role, cfg
    rules = rules_by_id(cfg)
    main, off = rules[rule_id(dst)], rules[rule_id(local)]
    assert main["Priority"] == 10 and main["Status"] == "Enabled", main
    assert main["Filter"].get("And", {}).get("Prefix") == "data/", main["Filter"]
    assert sorted((t["Key"], t["Value"]) for t in main["Filter"]["And"].get("Tags", [])) == \
        [("replicate", "yes"), ("tier", "gold")], main["Filter"]
    assert main["DeleteMarkerReplication"]["Status"] == "Disabled", main
    d = main["Destination"]
    assert d["Bucket"] == arn(dst) and d["Account"] == dst_acct and d.get("StorageClass") == "GLACIER_IR", d
    assert d.get("AccessControlTranslation") == {"Owner": "Destination"}, d
    assert d.get("EncryptionConfiguration") == {"ReplicaKmsKeyID": key_dst}, d
    assert d.get("ReplicationTime", {}).get("Status") == "Enabled", d
    assert d.get("Metrics", {}).get("Status") == "Enabled", d
    ssc = main.get("SourceSelectionCriteria", {})
    assert ssc.get("SseKmsEncryptedObjects", {}).get("Status") == "Enabled", main
    assert ssc.get("ReplicaModifications", {}).get("Status") == "Enabled", main
    assert off["Status"] == "Disabled" and off["Priority"] == 2, off
    policy = aws.policy_document(src_acct, f"arn:aws:iam::{src_acct}:policy/replication/crossrepl-policy-{src}")
    assert policy is not None, f"policy not at the role path: {aws.local_policies(src_acct)}"
    by_resource = statement_resources(policy)
    assert by_resource.get(key_src) == {"kms:Decrypt"}, by_resource
    assert by_resource.get(key_dst) == {"kms:Encrypt", "kms:Decrypt"}, by_resource
    assert "s3:ObjectOwnerOverrideToBucketOwner" in by_resource[arn(dst) + "/*"], by_resource
    check_destination_grant(aws.statements(dst_acct, dst), dst, src_acct, role)
    # An unencrypted object the filter selects arrives owned by the destination account, in GLACIER_IR; the
    # disabled rule replicates nothing. (The KMS keys here are made-up ARNs: SSE-KMS objects are kms.md's topic.)
    objs = aws.objects()
    put = objs.put(src_acct, src, "data/x.txt", tags={"replicate": "yes", "tier": "gold"})
    replica = objs.assert_replicated(put, dst_acct, dst)
    assert replica.storage_class == "GLACIER_IR", replica
    assert replica.owner == aws.s3(dst_acct).get_bucket_acl(Bucket=dst)["Owner"]["ID"], \
        f"owner override: the replica must belong to the destination account: {replica}"
    assert objs.replica(src_acct, local, put.key, put.version_id) is None, "the disabled rule replicated"
    objs.assert_not_replicated(objs.put(src_acct, src, "data/untagged.txt"), dst_acct, dst)
    assert_converged(ws, "apply")

    ws.must("state", "rm", "crossrepl_destination.dr", "crossrepl_source.data", json_out=False)
    for address, import_id in (("crossrepl_destination.dr", f"{dst},{src_acct}"), ("crossrepl_source.data", src)):
        r = ws.run("import", "-input=false", address, import_id)
        assert r.ok, f"`{ws.engine} import {address} {import_id}` failed:\n{r.stdout}\n{r.stderr}"
    ws.plan()
    # Only the grant, which an import cannot read from the source account; recording it changes nothing in AWS.
    assert changed_paths(ws) == {"crossrepl_source.data": ["destination[0].grant"]}, \
        f"plan after re-importing every option: {changed_paths(ws)}"
    ws.apply()
    plan = ws.plan()
    assert counts(plan) == (0, 0, 0), \
        f"plan after re-importing every option is not empty: {plan.change_summary()}: {planned_changes(plan)}"
    ws.destroy()
    check_nothing_left(aws, src_acct, src)
    assert aws.bucket_policy(dst_acct, dst) is None
