"""Schema parity with hashicorp/aws `aws_s3_bucket_replication_configuration` (issue 14, item 3): setups its users
write that crossrepl_source expresses too, each proven with the test bed's replication engine.

- Several rules into the same destination bucket (`logs/` to GLACIER_IR, `data/` to STANDARD): distinct rule ids
  (the first keeps the id of a single rule), distinct priorities, each bucket granted once in the role's policy,
  objects routed by prefix into their storage class, import round-trips; negative controls: a key neither prefix
  selects stays home, an explicit rule id equal to a derived one is refused at plan time, and overlapping rules
  into one bucket get a warning naming the rule that wins.
- Replication metrics without Replication Time Control (`metrics`), read back by import; negative controls: the
  rule without it has no Metrics, and `metrics = false` with time control is refused at plan time.
- An existing replication role (`role_arn`, made with boto3 as a platform team would): the configuration names it,
  an object replicates, the plan is then empty, destroy leaves the role and its policy exactly as they were;
  switching to a managed role and back is an in-place update that creates, then deletes, crossrepl's own role only;
  import keeps the existing role untouched; negative controls: a role trusting ec2.amazonaws.com instead of S3, a
  destination admitting another role, `role_name` next to `role_arn`, and a role of another account are refused at
  plan time.
- A replica key given by alias ARN: the rule keeps the alias, the role's policy and the grant check use its key,
  an object arrives under that key, a moved alias is followed; negative controls: a missing alias and an alias
  of a key the destination does not list are refused at plan time.
"""

from __future__ import annotations

import json

from lib.harness import Workspace, assert_converged, changed_paths, counts, errors
from lib.naming import arn, policy_arn, rule_id
from lib.scenarios import TwoAccounts, destination_resource, providers, source_resource, to
from lib.services import LocalStack


def test_several_rules_into_one_bucket(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    head = providers(ls.endpoint, src=src_acct, dst=dst_acct) + destination_resource("dr", "dst", dst, src_acct, src)
    logs = {**to("dr"), "prefix": "logs/", "storage_class": "GLACIER_IR"}
    data = {**to("dr"), "prefix": "data/", "storage_class": "STANDARD"}
    ws.write(head + source_resource("data", "src", src, [logs, data]))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")

    rules = {r["ID"]: r for r in aws.replication(src_acct, src)["Rules"]}
    first, second = rule_id(dst), f"{rule_id(dst)}#2"
    assert sorted(rules) == [first, second], rules
    assert (rules[first]["Priority"], rules[first]["Filter"]["Prefix"], rules[first]["Destination"]["StorageClass"]) \
        == (1, "logs/", "GLACIER_IR"), rules[first]
    assert (rules[second]["Priority"], rules[second]["Filter"]["Prefix"],
            rules[second]["Destination"]["StorageClass"]) == (2, "data/", "STANDARD"), rules[second]
    role_policy = aws.policy_document(src_acct, policy_arn(src_acct, src))
    objects_stmt = next(s for s in role_policy["Statement"] if s["Sid"] == "DestinationObjects")
    assert objects_stmt["Resource"] in (f"{arn(dst)}/*", [f"{arn(dst)}/*"]), objects_stmt

    objs = aws.objects()
    log = objs.put(src_acct, src, "logs/a.txt")
    assert objs.assert_replicated(log, dst_acct, dst).storage_class == "GLACIER_IR"
    assert objs.prove(src_acct, src, dst_acct, dst, key="data/proof.txt").storage_class == "STANDARD"
    objs.assert_not_replicated(objs.put(src_acct, src, "other/c.txt"), dst_acct, dst)  # negative control
    assert_converged(ws, "apply")

    # Import reads both rules back as two blocks: only the grants (not readable from the source account) differ.
    ws.must("state", "rm", "crossrepl_source.data", json_out=False)
    ws.must("import", "-input=false", "crossrepl_source.data", src, json_out=False)
    ws.plan()
    assert changed_paths(ws) == {"crossrepl_source.data": ["destination[0].grant", "destination[1].grant"]}, \
        changed_paths(ws)
    ws.must("apply", "-input=false", "-auto-approve")
    assert_converged(ws, "apply after import")

    # Negative controls at plan time: an explicit id equal to the id derived for the second rule into the bucket
    # (now `logs`, as this block comes first) is refused...
    taken = {**to("dr"), "prefix": "tmp/", "rule_id": second}
    ws.write(head + source_resource("data", "src", src, [taken, logs, data]))
    r = ws.run("plan", "-input=false")
    assert not r.ok and "Duplicate replication rule id" in errors(r), r.transcript()
    assert "destination[0] already has" in errors(r), r.transcript()
    # ...and a rule for every key into the same bucket overlaps `logs/`: a warning says which rule wins.
    ws.write(head + source_resource("data", "src", src, [logs, data, to("dr")]))
    r = ws.must("plan", "-input=false")
    warned = [d for d in r.diagnostics("warning") if d.get("summary") == "Overlapping rules into one bucket"]
    assert len(warned) == 2 and all("destination[2] (priority 3) wins" in d["detail"] for d in warned), \
        r.transcript()
    assert counts(r) == (0, 1, 0), r.change_summary()
    ws.write(head + source_resource("data", "src", src, [logs, data]))
    ws.destroy()


def test_metrics_without_replication_time_control(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """`metrics = true` alone: the rule carries Metrics (Enabled, no EventThreshold, which S3 refuses without RTC)
    and no ReplicationTime, objects replicate, import reads it back; turning it off removes Metrics (the control);
    `metrics = false` with `replication_time_control = true` is refused at plan time."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    head = providers(ls.endpoint, src=src_acct, dst=dst_acct) + destination_resource("dr", "dst", dst, src_acct, src)

    def rule() -> dict:
        (only,) = aws.replication(src_acct, src)["Rules"]
        return only["Destination"]

    ws.write(head + source_resource("data", "src", src, [{**to("dr"), "metrics": True}]))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    d = rule()
    assert d.get("Metrics") == {"Status": "Enabled"} and "ReplicationTime" not in d, d
    aws.objects().prove(src_acct, src, dst_acct, dst)
    assert_converged(ws, "apply")

    ws.must("state", "rm", "crossrepl_source.data", json_out=False)
    ws.must("import", "-input=false", "crossrepl_source.data", src, json_out=False)
    ws.plan()
    assert changed_paths(ws) == {"crossrepl_source.data": ["destination[0].grant"]}, changed_paths(ws)
    ws.must("apply", "-input=false", "-auto-approve")
    assert_converged(ws, "apply after import")

    ws.write(head + source_resource("data", "src", src, [to("dr")]))
    ws.must("apply", "-input=false", "-auto-approve")
    assert "Metrics" not in rule(), rule()
    assert_converged(ws, "turning metrics off")

    ws.write(head + source_resource("data", "src", src, [{**to("dr"), "replication_time_control": True,
                                                          "metrics": False}]))
    r = ws.run("plan", "-input=false")
    assert not r.ok and "replication_time_control needs metrics" in errors(r), r.transcript()
    ws.write(head + source_resource("data", "src", src, [to("dr")]))
    ws.destroy()


def test_replica_key_by_alias(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """`replica_kms_key_arn` given as an alias ARN of the destination account: S3's rule carries the alias as
    written, the role's policy names the key behind it (IAM matches key ARNs only), the grant check compares that
    key with the destination's `replica_kms_key_arns`, and an SSE-KMS object arrives encrypted under it; the plan
    after apply is empty. The alias pointed at another key shows in the next plan, and apply follows it.
    Negative controls: an alias that does not exist, and one whose key the destination does not list, are refused
    at plan time."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    source_key, first, second = aws.create_key(src_acct), aws.create_key(dst_acct), aws.create_key(dst_acct)
    unlisted = aws.create_key(dst_acct)
    kms = aws.kms(dst_acct)
    for name, key in (("replicas", first), ("unlisted", unlisted)):
        kms.create_alias(AliasName=f"alias/{name}", TargetKeyId=key)
    alias = f"arn:aws:kms:us-east-1:{dst_acct}:alias/replicas"
    head = providers(ls.endpoint, src=src_acct, dst=dst_acct) + destination_resource(
        "dr", "dst", dst, src_acct, src, replica_kms_key_arns=[first, second])

    def source(replica_key: str) -> str:
        rule = {"replica_kms_key_arn": replica_key, "source_kms_key_arns": [source_key]}
        return source_resource("data", "src", src, [{**to("dr"), **rule}])

    def policy_keys() -> list[str]:
        doc = aws.policy_document(src_acct, policy_arn(src_acct, src))
        assert ":alias/" not in json.dumps(doc), doc
        return [s["Resource"] if isinstance(s["Resource"], str) else s["Resource"][0]
                for s in doc["Statement"] if s["Sid"].startswith("ReplicaKms")]

    ws.write(head + source(alias))
    ws.init()
    ws.must("apply", "-input=false", "-auto-approve")
    (rule,) = aws.replication(src_acct, src)["Rules"]
    assert rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"] == alias, rule
    assert policy_keys() == [first]
    objs = aws.objects()
    replica = objs.assert_replicated(objs.put(src_acct, src, "a.txt", kms_key=source_key, bucket_key=False),
                                     dst_acct, dst)
    assert (replica.encryption, replica.kms_key) == ("aws:kms", first), replica
    assert_converged(ws, "apply")

    # By key id: LocalStack 4.13.1 stores a key ARN given to UpdateAlias as an id and then finds no key for the
    # alias (AWS takes either).
    kms.update_alias(AliasName="alias/replicas", TargetKeyId=second.rsplit("/", 1)[1])
    ws.plan()
    # The refresh reads the new target (a change made outside), and the policy naming the old key is rewritten.
    assert changed_paths(ws) == {"crossrepl_source.data": ["policy_arn"]}, changed_paths(ws)
    ws.apply()
    assert policy_keys() == [second]
    replica = objs.assert_replicated(objs.put(src_acct, src, "b.txt", kms_key=source_key, bucket_key=False),
                                     dst_acct, dst)
    assert (replica.encryption, replica.kms_key) == ("aws:kms", second), replica
    assert_converged(ws, "following the alias")

    for name, summary in (("missing", "replica key alias does not exist"),
                          ("unlisted", "Replica key does not admit the role")):
        ws.write(head + source(f"arn:aws:kms:us-east-1:{dst_acct}:alias/{name}"))
        r = ws.run("plan", "-input=false")
        assert not r.ok and summary in errors(r), r.transcript()
    ws.write(head + source(alias))
    ws.destroy()


def test_existing_role(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    """`role_arn` names a role crossrepl did not create: apply writes versioning and a configuration naming it and
    creates no role or policy (`policy_arn` null), an object replicates (the engine assumes that role and checks its
    hand-written policy), the next plan is empty, and destroy removes the configuration only: the role, its trust
    policy, its attached policy and that policy's document are unchanged. Negative controls at plan time, at
    `role_arn` or the attribute named: a role trusting ec2.amazonaws.com, a destination admitting crossrepl's
    default role instead, `role_name` set together with `role_arn`, and a role of the destination's account. Moving
    to a managed role and back is in place: crossrepl creates its own role, then deletes it, never the other.
    Import by bucket name, with `role_arn` kept in the configuration, leaves the role as it is."""
    src_acct, dst_acct, src, dst, aws, _ = two_accounts
    iam = aws.iam(src_acct)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                                                      "Action": "sts:AssumeRole"}]}
    # The shape of the document crossrepl writes (provider::crossrepl::replication_role_policy), by hand.
    permissions = {"Version": "2012-10-17", "Statement": [
        {"Sid": "SourceBucket", "Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
         "Resource": arn(src)},
        {"Sid": "SourceObjects", "Effect": "Allow",
         "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
                    "s3:GetObjectRetention", "s3:GetObjectLegalHold"], "Resource": f"{arn(src)}/*"},
        {"Sid": "DestinationObjects", "Effect": "Allow",
         "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], "Resource": f"{arn(dst)}/*"}]}
    role = iam.create_role(RoleName="platform-replication", Path="/platform/",
                           AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    policy = iam.create_policy(PolicyName="platform-replication", PolicyDocument=json.dumps(permissions))["Policy"]
    iam.attach_role_policy(RoleName="platform-replication", PolicyArn=policy["Arn"])
    ec2_trust = {**trust, "Statement": [{**trust["Statement"][0], "Principal": {"Service": "ec2.amazonaws.com"}}]}
    ec2_role = iam.create_role(RoleName="ec2-only", AssumeRolePolicyDocument=json.dumps(ec2_trust))["Role"]

    def snapshot() -> tuple:
        r = aws.role(src_acct, "platform-replication")
        attached = iam.list_attached_role_policies(RoleName="platform-replication")["AttachedPolicies"]
        versions = iam.list_policy_versions(PolicyArn=policy["Arn"])["Versions"]
        return (r and (r["Arn"], r["AssumeRolePolicyDocument"], r.get("Tags", [])), attached, len(versions),
                aws.policy_document(src_acct, policy["Arn"]))

    before = snapshot()
    assert before[0] and before[3] == permissions, before

    def config(role_arn: str, admitted: tuple[str, str] = ("platform-replication", "/platform/"), **extra) -> str:
        name, path = admitted
        return (providers(ls.endpoint, src=src_acct, dst=dst_acct)
                + destination_resource("dr", "dst", dst, src_acct, src, source_role_name=name, source_role_path=path)
                + source_resource("data", "src", src, [to("dr")], role_arn=role_arn, **extra))

    def refused(hcl: str, text: str, attribute: str) -> None:
        """Plan fails with an error containing `text` whose source snippet shows `attribute`."""
        ws.write(hcl)
        r = ws.run("plan", "-input=false")
        found = [d for d in r.diagnostics("error") if text in f"{d.get('summary')}: {d.get('detail')}"]
        assert not r.ok and found, r.transcript()
        assert attribute in (found[0].get("snippet") or {}).get("code", ""), found[0]

    # Negative controls first (nothing applied yet): each refused at plan, at the attribute it concerns.
    ws.write(config(role["Arn"]))
    ws.init()
    refused(config(ec2_role["Arn"], admitted=("ec2-only", "/")), "does not let s3.amazonaws.com call sts:AssumeRole", "role_arn")
    refused(config(role["Arn"], admitted=(f"crossrepl-{src}", "/")), role["Arn"], "grant")
    refused(config(role["Arn"], role_name="mine"), "role_name cannot be used with role_arn", "role_name")
    other_account = f"arn:aws:iam::{dst_acct}:role/platform/platform-replication"
    refused(config(other_account), "the replication role is in another account", "role_arn")

    ws.write(config(role["Arn"]))
    ws.must("apply", "-input=false", "-auto-approve")
    assert aws.replication(src_acct, src)["Role"] == role["Arn"]
    shown = json.loads(ws.must("show", "-json", json_out=False).stdout)
    (source,) = [r for r in shown["values"]["root_module"]["resources"] if r["type"] == "crossrepl_source"]
    assert (source["values"]["role_arn"], source["values"]["policy_arn"], source["values"]["role_name"]) \
        == (role["Arn"], None, None), source["values"]
    assert aws.role(src_acct, f"crossrepl-{src}") is None  # no role of crossrepl's was made
    assert snapshot() == before, (snapshot(), before)
    aws.objects().prove(src_acct, src, dst_acct, dst)
    assert_converged(ws, "apply")

    # To a managed role: an in-place update that creates crossrepl's role and never touches the other one.
    managed = f"arn:aws:iam::{src_acct}:role/crossrepl-{src}"
    ws.write(providers(ls.endpoint, src=src_acct, dst=dst_acct)
             + destination_resource("dr", "dst", dst, src_acct, src) + source_resource("data", "src", src, [to("dr")]))
    r = ws.plan()
    assert "role_arn" in changed_paths(ws)["crossrepl_source.data"] and counts(r)[2] == 0, r.change_summary()
    ws.must("apply", "-input=false", "-auto-approve")
    assert aws.replication(src_acct, src)["Role"] == managed and aws.role(src_acct, f"crossrepl-{src}")
    assert snapshot() == before, (snapshot(), before)
    aws.objects().prove(src_acct, src, dst_acct, dst, key="managed.txt")
    assert_converged(ws, "moving to a managed role")

    # Back to the existing role: in place, and crossrepl deletes the role and policy it created.
    ws.write(config(role["Arn"]))
    r = ws.plan()
    assert counts(r)[2] == 0, r.change_summary()
    ws.must("apply", "-input=false", "-auto-approve")
    assert aws.replication(src_acct, src)["Role"] == role["Arn"]
    assert aws.role(src_acct, f"crossrepl-{src}") is None
    assert aws.policy_document(src_acct, policy_arn(src_acct, src)) is None
    assert snapshot() == before, (snapshot(), before)
    assert_converged(ws, "moving back to the existing role")

    # Import (id: the bucket) reads the role from the configuration as a managed one; with role_arn in the
    # configuration the next apply only forgets its names and leaves the role and its policy as they are.
    ws.must("state", "rm", "crossrepl_source.data", json_out=False)
    ws.must("import", "-input=false", "crossrepl_source.data", src, json_out=False)
    ws.must("apply", "-input=false", "-auto-approve")
    assert snapshot() == before, (snapshot(), before)
    assert_converged(ws, "apply after import")

    ws.destroy()
    assert aws.replication(src_acct, src) is None
    assert snapshot() == before, (snapshot(), before)
