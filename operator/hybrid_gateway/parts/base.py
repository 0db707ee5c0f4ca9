"""The part contract (Crossplane's managed-resource pattern, in Python).

A part knows one AWS resource kind: how to find it (by id, then by what the desired state names,
then by owner tags), how desired differs from observed (a pure function), and how to create, update
and delete it. What differs between kinds is declared, not coded:

- `ownership`: whether the operator made the resource (and may change and delete it), only refers to
  the user's, or uses whichever it finds (`Ownership`);
- `replace_on` and `replacement`: which differences cannot be changed in place, and in which order a
  replacement is made (`Replacement`);
- `refuse()`: what the part will not do for this desired state (a Stalled, before any write).

`ensure()` and `remove()` are the only drivers, here and nowhere else: observe -> diff -> act, with
no write when nothing differs.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar

from hybrid_gateway.aws.clients import RegionalClients
from hybrid_gateway.aws.shared_reads import SharedKind, SharedPass
from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.errors import Stalled

D = TypeVar("D")  # the desired state a part is given
S = TypeVar("S")  # the typed state a part observes (a dataclass per part)


class Ownership(Enum):
    """Who a part's resources belong to."""

    # Made by the operator, changed and deleted by it. One found under the desired id that is not ours
    # (someone else's domain name of the same name) is refused.
    OWNED = "owned"
    # The user's (an ACM certificate named by ARN): only read. Missing or unusable is refused; never
    # created, changed or deleted.
    REFERENCED = "referenced"
    # Either: made when missing and kept in the desired state, but deleted only when ours (a truststore
    # bucket the user may bring).
    SHARED = "shared"


class Replacement(Enum):
    """How a `replace_on` difference is carried out."""

    # Delete the old resource, then create the new one: nothing can point at the old one meanwhile.
    DELETE_FIRST = "delete-first"
    # Create the new one, then delete the old one at once (a renamed record: the name never stops
    # resolving).
    CREATE_FIRST = "create-first"
    # Create the new one and hand the old one back in `Outcome.superseded`: dependents still point at
    # it, so the chain removes it once they have moved (a load balancer behind a VPC link).
    CREATE_FIRST_RETIRE_LATER = "create-first-retire-later"


@dataclass
class Observed(Generic[S]):
    """What a part found in AWS. `ready` is False while AWS is still provisioning it; `owned` is False
    for a resource found under the desired id that this owner did not make."""

    id: str
    state: S
    ready: bool = True
    waiting_for: str = ""
    owned: bool = True


@dataclass
class PartContext(RegionalClients):
    """Everything a part needs to talk to AWS (`client(service)`, typed) on behalf of one owner, for
    one pass.

    `recorded` holds the ids this owner's status recorded from its own creates and adoptions. With
    `trust_recorded` (a pass of the current generation wrote them, so none of them can be a user's
    resource that a former spec named), a resource found by such an id is ours without reading its
    owner tags again.

    `reads` is the pass's read cache, given by a reconciler for one pass (None: every read goes to
    AWS): one Describe call answers for every recorded ARN of a kind (`parts/_elbv2.py`), one
    record listing for a hostname's records (`parts/dns.py`). A context that outlives a pass must
    not carry one: what it holds is what AWS said during that pass.

    `shared` is the pass's share of the reads across objects (aws/shared_reads.py; None: it reads on
    its own), used through `shared_read`; like `reads`, it lives for one pass."""

    owner: Owner
    recorded: frozenset[str] = frozenset()
    trust_recorded: bool = False
    reads: dict[str, Any] | None = None
    shared: SharedPass | None = None

    def is_recorded(self, resource_id: str | None) -> bool:
        """Whether `resource_id` is one of ours by status alone (no tag read needed)."""
        return self.trust_recorded and bool(resource_id) and resource_id in self.recorded


def shared_read(ctx: PartContext, kind: SharedKind, ids: Iterable[str]) -> dict[str, Any]:
    """`ids` answered by `kind` (an id left out was not answered), in one call with the other passes' ids
    of the kind when the pass shares its reads (`ctx.shared`), else on their own."""
    if ctx.shared is None:
        return dict(kind.fetch(ctx, sorted(set(ids))))
    return ctx.shared.read(ctx, kind, ids)


@dataclass
class Outcome(Generic[S]):
    """What `ensure()` did: `action` is None when nothing was written. `superseded` is the resource
    a `CREATE_FIRST_RETIRE_LATER` replacement took over from, still to be removed."""

    part: str
    observed: Observed[S]
    action: str | None = None  # "Created" | "Updated" | "Replaced"
    changes: list[str] = field(default_factory=list)
    superseded: Observed[S] | None = None

    @property
    def message(self) -> str:
        what = f"{self.part} {self.observed.id}"
        return f"{self.action} {what}" + (f": {', '.join(self.changes)}" if self.changes else "")


def differing(*fields: tuple[str, object, object]) -> list[str]:
    """The names of the `(name, observed, desired)` fields whose two values differ, in order: the
    body of most pure diffs."""
    return [name for name, observed, desired in fields if observed != desired]


def _camel(name: str) -> str:
    return "".join(word.capitalize() for word in re.split(r"[-_ ]", name))


class Part(ABC, Generic[D, S]):
    """One AWS resource kind. Subclasses set `name` (used in tags, status and Events)."""

    name: ClassVar[str]
    ownership: ClassVar[Ownership] = Ownership.OWNED
    # Fields that cannot be changed in place, and how a difference there is carried out.
    replace_on: ClassVar[frozenset[str]] = frozenset()
    replacement: ClassVar[Replacement] = Replacement.DELETE_FIRST

    @abstractmethod
    def find(self, ctx: PartContext, desired: D | None, known_id: str | None) -> Observed[S] | None:
        """The resource by `known_id`, else the one `desired` names (a deterministic name), else one
        carrying our owner tags. `desired` is None when removing. Never writes."""

    @abstractmethod
    def create(self, ctx: PartContext, desired: D) -> Observed[S]: ...

    @abstractmethod
    def diff(self, desired: D, observed: Observed[S]) -> list[str]:
        """Names of the fields that differ (pure: no AWS calls)."""

    @abstractmethod
    def update(self, ctx: PartContext, desired: D, observed: Observed[S], changes: list[str]) -> Observed[S]: ...

    @abstractmethod
    def delete(self, ctx: PartContext, observed: Observed[S]) -> bool | None:
        """Delete; "not found" counts as success. Return False when nothing was deleted on purpose
        (nothing there to delete, or a shared resource kept)."""

    def refuse(
        self, ctx: PartContext, desired: D, observed: Observed[S] | None, changes: list[str]
    ) -> Stalled | None:
        """Why this part will not act for `desired` (None when it will): called before any write with
        what `find` returned (None: nothing found) and the differences. The default refuses only what
        the ownership forbids."""
        kind = _camel(self.name)
        if observed is None and self.ownership is Ownership.REFERENCED:
            return Stalled(f"{kind}NotFound", f"{self.name} named by the spec does not exist in {ctx.region}")
        if observed is not None and not observed.owned and self.ownership is Ownership.OWNED:
            return Stalled(f"{kind}InUse", f"{self.name} {observed.id} exists and is not owned by {ctx.owner.ref}")
        return None

    def ensure(self, ctx: PartContext, desired: D, known_id: str | None) -> Outcome[S]:
        observed = self.find(ctx, desired, known_id)
        changes = self.diff(desired, observed) if observed is not None else []
        refusal = self.refuse(ctx, desired, observed, changes)
        if refusal is not None:
            raise refusal
        if observed is None:
            return Outcome(self.name, self.create(ctx, desired), "Created")
        if not changes or self.ownership is Ownership.REFERENCED:
            return Outcome(self.name, observed)
        if self.replace_on.intersection(changes):
            return self._replace(ctx, desired, observed, changes)
        return Outcome(self.name, self.update(ctx, desired, observed, changes), "Updated", changes)

    def _replace(self, ctx: PartContext, desired: D, old: Observed[S], changes: list[str]) -> Outcome[S]:
        if self.replacement is Replacement.DELETE_FIRST:
            self.delete(ctx, old)
            return Outcome(self.name, self.create(ctx, desired), "Replaced", changes)
        # A replacement may already exist (a crash after creating it): adopt it, then converge it.
        new = self.find(ctx, desired, None)
        # The new id may be someone else's: refused before any write, as in ensure().
        refusal = self.refuse(ctx, desired, new, self.diff(desired, new)) if new and new.id != old.id else None
        if refusal is not None:
            raise refusal
        if new is None or new.id == old.id or self.replace_on.intersection(self.diff(desired, new)):
            new = self.create(ctx, desired)
        elif rest := self.diff(desired, new):
            new = self.update(ctx, desired, new, rest)
        if self.replacement is Replacement.CREATE_FIRST:
            self.delete(ctx, old)
            return Outcome(self.name, new, "Replaced", changes)
        return Outcome(self.name, new, "Replaced", changes, superseded=old)

    def remove(self, ctx: PartContext, known_id: str | None) -> str | None:
        """Delete what `find` finds, if it is ours; returns the deleted id or None when there was nothing."""
        if self.ownership is Ownership.REFERENCED:
            return None
        observed = self.find(ctx, None, known_id)
        if observed is None or not observed.owned:
            return None
        if self.delete(ctx, observed) is False:
            return None
        return observed.id
