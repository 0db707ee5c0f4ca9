"""Helpers shared by the network parts (ELBv2 first, also ACM and EC2).

- deterministic resource names (ELB names are at most 32 characters of [a-zA-Z0-9-]),
- owner-tag lookups with batched DescribeTags (20 ARNs per call, the API's maximum),
- `describe_recorded`: a pass's read cache, so that one Describe call answers for every ARN of a
  kind that the owner's status recorded (both load balancers, both target groups, both listeners),
  and for those of the other objects' passes running at the same time (aws/shared_reads.py),
- `find_elb_resource`: the lookup load balancers and target groups share (by ARN, by the
  deterministic name the desired state gives, else, only when removing without an id, by owner tags).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import is_not_found
from hybrid_gateway.aws.shared_reads import SharedKind, describe_ids
from hybrid_gateway.aws.tags import Owner, as_dict
from hybrid_gateway.parts.base import PartContext, shared_read

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


def elb_tags(elbv2: Any, arns: Iterable[str]) -> dict[str, dict[str, str]]:
    """Tags of many ELB resources with one DescribeTags call per 20 ARNs (one deleted since it was
    listed is left out)."""
    found = describe_ids(lambda batch: elbv2.describe_tags(ResourceArns=batch).get("TagDescriptions", []),
                         "ResourceArn", arns, DESCRIBE_TAGS_BATCH)
    return {arn: as_dict(desc.get("Tags")) for arn, desc in found.items() if desc is not None}


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
    arn_marker: str  # ":loadbalancer/": what the kind's ARNs contain (their resource type)

    @property
    def arns_param(self) -> str:
        return self.arn_key + "s"

    @property
    def shared(self) -> SharedKind:
        """Described across objects (a pass asks for 100 ARNs at most: five calls)."""
        return SharedKind(f"elbv2:{self.operation}",
                          lambda clients, arns: describe_many(clients.client("elbv2"), self, arns))


LOAD_BALANCERS = ElbKind("describe_load_balancers", "LoadBalancers", "LoadBalancerArn", ":loadbalancer/")
TARGET_GROUPS = ElbKind("describe_target_groups", "TargetGroups", "TargetGroupArn", ":targetgroup/")
LISTENERS = ElbKind("describe_listeners", "Listeners", "ListenerArn", ":listener/")
DESCRIBE_ARNS_BATCH = 20  # DescribeLoadBalancers takes at most 20 ARNs; the same batch serves all three


def describe_one(elbv2: Any, kind: ElbKind, **query: Any) -> dict[str, Any] | None:
    """The first item a Describe call answers, or None when AWS says it does not exist."""
    try:
        found = getattr(elbv2, kind.operation)(**query)[kind.items]
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    return dict(found[0]) if found else None


def describe_many(elbv2: Any, kind: ElbKind, arns: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """Each of `arns` described, with one call per 20 ARNs (None: it does not exist)."""
    return describe_ids(lambda batch: getattr(elbv2, kind.operation)(**{kind.arns_param: batch})[kind.items],
                        kind.arn_key, arns, DESCRIBE_ARNS_BATCH)


@dataclass
class _PassReads:
    """What one pass has described of one kind: answers not yet taken, and every ARN asked once."""

    answers: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)


def describe_recorded(ctx: PartContext, kind: ElbKind, arn: str) -> dict[str, Any] | None:
    """`arn` described, batched with every other ARN of `kind` the owner's status recorded.

    The first part of a pass to ask for one of them describes them all in one call (an ALB and an
    NLB, two target groups, two listeners), with the other passes' ARNs of the kind (`shared_read`);
    the others take their answer from `ctx.reads`. Each
    answer is taken once: a second read of the same ARN in the pass (after a write) asks AWS again.
    """
    if ctx.reads is None:
        return describe_many(ctx.client("elbv2"), kind, [arn])[arn]
    reads: _PassReads = ctx.reads.setdefault(kind.operation, _PassReads())
    if arn not in reads.answers:
        wanted = {arn} if arn in reads.asked else {
            a for a in ctx.recorded if kind.arn_marker in a and a not in reads.asked} | {arn}
        reads.asked |= wanted
        reads.answers.update(shared_read(ctx, kind.shared, wanted))
    return reads.answers.pop(arn, None)


@dataclass(frozen=True)
class ElbFound:
    item: dict[str, Any]
    owned: bool = True


def find_elb_resource(
    ctx: PartContext, kind: ElbKind, part: str, known_arn: str | None, name: str | None,
    pick: Callable[[list[dict[str, Any]]], dict[str, Any]],
    where: Callable[[dict[str, Any]], bool] = lambda item: True,
) -> ElbFound | None:
    """By ARN (ours without a tag read when status recorded it, else if its tags say so), else by
    `name`, else (removing without an id: no desired state gives the name) `pick` among those of the
    region that pass `where` and carry our owner tags (tags fetched 20 ARNs per call).

    The name is deterministic (`elb_name`: it carries the owner's uid hash), so creating and
    adopting after a crash cost one Describe by name and, when found, one DescribeTags for that
    one candidate (a name someone else took is found not owned, and refused): no region listing.
    """
    elbv2 = ctx.client("elbv2")
    if known_arn:
        item = describe_recorded(ctx, kind, known_arn)
        if item is not None and (ctx.is_recorded(known_arn) or owned_arns(ctx, elbv2, [known_arn], part)):
            return ElbFound(item)
    if name:
        # Names=[missing] answers LoadBalancerNotFound / TargetGroupNotFound (docs/aws-behaviour.md).
        item = describe_one(elbv2, kind, Names=[name])
        if item is None:
            return None
        return ElbFound(item, owned=bool(owned_arns(ctx, elbv2, [item[kind.arn_key]], part)))
    paginator: Any = elbv2.get_paginator(kind.operation)  # type: ignore[call-overload]  # one of two
    everything = [i for page in paginator.paginate() for i in page[kind.items] if where(i)]
    owned = owned_arns(ctx, elbv2, [i[kind.arn_key] for i in everything], part)
    candidates = [i for i in everything if i[kind.arn_key] in owned]
    return ElbFound(pick(candidates)) if candidates else None
