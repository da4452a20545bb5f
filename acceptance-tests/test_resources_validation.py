"""Scenario 8: bad input fails at plan time, with a diagnostic that names the attribute (its source range and
snippet point at it in main.tf), and nothing is created in either account. One workspace, init once, main.tf
rewritten per case."""

from __future__ import annotations

from dataclasses import dataclass, field

from lib.harness import Run, Workspace
from lib.naming import arn
from lib.scenarios import TwoAccounts, destination_resource, providers, source_resource, to
from lib.services import LocalStack

KMS_ALIAS = "arn:aws:kms:us-east-1:111122223333:alias/replicas"
KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@dataclass
class Case:
    name: str
    resource: str  # address the diagnostic must carry
    attribute: str  # attribute the diagnostic's source snippet must show
    summary: str  # expected in the diagnostic summary
    detail: str = ""  # expected in the detail (case-insensitive)
    source: dict = field(default_factory=dict)  # overrides of the crossrepl_source "data" block
    dests: list | None = None  # destination blocks (default: one, to crossrepl_destination.dr)
    destination: dict = field(default_factory=dict)  # overrides of the crossrepl_destination "dr" block


def cases(src: str, dst: str, other: str) -> list[Case]:
    dr = to("dr")
    return [
        Case("invalid source bucket name", "crossrepl_source.data", "bucket", "Invalid bucket name",
             source={"bucket": "Not_A_Bucket"}),
        Case("invalid destination bucket name", "crossrepl_destination.dr", "bucket", "Invalid bucket name",
             destination={"bucket": "-leading-hyphen"}),
        Case("11-digit source_account_id", "crossrepl_destination.dr", "source_account_id",
             "Invalid source account id", destination={"source_account_id": "12345678901"}),
        Case("11-digit destination account_id", "crossrepl_source.data", "account_id", "Invalid account id",
             "12 digits", dests=[{"bucket_arn": arn(dst), "account_id": "12345678901"}]),
        Case("bucket_arn not an S3 ARN", "crossrepl_source.data", "bucket_arn", "Invalid destination bucket ARN",
             dests=[{"bucket_arn": "arn:aws:sqs:us-east-1:123456789012:queue"}]),
        Case("bucket_arn a bare bucket name", "crossrepl_source.data", "bucket_arn", "Invalid destination bucket ARN",
             dests=[{"bucket_arn": dst}]),
        Case("source bucket as a destination", "crossrepl_source.data", "bucket_arn",
             "Destination bucket is the source bucket", dests=[dr, {"bucket_arn": arn(src)}]),
        Case("owner_override without account_id", "crossrepl_source.data", "owner_override",
             "owner_override needs account_id", dests=[{"bucket_arn": arn(other), "owner_override": True}]),
        # Several rules into one bucket are fine; an explicit id equal to the one derived for the second is not.
        Case("rule id taken from a second rule into one bucket (literal ARNs)", "crossrepl_source.data",
             "bucket_arn", "Duplicate replication rule id",
             dests=[{"bucket_arn": arn(other), "rule_id": f"crossrepl-{other}#2"},
                    {"bucket_arn": arn(other), "prefix": "logs/"}]),
        Case("rule id taken from a second rule into one bucket (references)", "crossrepl_source.data",
             "bucket_arn", "Duplicate replication rule id",
             dests=[{**dr, "rule_id": f"crossrepl-{dst}#2"}, {**dr, "prefix": "logs/"}]),
        Case("duplicate explicit priorities", "crossrepl_source.data", "priority",
             "Duplicate replication rule priority", dests=[{**dr, "priority": 5},
                                                           {"bucket_arn": arn(other), "priority": 5}]),
        Case("explicit priority equal to another block's position", "crossrepl_source.data", "priority",
             "Duplicate replication rule priority", dests=[dr, {"bucket_arn": arn(other), "priority": 1}]),
        Case("tag filter with delete_marker_replication = true", "crossrepl_source.data",
             "delete_marker_replication", "Delete-marker replication cannot be used with a tag filter",
             dests=[{**dr, "tags": {"replicate": "yes"}, "delete_marker_replication": True}]),
        Case("replication_time_control with metrics = false", "crossrepl_source.data", "metrics",
             "replication_time_control needs metrics",
             dests=[{**dr, "replication_time_control": True, "metrics": False}]),
        Case("invalid storage class", "crossrepl_source.data", "storage_class",
             "Invalid replication storage class", dests=[{**dr, "storage_class": "SUPER_FAST"}]),
        # A replica key by alias ARN is accepted and resolved at plan time: one that does not exist is refused,
        # and so is the alias of an AWS managed key (no other account may use it).
        Case("KMS alias that does not exist as replica key", "crossrepl_source.data", "replica_kms_key_arn",
             "replica key alias does not exist", KMS_ALIAS,
             dests=[{**dr, "replica_kms_key_arn": KMS_ALIAS, "source_kms_key_arns": [KMS_KEY]}]),
        Case("alias of an AWS managed key as replica key", "crossrepl_source.data", "replica_kms_key_arn",
             "Invalid KMS key ARN", "AWS managed",
             dests=[{**dr, "replica_kms_key_arn": "arn:aws:kms:us-east-1:111122223333:alias/aws/s3",
                     "source_kms_key_arns": [KMS_KEY]}]),
        Case("KMS alias as source key", "crossrepl_source.data", "source_kms_key_arns", "Invalid KMS key ARN",
             "alias", dests=[{**dr, "replica_kms_key_arn": KMS_KEY, "source_kms_key_arns": [KMS_ALIAS]}]),
        Case("replica key without SSE-KMS selection (S3 refuses it)", "crossrepl_source.data", "replica_kms_key_arn",
             "replica_kms_key_arn needs source_kms_key_arns", dests=[{**dr, "replica_kms_key_arn": KMS_KEY}]),
        Case("destination admits another role (role_name not repeated on it)", "crossrepl_source.data", "grant",
             "Destination admits another role", 'source_role_name = "team-replication"',
             source={"role_name": "team-replication"}),
        Case("owner override the destination does not accept", "crossrepl_source.data", "owner_override",
             "Destination does not accept owner override", "accept_owner_override = true",
             dests=[{**dr, "owner_override": True}]),
        Case("KMS alias as source key", "crossrepl_source.data", "source_kms_key_arns", "Invalid KMS key ARN",
             "alias", dests=[{**dr, "replica_kms_key_arn": KMS_KEY, "source_kms_key_arns": [KMS_ALIAS]}]),
    ]


def matching(run: Run, case: Case) -> list[dict]:
    return [d for d in run.diagnostics("error")
            if case.summary in (d.get("summary") or "") and case.detail.lower() in (d.get("detail") or "").lower()]


def test_bad_input_fails_at_plan(ws: Workspace, ls: LocalStack, two_accounts: TwoAccounts) -> None:
    src_acct, dst_acct, src, dst, aws, n = two_accounts
    other = n.bucket("other")
    aws.create_bucket(src_acct, other)

    def config(case: Case | None) -> str:
        c = case or Case("valid", "", "", "")
        d = {"bucket": dst, "source_account_id": src_acct, "source_bucket": src, **c.destination}
        s = {"bucket": src, **c.source}
        return (providers(ls.endpoint, src=src_acct, dst=dst_acct)
                + destination_resource("dr", "dst", d.pop("bucket"), d.pop("source_account_id"),
                                       d.pop("source_bucket"), **d)
                + source_resource("data", "src", s.pop("bucket"), c.dests or [to("dr")], **s))

    ws.write(config(None))
    ws.init()
    valid = ws.run("plan", "-input=false")
    assert valid.ok, f"the baseline configuration must be valid: {[d.get('summary') for d in valid.diagnostics()]}"

    failures = []
    for case in cases(src, dst, other):
        ws.write(config(case))
        r = ws.run("plan", "-input=false")
        errors = r.diagnostics("error")
        shown = "\n".join(f"  [{d.get('address')}] {d.get('summary')}: {d.get('detail')} "
                          f"@ {(d.get('snippet') or {}).get('code', '').strip()!r}" for d in errors)
        if r.ok:
            failures.append(f"{case.name}: plan succeeded")
            continue
        found = matching(r, case)
        if not found:
            failures.append(f"{case.name}: no error with summary {case.summary!r}"
                            f"{' and detail ~ ' + repr(case.detail) if case.detail else ''}; errors:\n{shown}")
            continue
        d = found[0]
        code = (d.get("snippet") or {}).get("code", "")
        problems = []
        if d.get("address") != case.resource:
            problems.append(f"address {d.get('address')!r}, expected {case.resource!r}")
        if (d.get("range") or {}).get("filename") != "main.tf":
            problems.append(f"range {d.get('range')} does not point into main.tf")
        if case.attribute not in code:
            problems.append(f"the snippet {code.strip()!r} does not show the attribute {case.attribute!r}")
        if len(errors) != 1:
            problems.append(f"{len(errors)} errors, expected only this one")
        if problems:
            failures.append(f"{case.name}: " + "; ".join(problems) + f"; errors:\n{shown}")

    assert not failures, f"{ws.engine}: {len(failures)} validation case(s) wrong:\n" + "\n".join(failures)

    # plan never writes: nothing exists in either account
    for account in (src_acct, dst_acct):
        assert aws.local_roles(account) == [] and aws.local_policies(account) == [], f"IAM entities in {account}"
    for account, bucket in ((src_acct, src), (src_acct, other), (dst_acct, dst)):
        assert aws.versioning(account, bucket) is None, f"versioning was turned on for {bucket}"
        assert aws.bucket_policy(account, bucket) is None, f"a bucket policy was written on {bucket}"
        assert aws.replication(account, bucket) is None, f"replication was configured on {bucket}"
