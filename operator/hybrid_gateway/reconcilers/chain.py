"""A reconciler's AWS resources as data: steps in dependency order, walked forward to ensure and
backward to finalize.

Each `Step` says where its id is kept (`status.resources[key]`), which part serves it and what it
should look like (both built from the pass's inputs and what earlier steps found), which earlier
steps must exist (`after`) or be ready (`ready`) first, and which hop condition it feeds. A step
whose requirements are not met this pass is skipped and its hop reported as waiting, while every
step that does not depend on it goes ahead, so independent waits overlap.

A step whose `desired` is None has nothing to ensure this pass (an ownership certificate that
the regional certificate does not need, a validation record ACM has not published yet); steps that
require it do not wait for it.

A replacement made first (`Replacement.CREATE_FIRST_RETIRE_LATER`) leaves the old resource behind
while its dependents still point at it: it is kept in `status.retiring` and removed by the first
pass in which nothing is waiting any more, or by finalize.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import error_code
from hybrid_gateway.errors import PassError, RetryLater
from hybrid_gateway.parts.base import Observed, Outcome, Part, PartContext
from hybrid_gateway.status.conditions import Condition

log = logging.getLogger(__name__)
I = TypeVar("I")  # noqa: E741  # what a chain's steps read: the parsed spec and this pass's inputs
Retiring = dict[str, list[str]]  # step key -> ids replaced but not yet removed (status.retiring)


class Found:
    """What the steps found so far this pass (by step key); during finalize only the known ids."""

    def __init__(self, known: dict[str, Any]) -> None:
        self.known = known
        self.observed: dict[str, Observed[Any]] = {}

    def __getitem__(self, key: str) -> Observed[Any]:
        return self.observed[key]

    def id(self, key: str) -> str:
        found = self.observed.get(key)
        return found.id if found is not None else str(self.known.get(key) or "")


@dataclass(frozen=True)
class Step(Generic[I]):
    key: str  # status.resources key of its id
    part: Callable[[I, Found], Part[Any, Any]]
    # None: nothing to ensure yet (e.g. ACM has not published the validation record)
    desired: Callable[[I, Found], Any]
    after: tuple[str, ...] = ()  # steps that must exist first (their ids are used)
    ready: tuple[str, ...] = ()  # steps that must be ready first
    hop: str = ""  # the hop condition it feeds
    when: Callable[[I], bool] = lambda inputs: True  # False: the spec does not ask for this step
    removed_with: str = ""  # deleted by AWS along with that step's resource: finalize skips it
    # The id finalize deletes; default: the one status recorded.
    finalize_id: Callable[[PartContext, I, dict[str, Any]], str | None] | None = None


@dataclass
class ChainRun:
    """One forward walk: ids for status.resources and status.retiring, outcomes for Events, the hop
    conditions."""

    resources: dict[str, Any]
    found: Found
    retiring: Retiring = field(default_factory=dict)
    outcomes: list[Outcome[Any]] = field(default_factory=list)
    hops: list[Condition] = field(default_factory=list)

    @property
    def waiting(self) -> bool:
        return any(h.status is not True for h in self.hops)

    def retiring_status(self, previous: Retiring | None) -> Retiring:
        """status.retiring for a merge patch: keys that are done get an empty list (a patch cannot drop them)."""
        return {k: self.retiring.get(k, []) for k in sorted({*(previous or {}), *self.retiring})}


@dataclass
class Teardown:
    done: bool
    deleted: list[str] = field(default_factory=list)  # "part id", in order
    waiting_for: str = ""


OkMessage = str | Callable[[Any, Found], str]  # a hop's message when it is ready


class Chain(Generic[I]):
    def __init__(self, steps: Iterable[Step[I]], ok: dict[str, OkMessage]) -> None:
        self.steps = list(steps)
        self.ok = ok  # hop -> message when every step feeding it is ready
        keys = [s.key for s in self.steps]
        for step in self.steps:
            unknown = [k for k in (*step.after, *step.ready) if k not in keys[: keys.index(step.key)]]
            if unknown:
                raise ValueError(f"step {step.key} requires {unknown}, which do not come before it")

    def step_keys(self) -> list[str]:
        return [s.key for s in self.steps]

    def ensure(
        self, ctx: PartContext, inputs: I, known: dict[str, Any], retiring: Retiring | None = None
    ) -> ChainRun:
        resources = dict(known)
        run = ChainRun(resources, Found(resources), {k: list(v) for k, v in (retiring or {}).items()})
        waiting: dict[str, list[str]] = {}
        not_needed: set[str] = set()
        for step in self.steps:
            if not step.when(inputs):
                not_needed.add(step.key)
                continue
            found = run.found.observed
            blocked = [k for k in step.after if k not in found and k not in not_needed]
            blocked += [k for k in step.ready if k not in not_needed and (k not in found or not found[k].ready)]
            if blocked:
                waiting.setdefault(step.hop, []).append(f"{step.key} waits for {', '.join(dict.fromkeys(blocked))}")
                continue
            desired = step.desired(inputs, run.found)
            if desired is None:
                not_needed.add(step.key)
                continue
            part = step.part(inputs, run.found)
            outcome = part.ensure(ctx, desired, resources.get(step.key))
            run.outcomes.append(outcome)
            run.found.observed[step.key] = outcome.observed
            resources[step.key] = outcome.observed.id
            if outcome.superseded is not None:
                run.retiring.setdefault(step.key, []).append(outcome.superseded.id)
            if not outcome.observed.ready:
                waiting.setdefault(step.hop, []).append(outcome.observed.waiting_for)
        for hop in dict.fromkeys(s.hop for s in self.steps if s.hop):
            reasons = waiting.get(hop)
            ok = self.ok.get(hop, "")
            run.hops.append(Condition(hop, True, "Ready", ok if isinstance(ok, str) else ok(inputs, run.found))
                            if not reasons else Condition(hop, False, "Waiting", "; ".join(reasons)))
        if not run.waiting and run.retiring:
            # Every dependent now points at the replacements: what they replaced can go.
            run.retiring = self._retire(ctx, inputs, run.found, run.retiring)
        return run

    def _retire(self, ctx: PartContext, inputs: I, found: Found, retiring: Retiring) -> Retiring:
        """Remove what was replaced, dependents first (reverse chain order: a VPC link before its NLB). What
        AWS still holds (an NLB whose link is still deleting: ResourceInUse) stays retiring for a later pass,
        without failing this one: the new chain is already serving."""
        left: Retiring = {}
        for step in reversed(self.steps):
            if step.removed_with and retiring.get(step.removed_with):
                continue  # AWS deletes it with that one (an NLB's listener), as in finalize
            part = step.part(inputs, found)
            for old in retiring.get(step.key, []):
                try:
                    part.remove(ctx, old)
                except (ClientError, RetryLater) as exc:
                    code = exc.reason if isinstance(exc, RetryLater) else error_code(exc)
                    log.warning("%s %s not removed yet (%s): retried by a later pass", part.name, old, code)
                    left.setdefault(step.key, []).append(old)
        return left

    def finalize(
        self, ctx: PartContext, inputs: I, known: dict[str, Any], retiring: Retiring | None = None
    ) -> Teardown:
        """Remove every resource in reverse order; a resource still in use by one AWS is deleting
        (a VPC link's NLB, an ALB's security group) ends this walk to be tried again."""
        found = Found(known)
        teardown = Teardown(done=True)
        retiring = retiring or {}
        for step in reversed(self.steps):
            if not step.when(inputs) or step.removed_with:
                continue
            part = step.part(inputs, found)
            try:
                ids = [step.finalize_id(ctx, inputs, known) if step.finalize_id else known.get(step.key)]
                for known_id in [*retiring.get(step.key, []), *ids]:
                    deleted = part.remove(ctx, known_id)
                    if deleted:
                        teardown.deleted.append(f"{part.name} {deleted}")
            except (ClientError, PassError) as exc:
                code = exc.reason if isinstance(exc, PassError) else error_code(exc)
                return Teardown(False, teardown.deleted, f"{part.name}: {code}, retrying")
        return teardown
