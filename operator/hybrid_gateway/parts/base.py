"""The part abstraction (Crossplane's managed-resource pattern, in Python).

A part knows one AWS resource kind: how to find it (by id, then by owner tags), how desired differs
from observed (a pure function), and how to create, update and delete it. `ensure()` and `remove()`
are the only drivers: observe -> diff -> act, with no write when nothing differs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from hybrid_gateway.aws.clients import AwsClients
from hybrid_gateway.aws.tags import Owner

D = TypeVar("D")  # the desired state a part is given


class PartError(Exception):
    """A resource cannot converge. `reason` is CamelCase for a condition; `message` says why and never
    holds secret material, so both may go to status, Events and logs. Not retryable unless a subclass
    says so: the reconciler reports Stalled."""

    retryable: ClassVar[bool] = False

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class InputError(PartError):
    """The spec (or what it points at) cannot work as given: the user must change it."""


@dataclass
class Observed:
    """What a part found in AWS. `ready` is False while AWS is still provisioning it."""

    id: str
    state: dict[str, Any] = field(default_factory=dict)
    ready: bool = True
    waiting_for: str = ""


@dataclass
class PartContext:
    """Everything a part needs to talk to AWS on behalf of one owner."""

    aws: AwsClients
    region: str
    owner: Owner

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.region)


@dataclass
class Outcome:
    """What `ensure()` did: `action` is None when nothing was written."""

    part: str
    observed: Observed
    action: str | None = None  # "Created" | "Updated" | "Replaced"
    changes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        what = f"{self.part} {self.observed.id}"
        return f"{self.action} {what}" + (f": {', '.join(self.changes)}" if self.changes else "")


class Part(ABC, Generic[D]):
    """One AWS resource kind. Subclasses set `name` (used in tags, status and Events)."""

    name: ClassVar[str]
    # Fields that cannot be changed in place: a difference there means delete and create again.
    replace_on: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def find(self, ctx: PartContext, known_id: str | None) -> Observed | None:
        """Look the resource up by `known_id`, else by owner tags. Never writes."""

    @abstractmethod
    def create(self, ctx: PartContext, desired: D) -> Observed: ...

    @abstractmethod
    def diff(self, desired: D, observed: Observed) -> list[str]:
        """Names of the fields that differ (pure: no AWS calls)."""

    @abstractmethod
    def update(self, ctx: PartContext, desired: D, observed: Observed, changes: list[str]) -> Observed: ...

    @abstractmethod
    def delete(self, ctx: PartContext, observed: Observed) -> None:
        """Delete; "not found" counts as success."""

    def ensure(self, ctx: PartContext, desired: D, known_id: str | None) -> Outcome:
        return self.converge(ctx, desired, self.find(ctx, known_id))

    def converge(self, ctx: PartContext, desired: D, observed: Observed | None) -> Outcome:
        """Create, update or replace `observed` (what `find` returned) to match `desired`."""
        if observed is None:
            return Outcome(self.name, self.create(ctx, desired), "Created")
        changes = self.diff(desired, observed)
        if not changes:
            return Outcome(self.name, observed)
        if self.replace_on.intersection(changes):
            self.delete(ctx, observed)
            return Outcome(self.name, self.create(ctx, desired), "Replaced", changes)
        return Outcome(self.name, self.update(ctx, desired, observed, changes), "Updated", changes)

    def remove(self, ctx: PartContext, known_id: str | None) -> str | None:
        """Delete what `find` finds; returns the deleted id or None when there was nothing."""
        observed = self.find(ctx, known_id)
        if observed is None:
            return None
        self.delete(ctx, observed)
        return observed.id
