"""The part contract, as one walk every part takes against the emulator.

create -> ensure again with 0 writes -> adopt by owner tags or name with 0 writes (and, where the case
says, with exactly the reads it lists: no region listing) -> an out-of-band
change -> one update that puts it back -> ensure again with 0 writes -> remove -> remove again
(nothing left, 0 writes). Each part's case says how to break it out of band and which writes it
expects; the walk and its assertions are the same for all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hybrid_gateway.parts.base import Observed, Part, PartContext

READ_PREFIXES = ("Describe", "List", "Get", "Head")


@dataclass
class Recorder:
    """Every call our clients make, with its API parameters (botocore `before-parameter-build`)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append((model.name, params))

    def attach(self, ctx: PartContext, *services: str) -> Recorder:
        for service in services:
            ctx.client(service).meta.events.register("before-parameter-build", self)
        return self

    def reads(self) -> list[str]:
        return [name for name, _ in self.calls if name.startswith(READ_PREFIXES)]

    def writes(self) -> list[str]:
        return [name for name, _ in self.calls if not name.startswith(READ_PREFIXES)]

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [p for name, p in self.calls if name == operation]

    def clear(self) -> None:
        self.calls.clear()


@dataclass
class ContractCase:
    """One part's walk. `break_it` changes the resource behind the operator's back (with a raw
    client); `repair` is the update the part must make for it, `adopt` whether `find` without an id
    finds the resource again (False for parts whose only key is the id the spec gives)."""

    reason: str
    part: Part[Any, Any]
    desired: Any
    break_it: Callable[[Observed[Any]], None]
    repair: str = "Updated"
    adopt: bool = True
    # AWS still describes it for a while after a delete (load balancers: DeleteLoadBalancer reference,
    # docs/aws-behaviour.md), so a second remove may repeat the delete, which AWS answers with success.
    lingers: bool = False
    # The reads creating and adopting (find without an id) may make, in order, when the case says:
    # a deterministic name is one Describe by name (and one tag read for the one candidate), never a
    # listing of every resource of the region.
    create_reads: tuple[str, ...] | None = None
    adopt_reads: tuple[str, ...] | None = None


def walk_contract(case: ContractCase, ctx: PartContext, rec: Recorder) -> None:
    part, desired = case.part, case.desired
    rec.clear()
    created = part.ensure(ctx, desired, None)
    assert created.action == "Created" and rec.writes(), f"{case.reason}: create"
    if case.create_reads is not None:
        assert tuple(rec.reads()) == case.create_reads, f"{case.reason}: create reads"
    rid = created.observed.id

    rec.clear()
    again = part.ensure(ctx, desired, rid)
    assert (again.action, again.observed.id, rec.writes()) == (None, rid, []), f"{case.reason}: steady"

    if case.adopt:
        rec.clear()
        adopted = part.ensure(ctx, desired, None)
        assert (adopted.action, adopted.observed.id, rec.writes()) == (None, rid, []), f"{case.reason}: adopt"
        if case.adopt_reads is not None:
            assert tuple(rec.reads()) == case.adopt_reads, f"{case.reason}: adopt reads"

    case.break_it(again.observed)
    rec.clear()
    repaired = part.ensure(ctx, desired, rid)
    assert repaired.action == case.repair and rec.writes(), f"{case.reason}: repair {rec.writes()}"
    rid = repaired.observed.id

    rec.clear()
    settled = part.ensure(ctx, desired, rid)
    assert (settled.action, rec.writes()) == (None, []), f"{case.reason}: settled after repair {rec.writes()}"

    rec.clear()
    assert part.remove(ctx, rid) == rid and rec.writes(), f"{case.reason}: remove"
    deletes = set(rec.writes())
    rec.clear()
    again = part.remove(ctx, rid)
    if case.lingers:
        assert again in (rid, None) and set(rec.writes()) <= deletes, f"{case.reason}: remove again"
    else:
        assert again is None and rec.writes() == [], f"{case.reason}: remove again"
