"""Helpers shared by the network parts (ELBv2 first, also ACM and EC2).

- deterministic resource names (ELB names are at most 32 characters of [a-zA-Z0-9-]),
- owner-tag lookups with batched DescribeTags (20 ARNs per call, the API's maximum),
- `find_elb_resource`: the lookup load balancers and target groups share (by ARN, by the
  deterministic name the desired state gives, else by owner tags).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import is_not_found
from hybrid_gateway.aws.tags import Owner, as_dict
from hybrid_gateway.parts.base import PartContext

DESCRIBE_TAGS_BATCH = 20  # elbv2:DescribeTags accepts at most 20 ARNs
ELB_NAME_MAX = 32
_ELB_NAME_RE = re.compile(r"^(?!-)(?!.*--)[A-Za-z0-9-]{1,32}(?<!-)$")


def short_hash(*parts: object, length: int = 8) -> str:
    """Stable hex digest of `parts` (not security relevant, only for names and tokens)."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def elb_name(owner: Owner, code: str, *immutable: object) -> str:
    """`hg-<uid hash8>-<code>-<hash4 of the fields that cannot change in place>`.

    The owner hash makes the name findable after a crash; the immutable-field hash lets a
    replacement exist next to the resource it replaces (ELB names are unique per region).
    """
    name = f"hg-{short_hash(owner.uid)}-{code}-{short_hash(*immutable, length=4)}"
    if not _ELB_NAME_RE.match(name):  # pragma: no cover - guards against a bad `code`
        raise ValueError(f"not a valid ELB name: {name}")
    return name


def chunks(items: list[str], size: int = DESCRIBE_TAGS_BATCH) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def elb_tags(elbv2: Any, arns: Iterable[str]) -> dict[str, dict[str, str]]:
    """Tags of many ELB resources with one DescribeTags call per 20 ARNs.

    DescribeTags fails the whole batch when one ARN was deleted since it was listed; that batch
    is then asked one ARN at a time and the missing ones are left out.
    """
    result: dict[str, dict[str, str]] = {}
    for batch in chunks(sorted(set(arns))):
        try:
            descriptions = elbv2.describe_tags(ResourceArns=batch).get("TagDescriptions", [])
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            if len(batch) > 1:
                for arn in batch:
                    result.update(elb_tags(elbv2, [arn]))
            continue
        for desc in descriptions:
            result[desc["ResourceArn"]] = as_dict(desc.get("Tags"))
    return result


def owned_arns(ctx: PartContext, elbv2: Any, arns: Iterable[str], part: str) -> set[str]:
    """The subset of `arns` tagged as `part` of `ctx.owner`."""
    return {arn for arn, tags in elb_tags(elbv2, arns).items() if ctx.owner.owns(tags, part)}


def norm_set(values: Iterable[str] | None) -> list[str]:
    return sorted(set(values or ()))


@dataclass(frozen=True)
class ElbKind:
    """How one ELBv2 resource kind is described: the operation, its answer list and ARN keys."""

    operation: str  # "describe_load_balancers"
    items: str  # "LoadBalancers"
    arn_key: str  # "LoadBalancerArn"

    @property
    def arns_param(self) -> str:
        return self.arn_key + "s"


def describe_one(elbv2: Any, kind: ElbKind, **query: Any) -> dict[str, Any] | None:
    """The first item a Describe call answers, or None when AWS says it does not exist."""
    try:
        found = getattr(elbv2, kind.operation)(**query)[kind.items]
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    return dict(found[0]) if found else None


def find_elb_resource(
    ctx: PartContext, kind: ElbKind, part: str, known_arn: str | None, name: str | None,
    pick: Callable[[list[dict[str, Any]]], dict[str, Any]],
    where: Callable[[dict[str, Any]], bool] = lambda item: True,
) -> dict[str, Any] | None:
    """By ARN (if ours), else by `name` (deterministic, so ours), else `pick` among those of the
    region that pass `where` and carry our owner tags (tags fetched 20 ARNs per call)."""
    elbv2 = ctx.client("elbv2")
    if known_arn:
        item = describe_one(elbv2, kind, **{kind.arns_param: [known_arn]})
        if item is not None and owned_arns(ctx, elbv2, [known_arn], part):
            return item
    if name:
        item = describe_one(elbv2, kind, Names=[name])
        if item is not None:
            return item
    paginator: Any = elbv2.get_paginator(kind.operation)  # type: ignore[call-overload]  # one of two
    everything = [i for page in paginator.paginate() for i in page[kind.items] if where(i)]
    owned = owned_arns(ctx, elbv2, [i[kind.arn_key] for i in everything], part)
    candidates = [i for i in everything if i[kind.arn_key] in owned]
    return pick(candidates) if candidates else None
