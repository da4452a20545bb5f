"""Authorization of the requests the S3 replication service makes, decided by Principal Mapper (NCC Group's IAM
policy simulator, PyPI `principalmapper-0ca`), never by crossrepl's own code.

Everything here takes plain documents (dicts) and ARNs, as LocalStack stores them, and answers a `Verdict`: allowed
or not, and when not, which document did not allow the request. The final yes/no is always Principal Mapper's
`local_check_authorization_full` (identity policies, permissions boundary, resource policy, cross-account rules);
the partial evaluations after a "no" only name the document to blame in the log line.
"""

from __future__ import annotations

import collections
import collections.abc
import json
import urllib.parse
from dataclasses import dataclass, field

# Principal Mapper 1.1.5 imports collections.Mapping / MutableMapping, gone since Python 3.10.
collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
collections.MutableMapping = collections.abc.MutableMapping  # type: ignore[attr-defined]

from principalmapper.common import Node, Policy  # noqa: E402
from principalmapper.querying import local_policy_simulation as sim  # noqa: E402
from principalmapper.querying.query_interface import (  # noqa: E402
    local_check_authorization, local_check_authorization_full)

S3_SERVICE = "s3.amazonaws.com"
ALLOWING = (sim.ResourcePolicyEvalResult.NODE_MATCH, sim.ResourcePolicyEvalResult.ROOT_MATCH,
            sim.ResourcePolicyEvalResult.DIFF_ACCOUNT_MATCH)


def document(text_or_doc) -> dict | None:
    """A policy document from what a store holds: a dict, JSON text, or URL-encoded JSON text (IAM)."""
    if text_or_doc is None or isinstance(text_or_doc, dict):
        return text_or_doc
    text = str(text_or_doc).strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(urllib.parse.unquote(text))


@dataclass
class Role:
    """An IAM role as the evaluator needs it."""
    arn: str
    role_id: str
    trust: dict | None
    policies: list[tuple[str, dict]] = field(default_factory=list)  # (name or ARN, document): managed + inline
    boundary: tuple[str, dict] | None = None  # (ARN, document)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    def node(self, with_boundary: bool = True) -> Node:
        boundary = Policy(self.boundary[0], self.boundary[0], self.boundary[1]) if self.boundary and with_boundary \
            else None
        return Node(self.arn, self.role_id, [Policy(n, n, d) for n, d in self.policies], [], self.trust, None, 0,
                    False, False, boundary, False, dict(self.tags))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""  # why not: which document did not allow the request

    def __bool__(self) -> bool:
        return self.allowed


def assume_role(role: Role, source_account: str, source_bucket_arn: str, service: str = S3_SERVICE) -> Verdict:
    """S3 assumes the replication role: the trust policy must let the service principal `s3.amazonaws.com` call
    sts:AssumeRole, with the confused-deputy keys S3 sends (aws:SourceAccount, aws:SourceArn). S3 Batch Operations
    assumes a job's role the same way as `batchoperations.s3.amazonaws.com` (the source ARN is then the job's)."""
    if not role.trust:
        return Verdict(False, f"role {role.arn} has no trust policy")
    keys = {"aws:SourceAccount": source_account, "aws:SourceArn": source_bucket_arn}
    result = sim.resource_policy_authorization(service, role.account, role.trust, "sts:AssumeRole", role.arn,
                                               keys)
    if result is sim.ResourcePolicyEvalResult.SERVICE_MATCH:
        return Verdict(True)
    what = "explicitly denies" if result is sim.ResourcePolicyEvalResult.DENY_MATCH else "does not allow"
    return Verdict(False, f"the trust policy of {role.arn} {what} {service} sts:AssumeRole with "
                          f"aws:SourceAccount={source_account}, aws:SourceArn={source_bucket_arn}")


def check(role: Role, action: str, resource: str, resource_policy: dict | None, resource_owner: str,
          resource_label: str, conditions: dict[str, str] | None = None) -> Verdict:
    """Whether `role` may call `action` on `resource` (owned by `resource_owner`, whose policy is
    `resource_policy`, described as `resource_label` in reasons: "the bucket policy of b", "the key policy of k")."""
    conditions = dict(conditions or {})
    effective = resource_policy
    if effective is None and role.account != resource_owner:
        # Across accounts the resource's owner must allow too; with no resource policy nothing does (Principal
        # Mapper skips the cross-account rule when it is given no resource policy at all).
        effective = {"Version": "2012-10-17", "Statement": []}
    owner = resource_owner if effective is not None else None
    if local_check_authorization_full(role.node(), action, resource, conditions, effective, owner):
        return Verdict(True)
    return Verdict(False, _blame(role, action, resource, resource_policy, resource_owner, resource_label, conditions))


def _blame(role: Role, action: str, resource: str, resource_policy: dict | None, owner: str, label: str,
           conditions: dict[str, str]) -> str:
    """Names the document(s) that did not allow a denied request."""
    reasons = []
    identity = local_check_authorization(role.node(with_boundary=False), action, resource, dict(conditions))
    rp = None
    if resource_policy is not None:
        rp = sim.resource_policy_authorization(role.node(), owner, resource_policy, action, resource,
                                               _context(role, conditions))
    if rp is sim.ResourcePolicyEvalResult.DENY_MATCH:
        reasons.append(f"{label} explicitly denies it")
    cross_account = role.account != owner
    needs_rp = cross_account or resource.startswith("arn:aws:kms:") or ":kms:" in resource
    if needs_rp and rp in (None, sim.ResourcePolicyEvalResult.NO_MATCH):
        reasons.append(f"{label} does not allow it" if resource_policy is not None else f"{label} is missing")
    rp_grants_alone = rp is sim.ResourcePolicyEvalResult.NODE_MATCH and not cross_account
    if not identity and not rp_grants_alone:
        names = ", ".join(n for n, _ in role.policies) or "none"
        reasons.append(f"the identity policies of {role.arn} ({names}) do not allow it")
    if identity and role.boundary:
        boundary_arn, boundary_doc = role.boundary
        as_policies = Role(role.arn, role.role_id, role.trust, [(boundary_arn, boundary_doc)], None, role.tags)
        if not local_check_authorization(as_policies.node(), action, resource, dict(conditions)):
            reasons.append(f"the permissions boundary {boundary_arn} does not allow it")
    return "; ".join(reasons) or "denied by the combination of the role's policies and " + label


def _context(role: Role, conditions: dict[str, str]):
    """The request context Principal Mapper builds for a role (aws:PrincipalArn, aws:PrincipalAccount, ...)."""
    from principalmapper.querying.query_interface import _infer_condition_keys, _prepare_condition_context

    keys = _prepare_condition_context(dict(conditions))
    keys.update(_infer_condition_keys(role.node(), keys))
    return keys
