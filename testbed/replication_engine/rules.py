"""Which replication rules of a bucket's configuration apply to an object, as S3 chooses them.

Pure functions over the configuration as PutBucketReplication stored it (the boto-style dict) and the object's
key, tags and encryption; no LocalStack in here, so the choice is unit-tested on its own.

AWS sources (docs/localstack.md lists them with quotes):
- "Replication configuration file elements" (S3 user guide): a rule selects objects by `Filter` (`Prefix`, `Tag`,
  or `And` of a prefix and tags; an empty filter selects everything) or, in the older V1 schema, by the rule-level
  `Prefix`; only `Enabled` rules apply; when several rules with the same destination bucket match, the one with
  the highest `Priority` wins, and rules to other destinations still apply.
- "Replicating delete markers between buckets": a delete marker is replicated only by a rule with
  `DeleteMarkerReplication` enabled, never by a rule with a tag filter (V1 rules always replicate them).
- "Replicating encrypted objects": SSE-KMS objects only by rules with
  `SourceSelectionCriteria.SseKmsEncryptedObjects` enabled.
- "Replicating metadata changes with replica modification sync": changes made on a replica are replicated back
  only by rules with `SourceSelectionCriteria.ReplicaModifications` enabled.
"""

from __future__ import annotations

from dataclasses import dataclass

KMS_ENCRYPTIONS = ("aws:kms", "aws:kms:dsse")


@dataclass(frozen=True)
class Selected:
    """One rule chosen for one destination bucket."""
    rule: dict
    destination_bucket: str  # the bucket name, from the rule's destination ARN

    @property
    def rule_id(self) -> str:
        return self.rule.get("ID", "")


def bucket_name(arn: str) -> str:
    """`arn:aws:s3:::name` (any partition) -> `name`; a plain name stays as it is."""
    return arn.split(":::", 1)[1] if ":::" in arn else arn


def is_v1(rule: dict) -> bool:
    return "Filter" not in rule and "Prefix" in rule


def prefix_and_tags(rule: dict) -> tuple[str, dict[str, str]]:
    """The prefix and the tags (all must be present) a rule's filter asks for."""
    if is_v1(rule):
        return rule.get("Prefix") or "", {}
    f = rule.get("Filter") or {}
    if "And" in f:
        a = f["And"] or {}
        return a.get("Prefix") or "", {t["Key"]: t["Value"] for t in a.get("Tags") or []}
    if "Tag" in f:
        return "", {f["Tag"]["Key"]: f["Tag"]["Value"]}
    return f.get("Prefix") or "", {}


def matches(rule: dict, key: str, tags: dict[str, str]) -> bool:
    prefix, wanted = prefix_and_tags(rule)
    return key.startswith(prefix) and all(tags.get(k) == v for k, v in wanted.items())


def enabled(section: dict | None) -> bool:
    return (section or {}).get("Status") == "Enabled"


def _winners(candidates: list[dict]) -> list[Selected]:
    """Per destination bucket, the candidate with the highest priority (the first one on a tie)."""
    best: dict[str, dict] = {}
    for rule in candidates:
        dest = bucket_name((rule.get("Destination") or {}).get("Bucket", ""))
        if dest not in best or int(rule.get("Priority") or 0) > int(best[dest].get("Priority") or 0):
            best[dest] = rule
    return [Selected(rule, dest) for dest, rule in best.items()]


def for_new_object(config: dict | None, key: str, tags: dict[str, str], encryption: str | None) -> list[Selected]:
    """The rules that replicate a newly written object (one per destination bucket)."""
    out = []
    for rule in (config or {}).get("Rules") or []:
        if rule.get("Status") != "Enabled" or not matches(rule, key, tags):
            continue
        criteria = rule.get("SourceSelectionCriteria") or {}
        if encryption in KMS_ENCRYPTIONS and not enabled(criteria.get("SseKmsEncryptedObjects")):
            continue
        out.append(rule)
    return _winners(out)


def for_delete_marker(config: dict | None, key: str) -> list[Selected]:
    """The rules that replicate a delete marker on `key`: the winning rule per destination among those whose
    filter can match a delete marker (no tags), and only if that rule replicates delete markers."""
    candidates = []
    for rule in (config or {}).get("Rules") or []:
        if rule.get("Status") != "Enabled":
            continue
        prefix, tags = prefix_and_tags(rule)
        if tags or not key.startswith(prefix):
            continue
        candidates.append(rule)
    return [s for s in _winners(candidates) if is_v1(s.rule) or enabled(s.rule.get("DeleteMarkerReplication"))]


def for_metadata_change(config: dict | None, key: str, tags: dict[str, str], encryption: str | None,
                        on_replica: bool) -> list[Selected]:
    """The rules that replicate a change of tags, ACL or Object Lock settings on an existing version: those that
    replicated the version itself; on a replica, only those with replica modification sync."""
    chosen = for_new_object(config, key, tags, encryption)
    if on_replica:
        chosen = [s for s in chosen
                  if enabled((s.rule.get("SourceSelectionCriteria") or {}).get("ReplicaModifications"))]
    return chosen
