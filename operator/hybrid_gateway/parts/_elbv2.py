"""Helpers shared by the network parts (ELBv2 first, also ACM and EC2).

- deterministic resource names (ELB names are at most 32 characters of [a-zA-Z0-9-]),
- owner-tag lookups with batched DescribeTags (20 ARNs per call, the API's maximum),
- `InputError`: what the user must fix, for the reconciler to report as Stalled,
- `ReplaceFirstPart`: an `ensure()` that builds a replacement before the old resource goes,
  because AWS refuses to delete what a dependent still references (a target group behind a
  listener, a certificate on a listener, a security group on a load balancer).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, TypeVar

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import is_not_found
from hybrid_gateway.aws.tags import Owner, as_dict
from hybrid_gateway.parts.base import InputError as InputError  # re-export: older imports
from hybrid_gateway.parts.base import Observed, Outcome, Part, PartContext

D = TypeVar("D")

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


class ReplaceFirstPart(Part[D]):
    """A part whose replacement is created before the old resource is given up.

    `ensure()` differs from `Part.ensure()` in two ways:
    - with no `known_id` it first asks `locate()` for the resource the desired state names
      (a deterministic name), so an adoption after a crash picks the right one of two;
    - on a `replace_on` change it creates (or adopts) the replacement and does NOT delete the
      old resource: dependents still point at it. The old id is returned in
      `observed.state["supersedes"]`; the reconciler removes it with `remove(ctx, id)` once the
      dependents point at the new one. `retire()` can be overridden to delete at once where
      nothing can depend on the old resource.
    """

    replace_on: ClassVar[frozenset[str]] = frozenset()

    def locate(self, ctx: PartContext, desired: D) -> str | None:
        """The id of the resource built for exactly `desired` (by name), if any. Never writes."""
        return None

    def retire(self, ctx: PartContext, old: Observed, new: Observed) -> None:
        new.state["supersedes"] = old.id

    def ensure(self, ctx: PartContext, desired: D, known_id: str | None) -> Outcome:
        if known_id is None:
            known_id = self.locate(ctx, desired)
        observed = self.find(ctx, known_id)
        if observed is None:
            return Outcome(self.name, self.create(ctx, desired), "Created")
        changes = self.diff(desired, observed)
        if not changes:
            return Outcome(self.name, observed)
        if not self.replace_on.intersection(changes):
            return Outcome(self.name, self.update(ctx, desired, observed, changes), "Updated", changes)
        # A replacement may already exist (a crash after creating it): adopt, then converge it.
        replacement_id = self.locate(ctx, desired)
        replacement = None
        if replacement_id is not None and replacement_id != observed.id:
            replacement = self.find(ctx, replacement_id)
        if replacement is None:
            replacement = self.create(ctx, desired)
        else:
            rest = self.diff(desired, replacement)
            if rest and not self.replace_on.intersection(rest):
                replacement = self.update(ctx, desired, replacement, rest)
        self.retire(ctx, observed, replacement)
        return Outcome(self.name, replacement, "Replaced", changes)
