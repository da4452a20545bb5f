"""The replication engine's pure parts, without LocalStack: rule selection (rules.py) and the Principal Mapper
verdicts with their blame (authorize.py). Each "allowed" check has its negative control next to it."""

from __future__ import annotations

import copy

from replication_engine import authorize, rules  # testbed/replication_engine

SRC, DST = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{SRC}:role/crossrepl-src"


def rule(rid, dest, priority=1, prefix=None, tags=None, dmr=True, kms=False, replica_mods=False, status="Enabled"):
    r = {"ID": rid, "Status": status, "Priority": priority, "Destination": {"Bucket": f"arn:aws:s3:::{dest}"},
         "DeleteMarkerReplication": {"Status": "Enabled" if dmr else "Disabled"}}
    if tags:
        r["Filter"] = {"And": {"Prefix": prefix or "", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}}
    elif prefix is not None:
        r["Filter"] = {"Prefix": prefix}
    else:
        r["Filter"] = {}
    criteria = {}
    if kms:
        criteria["SseKmsEncryptedObjects"] = {"Status": "Enabled"}
    if replica_mods:
        criteria["ReplicaModifications"] = {"Status": "Enabled"}
    if criteria:
        r["SourceSelectionCriteria"] = criteria
    return r


def ids(selected):
    return sorted((s.destination_bucket, s.rule_id) for s in selected)


def test_filters_priorities_and_destinations() -> None:
    cfg = {"Role": ROLE, "Rules": [
        rule("all-a", "a", priority=1),
        rule("logs-a", "a", priority=5, prefix="logs/"),
        rule("tagged-b", "b", priority=2, tags={"tier": "gold"}, dmr=False),
        rule("off-c", "c", status="Disabled"),
    ]}
    assert ids(rules.for_new_object(cfg, "logs/x", {}, None)) == [("a", "logs-a")]
    assert ids(rules.for_new_object(cfg, "data/x", {}, None)) == [("a", "all-a")]
    assert ids(rules.for_new_object(cfg, "data/x", {"tier": "gold"}, None)) == [("a", "all-a"), ("b", "tagged-b")]
    assert ids(rules.for_new_object(cfg, "data/x", {"tier": "silver"}, None)) == [("a", "all-a")]
    # delete markers: never by a tag-filtered rule, and only where the winning rule replicates them
    assert ids(rules.for_delete_marker(cfg, "logs/x")) == [("a", "logs-a")]
    cfg["Rules"][1]["DeleteMarkerReplication"]["Status"] = "Disabled"
    assert rules.for_delete_marker(cfg, "logs/x") == [], "the winning rule does not replicate delete markers"


def test_sse_kms_objects_need_their_own_selection() -> None:
    cfg = {"Role": ROLE, "Rules": [rule("plain", "a")]}
    assert rules.for_new_object(cfg, "k", {}, "aws:kms") == []
    assert ids(rules.for_new_object(cfg, "k", {}, "AES256")) == [("a", "plain")]
    cfg["Rules"][0]["SourceSelectionCriteria"] = {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    assert ids(rules.for_new_object(cfg, "k", {}, "aws:kms")) == [("a", "plain")]


def test_metadata_changes_on_replicas_need_replica_modifications() -> None:
    cfg = {"Role": ROLE, "Rules": [rule("back", "a")]}
    assert rules.for_metadata_change(cfg, "k", {}, None, on_replica=True) == []
    assert ids(rules.for_metadata_change(cfg, "k", {}, None, on_replica=False)) == [("a", "back")]
    cfg["Rules"][0]["SourceSelectionCriteria"] = {"ReplicaModifications": {"Status": "Enabled"}}
    assert ids(rules.for_metadata_change(cfg, "k", {}, None, on_replica=True)) == [("a", "back")]


def test_v1_rules_select_by_prefix_and_replicate_delete_markers() -> None:
    cfg = {"Role": ROLE, "Rules": [{"ID": "v1", "Status": "Enabled", "Prefix": "p/",
                                    "Destination": {"Bucket": "arn:aws:s3:::a"}}]}
    assert ids(rules.for_new_object(cfg, "p/k", {}, None)) == [("a", "v1")]
    assert rules.for_new_object(cfg, "q/k", {}, None) == []
    assert ids(rules.for_delete_marker(cfg, "p/k")) == [("a", "v1")]


TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:SourceAccount": SRC}, "ArnLike": {"aws:SourceArn": "arn:aws:s3:::src"}}}]}
IDENTITY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateTags"], "Resource": "arn:aws:s3:::dst/*"}]}
BUCKET_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "x", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SRC}:root"},
    "Action": ["s3:ReplicateObject", "s3:ReplicateTags"], "Resource": "arn:aws:s3:::dst/*",
    "Condition": {"ArnEquals": {"aws:PrincipalArn": ROLE}}}]}


def role(policies=None, boundary=None) -> authorize.Role:
    return authorize.Role(ROLE, "AROAEXAMPLE", TRUST, [("p", IDENTITY)] if policies is None else policies, boundary)


def check(r: authorize.Role, policy=BUCKET_POLICY, action="s3:ReplicateObject", owner=DST):
    return authorize.check(r, action, "arn:aws:s3:::dst/k", policy, owner, "the bucket policy of dst")


def test_trust_needs_the_service_and_the_confused_deputy_keys() -> None:
    assert authorize.assume_role(role(), SRC, "arn:aws:s3:::src")
    denied = authorize.assume_role(role(), SRC, "arn:aws:s3:::other")
    assert not denied and "trust policy" in denied.reason


def test_cross_account_needs_both_the_role_and_the_bucket_policy() -> None:
    assert check(role())
    no_identity = check(role(policies=[]))
    assert not no_identity and "identity policies" in no_identity.reason
    other_role = copy.deepcopy(BUCKET_POLICY)
    other_role["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"] = f"arn:aws:iam::{SRC}:role/other"
    wrong = check(role(), other_role)
    assert not wrong and wrong.reason == "the bucket policy of dst does not allow it"
    missing = check(role(), None)
    assert not missing and "is missing" in missing.reason
    deny = copy.deepcopy(BUCKET_POLICY)
    deny["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "s3:ReplicateObject",
                              "Resource": "arn:aws:s3:::dst/*"})
    assert "explicitly denies" in check(role(), deny).reason
    # same account: the identity policy alone is enough
    assert check(authorize.Role(f"arn:aws:iam::{DST}:role/r", "AROA2", TRUST, [("p", IDENTITY)]), None)


def test_a_permissions_boundary_limits_the_role() -> None:
    narrow = ("arn:aws:iam::111111111111:policy/b", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ReplicateObject", "Resource": "*"}]})
    assert check(role(boundary=narrow))
    blocked = check(role(boundary=narrow), action="s3:ReplicateTags")
    assert not blocked and "permissions boundary" in blocked.reason


def test_documents_are_read_from_json_or_url_encoded_text() -> None:
    import json
    import urllib.parse

    text = json.dumps(IDENTITY)
    assert authorize.document(text) == IDENTITY == authorize.document(urllib.parse.quote(text))
    assert authorize.document("") is None


def test_batch_operations_assumes_only_a_role_that_trusts_it() -> None:
    """S3 Batch Replication (batch.py): the batch role's trust names batchoperations.s3.amazonaws.com; the
    replication role's trust (s3.amazonaws.com) is the negative control, both ways."""
    batch_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "batchoperations.s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    s3_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    job = f"arn:aws:s3:us-east-1:{SRC}:job/j"
    batch_role = authorize.Role(f"arn:aws:iam::{SRC}:role/crossrepl-batch-src", "AROAB", batch_trust)
    replication_role = authorize.Role(ROLE, "AROAR", s3_trust)
    assert authorize.assume_role(batch_role, SRC, job, service="batchoperations.s3.amazonaws.com")
    verdict = authorize.assume_role(replication_role, SRC, job, service="batchoperations.s3.amazonaws.com")
    assert not verdict and "batchoperations.s3.amazonaws.com" in verdict.reason
    assert not authorize.assume_role(batch_role, SRC, "arn:aws:s3:::src")  # S3 replication cannot assume it


def test_batch_role_policy_allows_initiate_replication_on_its_bucket_only() -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "InitiateReplication", "Effect": "Allow", "Action": "s3:InitiateReplication",
         "Resource": "arn:aws:s3:::src/*"},
        {"Sid": "WriteCompletionReport", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::rep/reports/*"}]}
    trust = {"Version": "2012-10-17", "Statement": []}
    role = authorize.Role(f"arn:aws:iam::{SRC}:role/crossrepl-batch-src", "AROAB", trust, [("inline", policy)])
    assert authorize.check(role, "s3:InitiateReplication", "arn:aws:s3:::src/k", None, SRC, "src")
    assert not authorize.check(role, "s3:InitiateReplication", "arn:aws:s3:::other/k", None, SRC, "other")
    assert authorize.check(role, "s3:PutObject", "arn:aws:s3:::rep/reports/job-1/results/1.csv", None, SRC, "rep")
    denied = authorize.check(role, "s3:PutObject", "arn:aws:s3:::rep/elsewhere.csv", None, SRC, "rep")
    assert not denied and "identity policies" in denied.reason
