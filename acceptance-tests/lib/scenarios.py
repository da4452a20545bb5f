"""What a scenario is made of: two accounts with a bucket each, and the HCL that configures crossrepl over them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import NamedTuple

from lib.aws_readers import Aws
from lib.harness import SOURCE
from lib.naming import Names, arn


class TwoAccounts(NamedTuple):
    """The usual scenario: a source account with bucket `src`, a destination account with bucket `dst` (accounts 0
    and 1, buckets "src" and "dst" of `names`), and boto3 views of them. A tuple, so a test can take it apart:
    `src_acct, dst_acct, src, dst, aws, names = two_accounts`."""
    src_acct: str
    dst_acct: str
    src: str
    dst: str
    aws: Aws
    names: Names

    @classmethod
    def create(cls, aws: Aws, names: Names) -> TwoAccounts:
        """Both buckets created, versioning off (crossrepl turns it on)."""
        t = cls(names.account(0), names.account(1), names.bucket("src"), names.bucket("dst"), aws, names)
        aws.create_bucket(t.src_acct, t.src)
        aws.create_bucket(t.dst_acct, t.dst)
        return t


# ---- HCL -------------------------------------------------------------------------------------------------------

def provider_block(endpoint: str, account: str, alias: str | None = None) -> str:
    alias_line = f'  alias = "{alias}"\n' if alias else ""
    return f"""provider "crossrepl" {{
{alias_line}  region            = "us-east-1"
  access_key        = "{account}"
  secret_key        = "test"
  s3_use_path_style = true
  endpoints {{
    s3  = "{endpoint}"
    iam = "{endpoint}"
    sts = "{endpoint}"
    kms = "{endpoint}"
    s3control = "{endpoint}"
  }}
}}
"""


def required_providers(version: str | None = None) -> str:
    constraint = f'\n      version = "{version}"' if version else ""
    return f"""terraform {{
  required_providers {{
    crossrepl = {{
      source  = "{SOURCE}"{constraint}
    }}
  }}
}}
"""


def providers(endpoint: str, **aliases: str) -> str:
    """required_providers plus one aliased provider block per account: providers(ep, src="1…", dst="2…")."""
    return required_providers() + "".join(provider_block(endpoint, account, alias)
                                          for alias, account in aliases.items())


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
    return _destination(name, provider, bucket, {"source_account_id": source_account, "source_bucket": source_bucket,
                                                 **extra})


def organization_destination_resource(name: str, provider: str, bucket: str, organization_id: str, **extra) -> str:
    """A crossrepl_destination in organization mode."""
    return _destination(name, provider, bucket, {"source_organization_id": organization_id, **extra})


def _destination(name: str, provider: str, bucket: str, attributes: dict) -> str:
    body = "".join(f"  {k} = {hcl_value(v)}\n" for k, v in attributes.items())
    return f"""
resource "crossrepl_destination" "{name}" {{
  provider = crossrepl.{provider}
  bucket   = "{bucket}"
{body}}}
"""


def to(dest_resource: str, same_account: bool = False) -> dict:
    """A destination block pointing at crossrepl_destination.<dest_resource> by reference, with its grant (what the
    documentation recommends: plan then checks the destination admits this source)."""
    d = {"bucket_arn": Ref(f"crossrepl_destination.{dest_resource}.bucket_arn")}
    if not same_account:
        d["account_id"] = Ref(f"crossrepl_destination.{dest_resource}.account_id")
    d["grant"] = Ref(f"crossrepl_destination.{dest_resource}.grant")
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


# A third account that holds replica keys: their key policies are managed there (with the statement of the function
# replica_key_policy_statement), so no crossrepl_destination lists them. A replica key of the destination account
# that its crossrepl_destination does not list is refused at plan time.
KEY_ACCOUNT = "333333333333"


def made_up_kms_key(account: str, multi_region: bool = False) -> str:
    """A well-formed KMS key ARN of no existing key (replicas of SSE-KMS objects under it would fail)."""
    key = "mrk-0123456789abcdef0123456789abcdef" if multi_region else "1234abcd-12ab-34cd-56ef-1234567890ab"
    return f"arn:aws:kms:us-east-1:{account}:key/{key}"


def every_option_config(endpoint: str, src_acct: str, dst_acct: str, src: str, dst: str, local: str) -> str:
    """Every optional attribute in use at once: role path, tags, boundary, owner override, KMS, RTC, replica
    modifications, tag+prefix filter, storage class, explicit priority, and a disabled same-account rule."""
    full = {**to("dr"), "prefix": "data/", "tags": {"replicate": "yes", "tier": "gold"},
            "delete_marker_replication": False, "storage_class": "GLACIER_IR", "owner_override": True,
            "replica_kms_key_arn": made_up_kms_key(KEY_ACCOUNT),
            "source_kms_key_arns": [made_up_kms_key(src_acct, multi_region=True)],
            "replication_time_control": True, "replica_modifications": True, "priority": 10}
    return (providers(endpoint, src=src_acct, dst=dst_acct)
            + destination_resource("dr", "dst", dst, src_acct, src, source_role_path="/replication/",
                                   accept_owner_override=True)
            + source_resource("data", "src", src, [full, {"bucket_arn": arn(local), "enabled": False}],
                              role_path="/replication/", tags={"team": "storage", "env": "test"},
                              permissions_boundary="arn:aws:iam::aws:policy/AmazonS3FullAccess"))
